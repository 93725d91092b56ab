"""Web workbench load test: worklist, patient and search pages at 20 concurrent users (locust).

    .venv/bin/python bench/bench_web.py [--people 1000000] [--users 20] [--seconds 60]

Builds (once, then reused) a SQLite store with N people spread over 25
localities x 2 clusters x 4 practices, CCM levels 0.5% / 4.5% / 40% / 55%,
and one care co-ordinator per locality; starts `careweave serve` on
127.0.0.1; runs locust headless, each simulated user holding a browser
session as a co-ordinator and then opening worklist pages (levels 3-4, random
page and sort, sometimes a filter) and patient pages of people in their
locality, and finding people by name (a family name alone, given and family
name, or a family name with a date of birth; names drawn with
Faker en_GB's frequencies, so common names match thousands of people; the
bench's NHS numbers have no valid check digit, so search by NHS number, a
primary-key lookup, is not part of the mix). Prints
p50/p95/p99 per page, the targets (search p95 < 100 ms; worklist and patient
p95 < 300 ms) and the load average. No warehouse is attached, so the patient
timeline shows the store's events only.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from locust import HttpUser, between, task

LOCALITIES = 25
CLUSTERS = 2
PRACTICES = 4
PASSWORD = "bench-password-123"
TARGET_MS = {"worklist": 300.0, "patient": 300.0, "search": 100.0}
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


def make_sessions(db: Path, n: int) -> list[dict[str, str]]:
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
    """A care co-ordinator: worklist pages and patient pages in their own locality."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        # Sessions are made before the run (sign-in's deliberately slow password hash is
        # not what this measures): each simulated user takes one and sets its cookie.
        sessions = json.loads(os.environ["BENCH_SESSIONS"])
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


def _wait_up(base: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--store", type=Path, default=Path(tempfile.gettempdir()) / "careweave-bench-web"
    )
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    args.store.mkdir(parents=True, exist_ok=True)
    db = args.store / f"store-{args.people}-v{STORE_VERSION}.db"
    done = db.with_suffix(".built")
    if not done.exists():
        t0 = time.monotonic()
        for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            leftover.unlink(missing_ok=True)
        build_store(db, args.people)
        done.touch()
        print(f"built store with {args.people:,} people in {time.monotonic() - t0:.0f} s")
    sessions = make_sessions(db, args.users)
    bin_dir = Path(sys.executable).parent
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            str(bin_dir / "careweave"),
            "serve",
            "--db",
            f"sqlite:///{db}",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
            "--insecure-cookies",
        ],
    )
    try:
        _wait_up(base)
        out = args.store / "locust"
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
                "BENCH_PEOPLE": str(args.people),
                "BENCH_SESSIONS": json.dumps(sessions),
            },
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    with open(f"{out}_stats.csv") as f:
        stats = {r["Name"]: r for r in csv.DictReader(f)}
    print(f"\n{args.people:,} people, {args.users} users, {args.seconds} s, {args.workers} workers")
    ok = True
    for name in ("worklist", "patient", "search"):
        r = stats[name]
        p95 = float(r["95%"])
        ok &= p95 < TARGET_MS[name]
        print(
            f"{name:9s} requests {int(r['Request Count']):6d}  failures {int(r['Failure Count']):4d}  "
            f"p50 {float(r['50%']):6.0f} ms  p95 {p95:6.0f} ms  p99 {float(r['99%']):6.0f} ms  "
            f"(target p95 < {TARGET_MS[name]:.0f} ms)"
        )
    print(f"targets: {'met' if ok else 'NOT met'}")
    print("load average (1, 5, 15 min):", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
