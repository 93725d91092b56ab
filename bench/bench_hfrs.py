"""HFRS for the bench population: Careweave (Ibis on DuckDB) vs comorbidipy, speed and identity.

Target (issue 4): >= 10x faster than comorbidipy's HFRS with person-by-person
identical scores. comorbidipy (0.5.0, the last release for Python 3.11) lives
in its own environment, bench/.venv-comorbidipy (created here on first run,
gitignored), never in the product's dependencies. Usage:

    .venv/bin/python bench/bench_hfrs.py [--people 1000000] [--work /tmp/careweave-bench-risk]

Uses the warehouse bench_risk.py builds (built here if missing). Careweave's
time is the whole query from the warehouse tables (spell window, unnesting
secondary diagnoses, three-character codes, weights, sum); comorbidipy's is
its ``hfrs()`` call on the already-extracted (id, code) pairs of the same
spells, so the comparison favours comorbidipy. Scores are compared to 0.1,
the precision of the published weights.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-comorbidipy"
REPEATS = 5  # the machine is shared: report the best of several runs for both sides


def comorbidipy_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "comorbidipy==0.5.0",
                "pandas==2.3.3",
                "numpy==2.3.5",
                "pyarrow==26.0.1",
            ],
            check=True,
        )
    return python


def main() -> None:
    sys.path.insert(0, str(HERE))
    from bench_risk import AS_OF, build_warehouse
    from careweave.risk import features
    from careweave.warehouse.engines import DuckDBEngine

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/careweave-bench-risk"))
    ap.add_argument("--source", choices=("synth", "sim"), default="sim")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    wh = build_warehouse(args.people, args.work, args.source)
    python = comorbidipy_python()

    engine = DuckDBEngine.open(wh, threads=2)
    try:
        people = engine.to_arrow(features.cohort(engine, AS_OF).select("nhs_number"))
        runs, cpu = [], []
        for _ in range(REPEATS):
            t, c = time.perf_counter(), time.process_time()
            ours = engine.to_arrow(features.hfrs(engine, AS_OF)).to_pandas()
            runs.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        ours_s, ours_cpu = min(runs), min(cpu)
        codes = features._spell_codes(engine, AS_OF, features.HFRS_DAYS)
        pairs = engine.to_arrow(codes.select(id=codes.nhs_number, code=codes.code)).to_pandas()
    finally:
        engine.close()
    pairs_path = args.work / "hfrs-pairs.parquet"
    out_path = args.work / "hfrs-comorbidipy.parquet"
    pairs.to_parquet(pairs_path)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    res = subprocess.run(
        [str(python), str(HERE / "hfrs_comorbidipy.py"), str(pairs_path), str(out_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    theirs_s, theirs_cpu = map(float, res.stdout.strip().splitlines()[-1].split())
    theirs = pd.read_parquet(out_path)

    everyone = pd.DataFrame({"nhs_number": people["nhs_number"].to_pylist()})
    a = everyone.merge(ours, on="nhs_number", how="left").fillna({"hfrs": 0.0})
    b = everyone.merge(
        theirs.rename(columns={"id": "nhs_number", "hfrs": "theirs"}), on="nhs_number", how="left"
    ).fillna({"theirs": 0.0})
    both = a.merge(b, on="nhs_number")
    mine_t = np.round(both["hfrs"].to_numpy() * 10).astype(np.int64)
    theirs_t = np.round(both["theirs"].to_numpy() * 10).astype(np.int64)
    differ = int((mine_t != theirs_t).sum())
    print(f"people: {len(both):,} (cohort at {AS_OF}); (person, code) pairs: {len(pairs):,}")
    print(f"people with HFRS > 0: {int((mine_t > 0).sum()):,}")
    print(
        f"careweave HFRS (Ibis/DuckDB, 2 threads, from the warehouse): {ours_s:.2f} s "
        f"(best of {REPEATS})"
    )
    print(f"comorbidipy 0.5.0 hfrs() on extracted pairs: {theirs_s:.2f} s (best of {REPEATS})")
    print(f"speed-up, wall: {theirs_s / ours_s:.1f}x  (target >= 10x)")
    print(
        f"CPU time: careweave {ours_cpu:.2f} s (both threads), comorbidipy {theirs_cpu:.2f} s; "
        f"ratio {theirs_cpu / ours_cpu:.1f}x"
    )
    print(f"people whose scores differ (to 0.1): {differ}  (target 0)")
    print(f"load average before comorbidipy: {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
