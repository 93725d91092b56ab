"""CPU, SQL statements and flushes per event of ``events.ingest``, in process.

    .venv/bin/python bench/profile_events.py [--events 400] [--db URL] [--profile FILE]

Builds bench_events' store (300 people, six-person care teams, the rapid-response
members opted in to email for fall alarms) and posts bench_events' mix (admission,
discharge, fall alarm, telehealth reading) straight to ``events.ingest``, one
transaction per event as ``POST /events`` does (the bearer token resolved in the
transaction first, as the API's dependency does, but not counted): ingest, the router's
flush, the commit (which chains the audit entries). CPU time (``time.process_time``),
not wall time, so the figure is what an event costs whatever the machine's load (a
loaded machine still inflates it somewhat: caches, frequency); compare before and after
in alternating runs. ``--profile FILE`` writes a cProfile of the events to FILE and
prints its top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench_events import KINDS, body_for, populate
from careweave.care import config as care_config
from careweave.care import events
from careweave.care.context import Ctx
from careweave.security import auth
from careweave.store.db import make_engine, session_factory


class Counts:
    """Statements and flushes while ``on``, by kind of event."""

    def __init__(self) -> None:
        self.on = False
        self.statements: Counter[str] = Counter()
        self.flushes: Counter[str] = Counter()
        self.kind = ""
        self.sql: Counter[tuple[str, str]] = Counter()

    def statement(self, _c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if self.on:
            self.statements[self.kind] += 1
            self.sql[(self.kind, " ".join(statement.split())[:150])] += 1

    def flush(self, _s: Any, _ctx: Any) -> None:
        if self.on:
            self.flushes[self.kind] += 1


def run(url: str, n: int, profile: str | None, show_sql: bool) -> None:
    numbers, token = populate(url, 300)
    engine = make_engine(url)
    sessions = session_factory(engine)
    config = care_config.load()
    counts = Counts()
    event.listen(Engine, "before_cursor_execute", counts.statement)
    event.listen(Session, "after_flush", counts.flush)
    cpu: Counter[str] = Counter()
    seen: Counter[str] = Counter()

    def one(i: int) -> None:
        kind = KINDS[i % len(KINDS)]
        body = body_for(i, numbers, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        with sessions() as s:
            found = auth.resolve_bearer(s, token)
            assert found is not None
            user, scope = found
            counts.kind, counts.on = kind, True
            t = time.process_time()
            ctx = Ctx(s, user, dt.datetime.now(dt.UTC), config, scope)
            routed = events.ingest(
                ctx,
                str(body["nhs_number"]),
                kind,
                dt.datetime.fromisoformat(str(body["occurred_at"])),
                dict(body.get("payload") or {}),  # type: ignore[call-overload]
                str(body["external_id"]),
                source="api:feed",
            )
            s.flush()
            [n.recipient_user_id for n in routed.notifications]
            [t.id for t in routed.tasks]
            s.commit()
            cpu[kind] += time.process_time() - t
            counts.on = False
            seen[kind] += 1

    for i in range(40):  # warm up: caches, compiled statements, the first plans
        one(n + 1000 + i)
    counts.statements.clear()
    counts.flushes.clear()
    counts.sql.clear()
    cpu.clear()
    seen.clear()
    prof = cProfile.Profile() if profile else None
    if prof is not None:
        prof.enable()
    for i in range(n):
        one(i)
    if prof is not None:
        prof.disable()
    total = sum(seen.values())
    print(f"store: {url.split(':')[0]}; {total} events in process (bench_events' mix)")
    for kind in KINDS:
        k = seen[kind]
        print(
            f"  {kind:20s} {cpu[kind] * 1000 / k:6.2f} ms CPU, "
            f"{counts.statements[kind] / k:5.1f} statements, {counts.flushes[kind] / k:4.1f} flushes"
        )
    print(
        f"  {'all':20s} {sum(cpu.values()) * 1000 / total:6.2f} ms CPU, "
        f"{sum(counts.statements.values()) / total:5.1f} statements, "
        f"{sum(counts.flushes.values()) / total:4.1f} flushes per event"
    )
    if show_sql:
        for (kind, sql), c in sorted(counts.sql.items()):
            print(f"  {kind:18s} {c / seen[kind]:5.2f}  {sql}")
    if prof is not None and profile:
        prof.dump_stats(profile)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=400)
    ap.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file)")
    ap.add_argument("--profile", default=None, help="write a cProfile here and print its top")
    ap.add_argument("--sql", action="store_true", help="print each statement's count per event")
    args = ap.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='cw-prof-')) / 'bench.db'}"
    run(url, args.events, args.profile, args.sql)


if __name__ == "__main__":
    main()
