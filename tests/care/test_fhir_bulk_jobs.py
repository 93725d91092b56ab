"""Bulk Data export jobs kept in the store (api/fhir/bulk_jobs.py), on SQLite and on
PostgreSQL: a job kicked off on one server instance is answered by another (status,
files, DELETE), survives a restart, can be cancelled mid-export from another instance,
is reported failed when the server writing it stopped, and expires; only its owner sees
it. The client is httpx over real sockets (two uvicorn servers over one store and one
bulk directory, as ``careweave serve --workers 2``'s workers are)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from fhir_warehouse import Demo, on_store
from sqlalchemy import create_engine, select, text
from test_fhir_linked import wh

from careweave.api.fhir import bulk, bulk_jobs
from careweave.store.db import make_engine, session_factory
from careweave.store.models import BulkExport

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))
from live_server import live_server

ASYNC = {"Prefer": "respond-async"}


@dataclass
class Clock:
    """The apps' clock: the real time, moved on by ``advance``."""

    offset: dt.timedelta = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **kw: float) -> None:
        self.offset += dt.timedelta(**kw)


@pytest.fixture(scope="module")
def pg_demo(
    fhir_demo: Demo, pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """The demo store on a fresh PostgreSQL database (the same warehouse)."""
    name = f"cw_bulk_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield on_store(
            fhir_demo, pg_url.rsplit("/", 1)[0] + "/" + name, tmp_path_factory.mktemp("pg-bulk")
        )
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, fhir_demo: Demo, tmp_path: Path) -> Demo:
    """The demo over one store, with a bulk directory of this test's own."""
    base = fhir_demo if request.param == "sqlite" else request.getfixturevalue("pg_demo")
    return Demo(base.dataset, base.warehouse, base.db, tmp_path, base.tokens)


def practice(demo: Demo) -> str:
    return str(wh(demo, "SELECT org_id FROM organisations WHERE org_type = 'gp_practice'")[0][0])


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def rows(demo: Demo) -> dict[str, BulkExport]:
    engine = make_engine(demo.db)
    with session_factory(engine)() as s:
        found = {r.id: r for r in s.scalars(select(BulkExport))}
    engine.dispose()
    return found


def wait_done(c: httpx.Client, status: str, h: dict[str, str]) -> httpx.Response:
    deadline = time.monotonic() + 120
    while True:
        r = c.get(status, headers=h)
        if r.status_code != 202:
            return r
        assert "types" in r.headers["x-progress"] and r.headers["retry-after"]
        assert time.monotonic() < deadline, "export did not finish"
        time.sleep(0.2)


def test_another_instance_answers_and_a_restart_keeps_it(demo: Demo) -> None:
    gp = practice(demo)
    me, other = demo.h("gp.jones"), demo.h("coordinator")
    kick = f"/fhir/Group/practice-{gp}/$export?_type=Patient,Condition,Organization"
    with (
        live_server(demo.app()) as a,
        live_server(demo.app()) as b,
        httpx.Client(base_url=a, timeout=60) as ca,
        httpx.Client(base_url=b, timeout=60) as cb,
    ):
        r = ca.get(kick, headers={**me, **ASYNC})
        assert r.status_code == 202, r.text
        assert r.headers["content-location"].startswith(f"{a}/fhir/_bulk/")
        status = path_of(r.headers["content-location"])
        job_id = status.rsplit("/", 1)[1]
        done = wait_done(cb, status, me)  # polled on the other instance only
        assert done.status_code == 200, done.text
        manifest = done.json()
        assert manifest["requiresAccessToken"] is True and manifest["error"] == []
        assert {o["type"] for o in manifest["output"]} == {"Patient", "Condition", "Organization"}
        expires = dt.datetime.strptime(done.headers["expires"], "%a, %d %b %Y %H:%M:%S GMT")
        assert (
            dt.timedelta(hours=23)
            < expires.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)
            <= dt.timedelta(hours=24)
        )
        got: dict[str, bytes] = {}
        for o in manifest["output"]:
            f = cb.get(path_of(o["url"]), headers=me)
            assert f.status_code == 200
            assert f.headers["content-type"].startswith("application/fhir+ndjson")
            lines = f.text.splitlines()
            assert len(lines) == o["count"] > 0
            for line in lines:
                get_fhir_model_class(o["type"]).model_validate(json.loads(line))
            got[o["type"]] = f.content
        people = {
            str(p[0]) for p in wh(demo, "SELECT nhs_number FROM people WHERE practice_id = ?", gp)
        }
        assert {json.loads(x)["id"] for x in got["Patient"].splitlines()} == people
        # Only the account that kicked it off, on either instance; no token: 401.
        for c in (ca, cb):
            assert c.get(status, headers=other).status_code == 404
            assert c.get(path_of(manifest["output"][0]["url"]), headers=other).status_code == 404
            assert c.delete(status, headers=other).status_code == 404
            assert c.get(status).status_code == 401
        assert c.get(f"/fhir/_bulk/{uuid.uuid4().hex}", headers=me).status_code == 404
        assert c.get("/fhir/_bulk/../../etc", headers=me).status_code == 404
    assert job_id in rows(demo)

    # A restart: a new app (no memory of the job) over the same store and directory.
    with live_server(demo.app()) as c_url, httpx.Client(base_url=c_url, timeout=60) as cc:
        again = cc.get(status, headers=me)
        assert again.status_code == 200
        assert again.json()["output"] == [
            {**o, "url": o["url"].replace(b, c_url)} for o in manifest["output"]
        ]
        for o in again.json()["output"]:
            assert cc.get(path_of(o["url"]), headers=me).content == got[o["type"]]
        # DELETE: 202, then 404 for the status and files, and the files are gone.
        assert cc.delete(status, headers=me).status_code == 202
        assert cc.get(status, headers=me).status_code == 404
        assert cc.get(path_of(again.json()["output"][0]["url"]), headers=me).status_code == 404
        assert cc.delete(status, headers=me).status_code == 404
    assert job_id not in rows(demo)
    assert not (demo.tmp / "bulk" / job_id).exists()


