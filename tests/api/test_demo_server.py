"""`healthmatch demo` as a user runs it: a real process serving on a real port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.live_server import free_port


@pytest.mark.slow
def test_demo_serves_health_and_data(tmp_path: Path) -> None:
    port = free_port()
    exe = Path(sys.executable).with_name("healthmatch")
    command = [str(exe), "demo", "--port", str(port), "--db", str(tmp_path / "demo.db")]
    log = tmp_path / "demo.log"  # a file, not a pipe: progress output must never block the demo
    server = subprocess.Popen(
        command, cwd=tmp_path, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, "the demo did not come up within 120 s"
                time.sleep(0.3)
        assert health.status_code == 200
        base = f"http://127.0.0.1:{port}/api/v1"
        orgs = httpx.get(f"{base}/organisations?limit=1").json()
        assert orgs["count"] == 400
        check_readme_walkthrough(base, tmp_path / "demo.db.key")
        check_demo_signin(f"http://127.0.0.1:{port}", tmp_path / "demo.db.signin")
    finally:
        server.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
        server.wait(timeout=20)


def check_readme_walkthrough(base: str, key_file: Path) -> None:
    """The README's API section: a call, the members ranked for it with reasons, a consortium."""
    calls = httpx.get(f"{base}/calls", params={"status": "open", "limit": 3}).json()
    call_id = calls["data"][0]["id"]
    ranked = httpx.get(f"{base}/calls/{call_id}/members", params={"top": 5}, timeout=30).json()
    assert len(ranked["results"]) == 5
    first = ranked["results"][0]
    assert first["explanation"]["projects"], first
    assert "contact_email" not in first

    key = key_file.read_text().strip()
    assert key_file.stat().st_mode & 0o077 == 0  # owner only
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{base}/me", headers=headers).json()["role"] == "secretariat"
    body = {"lead": first["id"], "alternatives": 2}
    proposal = httpx.post(
        f"{base}/calls/{call_id}/consortia", json=body, headers=headers, timeout=60
    )
    assert proposal.status_code == 200, proposal.text
    assert proposal.json()["consortia"], proposal.json()


def check_demo_signin(site: str, signin_file: Path) -> None:
    """The member sign-in the demo writes opens a session on the pages."""
    assert signin_file.stat().st_mode & 0o077 == 0
    member = next(line for line in signin_file.read_text().splitlines() if "member" in line)
    email, password = member.split(": ", 1)[1].split("  password: ")
    with httpx.Client(base_url=site) as client:
        page = client.get("/signin").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        answer = client.post(
            "/signin", data={"email": email, "password": password, "csrf_token": token.group(1)}
        )
        assert answer.status_code in (302, 303), answer.text
        assert "hm_session" in client.cookies
