"""Running a FHIR import: one process, or whole files staged in parallel by forked workers.

Each worker reads and maps whole files into its own staging folder; the
finaliser then reads all the folders together, so the result does not depend
on the number of workers (nor on which worker took which file).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from careweave.importers.fhir.mapper import FhirMapper
from careweave.importers.fhir.reading import expand_paths, iter_file
from careweave.importers.report import ImportReport
from careweave.importers.staging import Stager


def import_fhir(
    paths: list[Path],
    out: Path,
    *,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    memory_limit: str = "1GB",
    rates: dict[str, float] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import FHIR R4 files/directories into the dataset directory ``out``.

    ``workers`` processes (default: one per core, at most one per file) parse and
    map whole files in parallel; the result does not depend on their number.
    """
    from careweave.errors import InputError
    from careweave.importers.writer import run_import

    files = expand_paths(paths)
    if not files:
        raise InputError(f"{', '.join(map(str, paths))}: no FHIR JSON or NDJSON files found")

    workers = max(1, min(workers if workers is not None else os.cpu_count() or 1, len(files)))

    def stage(staging: Path, report: ImportReport) -> list[str]:
        if workers == 1:
            _stage_files(files, range(len(files)), staging / "w0", report, rates, progress)
        else:
            _stage_parallel(files, staging, workers, report, rates, progress)
        require_patients(files, report)
        return [str(f) for f in files]

    return run_import(
        "fhir",
        out,
        stage,
        overwrite=overwrite,
        memory_limit=memory_limit,
        parameters={"currency_rates": rates or {}},
    )


def require_patients(files: list[Path], report: ImportReport) -> None:
    """InputError when the input holds resources but not one Patient.

    Every record is about a person, so without Patients nothing but organisations
    could be imported and every other resource would be a dangling reference: the
    input is incomplete (typically a Bulk Data export without its Patient.ndjson).
    Input with no resources at all is left to the "nothing could be imported" error.
    """
    from careweave.errors import InputError

    if report.seen["Patient"] or not any(n for t, n in report.seen.items() if t != "Patient"):
        return
    names = ", ".join(str(f) for f in files[:3]) + (
        f" and {len(files) - 3} more file(s)" if len(files) > 3 else ""
    )
    raise InputError(
        f"{names}: no Patient resource in the input, so no record can be linked to a "
        "person (a Bulk Data export needs its Patient.ndjson)"
    )


def _stage_files(
    files: list[Path],
    indices: Iterable[int],
    directory: Path,
    report: ImportReport,
    rates: dict[str, float] | None,
    progress: Callable[[int], None] | None,
) -> None:
    stager = Stager(directory)
    mapper = FhirMapper(stager, report, rates)
    sent = [0]  # stored bytes of the current file already passed to ``progress``

    def tick(position: int) -> None:
        if progress is not None and position > sent[0]:
            progress(position - sent[0])
            sent[0] = position

    for fileno in indices:
        path = files[fileno]
        name = str(path)
        mapper.file_name, mapper.fileno = name, fileno
        size = path.stat().st_size
        report.bytes_read += size
        sent[0] = 0
        for entry, res, full_url in iter_file(path, name, report, tick):
            mapper.entry = entry
            mapper.map(res, full_url)
        tick(size)
    stager.close()


def _worker(
    files: list[Path],
    directory: Path,
    tasks: Any,
    results: Any,
    rates: dict[str, float] | None,
) -> None:
    report = ImportReport(source="fhir")

    def next_files() -> Iterator[int]:
        while (i := tasks.get()) is not None:
            yield i

    try:
        _stage_files(
            files, next_files(), directory, report, rates, lambda n: results.put(("progress", n))
        )
    except BaseException as e:  # reported to the parent, which re-raises
        results.put(("error", f"{type(e).__name__}: {e}"))
        raise
    results.put(("done", report))


def _stage_parallel(
    files: list[Path],
    staging: Path,
    workers: int,
    report: ImportReport,
    rates: dict[str, float] | None,
    progress: Callable[[int], None] | None,
) -> None:
    """Stage ``files`` with ``workers`` forked processes, each with its own staging folder."""
    import multiprocessing as mp
    import queue

    # The workers build Arrow arrays, and pyarrow imports pandas the first time it does:
    # import both once here so that every forked worker inherits them instead of paying
    # for the import itself (the parent needs them to finalise anyway).
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    files_order = {str(f): i for i, f in enumerate(files)}
    ctx = mp.get_context("fork")
    tasks: Any = ctx.Queue()
    results: Any = ctx.Queue()
    # Largest files first, so the last file to finish is a small one.
    for i in sorted(range(len(files)), key=lambda i: -files[i].stat().st_size):
        tasks.put(i)
    for _ in range(workers):
        tasks.put(None)
    procs = [
        ctx.Process(
            target=_worker, args=(files, staging / f"w{w}", tasks, results, rates), daemon=True
        )
        for w in range(workers)
    ]
    # Objects that exist before the fork are never collected by the workers' garbage
    # collector, which would otherwise touch (and so copy) every page they live on.
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        for proc in procs:
            proc.start()
    finally:
        if frozen_before == 0:  # leave a caller's own freeze alone
            gc.unfreeze()
    done = 0
    try:
        while done < workers:
            try:
                kind, payload = results.get(timeout=1.0)
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise RuntimeError("an import worker died unexpectedly") from None
                continue
            if kind == "progress":
                if progress is not None:
                    progress(payload)
            elif kind == "done":
                report.merge(payload)
                done += 1
            else:
                raise RuntimeError(f"an import worker failed: {payload}")
        for proc in procs:
            proc.join()
        report.problems.sort(key=lambda p: (files_order.get(p.file, 0), p.entry or 0))
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
