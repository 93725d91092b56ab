"""Event -> notification latency through a real HTTP server.

Starts ``careweave serve`` (uvicorn) on 127.0.0.1 over a fresh store with a few
hundred people, each with a six-person care team, then posts events (admission,
discharge, fall alarm, telehealth reading) at a fixed open-loop rate from a
bounded client loop. An event's notifications are committed in the same
transaction as the event, so the time from the scheduled send to the 200 reply
is the event -> notification latency. Prints p50/p95/p99 and the achieved rate.

The first responder (each person's rapid-response team member) has opted in to
email for fall alarms, and the server sends through a real SMTP server (aiosmtpd)
on 127.0.0.1 that this script runs: for each fall alarm the time from the
scheduled send to the email's arrival in that inbox (the outbox drained by
``serve``'s jobs thread, care/background.py) is the event -> responder's email
latency, printed beside the store's.

    .venv/bin/python bench/bench_events.py [--rate 100] [--seconds 20] [--db URL] [--workers N]

Targets (issues 5 and 12): p99 < 1 s at 100 events/s, to the store and to the inbox.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from careweave.dataset.nhs_number import synthetic_numbers
from careweave.security import auth
from careweave.store.db import make_engine, session_factory, transaction, upgrade
from careweave.store.models import CareTeamMember, Notification, Person, StaffChannel

TEAM = (
    "gp",
    "care_coordinator",
    "social_worker",
    "home_care_provider",
    "district_nurse",
    "rapid_response",
)
KINDS = ("admission", "discharge", "fall_alarm", "telehealth_reading")


def populate(url: str, people: int) -> tuple[list[str], str]:
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    numbers = synthetic_numbers(people)
    with transaction(session_factory(engine)) as s:
        staff = [
            auth.create_user(
                s, username=f"staff{i}", display_name=f"Staff {i}", role="clinician", now=now
            )
            for i in range(len(TEAM) * 4)
        ]
        feed = auth.create_user(
            s, username="feed", display_name="Feed", role="integration", now=now
        )
        token = auth.issue_token(s, feed, "bench", now)
        for i, nhs in enumerate(numbers):
            s.add(
                Person(
                    nhs_number=nhs,
                    date_of_birth=dt.date(1940, 1, 1),
                    sex="female",
                    ethnic_group="white",
                    practice_id="P1",
                    care_home_resident=False,
                    risk_explanation=[],
                    conditions=[],
                    synced_at=now,
                )
            )
            s.flush()
            for j, role in enumerate(TEAM):
                u = staff[(i + j * 4) % len(staff)]
                if role == "rapid_response" and s.get(StaffChannel, u.id) is None:
                    s.add(
                        StaffChannel(
                            user_id=u.id,
                            email=f"{u.username}@responders.test",
                            by_email=True,
                            by_sms=False,
                            kinds=["event:fall_alarm"],
                            updated_at=now,
                        )
                    )
                    s.flush()
                s.add(
                    CareTeamMember(
                        nhs_number=nhs,
                        user_id=u.id,
                        team_role=role,
                        organisation="X",
                        added_by=u.id,
                        added_at=now,
                    )
                )
    engine.dispose()
    return numbers, token


def body_for(i: int, numbers: list[str], t_event: dt.datetime) -> dict[str, object]:
    kind = KINDS[i % len(KINDS)]
    body: dict[str, object] = {
        "nhs_number": numbers[i % len(numbers)],
        "type": kind,
        "occurred_at": (t_event + dt.timedelta(seconds=i)).isoformat(),
        "external_id": f"bench-{i}",
    }
    if kind == "telehealth_reading":
        body["payload"] = {"measure": "glucose", "value": 5.0 + (i % 13)}
    return body


class Inbox:
    """The SMTP server's handler: when each fall alarm's email arrived, by event id."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        from email import message_from_bytes

        msg = message_from_bytes(envelope.original_content)  # type: ignore[attr-defined]
        event = msg.get("X-Careweave-Event")
        if event is not None:
            self.arrived.setdefault(int(event), time.monotonic())
        return "250 OK"


