"""FHIR API load test: Patient search by identifier and CarePlan read at 20 concurrent
clients (locust on loopback), on a store of 1,000,000 people.

    .venv/bin/python bench/bench_fhir.py [--people N] [--users 20] [--seconds 60]

The store is bench_web's search store (``bench_web.build_store``: N people over 25
localities with names, one care co-ordinator per locality), built once into
``$TMPDIR/careweave-bench-fhir/``, plus 100 shared care plans per locality written
straight into it. Every run starts from a pristine copy. Each simulated client holds an
API bearer token of one locality's co-ordinator and, in turn, searches
``Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|<nhs>`` for someone in its locality
and reads ``CarePlan/<id>`` of a plan there; both pass the relationship check (locality)
and write their audit entry, as in production. Served by ``careweave serve`` (SQLite; one
worker, the documented deployment, or ``--workers N``) on the same machine as locust.
Targets (issue 18): p95 < 100 ms for both. Prints p50/p95/p99 and ``uptime`` before and
after the run.

**The clients.** 20 integration clients (a GP system, an EPR, a shared-care-record
portal, ...) each send about one request a second: locust users with a think time of
0.5-1.5 s between requests, as bench_web's users, so 20 clients offer about 20 requests
a second. A client is closed-loop (it waits for its answer before thinking), which is
how an integration engine's worker behaves; with no think time the 20 clients would
offer as much as the server can take and the percentiles would measure the queue, not
the service.

``--profile N`` measures instead what a request costs: CPU per request (process time,
whatever the machine's load) and a cProfile of N of each, in process
(``profile_fhir.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from locust import HttpUser, between, task

sys.path.insert(0, str(Path(__file__).parent))
from bench_web import LOCALITIES, _nhs, _uptime, build_store
from careweave.devtools import wait_until_healthy
from fhir_store import add_plans, make_tokens

TARGETS = {"Patient?identifier": 100.0, "CarePlan read": 100.0}
NHS = "https://fhir.nhs.uk/Id/nhs-number"


class FhirClient(HttpUser):
    """A co-ordinator's FHIR client: patient lookups by NHS number and care-plan reads."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        clients = json.loads(Path(os.environ["BENCH_TOKENS"]).read_text())
        me = clients[random.randrange(len(clients))]
        self.loc = int(me["loc"])
        self.plans = list(me["plans"])
        self.people = int(os.environ.get("BENCH_PEOPLE", "1000000"))
        self.client.headers["Authorization"] = f"Bearer {me['token']}"

    @task
    def patient_by_identifier(self) -> None:
        i = random.randrange(self.people // LOCALITIES) * LOCALITIES + self.loc
        nhs = _nhs(min(i, self.people - 1))
        with self.client.get(
            "/fhir/Patient",
            params={"identifier": f"{NHS}|{nhs}"},
            name="Patient?identifier",
            catch_response=True,
        ) as r:
            if r.status_code != 200 or len(r.json().get("entry", [])) != 1:
                r.failure(f"{r.status_code}: expected the one patient")

    @task
    def care_plan_read(self) -> None:
        plan = random.choice(self.plans)
        with self.client.get(
            f"/fhir/CarePlan/{plan}", name="CarePlan read", catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument(
        "--store", type=Path, default=Path(tempfile.gettempdir()) / "careweave-bench-fhir"
    )
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    ap.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead of the load test: CPU per request and a cProfile of N of each, in process",
    )
    args = ap.parse_args()
    args.store.mkdir(parents=True, exist_ok=True)
    pristine = args.store / f"pristine-{args.people}.db"
    if not pristine.with_suffix(".built").exists():
        t0 = time.monotonic()
        pristine.unlink(missing_ok=True)
        build_store(pristine, args.people)
        add_plans(pristine, args.people)
        pristine.with_suffix(".built").touch()
        print(f"built store with {args.people:,} people in {time.monotonic() - t0:.0f} s")
    db = args.store / "store.db"
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    con = sqlite3.connect(pristine)  # fold the WAL in, so the copy holds everything
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    shutil.copyfile(pristine, db)
    if args.profile:  # in a process of its own: locust's gevent would patch this one
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("profile_fhir.py")),
                str(db),
                str(args.people),
                str(args.profile),
            ],
            check=True,
        )
        return
    tokens = args.store / "tokens.json"
    tokens.write_text(json.dumps(make_tokens(db, args.users)))
    bin_dir = Path(sys.executable).parent
    base = f"http://127.0.0.1:{args.port}"
    print("uptime before:", _uptime())
    server = subprocess.Popen(
        [
            str(bin_dir / "careweave"),
            "serve",
            "--db",
            f"sqlite:///{db}",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.port),
            "--insecure-cookies",
            "--workers",
            str(args.workers),
        ]
    )
    out = args.store / "locust"
    try:
        wait_until_healthy(base)
        subprocess.run(
            [
                str(bin_dir / "locust"),
                "-f",
                __file__,
                "FhirClient",
                "--headless",
                "-u",
                str(args.users),
                "-r",
                str(args.users),
                "-t",
                f"{args.seconds}s",
                "--host",
                base,
                "--csv",
                str(out),
                "--only-summary",
                "--reset-stats",
                "--loglevel",
                "WARNING",
            ],
            check=True,
            env={**os.environ, "BENCH_PEOPLE": str(args.people), "BENCH_TOKENS": str(tokens)},
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    uptime_after = _uptime()
    with open(f"{out}_stats.csv") as f:
        stats = {r["Name"]: r for r in csv.DictReader(f)}
    print(
        f"\n{args.people:,} people, {args.users} FHIR clients, {args.seconds} s, "
        f"{args.workers} worker(s)"
    )
    ok = True
    for name, target in TARGETS.items():
        row = stats.get(name)
        if row is None:
            print(f"{name}: no requests")
            ok = False
            continue
        p50, p95, p99 = (float(row[k]) for k in ("50%", "95%", "99%"))
        fails = int(row["Failure Count"])
        met = p95 < target and fails == 0
        ok = ok and met
        print(
            f"{name:20s} n={row['Request Count']:>6} failures={fails} p50={p50:.0f} ms "
            f"p95={p95:.0f} ms p99={p99:.0f} ms (target p95 < {target:.0f} ms: "
            f"{'met' if met else 'NOT met'})"
        )
    print("uptime after:", uptime_after)
    print("The machine is shared with other engineers' work: figures are taken under load.")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
