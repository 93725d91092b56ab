"""Commissioner pages under load: KPI dashboard and funnel plots at 20 concurrent users (locust).

    .venv/bin/python bench/bench_commission.py --warehouse W.duckdb [--users 20] [--seconds 60]

``W`` is a warehouse with ``population_measures`` (``careweave measures --by locality
--by practice --by cluster ...``; bench/bench_measures.py makes one at 1,000,000
people). It is opened read-only. The bench makes a small SQLite store with one
commissioner (analyst) session per simulated user, starts ``careweave serve
--warehouse W`` on 127.0.0.1 and then:

1. **first views**: opens every dashboard (the board, each locality and each
   practice, whole period) and every funnel (each funnel KPI by practice and by
   locality, exact and with each over-dispersion adjustment) once, one after
   another, as soon as /health answers, and prints their p50/p95/max: what the
   first commissioner to ask each question waits. The server's warmer
   (web.pages.intelligence.PageWarmer) is making the same views from its start,
   so a view it has made is a cache hit and one it is making is waited for;
2. **load**: locust with N users, each opening dashboards of random areas
   (3 in 5 requests) and funnels of random KPIs, units and limits (2 in 5),
   waiting 0.5-1.5 s between pages (the think time of bench_web.py's users: at
   20 users about 13-20 requests a second, so a page's p95 holds only while the
   server's CPU per request stays well under 50 ms on a free core); prints
   p50/p95/p99 per page against the target (p95 < 300 ms) and the load average.

``--report-area locality:CODE`` (repeatable) also times ``careweave report``
making that area's PDF pack over the last 24 measured months (target <= 10 s,
the CLI's start-up included), once each, after the load run.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from locust import HttpUser, between, task

from careweave.devtools import wait_until_healthy

TARGET_MS = {"dashboard": 300.0, "funnel": 300.0}
REPORT_TARGET_S = 10.0
OVERDISPERSION = ("none", "additive", "multiplicative")


def build_store(path: Path, users: int) -> list[str]:
    """A migrated SQLite store with a commissioner; one session token per simulated user."""
    from careweave.security import auth
    from careweave.server import build_app
    from careweave.settings import Settings
    from careweave.store.db import make_engine, session_factory, transaction

    url = f"sqlite:///{path}"
    build_app(Settings(db=url, insecure_cookies=True, pseudonym_key="x" * 32))
    now = dt.datetime.now(dt.UTC)
    engine = make_engine(url)
    tokens = []
    with transaction(session_factory(engine)) as s:
        user = auth.create_user(
            s, username="commissioner", display_name="Bench commissioner", role="analyst", now=now
        )
        for _ in range(users):
            token, _ = auth.start_session(s, user, now)
            tokens.append(token)
    engine.dispose()
    return tokens


def questions(warehouse: Path) -> tuple[list[str], list[str], str]:
    """The dashboard areas and funnel query strings a commissioner can ask for, and the
    last 24 measured months as a report period."""
    from careweave import duck
    from careweave.web import intelligence as intel

    con = duck.connect(warehouse, read_only=True)
    try:
        known = intel.group_values(con)
        months = intel.months(con)
    finally:
        con.close()
    period = f"{months[max(0, len(months) - 24)]:%Y-%m}..{months[-1]:%Y-%m}"
    areas = ["all"] + [f"{by}:{v}" for by in intel.GROUPS for v in known[by]]
    funnels = [
        f"kpi={k.name}&by={by}&overdispersion={od}"
        for k in intel.funnel_kpis()
        for by in ("practice", "locality")
        for od in OVERDISPERSION
    ]
    return areas, funnels, period


class Commissioner(HttpUser):
    """A commissioner moving between dashboards and funnels."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        tokens = json.loads(os.environ["BENCH_TOKENS"])
        self.areas = json.loads(os.environ["BENCH_AREAS"])
        self.funnels = json.loads(os.environ["BENCH_FUNNELS"])
        self.client.cookies.set("cw_session", random.choice(tokens))

    @task(3)
    def dashboard(self) -> None:
        self.client.get(
            "/app/population/kpis", params={"area": random.choice(self.areas)}, name="dashboard"
        )

    @task(2)
    def funnel(self) -> None:
        self.client.get(f"/app/population/funnel?{random.choice(self.funnels)}", name="funnel")


