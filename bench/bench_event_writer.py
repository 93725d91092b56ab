"""The events writer's CPU per event by batch size, in-process (no HTTP, no client).

Builds bench_events.py's store (300 people, six-person care teams, the scoped
integration token), then hands the same mix of events to
:class:`careweave.api.event_writer.EventWriter` in batches of 1, 4 and 16, the
sizes alternated over several rounds, and prints the writer's thread CPU per event
for each: what group commit saves per event at each batch size, measured without the
HTTP server and the load generator sharing the cores (still on a shared machine:
``uptime`` is printed).

    .venv/bin/python bench/bench_event_writer.py [--rounds 3] [--events 64]
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import tempfile
import time
from pathlib import Path

from bench_events import body_for, populate
from careweave.api import create_app
from careweave.api.deps import Credentials
from careweave.api.event_writer import EventWriter, Job
from careweave.api.schemas import EventIn

SIZES = (1, 4, 16)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--events", type=int, default=64, help="events per size and round")
    args = ap.parse_args()
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='cw-writer-')) / 'bench.db'}"
    numbers, token = populate(url, 300)
    app = create_app(url, pseudonym_key=b"bench-key-" + b"x" * 32)
    writer = EventWriter(app.state.careweave)
    creds = Credentials("POST", "/events", token, None, None)
    sent = 0

    def batch(n: int) -> None:
        nonlocal sent
        occurred = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        jobs = [
            Job(creds, EventIn.model_validate(body_for(sent + k, numbers, occurred)))
            for k in range(n)
        ]
        sent += n
        writer.run_batch(jobs)
        for j in jobs:
            j.future.result(timeout=0)  # every one stored, or the bench stops here

    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    batch(32)  # warm the caches and the code paths
    cpu: dict[int, list[float]] = {n: [] for n in SIZES}
    for _ in range(args.rounds):
        for n in SIZES:
            t = time.thread_time()
            for _ in range(args.events // n):
                batch(n)
            cpu[n].append((time.thread_time() - t) * 1000 / (args.events // n * n))
    for n, values in cpu.items():
        print(f"batch of {n:>2}: " + ", ".join(f"{v:.1f}" for v in values) + " ms CPU per event")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
