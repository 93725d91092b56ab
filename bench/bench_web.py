"""Web workbench load test at 20 concurrent signed-in users (locust on loopback).

    .venv/bin/python bench/bench_web.py [--mode demo|search] [--people N] [--users 20]
                                        [--seconds 60] [--workers 1]

``--mode demo`` (the default) measures the demo's own configuration: it runs
``careweave demo --no-serve --people N`` (default 120,000, as the demo) once
into ``$TMPDIR/careweave-bench-web/demo-N/``, keeps a pristine copy of the
store it made, and for every run starts from that copy and serves it exactly
as ``careweave demo`` does: ``careweave serve`` with the demo's store, its
DuckDB warehouse attached (``--warehouse``), host 127.0.0.1, one worker. The
20 simulated users hold browser sessions of the demo users: care staff
(``coordinator``, ``case.manager``, ``social.worker``, whose locality holds
about 40,000 people, and ``gp.jones``, a practice) open worklist pages
(levels 3-4, a random page and sort, sometimes a filter) and patient pages
(seven in ten from levels 3-4, the people a worklist leads to, the rest
anyone they may see, Mrs Jones among them), whose timeline, risk history,
telehealth and shared record are read from the warehouse; one user in five
is the ``commissioner`` on the population pages (the pyramid by locality,
cluster or practice, segments with spend, movement between levels).
Targets (issue 15): p95 < 300 ms and p99 < 1 s on every page.

``--mode search`` keeps the scale test of finding people by name: a SQLite
store of N people (default 1,000,000) spread over 25 localities x 2 clusters
x 4 practices, with names drawn with Faker en_GB's frequencies (so common
names match thousands), built once straight into a migrated store, and one
care co-ordinator per locality; users open worklist pages, patient pages and
search by a family name, given and family name, or family name with a date
of birth (the bench's NHS numbers have no valid check digit, so search by NHS
number, a primary-key lookup, is not in the mix). No warehouse is attached in
this mode (its people are not the warehouse's), so its patient pages show the
store's side only. Targets (issue 13): search p95 < 100 ms, patient p95 <
300 ms.

Sessions are made before the run (sign-in's deliberately slow password hash
is not what this measures); statistics are reset once all users have started.
The users start once the server reports ready, as a deployment's health check
would: ``/health`` answers only after the app's start-up (uvicorn runs the
lifespan start-up, the workbench's warm-up, before it listens), so the first
requests are counted and find what any first user would (docs/web.md, the
p99 tail). Both modes print p50/p95/p99 per page, the targets and ``uptime`` before and
after the run. locust runs on the same machine as the server.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

from careweave.devtools import wait_until_healthy

LOCALITIES = 25
CLUSTERS = 2
PRACTICES = 4
PASSWORD = "bench-password-123"
# (p95, p99) targets in ms per page; None: no p99 target.
SEARCH_TARGETS: dict[str, tuple[float, float | None]] = {
    "worklist": (300.0, None),
    "patient": (300.0, None),
    "search": (100.0, None),
}
# The cached demo is rebuilt when this changes: bump it whenever load or stratify write
# the warehouse differently, or the bench measures a warehouse this code never writes.
# 2: the warehouse's person tables in NHS-number order (ingest);
# 3: risk_scores in (NHS number, as_of) order across runs (stratify, c2771e8): a v2 demo
#    holds one sorted run per score date, and each patient page's risk history reads
#    both runs' row groups (about 11 ms CPU of a page's 57 ms of warehouse reads at
#    120k, against 6 ms of 49 ms once ordered).
DEMO_VERSION = 3
DEMO_PAGES = ("worklist", "patient", "population", "segments", "movement")
DEMO_TARGETS: dict[str, tuple[float, float | None]] = {n: (300.0, 1000.0) for n in DEMO_PAGES}
DEMO_STAFF = ("coordinator", "case.manager", "social.worker", "gp.jones")
STORE_VERSION = 2  # 2: people carry names (the search index)


def _names() -> tuple[list[str], list[float], list[str], list[str]]:
    """Family names with their cumulative weights, and given names, from Faker's en_GB."""
    from itertools import accumulate

    from faker.providers.person.en_GB import Provider

    family = list(Provider.last_names)
    cumulative = list(accumulate(float(w) for w in Provider.last_names.values()))
    return family, cumulative, list(Provider.first_names_female), list(Provider.first_names_male)


