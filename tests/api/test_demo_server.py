"""`healthmatch demo` as a user runs it: a real process serving on a real port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
        orgs = httpx.get(f"http://127.0.0.1:{port}/api/v1/organisations?limit=1").json()
        assert orgs["count"] == 400
    finally:
        server.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
        server.wait(timeout=20)
