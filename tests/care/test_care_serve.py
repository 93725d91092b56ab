"""`careweave serve` runs a real server whose /health answers 200 when the store is up."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_serve_health(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "careweave.cli.main", "serve", "--db", db, "--port", str(port)],
        stderr=subprocess.PIPE,
    )
    try:
        status = None
        for _ in range(150):
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health").status_code
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert status == 200
        r = httpx.get(f"http://127.0.0.1:{port}/openapi.json")
        assert r.json()["info"]["title"] == "Careweave care co-ordination API"
        assert httpx.get(f"http://127.0.0.1:{port}/people/9434765919").status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)
