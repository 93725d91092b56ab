"""A long CSV export does not stall the service: reads take no write lock and the export is
one audit entry, so /health (and any other request) answers in well under 100 ms meanwhile."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from careweave.api import create_app
from careweave.devtools import free_port, wait_until_healthy
from careweave.security import auth
from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import AuditEntry

PEOPLE = 30_000
PASSWORD = "export-password-123"
HEALTH_LIMIT_S = 0.100


def _store(path: Path) -> str:
    url = f"sqlite:///{path}"
    create_app(url, cookie_secure=False, pseudonym_key=b"k" * 32)  # migrated
    now = dt.datetime.now(dt.UTC)
    engine = make_engine(url)
    with transaction(session_factory(engine)) as s:
        auth.create_user(
            s,
            username="gp",
            display_name="GP",
            role="clinician",
            org_id="P1",
            password=PASSWORD,
            now=now,
        )
    engine.dispose()
    con = sqlite3.connect(path)
    con.execute(
        "INSERT INTO organisations (org_id, org_type, name) VALUES ('P1', 'gp_practice', 'P1')"
    )
    con.executemany(
        "INSERT INTO people (nhs_number, date_of_birth, sex, ethnic_group, practice_id, "
        "locality_id, care_home_resident, ccm_level, risk_probability, risk_explanation, conditions, "
        "synced_at) "
        "VALUES (?, '1940-01-01', 'female', 'white', 'P1', NULL, 0, ?, ?, '[]', '[]', ?)",
        [
            (f"{9_100_000_000 + i:010d}", 3 + i % 2, i / PEOPLE, now.isoformat())
            for i in range(PEOPLE)
        ],
    )
    con.commit()
    con.close()
    return url


def test_a_long_csv_export_does_not_delay_health(tmp_path: Path) -> None:
    """The server runs as `careweave serve` (its own process, as in production); a probe
    polls /health every 20 ms for as long as one unfiltered 30,000-row export takes.
    Before reads stopped taking the write lock, every probe waited for the whole export
    (one transaction writing an audit entry per row)."""
    url = _store(tmp_path / "store.db")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "careweave.cli.main",
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--insecure-cookies",
        ],
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {}
    latencies: list[float] = []
    try:
        wait_until_healthy(base)
        exporter = httpx.Client(base_url=base, timeout=120)
        login = exporter.post("/auth/login", json={"username": "gp", "password": PASSWORD})
        assert login.status_code == 200, login.text

        def export() -> None:
            t = time.perf_counter()
            r = exporter.get("/app/worklist.csv", params={"level": ["3", "4"]})
            result["status"], result["rows"] = r.status_code, r.text.count("\n") - 1
            result["seconds"] = time.perf_counter() - t

        # One export first: a cold server's first export pays one-time costs (statement
        # compilation, the page cache), which stalled one probe for about a second.
        export()
        with httpx.Client(base_url=base, timeout=30) as probe:
            probe.get("/health")  # connection open before timing
            worker = threading.Thread(target=export)
            worker.start()
            while worker.is_alive():
                t = time.perf_counter()
                assert probe.get("/health").status_code == 200
                latencies.append(time.perf_counter() - t)
                time.sleep(0.02)
            worker.join()
        exporter.close()
    finally:
        proc.terminate()
        proc.wait(10)
    assert result["status"] == 200 and result["rows"] == PEOPLE
    assert len(latencies) >= 5, f"the export took only {result['seconds']:.2f} s"
    ordered = sorted(latencies)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    report = (
        f"/health during a {result['seconds']:.1f} s export: median "
        f"{statistics.median(ordered) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms over {len(ordered)} probes (load {os.getloadavg()[0]:.1f})"
    )
    print(report)
    # No probe waited for the export; on a shared machine a probe can still lose the CPU
    # for a moment, so the 100 ms bound is held by 90% of probes, and the worst is far
    # below the export's length (it used to be all of it).
    assert p90 < HEALTH_LIMIT_S, report
    assert ordered[-1] < min(1.0, result["seconds"] / 2), report
    # Each export (the warming one and the timed one) is one audit entry naming its
    # people, not one entry per row.
    engine = make_engine(url)
    with session_factory(engine)() as s:
        details = list(
            s.execute(select(AuditEntry.detail).where(AuditEntry.resource == "register")).scalars()
        )
    engine.dispose()
    assert len(details) == 2
    assert all(f"people={PEOPLE};" in d for d in details)
