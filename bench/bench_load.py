"""Benchmark ``careweave load``: wall time, rows/s and peak memory.

Generates synthetic datasets (careweave.synth; cached in the work directory)
of the given sizes over five years, then loads each into a new warehouse in a
child process and prints wall time, rows per second, the child's CPU time
(a better guide than wall time on a shared machine) and peak RSS,
the time of the no-op reload of the same batch, and the time of a re-extract
(every table again, 1 in 100 hospital spells with a recoded specialty) loaded
with ``--apply-corrections``. Default sizes: the demo
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


def _re_extract(directory: Path) -> Path:
    """A copy of ``directory`` with 1 in 100 hospital spells recoded (a new specialty)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = directory.with_name(directory.name + "-re-extract")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(directory, out)
    path = out / "hospital_spells.parquet"
    spells = pq.read_table(path)
    i = spells.schema.get_field_index("specialty")
    field = spells.schema.field(i)
    picked = pa.array([n % 100 == 0 for n in range(spells.num_rows)])
    recoded = pc.if_else(picked, pa.scalar("999", field.type), spells.column(i))
    pq.write_table(spells.set_column(i, field, recoded), path)
    return out


def _child(directory: Path, warehouse: Path) -> None:
    import resource

    from careweave.ingest import load_dataset

    t0 = time.perf_counter()
    report = load_dataset(directory, warehouse)
    first = time.perf_counter() - t0
    first_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    t0 = time.perf_counter()
    again = load_dataset(directory, warehouse)
    second = time.perf_counter() - t0
    assert again.already_loaded
    re_extract = _re_extract(directory)
    t0 = time.perf_counter()
    corrected = load_dataset(re_extract, warehouse, apply_corrections=True)
    third = time.perf_counter() - t0
    assert corrected.reconciles()
    print(
        json.dumps(
            {
                "seconds": first,
                "first_rss_gb": first_rss,
                "reload_seconds": second,
                "corrections_seconds": third,
                "rows_corrected": corrected.rows_corrected,
                "rows_unchanged": corrected.rows_unchanged,
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
            f"CPU {usage.ru_utime + usage.ru_stime:.1f} s (user+sys, whole child); "
            f"peak RSS {rss_gb:.2f} GB ({result['first_rss_gb']:.2f} GB after the first load); "
            f"quarantined {result['rows_quarantined']:,}; "
            f"reconciles {result['reconciles']}; "
            f"reload of the same batch (no-op) {result['reload_seconds']:.1f} s; "
            f"re-extract with --apply-corrections {result['corrections_seconds']:.1f} s "
            f"({result['rows_corrected']:,} corrected, {result['rows_unchanged']:,} unchanged); "
            f"warehouse {warehouse.stat().st_size / 1e6:,.0f} MB"
        )
    print(f"load averages after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
