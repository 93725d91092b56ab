"""Evaluation of case management: does it recover the planted effect, and how fast?

Targets (issue 17): with a planted effect of -15% on 200,000 people the 95% CI
contains -15% and excludes 0; with a planted 0 it contains 0 while the naive
before/after falls; over several seeds. Evaluation of 1,000,000 people: <= 60 s
wall, <= 4 GB peak. Usage:

    .venv/bin/python bench/bench_evaluation.py [--people 200000] [--seeds 1 2 3]
                                               [--effects -0.15 0] [--work DIR]

Setup (not timed): each (seed, effect) population over 2019-2023 is generated
by the product's generator and loaded by its loader (cached in ``--work``). The
timed step runs in a child process (its peak RSS is its own):
``careweave.evaluation.run.evaluate`` on emergency admissions. Prints one row per
run (treated, matched, max SMD, effect and CI, naive before/after, whether the
CI covers the planted effect and excludes 0, wall and CPU seconds (user + system,
all threads), peak RSS in MB: the child's VmHWM) and the load average.
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

#: The timed child. Its peak is VmHWM (this process image's high-water RSS): ru_maxrss
#: would carry over the parent's RSS at fork (Linux keeps it across exec), and the
#: parent may just have generated and loaded a million people.
CHILD = """
import json, os, re, sys, time
from pathlib import Path
from careweave.evaluation.run import evaluate
from careweave.warehouse.engines import DuckDBEngine
t0, c0 = time.perf_counter(), os.times()
eng = DuckDBEngine.open(Path(sys.argv[1]))
out = evaluate(eng, outcomes=("emergency_admissions",))
eng.close()
c1 = os.times()
e = out["outcomes"]["emergency_admissions"]
hwm = re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "cpu": c1.user + c1.system - c0.user - c0.system,
                  "rss_mb": int(hwm.group(1)) / 1024 if hwm else float("nan"),
                  "treated": out["treated"], "matched": out["matched"],
                  "smd": out["balance_max_smd"], **e}))
"""


def warehouse(work: Path, people: int, seed: int, effect: float) -> Path:
    """The loaded warehouse for (people, seed, effect), built once."""
    from careweave.ingest.load import load_dataset
    from careweave.synth import generate

    d = work / f"p{people}-s{seed}-e{effect:+.3f}"
    w = d / "w.duckdb"
    if not (d / "built").exists():
        d.mkdir(parents=True, exist_ok=True)
        generate(
            people,
            seed,
            dt.date(2019, 1, 1),
            dt.date(2023, 12, 31),
            d / "data",
            case_management_effect=effect,
        )
        load_dataset(d / "data", w)
        (d / "built").touch()
    return w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--effects", type=float, nargs="+", default=[-0.15, 0.0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/careweave-bench-evaluation"))
    a = ap.parse_args()
    print(f"{a.people:,} people, seeds {a.seeds}, planted effects {a.effects}")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    head = (
        "seed  planted  treated matched  smd    effect  (95% CI)           naive   covers excl0"
        "  wall s  CPU s  MB"
    )
    print(head)
    for seed in a.seeds:
        for effect in a.effects:
            w = warehouse(a.work, a.people, seed, effect)
            t0 = time.perf_counter()
            res = subprocess.run(
                [sys.executable, "-c", CHILD, str(w)], capture_output=True, text=True, check=True
            )
            wall = time.perf_counter() - t0
            r = json.loads(res.stdout.strip().splitlines()[-1])
            covers = r["ci_low"] <= effect <= r["ci_high"]
            excl0 = not (r["ci_low"] <= 0 <= r["ci_high"])
            print(
                f"{seed:<5} {effect:+.2f}    {r['treated']:>7} {r['matched']:>7}  "
                f"{r['smd']:.3f}  {r['effect']:+.3f}  ({r['ci_low']:+.3f} to {r['ci_high']:+.3f})  "
                f"{r['naive_before_after']:+.3f}  {covers!s:<6} {excl0!s:<5}  "
                f"{wall:6.1f} {r['cpu']:6.1f} {r['rss_mb']:6.0f}"
            )
    print(
        f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
