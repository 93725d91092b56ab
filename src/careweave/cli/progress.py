"""Rich progress bars for the CLI, given to domain code as a callback.

Not a command module (no ``register``). Domain modules never draw: they take a
callback (e.g. :data:`careweave.ingest.steps.LoadProgress`, or
``careweave.synth.generate``'s ``progress(done, total)``) and the CLI passes one
of these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from careweave.ingest.steps import LoadProgress


@contextmanager
def load_progress(console: Console | None = None) -> Iterator[LoadProgress]:
    """One bar per table of a load (``table: step``, rows), on stderr by default.

    The bars appear at the first report, so a batch loaded before (which
    reports nothing) draws nothing.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
    )
    tasks: dict[str, TaskID] = {}

    def report(table: str, step: str, rows: int) -> None:
        if not tasks:
            bar.start()
        task = tasks.get(table)
        if task is None:
            task = tasks[table] = bar.add_task(f"{table}: {step}", total=max(rows, 1))
        bar.update(task, description=f"{table}: {step}")
        if step == "done":
            bar.update(task, completed=max(rows, 1))

    try:
        yield report
    finally:
        if tasks:
            bar.stop()


@contextmanager
def count_progress(label: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """One bar counting ``done`` of ``total`` (``progress(done, total)``), e.g. synth's chunks.

    Drawn from the first report, on stdout.
    """
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} " + unit),
        TimeElapsedColumn(),
    )
    task: TaskID | None = None

    def report(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=total)
        bar.update(task, completed=done)

    try:
        yield report
    finally:
        if task is not None:
            bar.stop()
