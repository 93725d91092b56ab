"""A Careweave app served by uvicorn in a thread, for the browser tests (Chromium needs a
real socket): one helper, so each browser test builds its own app and nothing else."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from careweave.devtools import free_port


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL, stops it on exit."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    # Generous: the app warms up before it serves (careweave.web.app.warm_up), and on a loaded
    # machine (both xdist workers serving at once, or other work) that took more than 30 s.
    deadline = time.monotonic() + 180
    while not srv.started:
        assert thread.is_alive(), "uvicorn stopped before it started (see its log above)"
        assert time.monotonic() < deadline, "uvicorn did not start in 180 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
