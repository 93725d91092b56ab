"""`audit verify` at scale: how long walking the hash chain takes at N entries.

    .venv/bin/python bench/bench_audit.py [--entries 10000000] [--store PATH]

Builds (once, then reused) a SQLite store whose audit log holds N chained entries
shaped like real ones (reads of people's records with a basis, list entries, logins),
bulk-inserted straight into the table (50,000 rows a statement, journal off) with the
same hash function; then runs
``careweave.security.audit.verify`` on it, as ``careweave audit verify`` does, and
prints the entries, the time, the rate and the load average (``uptime``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from careweave.security.audit import GENESIS, entry_hash

BATCH = 50_000


def build(path: Path, n: int) -> None:
    from careweave.api import create_app

    create_app(f"sqlite:///{path}", pseudonym_key=b"x" * 32)  # migrated store
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    prev, batch = GENESIS, []
    for seq in range(1, n + 1):
        at = (start + dt.timedelta(seconds=seq)).isoformat()
        nhs = f"{9_000_000_000 + seq % 1_000_000:010d}"
        if seq % 50 == 0:
            row = (
                f"user{seq % 200}",
                "read",
                "register",
                None,
                None,
                f"worklist page 1; people=25; hidden=0; nhs_numbers={nhs}",
            )
        elif seq % 97 == 0:
            row = (f"user{seq % 200}", "login", "session", None, None, "")
        else:
            row = (f"user{seq % 200}", "read", "person", None, nhs, "basis=care_team")
        actor, action, resource, rid, person, detail = row
        digest = entry_hash(seq, at, actor, action, resource, rid, person, detail, prev)
        batch.append((seq, at, actor, action, resource, rid, person, detail, prev, digest))
        prev = digest
        if len(batch) == BATCH or seq == n:
            con.executemany(
                "INSERT INTO audit_log (seq, at, actor, action, resource, resource_id, "
                "nhs_number, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                batch,
            )
            batch = []
    con.execute("UPDATE audit_head SET last_seq = ?, last_hash = ? WHERE id = 1", (n, prev))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=10_000_000)
    ap.add_argument("--store", type=Path, default=None)
    args = ap.parse_args()
    store = args.store or Path(tempfile.gettempdir()) / f"bench-audit-{args.entries}.db"
    if not store.exists():
        # Built under another name and renamed when complete, so an interrupted build is
        # never reused as if it were whole.
        partial = store.with_name(store.name + ".partial")
        for leftover in store.parent.glob(partial.name + "*"):
            leftover.unlink()
        t = time.perf_counter()
        build(partial, args.entries)
        partial.rename(store)
        for leftover in store.parent.glob(partial.name + "*"):
            leftover.unlink()
        print(f"built {args.entries:,} entries in {time.perf_counter() - t:.0f} s: {store}")
    else:
        print(f"reusing {store}")
    from careweave.security import audit
    from careweave.store.db import make_engine, session_factory

    engine = make_engine(f"sqlite:///{store}")
    with session_factory(engine)() as s:
        t = time.perf_counter()
        v = audit.verify(s)
        took = time.perf_counter() - t
    assert v.intact and v.count == args.entries, v
    size = os.path.getsize(store) / 1e6
    print(
        f"audit verify: {v.count:,} entries intact in {took:.1f} s "
        f"({v.count / took:,.0f} entries/s; store {size:,.0f} MB)"
    )
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
