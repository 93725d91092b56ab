"""Helpers for the tests and the benchmarks that run a real `careweave serve`: a free
loopback port to serve on, and waiting until the started server answers ``/health``.

One place both can import: the tests run with the package installed, the benchmarks run as
scripts with ``src`` on the path. Not used by the product itself; standard library only
(the lowest import layer, so it can never pull the application in).
"""

from __future__ import annotations

import socket
import time
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def wait_until_healthy(base: str, seconds: float = 120.0) -> None:
    """Poll ``{base}/health`` every 0.1 s until it answers 200.

    Raises TimeoutError after ``seconds`` (a started server that never comes up: a bad flag,
    a store it cannot open). Refused connections and other answers (a 503 while the store
    is not ready) are waited through. Two minutes by default: a server's start-up (the
    app's warm-up, several workers) took over 30 s on a loaded shared machine, and the
    time is spent only when something is wrong.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:  # refused, reset, or an HTTP error status (HTTPError is an OSError)
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the server at {base} did not answer /health in {seconds:g} s")
        time.sleep(0.1)
