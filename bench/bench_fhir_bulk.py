"""FHIR Bulk Data export throughput (issue 18: >= 5,000 resources/s for 10,000 patients).

Synthesises a population (``careweave synth``), loads it into a warehouse, syncs the
demo store from it, then times ``Patient/$export`` from kick-off to the manifest (every
file written and renamed), in the server process through its ASGI app:

1. as the analyst (``commissioner``): everyone, pseudonymised;
2. as the care co-ordinator: the people of their locality, identified.

It prints resources, seconds and resources/s for each, with ``uptime`` (the machine is
shared: figures are taken under whatever else is running).

Usage: ``.venv/bin/python bench/bench_fhir_bulk.py [--people 10000] [--dir DIR]``
(``--dir`` keeps the population for a second run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from careweave.cli.main import main as cli
from careweave.security import auth
from careweave.server import build_app
from careweave.settings import Settings
from careweave.store.db import make_engine, session_factory, transaction
from careweave.store.models import User
from careweave.web import demo_setup

TARGET = 5_000


def prepare(root: Path, people: int) -> tuple[str, Path]:
    dataset, warehouse, db = root / "dataset", root / "warehouse.duckdb", root / "store.db"
    if not warehouse.exists():
        cli(["synth", "--people", str(people), "--out", str(dataset), "--no-progress"])
        cli(["load", str(dataset), "-w", str(warehouse), "-q"])
    url = f"sqlite:///{db}"
    demo_setup(url, warehouse)
    return url, warehouse


def token(url: str, username: str) -> str:
    with transaction(session_factory(make_engine(url))) as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one()
        return auth.issue_token(s, user, "bench", dt.datetime.now(dt.UTC))


def run(c: TestClient, bearer: str) -> tuple[int, float, dict[str, int]]:
    h = {"Authorization": f"Bearer {bearer}"}
    t0 = time.perf_counter()
    r = c.get("/fhir/Patient/$export", headers={**h, "Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    status = r.headers["content-location"].replace("http://testserver", "")
    while (r := c.get(status, headers=h)).status_code == 202:
        time.sleep(0.05)
    took = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    counts = {o["type"]: o["count"] for o in r.json()["output"]}
    c.delete(status, headers=h)
    return sum(counts.values()), took, counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=10_000)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-fhir-bulk-"))
    root.mkdir(parents=True, exist_ok=True)
    url, warehouse = prepare(root, args.people)
    app = build_app(
        Settings(db=url, warehouse=warehouse, pseudonym_key="b" * 32, insecure_cookies=True)
    )
    ok = True
    with TestClient(app) as c:
        for who, what in (
            ("commissioner", "pseudonymised, everyone"),
            ("coordinator", "identified, locality"),
        ):
            n, took, counts = run(c, token(url, who))
            rate = n / took
            ok = ok and (rate >= TARGET or who != "commissioner")
            print(
                f"{who} ({what}): {counts.get('Patient', 0):,} patients, {n:,} resources "
                f"in {took:.1f} s = {rate:,.0f} resources/s (target >= {TARGET:,})"
            )
            print("   ", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