def _nhs(i: int) -> str:
    return f"{9_000_000_000 + i:010d}"


def build_store(path: Path, people: int) -> None:
    """People rows written straight into a migrated store (fast path for the benchmark)."""
    from careweave.security import auth
    from careweave.server import build_app
    from careweave.settings import Settings
    from careweave.store.db import make_engine, session_factory, transaction

    url = f"sqlite:///{path}"
    build_app(
        Settings(db=url, insecure_cookies=True, pseudonym_key="x" * 32)
    )  # migrate + web indexes
    now = dt.datetime.now(dt.UTC)
    con = sqlite3.connect(path)
    orgs: list[tuple[str, str, str, str | None]] = [
        ("HB", "health_board", "Bench health board", None)
    ]
    for loc in range(LOCALITIES):
        lid = f"L{loc:02d}"
        orgs.append((lid, "locality", f"Locality {loc}", "HB"))
        for cl in range(CLUSTERS):
            cid = f"{lid}C{cl}"
            orgs.append((cid, "cluster", f"Cluster {loc}.{cl}", lid))
            for pr in range(PRACTICES):
                orgs.append((f"{cid}P{pr}", "gp_practice", f"Practice {loc}.{cl}.{pr}", cid))
    con.executemany("INSERT INTO organisations VALUES (?, ?, ?, ?)", orgs)
    rng = random.Random(7)
    today = now.date()
    synced = now.replace(tzinfo=None).isoformat(sep=" ")
    reasons = [
        "2 emergency admissions in the last 12 months",
        "heart failure",
        "aged 85+",
        "COPD",
        "10+ repeat medicines",
        "lives alone with a social-care package",
    ]

    from careweave.store.models import name_key

    family, cumulative, female, male = _names()

    def rows() -> Iterator[tuple[object, ...]]:
        for i in range(people):
            loc = i % LOCALITIES
            practice = f"L{loc:02d}C{rng.randrange(CLUSTERS)}P{rng.randrange(PRACTICES)}"
            pct = rng.random() * 100
            level = 4 if pct >= 99.5 else 3 if pct >= 95 else 2 if pct >= 55 else 1
            age = rng.randint(0, 100)
            sex = rng.choice(("female", "male"))
            given = rng.choice(female if sex == "female" else male)
            surname = rng.choices(family, cum_weights=cumulative)[0]
            yield (
                _nhs(i),
                given,
                surname,
                name_key(given),
                name_key(surname),
                (today - dt.timedelta(days=age * 365 + rng.randrange(365))).isoformat(),
                sex,
                "white_british",
                None,
                rng.randint(1, 10),
                practice,
                f"L{loc:02d}",
                None,
                0,
                None,
                today.isoformat(),
                round(pct / 200, 4),
                round(pct, 2),
                "very high" if level == 4 else "high" if level == 3 else "moderate",
                level,
                rng.choice(
                    ("70+: frail", "adults: 2+ long-term conditions", "adults: mostly healthy")
                ),
                rng.choice(("fit", "mild", "moderate", "severe")),
                0,
                json.dumps(rng.sample(reasons, 3)),
                "bench",
                "[]",
                synced,
            )

    con.executemany(
        "INSERT INTO people (nhs_number, given_name, family_name, given_key, family_key, "
        "date_of_birth, sex, ethnic_group, small_area, "
        "deprivation_decile, practice_id, locality_id, local_authority_id, care_home_resident, "
        "date_of_death, risk_as_of, risk_probability, risk_percentile, risk_band, ccm_level, "
        "segment, frailty_category, readmitter, risk_explanation, model_version, conditions, "
        "synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?)",
        rows(),
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()
    engine = make_engine(url)
    with transaction(session_factory(engine)) as s:
        for loc in range(LOCALITIES):
            auth.create_user(
                s,
                username=f"cc{loc:02d}",
                display_name=f"Co-ordinator {loc}",
                role="care_coordinator",
                password=PASSWORD,
                locality_id=f"L{loc:02d}",
                now=now,
            )
    engine.dispose()


def make_search_sessions(db: Path, n: int) -> list[dict[str, str]]:
    """One browser session per simulated user, for co-ordinators across the localities."""
    from sqlalchemy import select

    from careweave.security import auth
    from careweave.store.db import make_engine, session_factory, transaction
    from careweave.store.models import User

    engine = make_engine(f"sqlite:///{db}")
    out = []
    now = dt.datetime.now(dt.UTC)
    with transaction(session_factory(engine)) as s:
        for i in range(n):
            loc = i % LOCALITIES
            user = s.execute(select(User).where(User.username == f"cc{loc:02d}")).scalar_one()
            token, _ = auth.start_session(s, user, now)
            out.append({"token": token, "locality": str(loc)})
    engine.dispose()
    return out


class Coordinator(HttpUser):
    """--mode search: a care co-ordinator's worklist, patient pages in their own locality,
    and searches by name."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        # Sessions are made before the run (sign-in's deliberately slow password hash is
        # not what this measures): each simulated user takes one and sets its cookie.
        sessions = json.loads(Path(os.environ["BENCH_SESSIONS"]).read_text())
        me = sessions[random.randrange(len(sessions))]
        self.loc = int(me["locality"])
        self.people = int(os.environ.get("BENCH_PEOPLE", "1000000"))
        self.client.cookies.set("cw_session", me["token"])

    @task(3)
    def worklist(self) -> None:
        params: dict[str, str] = {
            "page": str(random.randint(1, 20)),
            "sort": random.choice(("risk", "age", "level")),
        }
        if random.random() < 0.3:
            params["frailty"] = random.choice(("moderate", "severe"))
            params["applied"] = "1"
            params["level"] = "4"
        self.client.get("/app/worklist", params=params, name="worklist")

    @task(2)
    def search(self) -> None:
        if not hasattr(self, "family"):
            self.family, self.cumulative, female, male = _names()
            self.given = female + male
        roll = random.random()
        surname = random.choices(self.family, cum_weights=self.cumulative)[0]
        if roll < 0.65:
            q = surname
        elif roll < 0.9:
            q = f"{random.choice(self.given)} {surname}"
        else:
            age = random.randint(20, 95)
            q = f"{surname} 1/{random.randint(1, 12)}/{dt.date.today().year - age}"
        self.client.get("/app/search", params={"q": q}, name="search")

    @task(2)
    def patient(self) -> None:
        i = random.randrange(self.people // LOCALITIES) * LOCALITIES + self.loc
        self.client.get(f"/app/people/{_nhs(min(i, self.people - 1))}", name="patient")


def _worklist_params() -> dict[str, str]:
    params: dict[str, str] = {
        "page": str(random.randint(1, 20)),
        "sort": random.choice(("risk", "age", "level")),
    }
    if random.random() < 0.3:
        params["frailty"] = random.choice(("moderate", "severe"))
        params["applied"] = "1"
        params["level"] = "4"
    return params


_NEXT = itertools.count()


class DemoUser(HttpUser):
    """--mode demo: a demo user's session; care staff work the worklist and patient pages,
    the commissioner the population pages."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        sessions = json.loads(Path(os.environ["BENCH_SESSIONS"]).read_text())
        me = sessions[next(_NEXT) % len(sessions)]  # each simulated user the next session
        self.role = me["username"]
        self.high: list[str] = me["high"]
        self.anyone: list[str] = me["anyone"]
        self.client.cookies.set("cw_session", me["token"])

    @task
    def work(self) -> None:
        if self.role == "commissioner":
            roll = random.random()
            if roll < 0.5:
                by = random.choice(("locality", "cluster", "practice"))
                self.client.get("/app/population", params={"by": by}, name="population")
            elif roll < 0.75:
                self.client.get("/app/population/segments", name="segments")
            else:
                self.client.get("/app/population/movement", name="movement")
            return
        if random.random() < 0.5:
            self.client.get("/app/worklist", params=_worklist_params(), name="worklist")
            return
        pool = self.high if self.high and random.random() < 0.7 else self.anyone
        self.client.get(f"/app/people/{random.choice(pool)}", name="patient")


def build_demo(folder: Path, people: int) -> None:
    """``careweave demo --no-serve`` into ``folder``, then a pristine copy of its store. The
    warehouse and store are made afresh (a dataset already there with the same parameters
    is reused, as the demo does), so they are what this code's load and sync write."""
    bin_dir = Path(sys.executable).parent
    for stale in ("warehouse.duckdb", "warehouse.duckdb.wal", "careweave.sqlite"):
        (folder / stale).unlink(missing_ok=True)
    shutil.rmtree(folder / "models", ignore_errors=True)
    subprocess.run(
        [
            str(bin_dir / "careweave"),
            "demo",
            "--out",
            str(folder),
            "--people",
            str(people),
            "--no-serve",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.copyfile(folder / "careweave.sqlite", folder / "pristine.sqlite")


def make_demo_sessions(db: Path, n: int) -> list[dict[str, Any]]:
    """Sessions of the demo users for n simulated users (one in five the commissioner),
    each with the NHS numbers that user may open: from levels 3-4 and from anyone."""
    from sqlalchemy import select

    from careweave.security import access, auth
    from careweave.store.db import make_engine, session_factory, transaction
    from careweave.store.models import CareTeamMember, Person, User

    engine = make_engine(f"sqlite:///{db}")
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(11)
    out: list[dict[str, Any]] = []
    with transaction(session_factory(engine)) as s:
        pools: dict[str, tuple[list[str], list[str]]] = {}
        for name in DEMO_STAFF:
            user = s.execute(select(User).where(User.username == name)).scalar_one()
            seen = access.visible_clause(user, now) & Person.date_of_death.is_(None)
            high = list(
                s.execute(
                    select(Person.nhs_number).where(seen, Person.ccm_level.in_((3, 4)))
                ).scalars()
            )
            anyone = list(s.execute(select(Person.nhs_number).where(seen)).scalars())
            team = list(
                s.execute(
                    select(CareTeamMember.nhs_number).where(
                        CareTeamMember.user_id == user.id, CareTeamMember.ended_at.is_(None)
                    )
                ).scalars()
            )  # Mrs Jones for the demo's agencies
            pools[name] = (
                rng.sample(high, min(2000, len(high))) + team,
                rng.sample(anyone, min(2000, len(anyone))) + team,
            )
        for i in range(n):
            name = "commissioner" if i % 5 == 4 else DEMO_STAFF[i % len(DEMO_STAFF)]
            user = s.execute(select(User).where(User.username == name)).scalar_one()
            token, _ = auth.start_session(s, user, now)
            high, anyone = pools.get(name, ([], []))
            out.append({"username": name, "token": token, "high": high, "anyone": anyone})
    engine.dispose()
    return out


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _prepare_search(args: argparse.Namespace) -> tuple[Path, Path | None, list[dict[str, Any]]]:
    db = args.store / f"store-{args.people}-v{STORE_VERSION}.db"
    done = db.with_suffix(".built")
    if not done.exists():
        t0 = time.monotonic()
        for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            leftover.unlink(missing_ok=True)
        build_store(db, args.people)
        done.touch()
        print(f"built store with {args.people:,} people in {time.monotonic() - t0:.0f} s")
    return db, None, list(make_search_sessions(db, args.users))


def _prepare_demo(args: argparse.Namespace) -> tuple[Path, Path | None, list[dict[str, Any]]]:
    folder = args.store / f"demo-{args.people}"
    done = folder / f".built-v{DEMO_VERSION}"
    if not done.exists():
        t0 = time.monotonic()
        build_demo(folder, args.people)
        done.touch()
        print(f"built the demo ({args.people:,} people) in {time.monotonic() - t0:.0f} s")
    db = folder / "careweave.sqlite"
    for leftover in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(folder / "pristine.sqlite", db)  # every run starts from the demo's store
    return db, folder / "warehouse.duckdb", make_demo_sessions(db, args.users)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("demo", "search"), default="demo")
    ap.add_argument("--people", type=int, help="default 120,000 (demo) or 1,000,000 (search)")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--store", type=Path, default=Path(tempfile.gettempdir()) / "careweave-bench-web"
    )
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    if args.people is None:
        args.people = 120_000 if args.mode == "demo" else 1_000_000
    args.store.mkdir(parents=True, exist_ok=True)
    demo = args.mode == "demo"
    db, warehouse, sessions = (_prepare_demo if demo else _prepare_search)(args)
    bin_dir = Path(sys.executable).parent
    base = f"http://127.0.0.1:{args.port}"
    command = [
        str(bin_dir / "careweave"),
        "serve",
        "--db",
        f"sqlite:///{db}",
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
        "--workers",
        str(args.workers),
    ]
    if warehouse is not None:
        command += ["--warehouse", str(warehouse)]
    else:
        command += ["--insecure-cookies"]
    sessions_file = args.store / f"sessions-{args.mode}.json"
    sessions_file.write_text(json.dumps(sessions))
    print("uptime before:", _uptime())
    server = subprocess.Popen(command)
    try:
        wait_until_healthy(base)
        out = args.store / f"locust-{args.mode}"
        subprocess.run(
            [
                str(bin_dir / "locust"),
                "-f",
                __file__,
                "DemoUser" if demo else "Coordinator",
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
                "BENCH_PEOPLE": str(args.people),
                "BENCH_SESSIONS": str(sessions_file),
            },
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    uptime_after = _uptime()
    with open(f"{out}_stats.csv") as f:
        stats = {r["Name"]: r for r in csv.DictReader(f)}
    what = "the demo, warehouse attached" if demo else "search store, no warehouse"
    print(
        f"\n{args.people:,} people ({what}), {args.users} users, {args.seconds} s, "
        f"{args.workers} worker(s)"
    )
    ok = True
    for name, (p95_target, p99_target) in (DEMO_TARGETS if demo else SEARCH_TARGETS).items():
        r = stats.get(name)
        if r is None or not int(r["Request Count"]):
            print(f"{name:10s} no requests")
            ok = False
            continue
        p95, p99 = float(r["95%"]), float(r["99%"])
        ok &= (
            p95 < p95_target
            and (p99_target is None or p99 < p99_target)
            and not int(r["Failure Count"])
        )
        target = f"p95 < {p95_target:.0f} ms" + (
            f", p99 < {p99_target:.0f} ms" if p99_target is not None else ""
        )
        print(
            f"{name:10s} requests {int(r['Request Count']):6d}  failures "
            f"{int(r['Failure Count']):4d}  p50 {float(r['50%']):6.0f} ms  p95 {p95:6.0f} ms  "
            f"p99 {p99:6.0f} ms  (target {target})"
        )
    print(f"targets: {'met' if ok else 'NOT met'}")
    print("uptime after:", uptime_after)


if __name__ == "__main__":
    main()