async def send_all(
    base: str, token: str, numbers: list[str], total: int, rate: float
) -> tuple[list[float], list[int], float, dict[int, float]]:
    """Open loop: event i is sent at start + i/rate whatever happened to earlier ones.
    Also returns each fall alarm's event id with its scheduled (monotonic) send time."""
    latencies = [0.0] * total
    statuses = [0] * total
    alarms: dict[int, float] = {}
    t_event = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_connections=32),
        timeout=60,
    ) as client:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.5
        in_flight = asyncio.Semaphore(32)  # bounded client: at most 32 requests outstanding

        async def send(i: int) -> None:
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            async with in_flight:
                r = await client.post("/events", json=body_for(i, numbers, t_event))
            statuses[i] = r.status_code
            latencies[i] = loop.time() - scheduled  # includes any queueing at the client
            if r.status_code == 200 and KINDS[i % len(KINDS)] == "fall_alarm":
                alarms[int(r.json()["id"])] = scheduled

        await asyncio.gather(*(send(i) for i in range(total)))
        elapsed = loop.time() - start
    return latencies, statuses, elapsed, alarms


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server process and its children."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rate", type=float, default=100.0, help="events per second")
    ap.add_argument("--seconds", type=float, default=20.0, help="duration of the send loop")
    ap.add_argument("--people", type=int, default=300)
    ap.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file)")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="cw-bench-")
    url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
    numbers, token = populate(url, args.people)
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "careweave.cli.main",
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env={
            **os.environ,
            "CAREWEAVE_PSEUDONYM_KEY": "bench-key-" + "x" * 32,
            "CAREWEAVE_SMTP_HOST": "127.0.0.1",
            "CAREWEAVE_SMTP_PORT": str(smtp_port),
        },
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("server did not start")
        total = int(args.rate * args.seconds)
        cpu_before = server_cpu(server.pid)
        client_before = time.process_time()
        latencies, statuses, elapsed, alarms = asyncio.run(
            send_all(base, token, numbers, total, args.rate)
        )
        deadline = time.monotonic() + 30  # let the outbox catch up before counting
        while time.monotonic() < deadline and not set(alarms) <= set(inbox.arrived):
            time.sleep(0.1)
        server_ms = (server_cpu(server.pid) - cpu_before) * 1000 / total
        client_ms = (time.process_time() - client_before) * 1000 / total
        ok = sum(1 for s in statuses if s == 200)
        lat = sorted(latencies)
        q = statistics.quantiles(lat, n=100)
        engine = make_engine(url)
        with session_factory(engine)() as s:
            notes = s.execute(select(func.count()).select_from(Notification)).scalar_one()
        engine.dispose()
        print(
            f"store: {url.split(':')[0]}; {args.workers} server worker(s); "
            f"{args.people} people with 6-person care teams"
        )
        print(
            f"events sent: {total} at target {args.rate:g}/s; achieved {total / elapsed:.1f}/s; {ok} ok"
        )
        print(f"notifications written: {notes}")
        print(
            f"event -> notification latency: p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
            f"p99 {q[98] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
        )
        print(f"target p99 < 1000 ms: {'met' if q[98] < 1.0 and ok == total else 'NOT met'}")
        mail = sorted(inbox.arrived[e] - t for e, t in alarms.items() if e in inbox.arrived)
        if len(mail) >= 2:
            m = statistics.quantiles(mail, n=100)
            print(
                f"fall alarm -> first responder's email in the SMTP inbox ({len(mail)} of "
                f"{len(alarms)} arrived): p50 {m[49] * 1000:.0f} ms, p95 {m[94] * 1000:.0f} ms, "
                f"p99 {m[98] * 1000:.0f} ms, max {mail[-1] * 1000:.0f} ms"
            )
            met = m[98] < 1.0 and len(mail) == len(alarms)
            print(f"target p99 < 1000 ms to the inbox: {'met' if met else 'NOT met'}")
        else:
            print(f"fall alarm emails arrived: {len(mail)} of {len(alarms)}")
        print(f"CPU per event: server {server_ms:.1f} ms, bench client {client_ms:.1f} ms")
        print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        server.terminate()
        server.wait(10)
        smtp.stop()


if __name__ == "__main__":
    main()