def _get(base: str, path: str, token: str) -> float:
    req = urllib.request.Request(base + path, headers={"Cookie": f"cw_session={token}"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        body = r.read()
        # a redirect to sign-in would mean the session is not this server's
        if r.status != 200 or not r.geturl().startswith(base + path.split("?")[0]):
            raise SystemExit(f"{path}: HTTP {r.status} at {r.geturl()}")
        if b"Sign out" not in body:
            raise SystemExit(f"{path}: not a signed-in page")
    return (time.perf_counter() - t0) * 1000


def _summary(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return (
        f"{name:9s} first views {len(ms):4d}  p50 {statistics.median(ms):6.0f} ms  "
        f"p95 {p95:6.0f} ms  max {ms[-1]:6.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--report-area", action="append", default=[])
    ap.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "careweave-bench-commission"
    )
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / "store.db"
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    tokens = build_store(db, args.users)
    areas, funnels, period = questions(args.warehouse)
    bin_dir = Path(sys.executable).parent
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            str(bin_dir / "careweave"),
            "serve",
            "--db",
            f"sqlite:///{db}",
            "--warehouse",
            str(args.warehouse),
            "--port",
            str(args.port),
            "--insecure-cookies",
        ],
    )
    try:
        wait_until_healthy(base)
        time.sleep(1)
        if server.poll() is not None:
            raise SystemExit(
                f"careweave serve exited ({server.returncode}): is port {args.port} taken?"
            )
        first = {
            "dashboard": [_get(base, f"/app/population/kpis?area={a}", tokens[0]) for a in areas],
            "funnel": [_get(base, f"/app/population/funnel?{f}", tokens[0]) for f in funnels],
        }
        out = args.work / "locust"
        subprocess.run(
            [
                str(bin_dir / "locust"),
                "-f",
                __file__,
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
            env={
                **os.environ,
                "BENCH_TOKENS": json.dumps(tokens),
                "BENCH_AREAS": json.dumps(areas),
                "BENCH_FUNNELS": json.dumps(funnels),
            },
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    with open(f"{out}_stats.csv") as f:
        stats = {r["Name"]: r for r in csv.DictReader(f)}
    print(f"\n{args.warehouse.name}: {args.users} users, {args.seconds} s, 1 worker")
    for name, ms in first.items():
        print(_summary(name, ms))
    ok = True
    for name in ("dashboard", "funnel"):
        r = stats[name]
        p95 = float(r["95%"])
        ok &= p95 < TARGET_MS[name]
        print(
            f"{name:9s} requests {int(r['Request Count']):6d}  failures {int(r['Failure Count']):4d}  "
            f"p50 {float(r['50%']):6.0f} ms  p95 {p95:6.0f} ms  p99 {float(r['99%']):6.0f} ms  "
            f"(target p95 < {TARGET_MS[name]:.0f} ms)"
        )
    for area in args.report_area:
        pdf = args.work / f"report-{area.replace(':', '-')}.pdf"
        by, _, code = area.partition(":")
        t0 = time.perf_counter()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [str(bin_dir / "careweave"), "report", "--warehouse", str(args.warehouse), "--area"]
            + ([by] if by == "board" else [by, code])
            + ["--period", period, "--out", str(pdf)],
            check=True,
        )
        took = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        ok &= took <= REPORT_TARGET_S
        print(
            f"report    {area} {period}: {took:5.1f} s wall, {cpu:5.1f} s CPU, "
            f"{pdf.stat().st_size / 1024:,.0f} KiB "
            f"(target <= {REPORT_TARGET_S:.0f} s, includes the CLI's start-up)"
        )
    print(f"targets: {'met' if ok else 'NOT met'}")
    print("load average (1, 5, 15 min):", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
