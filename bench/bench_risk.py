"""Features, scoring and tiering for N people x 5 years on DuckDB: wall time and peak memory.

Target (issue 4): 1,000,000 people with 5 years of history in <= 60 s wall and
<= 4 GB peak RSS on 2 cores. Usage:

    .venv/bin/python bench/bench_risk.py [--people 1000000] [--source sim|synth]
                                         [--work /tmp/careweave-bench-risk]

Setup (not timed): a population over 2019-2023 is written into a DuckDB
warehouse: ``synth`` (default) is the product's generator (any size up to its synthetic NHS-number
ranges, about 9 million), generated once into ``--work`` (cached) and loaded
with ``careweave.ingest.load_dataset`` like a real extract. A model is trained
on a 100,000-person ``synth`` population. The timed step runs in a child
process (so its peak RSS is its own): features + spend (DuckDB, 2 threads) ->
probabilities, explanations, policy tiers, segments -> ``risk_scores`` written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

START, END = dt.date(2019, 1, 1), dt.date(2023, 12, 31)
AS_OF = dt.date(2023, 12, 31)


def build_warehouse(people: int, directory: Path, source: str = "synth") -> Path:
    """Synthetic dataset -> DuckDB warehouse with the canonical tables (not timed).

    ``synth``: the product's generator (careweave.synth), dataset cached in ``directory``,
    loaded with the product's loader (careweave.ingest.load_dataset). ``sim``: the risk tests' simulated population
    (tests/risk/simdata.py: people, GP events, medicines, spells, A&E, placements), any size.
    """
    from careweave.ingest import load_dataset
    from careweave.synth import generate

    wh = directory / f"warehouse-{source}-{people}.duckdb"
    if wh.exists():
        return wh
    if source == "sim":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from risk.simdata import simulate, write_warehouse

        t = time.perf_counter()
        write_warehouse(simulate(people, seed=2024), wh)
        print(f"setup: simulated {people:,} people in {time.perf_counter() - t:.0f} s")
        return wh
    data = directory / f"dataset-{people}"
    if not (data / "manifest.json").exists():
        t = time.perf_counter()
        generate(people, 2024, START, END, data)
        print(f"setup: generated {people:,} people in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    load_dataset(data, wh)
    print(f"setup: loaded {people:,} people in {time.perf_counter() - t:.0f} s")
    return wh


def timed(warehouse: Path, model: Path) -> None:
    """The measured step (run in a child process)."""
    from careweave.dataset.tariff import default_tariff, identity
    from careweave.risk import scoring, training
    from careweave.risk.policy import load_policy
    from careweave.warehouse.engines import DuckDBEngine

    t0, c0 = time.perf_counter(), time.process_time()
    art = training.load_model(model)
    engine = DuckDBEngine.open(warehouse, threads=2, memory_limit="2GB")
    try:
        scored = scoring.compute(engine, AS_OF, art, load_policy(), default_tariff())
    finally:
        engine.close()
    t1, c1 = time.perf_counter(), time.process_time()
    table = scoring.risk_scores_table(scored, AS_OF, identity(default_tariff()))
    scoring.write_risk_scores(warehouse, table, AS_OF)
    t2 = time.perf_counter()
    levels = scored["ccm_level"].value_counts().sort_index().to_dict()
    print(
        json.dumps(
            {
                "people_scored": len(scored),
                "features_scoring_tiering_s": round(t1 - t0, 1),
                "write_risk_scores_s": round(t2 - t1, 1),
                "features_scoring_tiering_cpu_s": round(c1 - c0, 1),
                "levels": {str(k): int(v) for k, v in levels.items()},
                "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "cpu_s": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_utime
                    + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
                    1,
                ),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/careweave-bench-risk"))
    ap.add_argument(
        "--source",
        choices=("synth", "sim"),
        default="synth",
        help="population: the product generator or the simulated one",
    )
    ap.add_argument("--child", nargs=2, metavar=("WAREHOUSE", "MODEL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        timed(Path(args.child[0]), Path(args.child[1]))
        return
    from careweave import risk

    args.work.mkdir(parents=True, exist_ok=True)
    train_wh = build_warehouse(100_000, args.work)
    model = args.work / "model.pkl"
    if not model.exists():
        risk.train(train_wh, dt.date(2021, 1, 1), out=model)
    wh = build_warehouse(args.people, args.work, args.source)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(wh), str(model)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "2"},
    )
    wall = time.perf_counter() - t
    result = json.loads(out.stdout.strip().splitlines()[-1])
    peak_kb = result["peak_rss_kb"]  # the child's own peak (setup children excluded)
    print(f"people: {args.people:,} x 5 years ({args.source}, {START}..{END}), as of {AS_OF}")
    print(
        f"features + scoring + tiering: {result['features_scoring_tiering_s']} s wall, "
        f"{result['features_scoring_tiering_cpu_s']} s CPU"
    )
    print(f"write risk_scores: {result['write_risk_scores_s']} s")
    print(f"wall (child process, incl. start-up and write): {wall:.1f} s  (target <= 60 s)")
    print(f"CPU time (user + system) of the child: {result['cpu_s']} s")
    print(f"peak RSS: {peak_kb / 1024 / 1024:.2f} GB  (target <= 4 GB)")
    print(f"levels: {result['levels']}")
    print(f"load average before: {' '.join(load)} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
