"""Benchmark ``careweave load``: wall time, rows/s and peak memory.

Generates synthetic datasets (careweave.synth; cached in the work directory)
of the given sizes over five years, then loads each into a new warehouse in a
child process and prints wall time, rows per second and the child's peak RSS,
and the time of the no-op reload of the same batch. Default sizes: the demo
(~120,000 people) and 800,000 people (the most careweave.synth can number today; pass
--people 1000000 once it allows more).

    .venv/bin/python bench/bench_load.py [--people 120000 1000000] [--workdir DIR]

Not a timed test: run it on an otherwise idle machine and note ``uptime``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

START, END = dt.date(2020, 1, 1), dt.date(2024, 12, 31)
SEED = 20240601


def _child(directory: Path, warehouse: Path) -> None:
    from careweave.ingest import load_dataset

    t0 = time.perf_counter()
    report = load_dataset(directory, warehouse)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = load_dataset(directory, warehouse)
    second = time.perf_counter() - t0
    assert again.already_loaded
    print(
        json.dumps(
            {
                "seconds": first,
                "reload_seconds": second,
                "rows_in": report.rows_in,
                "rows_quarantined": report.rows_quarantined,
                "reconciles": report.reconciles(),
            }
        )
    )


def _dataset(workdir: Path, people: int) -> tuple[Path, float | None]:
    from careweave.synth import generate

    directory = workdir / f"synth-{people}"
    if (directory / "manifest.json").exists():
        return directory, None
    shutil.rmtree(directory, ignore_errors=True)
    t0 = time.perf_counter()
    generate(people, SEED, START, END, directory)
    return directory, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[120_000, 800_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/careweave-bench-load"))
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"load averages before: {os.getloadavg()}, cpus: {os.cpu_count()}")
    for people in args.people:
        directory, generated = _dataset(args.workdir, people)
        if generated is not None:
            print(f"{people:,} people: generated in {generated:.1f} s")
        size = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
        warehouse = args.workdir / f"warehouse-{people}.duckdb"
        warehouse.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(directory), str(warehouse)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"load of {people:,} people failed ({proc.returncode})")
        result = json.loads(out.strip().splitlines()[-1])
        rss_gb = usage.ru_maxrss / 1024 / 1024  # ru_maxrss is in KiB on Linux
        print(
            f"{people:,} people x 5 years: {result['rows_in']:,} rows "
            f"({size / 1e6:,.0f} MB Parquet) loaded in {result['seconds']:.1f} s "
            f"= {result['rows_in'] / result['seconds']:,.0f} rows/s; "
            f"peak RSS {rss_gb:.2f} GB; quarantined {result['rows_quarantined']:,}; "
            f"reconciles {result['reconciles']}; "
            f"reload of the same batch (no-op) {result['reload_seconds']:.1f} s; "
            f"warehouse {warehouse.stat().st_size / 1e6:,.0f} MB"
        )
    print(f"load averages after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
