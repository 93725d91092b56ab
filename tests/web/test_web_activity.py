"""The app counts the requests it has in progress (``app.state.careweave_activity``), so
background work in the same process (the commissioner pages' warmer) can give way."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from careweave.api import create_app
from careweave.api.app import Activity


def test_activity_counts_a_request_from_arrival_to_its_answer(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'store.db'}", cookie_secure=False)
    activity: Activity = app.state.careweave_activity
    entered, release = threading.Event(), threading.Event()

    @app.get("/slow")
    def slow() -> dict[str, str]:
        entered.set()
        release.wait(30)
        return {"ok": "yes"}

    with TestClient(app) as c:
        assert c.get("/health").status_code == 200
        assert activity.in_flight == 0 and activity.wait_idle(0.01)
        answers: list[int] = []
        t = threading.Thread(target=lambda: answers.append(c.get("/slow").status_code))
        t.start()
        assert entered.wait(30)
        assert activity.in_flight == 1
        started = time.monotonic()
        assert not activity.wait_idle(0.2)  # still in progress: waited the whole timeout
        assert time.monotonic() - started >= 0.2
        waiter: list[bool] = []
        w = threading.Thread(target=lambda: waiter.append(activity.wait_idle(30)))
        w.start()
        release.set()
        w.join(30)
        t.join(30)
        assert answers == [200] and waiter == [True] and activity.in_flight == 0


def test_a_failed_request_is_no_longer_counted(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'store.db'}", cookie_secure=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/boom").status_code == 500
        assert c.get("/no-such-page").status_code == 404
    assert app.state.careweave_activity.in_flight == 0
