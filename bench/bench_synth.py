"""Benchmark ``careweave synth``: wall time, peak memory and the calibration figures.

Usage: python bench/bench_synth.py [PEOPLE ...] [--years 5] [--seed 1] [--out DIR]
       [--baseline-src DIR] [--no-profile]

``--baseline-src DIR`` also times the generator found in DIR (a ``src`` folder
of another checkout, e.g. ``git archive main src | tar -x -C /tmp/before``)
in the same run, before the current one, and prints both wall times and their
ratio: a refactor must not be slower.

Default sizes: 1,000,000 (the issue's scale target) and 500,000 (the
calibration check).

For each population size it generates a dataset in a child process (so peak
RSS is that of the generation alone, workers included), then profiles it and
prints the figures issue 2 item 3 asks for next to their target ranges.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS: dict[str, tuple[float, float]] = {
    "emergency_admissions_per_1000": (90, 130),
    "emergency_admissions_per_1000 75+": (350, 10_000),
    "share_people_with_emergency_admission": (0.05, 0.09),
    "top5pct_share_of_emergency_admissions": (0.45, 0.70),
    "top20pct_share_of_cost": (0.55, 0.75),
    "top1pct_share_of_cost": (0.08, 0.20),
    "readmission_30d_rate": (0.10, 0.18),
    "reablement_home_91d_rate": (0.78, 0.88),
    "death_rate": (0.008, 0.013),
}


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _generate(
    people: int, seed: int, years: int, out: Path, src: Path | None = None
) -> tuple[float, float, float]:
    """Run the generator in a child process: wall seconds, CPU seconds (it and its
    workers) and peak resident memory of the process tree in GiB. ``src``: import
    careweave from that folder instead."""
    end = dt.date(2019 + years - 1, 12, 31)
    code = (
        "import datetime as dt, pathlib, sys\n"
        "from careweave.synth import generate\n"
        f"generate({people}, {seed}, dt.date(2019, 1, 1), dt.date.fromisoformat('{end}'), "
        f"pathlib.Path(sys.argv[1]))\n"
    )
    t0 = time.perf_counter()
    cpu0 = _cpu_children()
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], env=env)
    peak_tree = 0
    while proc.poll() is None:
        peak_tree = max(peak_tree, _tree_rss_kib(proc.pid) + _spool_kib())
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"generator failed with exit code {proc.returncode}")
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, _cpu_children() - cpu0, max(peak_tree, largest) / 1024 / 1024


def _spool_kib() -> int:
    """Shared memory held by the generator's chunk hand-over files (not in any RSS)."""
    total = 0
    for d in Path("/dev/shm").glob("careweave-synth-*"):
        for f in d.glob("*"):
            try:
                total += f.stat().st_size
            except OSError:
                continue
    return total // 1024


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (KiB), from /proc."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                stack.extend(int(k) for k in kids)
        except (OSError, ValueError):
            continue
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)

    ap.add_argument("people", nargs="*", type=int, default=[1_000_000, 500_000])
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--no-profile", action="store_true", help="Time the generation only.")
    ap.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="Also time the generator in this src folder (same run, first) and compare.",
    )
    args = ap.parse_args()
    from careweave.profile import profile_dataset_dir

    print(f"load: {os.getloadavg()}  cores: {os.cpu_count()}")
    for people in args.people:
        base = args.out or Path(tempfile.mkdtemp(prefix="cw-bench-"))
        out = base / f"synth-{people}"
        if args.baseline_src is not None:
            b_wall, b_cpu, b_peak = _generate(
                people, args.seed, args.years, base / f"baseline-{people}", args.baseline_src
            )
            print(
                f"\nbaseline ({args.baseline_src}) {people:,} people: wall {b_wall:.1f} s, "
                f"CPU {b_cpu:.1f} s, peak {b_peak:.2f} GiB, load {os.getloadavg()}"
            )
        wall, cpu, peak = _generate(people, args.seed, args.years, out)
        if args.baseline_src is not None:
            print(f"current / baseline: wall {wall / b_wall:.2f}x, CPU {cpu / b_cpu:.2f}x")
        print(
            f"\n{people:,} people x {args.years} years: wall {wall:.1f} s, CPU {cpu:.1f} s "
            f"(so >= {cpu / (os.cpu_count() or 1):.1f} s wall on an idle machine), "
            f"peak memory (process tree RSS + shared-memory spool) {peak:.2f} GiB, load {os.getloadavg()}"
        )
        if args.no_profile:
            continue
        t0 = time.perf_counter()
        prof = profile_dataset_dir(out)
        print(f"profile: {time.perf_counter() - t0:.1f} s")
        values = dict(prof)
        values["emergency_admissions_per_1000 75+"] = prof["emergency_admissions_per_1000_by_age"][
            "75+"
        ]
        for key, (lo, hi) in TARGETS.items():
            v = float(values[key])
            flag = "ok" if lo <= v <= hi else "OUT"
            print(f"  {key:42s} {v:10.4f}   target {lo}-{hi}  {flag}")
        from careweave.dataset.registers import load_registers

        for r in load_registers():
            v = prof["prevalence"][r.name]
            rel = v / r.reference_prevalence - 1
            flag = "ok" if abs(rel) <= 0.25 else "OUT"
            print(
                f"  prevalence {r.name:31s} {v:10.4f}   ref {r.reference_prevalence}  "
                f"({rel:+.0%})  {flag}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
