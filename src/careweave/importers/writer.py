"""Run an import: stage while streaming, finalise, then swap the result into place.

``run_import`` owns the output directory's life cycle. Everything is built in a
hidden sibling directory (``.<out>.importing-<pid>``) and renamed onto ``out``
only when complete, so a killed import never leaves a half-written dataset.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from careweave.dataset.io import Manifest, write_manifest
from careweave.errors import InputError
from careweave.importers.finalise import Finaliser
from careweave.importers.report import ImportReport


class NothingImported(InputError):
    """Not a single row could be imported; carries the report for the summary."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


#: A mapping pass: reads the inputs, writes staging tables under the given folder (one
#: :class:`~careweave.importers.staging.Stager` per subfolder), fills the report and
#: returns the list of input files (the index of each is its ``_file``).
StageFn = Callable[[Path, ImportReport], list[str]]


def run_import(
    source: str,
    out: Path,
    stage: StageFn,
    *,
    overwrite: bool = False,
    memory_limit: str = "1GB",
    parameters: dict[str, object] | None = None,
    labels: dict[str, str] | None = None,
) -> ImportReport:
    """Stage with ``stage``, finalise into ``out``; the report says what happened."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise InputError(f"{out}: already exists and is not empty (use --overwrite to replace it)")
    started = time.perf_counter()
    report = ImportReport(source=source)
    _remove_stale(out)
    work = out.parent / f".{out.name}.importing-{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    staging = work / "_staging"
    try:
        staging.mkdir(parents=True)
        files = stage(staging, report)
        report.files = files
        fin = Finaliser(staging, files, report, memory_limit=memory_limit, labels=labels)
        try:
            report.rows = fin.run(work)
        finally:
            fin.close()
        shutil.rmtree(staging)
        report.seconds = time.perf_counter() - started
        if report.rows_written == 0:
            raise NothingImported(
                f"{', '.join(files) or out}: nothing could be imported "
                f"({report.problem_count} problem(s); see the summary above)",
                report,
            )
        today = dt.date.today()
        lo = fin.span_lo or today
        hi = fin.span_hi or lo
        report.span = (lo.isoformat(), hi.isoformat())
        write_manifest(
            work,
            Manifest(
                source=source,
                span_start=lo,
                span_end=hi,
                parameters={"inputs": files, "report": "import-report.json", **(parameters or {})},
            ),
        )
        report.write(work)
        _swap(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return report


def _remove_stale(out: Path) -> None:
    """Work directories left by killed imports into ``out`` (their process is gone)."""
    if not out.parent.exists():
        return
    for stale in out.parent.glob(f".{out.name}.importing-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap(work: Path, out: Path) -> None:
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
        os.replace(work, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(work, out)
