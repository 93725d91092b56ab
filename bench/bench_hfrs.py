"""HFRS for the bench population: Careweave (Ibis on DuckDB) vs comorbidipy, speed and identity.

Target (issue 4): >= 10x faster than comorbidipy's HFRS with person-by-person
identical scores. comorbidipy (0.5.0, the last release for Python 3.11) lives
in its own environment, bench/.venv-comorbidipy (created here on first run,
gitignored), never in the product's dependencies. Usage:

    .venv/bin/python bench/bench_hfrs.py [--people 1000000] [--source synth|sim]
                                         [--work /tmp/careweave-bench-risk]

Uses the warehouse bench_risk.py builds (built here if missing). The same input
for both sides: the long table of (person, ICD-10 code as sent) from every
spell admitted in the 2 years to the as-of date (primary and secondary
diagnoses), extracted once and not timed. comorbidipy's ``hfrs()`` gets it as
a pandas DataFrame (its API); Careweave's ``features.hfrs_scores`` gets it as
an in-memory DuckDB table and returns an Arrow table. Both sides do the same
work: normalise each code to its three-character category, keep each category
once per person, sum the weights, and give every person in the input a score
(0 when none of their codes is an HFRS code; Careweave's product path leaves
those rows to ``features``, so here a left join from the distinct people adds
them). The timed runs alternate, Careweave then comorbidipy, REPEATS times in
one session (comorbidipy in a worker process that keeps the data loaded), so
both are measured under the same machine load; the figures are the best run of
each and the median of the per-pair ratios, wall and CPU (user + system of the
process; DuckDB uses 2 threads, comorbidipy 1). Scores are compared to 0.1,
the precision of the published weights. For reference it also times the
product path, ``features.hfrs`` straight from the warehouse tables, and the
engine's floor: the same query compiled once and run as SQL straight on DuckDB
in each pair (what is left when the Ibis layer costs nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-comorbidipy"
REPEATS = 7


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


def timed(fn: Any) -> tuple[float, float, Any]:
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main() -> None:
    sys.path.insert(0, str(HERE))
    import ibis

    from bench_risk import AS_OF, build_warehouse
    from careweave.risk import features
    from careweave.warehouse.engines import DuckDBEngine

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/careweave-bench-risk"))
    ap.add_argument("--source", choices=("synth", "sim"), default="synth")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    wh = build_warehouse(args.people, args.work, args.source)
    python = comorbidipy_python()

    # Untimed setup: the cohort, the shared input pairs, and the product path's timing.
    engine = DuckDBEngine.open(wh, threads=2)
    try:
        people = engine.to_arrow(features.cohort(engine, AS_OF).select("nhs_number"))
        codes = features._raw_spell_codes(engine, AS_OF, features.HFRS_DAYS)
        pairs = engine.to_arrow(codes.select("nhs_number", "code"))
        product = [timed(lambda: engine.to_arrow(features.hfrs(engine, AS_OF))) for _ in range(3)]
    finally:
        engine.close()
    pairs_path = args.work / "hfrs-pairs.parquet"
    out_path = args.work / "hfrs-comorbidipy.parquet"
    pairs.rename_columns(["id", "code"]).to_pandas().to_parquet(pairs_path)

    con = ibis.duckdb.connect(threads=2)
    table = con.create_table("hfrs_pairs", pairs)

    def careweave_expr() -> Any:
        scores = features.hfrs_scores(table)
        ids = table.select("nhs_number").distinct()
        every = ids.left_join(scores, "nhs_number").select(ids.nhs_number, scores.hfrs)
        return every.fill_null({"hfrs": 0.0})

    def careweave_hfrs() -> Any:
        return con.to_pyarrow(careweave_expr())

    # The engine's floor: the same query, compiled once, run as SQL straight on DuckDB (no
    # Ibis expression building or compiling per call). Not Careweave's figure: it shows how
    # much of the time is the engine's and how much the Ibis layer's.
    floor_expr = careweave_expr()
    con.to_pyarrow(floor_expr)  # registers the weights table under the name the SQL uses
    floor_sql = str(con.compile(floor_expr))

    def engine_floor() -> Any:
        return con.con.sql(floor_sql).to_arrow_table()

    worker = subprocess.Popen(
        [str(python), str(HERE / "hfrs_comorbidipy.py"), str(pairs_path), str(out_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdin is not None and worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready"
    loads = [load()]
    ours: list[tuple[float, float]] = []
    floor: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    result: Any = None
    for _ in range(REPEATS):
        wall, cpu, result = timed(careweave_hfrs)
        ours.append((wall, cpu))
        wall, cpu, _ = timed(engine_floor)
        floor.append((wall, cpu))
        worker.stdin.write("run\n")
        worker.stdin.flush()
        w, c = map(float, worker.stdout.readline().split())
        theirs.append((w, c))
    loads.append(load())
    worker.stdin.write("save\n")
    worker.stdin.flush()
    worker.wait()
    con.disconnect()

    ours_df = result.to_pandas()
    theirs_df = pd.read_parquet(out_path).rename(columns={"id": "nhs_number", "hfrs": "theirs"})
    everyone = pd.DataFrame({"nhs_number": people["nhs_number"].to_pylist()})
    both = everyone.merge(ours_df, on="nhs_number", how="left").merge(
        theirs_df, on="nhs_number", how="left"
    )
    both = both.fillna({"hfrs": 0.0, "theirs": 0.0})
    mine_t = np.round(both["hfrs"].to_numpy() * 10).astype(np.int64)
    theirs_t = np.round(both["theirs"].to_numpy() * 10).astype(np.int64)
    differ = int((mine_t != theirs_t).sum())
    same_people = set(ours_df["nhs_number"]) == set(theirs_df["nhs_number"])

    def best(runs: list[tuple[float, float]], i: int) -> float:
        return min(r[i] for r in runs)

    def ratio(i: int) -> float:
        return statistics.median(t[i] / o[i] for o, t in zip(ours, theirs, strict=True))

    print(f"people: {len(both):,} in the cohort at {AS_OF} ({args.source})")
    print(
        f"input: {len(pairs):,} (person, code) pairs of {pairs['nhs_number'].unique().__len__():,}"
        " people, spells in the 2 years to the as-of date"
    )
    print(f"people with HFRS > 0: {int((mine_t > 0).sum()):,}")
    print(
        f"careweave features.hfrs_scores (Ibis/DuckDB, 2 threads): best wall "
        f"{best(ours, 0):.3f} s, best CPU {best(ours, 1):.3f} s"
    )
    print(
        f"comorbidipy 0.5.0 hfrs() (pandas, 1 thread): best wall {best(theirs, 0):.3f} s, "
        f"best CPU {best(theirs, 1):.3f} s"
    )
    print(
        f"speed-up over {REPEATS} alternating pairs: wall {ratio(0):.1f}x median "
        f"({best(theirs, 0) / best(ours, 0):.1f}x best/best), CPU {ratio(1):.1f}x median "
        f"({best(theirs, 1) / best(ours, 1):.1f}x best/best)  (target >= 10x)"
    )
    floor_ratio = statistics.median(t[0] / f[0] for f, t in zip(floor, theirs, strict=True))
    print(
        f"engine floor (the same query's SQL run straight on DuckDB, no Ibis per call): best "
        f"wall {best(floor, 0):.3f} s; speed-up over comorbidipy {floor_ratio:.1f}x median "
        f"(Ibis build + compile adds {1000 * (best(ours, 0) - best(floor, 0)):.0f} ms a call)"
    )
    print(
        f"product path, features.hfrs from the warehouse tables: best wall "
        f"{min(p[0] for p in product):.3f} s, CPU {min(p[1] for p in product):.3f} s"
    )
    print(f"same people scored by both: {same_people}")
    print(f"people whose scores differ (to 0.1): {differ}  (target 0)")
    print(
        f"load average before / after the timed runs: {loads[0]} / {loads[1]} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
