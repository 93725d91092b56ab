"""Capitation fit and budgets, and spend by setting and funder, for N people: wall, CPU, peak.

Target (issue 17): capitation fit and budgets for 1,000,000 people <= 60 s. Usage:

    .venv/bin/python bench/bench_finance.py [--people 1000000] [--as-of 2023-12-31]
                                            [--work /tmp/careweave-bench-measures] [--no-spend]

Uses the warehouse bench/bench_measures.py builds (``warehouse-synth-<N>.duckdb`` in
``--work``: the product's generator over 2019-2023, loaded by the product's loader; run
that bench first). The warehouse is opened read-only and nothing is written: the timed
steps are :func:`careweave.finance.capitation.capitation` (reading the three years'
people, predictors and costs, two fits, the model card and the budgets) and
:func:`careweave.finance.spend.compute_spend` (the nine spend KPIs plus the total, monthly
and rolling 12 months, by segment, CCM level, locality and practice), each in a child
process with DuckDB on 2 threads (memory_limit 2500MB). Prints ``uptime`` with the
figures: on a shared machine they are taken under other people's load.
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


def _engine(warehouse: Path) -> object:
    from careweave.warehouse.engines import DuckDBEngine

    return DuckDBEngine.open(warehouse, threads=2, memory_limit="2500MB")


def timed(warehouse: Path, step: str, as_of: dt.date) -> None:
    """The measured step (run in a child process)."""
    from careweave.dataset.tariff import default_funding, default_tariff
    from careweave.warehouse import warehouse_span

    eng = _engine(warehouse)
    out: dict[str, object] = {}
    try:
        t0 = time.perf_counter()
        if step == "capitation":
            from careweave.finance.capitation import capitation

            r = capitation(eng, as_of, default_tariff())
            overall = r.card[r.card.group_by == "all"].iloc[0]
            out.update(
                people=int(r.budget[r.budget.level == "board"].people.iloc[0]),
                practices=int((r.budget.level == "practice").sum()),
                r2=round(float(overall.r2), 4),
                mae=round(float(overall.mae), 1),
                modelled_total=round(r.modelled_total),
                steps={k: round(v, 1) for k, v in r.timings.items()},
            )
        else:
            from careweave.finance.spend import compute_spend

            span = warehouse_span(eng.con.con)  # type: ignore[attr-defined]
            assert span is not None
            lo, hi = (d.date() if isinstance(d, dt.datetime) else d for d in span)
            table = compute_spend(eng, lo, hi, default_tariff(), default_funding())
            out.update(rows=len(table))
        out["wall_s"] = round(time.perf_counter() - t0, 1)
    finally:
        eng.close()  # type: ignore[attr-defined]
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["peak_rss_gb"] = round(ru.ru_maxrss / 1024 / 1024, 2)
    out["cpu_s"] = round(ru.ru_utime + ru.ru_stime, 1)
    print(json.dumps(out))


def run_child(warehouse: Path, step: str, as_of: dt.date) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(warehouse), step, as_of.isoformat()],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "2"},
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--as-of", default="2023-12-31")
    ap.add_argument("--work", type=Path, default=Path("/tmp/careweave-bench-measures"))
    ap.add_argument("--no-spend", action="store_true", help="time capitation only")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        timed(Path(args.child[0]), args.child[1], dt.date.fromisoformat(args.child[2]))
        return
    warehouse = args.work / f"warehouse-synth-{args.people}.duckdb"
    if not warehouse.exists():
        sys.exit(f"{warehouse}: run bench/bench_measures.py --people {args.people} first")
    as_of = dt.date.fromisoformat(args.as_of)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    cap = run_child(warehouse, "capitation", as_of)
    print(
        f"capitation fit and budgets: {cap['people']:,} people registered on {as_of}, "
        f"{cap['practices']} practices: {cap['wall_s']} s wall (target 60 s), CPU {cap['cpu_s']} s, "
        f"peak RSS {cap['peak_rss_gb']} GB; steps {cap['steps']}; validation R² {cap['r2']}, "
        f"MAE £{cap['mae']:,}"
    )
    if not args.no_spend:
        sp = run_child(warehouse, "spend", as_of)
        print(
            f"spend by setting and funder (10 KPIs x month + rolling 12 months x segment, "
            f"ccm_level, locality, practice over the span): {sp['wall_s']} s wall, "
            f"CPU {sp['cpu_s']} s, peak RSS {sp['peak_rss_gb']} GB, {sp['rows']:,} rows"
        )
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