class Gate:
    """Holds every export's writing at its first batch until opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = threading.Event()
        self.open = threading.Event()
        real = bulk.Writer.write

        def write(w: bulk.Writer, resources: Any) -> None:
            self.reached.set()
            assert self.open.wait(60)
            real(w, resources)

        monkeypatch.setattr(bulk.Writer, "write", write)


def running(app: Any, job_id: str) -> bulk_jobs.Job:
    exports: bulk_jobs.Exports = app.state.careweave_fhir_exports
    return exports.running[job_id]


def kick_off(c: TestClient, demo: Demo, query: str = "?_type=Patient") -> str:
    r = c.get(
        f"/fhir/Group/practice-{practice(demo)}/$export{query}",
        headers={**demo.h("gp.jones"), **ASYNC},
    )
    assert r.status_code == 202, r.text
    return path_of(r.headers["content-location"])


def test_delete_on_another_instance_stops_a_running_export(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    me = demo.h("gp.jones")
    with TestClient(demo.app()) as a, TestClient(demo.app()) as b:
        status = kick_off(a, demo)
        job_id = status.rsplit("/", 1)[1]
        job = running(a.app, job_id)
        assert gate.reached.wait(60)
        # Mid-write: the status is 202 on either instance, and the file only a .part.
        r = b.get(status, headers=me)
        assert r.status_code == 202 and r.headers["x-progress"].startswith("0/1 types")
        assert [p.name for p in job.directory.iterdir()] == ["Patient.ndjson.part"]
        assert b.delete(status, headers=me).status_code == 202
        assert b.get(status, headers=me).status_code == 404
        assert a.get(status, headers=me).status_code == 404
        # The writing instance learns of it at its next heartbeat, and stops.
        assert job.cancelled.wait(bulk_jobs.BEAT * 10)
        gate.open.set()
        assert job.finished.wait(60)
        assert not job.directory.exists()
        assert job_id not in rows(demo)


def test_an_export_whose_server_stopped_is_failed_then_swept(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The instance writing a job stops mid-export (its heartbeat stops): after
    ``STALE`` the job is reported failed in words on any instance, and the next sweep
    deletes what it had written."""
    gate = Gate(monkeypatch)
    clock = Clock()
    me = demo.h("gp.jones")
    with TestClient(demo.app(clock=clock)) as a, TestClient(demo.app(clock=clock)) as b:
        status = kick_off(a, demo)
        job_id = status.rsplit("/", 1)[1]
        job = running(a.app, job_id)
        assert gate.reached.wait(60)
        exports: bulk_jobs.Exports = a.app.state.careweave_fhir_exports  # type: ignore[attr-defined]
        with exports.lock:  # as if the process had died: no more heartbeats
            exports.running.pop(job_id)
        assert b.get(status, headers=me).status_code == 202
        clock.advance(seconds=bulk_jobs.STALE.total_seconds() + 5)
        r = b.get(status, headers=me)
        assert r.status_code == 500
        assert "stopped before it finished; kick off again" in r.json()["issue"][0]["diagnostics"]
        b.app.state.careweave_fhir_exports.sweep()  # type: ignore[attr-defined]
        assert not job.directory.exists()
        assert rows(demo)[job_id].state == "failed"
        assert b.get(status, headers=me).status_code == 500
        gate.open.set()  # the "dead" writer wakes: it writes nothing back
        assert job.finished.wait(60)
        assert not job.directory.exists()
        assert rows(demo)[job_id].state == "failed"


def test_a_finished_export_expires(demo: Demo) -> None:
    clock = Clock()
    me = demo.h("gp.jones")
    with TestClient(demo.app(clock=clock, bulk_keep_hours=2)) as a:
        status = kick_off(a, demo, "?_type=Organization")
        job_id = status.rsplit("/", 1)[1]
        deadline = time.monotonic() + 60
        while (r := a.get(status, headers=me)).status_code == 202:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert r.status_code == 200
        file_url = path_of(r.json()["output"][0]["url"])
        assert a.get(file_url, headers=me).status_code == 200
        clock.advance(hours=1, minutes=59)
        assert a.get(file_url, headers=me).status_code == 200
        clock.advance(minutes=2)
        gone = a.get(status, headers=me)
        assert gone.status_code == 404
        assert "deleted or expired" in gone.json()["issue"][0]["diagnostics"]
        assert a.get(file_url, headers=me).status_code == 404
        assert (demo.tmp / "bulk" / job_id).is_dir()  # until the sweep
        # The next kick-off sweeps: the expired job's row and files are gone.
        kick_off(a, demo, "?_type=Organization")
        assert job_id not in rows(demo)
        assert not (demo.tmp / "bulk" / job_id).exists()
