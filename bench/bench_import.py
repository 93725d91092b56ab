"""FHIR import throughput, and a side-by-side with fhiry (FHIR -> pandas).

Builds a large synthetic FHIR input by replicating the two Synthea fixture
bundles with rewritten ids (every UUID gets a per-copy prefix, so no two copies
share a resource), then:

1. times ``careweave import fhir`` on all of it (wall and CPU time, MB/s,
   peak RSS; the target is >= 25 MB/s of FHIR JSON per core);
2. times fhiry and careweave on the same subset of bundles, one process each,
   and prints the ratio (target: careweave >= 5x fhiry).

fhiry is installed only in its own venv, ``bench/.venv-fhiry`` (gitignored),
created on first run: ``python3 -m venv bench/.venv-fhiry &&
bench/.venv-fhiry/bin/pip install fhiry==5.2.2``. It is never a product
dependency.

Usage: ``.venv/bin/python bench/bench_import.py [--mb 300] [--fhiry-mb 300] [--workers N]
[--repeat N]``

Both tools read the same files, just written (warm page cache). CPU time
includes child processes (careweave's staging workers), so "MB/s per core" is
MB per CPU-second of all processes; library imports happen before either clock
starts. Wall-clock figures depend on what else the machine is running (print
``uptime`` alongside); ``--repeat`` prints medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = Path("/work/shared/fixtures/synthea/fhir")
_alt = HERE.parents[1] / "shared" / "fixtures" / "synthea" / "fhir"
if _alt.exists():
    FIXTURES = _alt
FHIRY_VENV = HERE / ".venv-fhiry"
FHIRY_VERSION = "5.2.2"
UUID = re.compile(r"([0-9a-f]{8})(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def build_input(directory: Path, megabytes: int) -> tuple[int, int]:
    """Copies of the fixture bundles with rewritten ids until ``megabytes`` MB; (files, bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    templates = []
    for f in sorted(FIXTURES.glob("*.json")):
        parts = UUID.split(f.read_text())
        # parts: literal, head, tail, literal, head, tail, ..., literal
        templates.append((f.stem, parts))
    total = files = copy = 0
    while total < megabytes * 1_000_000:
        for stem, parts in templates:
            out = []
            for i in range(0, len(parts) - 1, 3):
                head = int(parts[i + 1], 16) ^ (copy + 1)
                out.append(parts[i])
                out.append(f"{head:08x}{parts[i + 2]}")
            out.append(parts[-1])
            text = "".join(out)
            path = directory / f"{stem}-{copy:05d}.json"
            path.write_text(text)
            total += len(text.encode())
            files += 1
        copy += 1
    return files, total


# Library imports happen before the clock starts in both children (fhiry imports pandas
# at import time; careweave imports duckdb, pandas and pyarrow lazily, so they are
# imported here first): the figures are throughput, not interpreter start-up.
CAREWEAVE_CHILD = """
import json, resource, sys, time
from pathlib import Path
import duckdb, pandas, pyarrow.parquet
from careweave.importers.fhir import import_fhir

def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the staging workers
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

t0 = time.perf_counter(); c0 = cpu()
report = import_fhir([Path(sys.argv[1])], Path(sys.argv[2]), workers=int(sys.argv[3]))
wall = time.perf_counter() - t0; cpu = cpu() - c0
print(json.dumps({"wall": wall, "cpu": cpu, "bytes": report.bytes_read,
                  "rows": report.rows_written,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FHIRY_CHILD = """
import json, resource, sys, time
from fhiry.fhiry import Fhiry

def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

t0 = time.perf_counter(); c0 = cpu()
f = Fhiry()
f.folder = sys.argv[1]
f.process_source()
wall = time.perf_counter() - t0; cpu = cpu() - c0
print(json.dumps({"wall": wall, "cpu": cpu, "rows": int(f.df.shape[0]), "cols": int(f.df.shape[1])}))
"""


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over repeated runs (the machine is shared: runs vary)."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def run_careweave(src: Path, work: Path, workers: int, repeat: int = 1) -> dict[str, float]:
    return median_of([_run_careweave(src, work, workers) for _ in range(repeat)])


def _run_careweave(src: Path, work: Path, workers: int) -> dict[str, float]:
    out = work / f"out-{src.name}"
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", CAREWEAVE_CHILD, str(src), str(out), str(workers)],
        check=True,
        capture_output=True,
        text=True,
    )
    shutil.rmtree(out, ignore_errors=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ensure_fhiry() -> Path:
    python = FHIRY_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(FHIRY_VENV)], check=True)
        subprocess.run(
            [str(FHIRY_VENV / "bin" / "pip"), "install", "-q", f"fhiry=={FHIRY_VERSION}"],
            check=True,
        )
    return python


def run_fhiry(src: Path, repeat: int = 1) -> dict[str, float]:
    return median_of([_run_fhiry(src) for _ in range(repeat)])


def _run_fhiry(src: Path) -> dict[str, float]:
    python = ensure_fhiry()
    done = subprocess.run(
        [str(python), "-c", FHIRY_CHILD, str(src)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=300, help="size of the large input (MB)")
    ap.add_argument(
        "--fhiry-mb",
        type=int,
        default=300,
        help="size of the side-by-side input (the large input itself when >= --mb)",
    )
    ap.add_argument("--work", type=Path, default=None, help="scratch directory")
    ap.add_argument("--skip-fhiry", action="store_true")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs of each measurement; medians are printed"
    )
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="careweave-bench-import-"))
    print(f"uptime: {os.popen('uptime').read().strip()}")
    print(f"cores: {os.cpu_count()}")

    big = work / "large"
    t = time.perf_counter()
    files, size = build_input(big, args.mb)
    print(
        f"input: {files} bundles, {size / 1e6:,.1f} MB (built in {time.perf_counter() - t:.1f} s)"
    )
    results: dict[int, dict[str, float]] = {}
    for workers in sorted({1, args.workers}):
        r = results[workers] = run_careweave(big, work, workers, args.repeat)
        mb = r["bytes"] / 1e6
        print(
            f"careweave import fhir, {workers} worker(s): {mb:,.1f} MB in {r['wall']:.1f} s wall, "
            f"{r['cpu']:.1f} s CPU -> {mb / r['wall']:.1f} MB/s wall, "
            f"{mb / r['cpu']:.1f} MB/s per core (MB per CPU-second); {r['rows']:,.0f} rows; "
            f"peak RSS {r['rss_mb']:.0f} MB (main process)"
        )

    if not args.skip_fhiry:
        if args.fhiry_mb >= args.mb:
            sub, sub_files, sub_size = big, files, size
        else:
            sub = work / "subset"
            sub_files, sub_size = build_input(sub, args.fhiry_mb)
            results = {w: run_careweave(sub, work, w, args.repeat) for w in results}
        mb = sub_size / 1e6
        f = run_fhiry(sub, args.repeat)
        print(f"side by side on the same {sub_files} bundles, {mb:,.1f} MB:")
        print(
            f"  fhiry {FHIRY_VERSION}: {f['wall']:.2f} s wall, {f['cpu']:.2f} s CPU -> "
            f"{mb / f['wall']:.1f} MB/s wall, {mb / f['cpu']:.1f} MB/s per core "
            f"({f['rows']:,.0f} x {f['cols']:,.0f} DataFrame)"
        )
        for workers, c in results.items():
            print(
                f"  careweave, {workers} worker(s): {c['wall']:.2f} s wall, {c['cpu']:.2f} s CPU "
                f"-> {mb / c['wall']:.1f} MB/s wall, {mb / c['cpu']:.1f} MB/s per core; "
                f"{f['wall'] / c['wall']:.1f}x fhiry wall, {f['cpu'] / c['cpu']:.1f}x per core"
            )
    print(f"uptime: {os.popen('uptime').read().strip()}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
