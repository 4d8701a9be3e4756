"""schemathesis against the live OpenAPI schema of a running server, once per role.

The server is uvicorn on a free loopback port, over a private copy of the indexed test network
with one user and API key per role. schemathesis generates requests from `/openapi.json` (valid
and invalid ones) and checks every answer: no 5xx, a documented status code, the documented
content type, and a body that validates against the documented schema.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from models.db import make_engine
from models.settings import Settings
from tests.api.conftest import Indexed, copy_network, people_and_users
from tests.live_server import serve_in_thread

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES = int(os.environ.get("HEALTHMATCH_FUZZ_EXAMPLES", "15"))


@pytest.fixture(scope="module")
def live(
    indexed: Indexed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("fuzz")
    url, index = copy_network(indexed, folder)
    settings = Settings(
        database_url=url, index_path=index, embedding_model="minilm", jobs_dir=folder / "jobs"
    )
    engine = make_engine(url)
    _people, _users, headers = people_and_users(engine, indexed.ids)
    try:
        with serve_in_thread(create_app(settings, engine=engine)) as base:
            yield base, {role: h["Authorization"] for role, h in headers.items()}
    finally:
        engine.dispose()


def schemathesis_command() -> list[str]:
    exe = Path(sys.executable).with_name("schemathesis")
    return [str(exe)] if exe.exists() else [shutil.which("schemathesis") or "schemathesis"]


@pytest.mark.slow
@pytest.mark.parametrize("role", [None, "member_a", "secretariat"])
def test_no_server_errors_and_answers_match_the_schema(
    live: tuple[str, dict[str, str]], role: str | None, tmp_path: Path
) -> None:
    base, authorization = live
    command = [
        *schemathesis_command(),
        "run",
        f"{base}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "20261122",
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--no-color",
        "--generation-database",
        "none",
        # the import jobs queue real imports of generated files; they are tested on their own
        "--exclude-path-regex",
        "^/api/v1/imports",
    ]
    if role is not None:
        command += ["--header", f"Authorization: {authorization[role]}"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, cwd=tmp_path, check=False
    )
    output = result.stdout + result.stderr
    summary = re.search(r"(\d+) generated, .*", output)
    print(f"schemathesis as {role or 'anonymous'}: {summary.group(0) if summary else '?'}")
    assert result.returncode == 0, output[-6000:]
    assert "No issues found" in output or "passed" in output, output[-3000:]
