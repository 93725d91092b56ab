"""careweave.devtools, the tests' and benchmarks' server helpers: waiting for /health waits
through refusals and non-200 answers, returns on the first 200 and gives up in words."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from careweave.devtools import free_port, wait_until_healthy


@pytest.fixture
def health_after_three() -> Iterator[tuple[str, list[int]]]:
    """A server whose /health answers 503 three times, then 200."""
    answered: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if len(answered) >= 3 else 503
            answered.append(status)
            self.send_response(status if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", answered
    finally:
        srv.shutdown()
        srv.server_close()


def test_waits_through_non_200_answers_until_healthy(
    health_after_three: tuple[str, list[int]],
) -> None:
    base, answered = health_after_three
    wait_until_healthy(base, 10)
    assert answered == [503, 503, 503, 200]


def test_a_server_that_never_answers_times_out_naming_it() -> None:
    base = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    t = time.monotonic()
    with pytest.raises(TimeoutError, match=re.escape(f"{base} did not answer /health in 0.3 s")):
        wait_until_healthy(base, 0.3)
    assert time.monotonic() - t < 5
