"""The loader as named steps: progress goes to a callback (no bars in domain code), the steps
are documented functions, and no test hook is left in production code."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from rich.console import Console

import careweave
from careweave.cli.progress import load_progress
from careweave.ingest import load_dataset, steps
from ingest_fixtures import valid_dataset, write_dataset

STEPS = ("reading", "validating", "writing", "done")


def test_progress_reports_every_table_then_each_step_in_order(tmp_path: Path) -> None:
    directory = write_dataset(tmp_path / "ds", valid_dataset(6, 3))
    seen: list[tuple[str, str, int]] = []
    report = load_dataset(directory, tmp_path / "w.duckdb", progress=lambda *a: seen.append(a))
    tables = [t.table for t in report.tables]
    rows = {t.table: t.rows_in for t in report.tables}
    waiting = [(t, "waiting", rows[t]) for t in tables]
    assert seen[: len(tables)] == waiting
    expected = [(t, step, rows[t]) for t in tables for step in STEPS]
    assert seen[len(tables) :] == expected
    again: list[tuple[str, str, int]] = []
    assert load_dataset(directory, tmp_path / "w.duckdb", progress=lambda *a: again.append(a))
    assert again == []  # a batch loaded before does nothing and reports nothing


def test_the_cli_bars_follow_the_callback(tmp_path: Path) -> None:
    directory = write_dataset(tmp_path / "ds", valid_dataset(4, 5))
    console = Console(record=True, width=100, force_terminal=False)
    with load_progress(console) as progress:
        load_dataset(directory, tmp_path / "w.duckdb", progress=progress)
    text = console.export_text()
    assert "people: done" in text and "hospital_spells: done" in text
    quiet = Console(record=True, width=100)
    with load_progress(quiet) as progress:
        load_dataset(directory, tmp_path / "w.duckdb", progress=progress)
    assert quiet.export_text().strip() == ""


def test_the_steps_are_documented_functions() -> None:
    named = (
        steps.plan,
        steps.apply_row_rules,
        steps.refuse_duplicates,
        steps.match_warehouse,
        steps.refuse_breaking_people_corrections,
        steps.refuse_unknown_references,
        steps.supersede_corrections,
        steps.insert_rows,
        steps.quarantine,
        steps.tally,
    )
    for fn in named:
        assert inspect.getdoc(fn), fn.__name__
        assert len(inspect.getsource(fn).splitlines()) < 60, fn.__name__
    body = inspect.getsource(steps.load_table)
    positions = [
        body.index(f"{fn.__name__}(run")
        for fn in named
        if fn is not steps.refuse_breaking_people_corrections
    ]
    assert positions == sorted(positions), "load_table runs the steps in their documented order"


@pytest.mark.parametrize("module", ["load.py", "steps.py", "rules.py", "sources.py"])
def test_no_progress_bars_or_test_hooks_in_the_loader(module: str) -> None:
    text = (Path(careweave.__file__).parent / "ingest" / module).read_text()
    assert "rich.progress" not in text and "Progress(" not in text
    assert "CAREWEAVE_TEST" not in text and "time.sleep" not in text


def test_no_production_module_reads_a_test_environment_variable() -> None:
    root = Path(careweave.__file__).parent
    offenders = [
        str(p.relative_to(root)) for p in root.rglob("*.py") if "CAREWEAVE_TEST" in p.read_text()
    ]
    assert offenders == []


def test_no_domain_module_draws_progress_bars() -> None:
    """Only the CLI draws: domain packages take a progress callback."""
    root = Path(careweave.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.relative_to(root).parts[0] != "cli" and "rich.progress" in p.read_text()
    ]
    assert offenders == []


def test_synth_reports_its_chunks_to_a_callback(tmp_path: Path) -> None:
    import datetime as dt

    from careweave.synth import generate

    seen: list[tuple[int, int]] = []
    generate(
        300,
        1,
        dt.date(2022, 1, 1),
        dt.date(2022, 12, 31),
        tmp_path / "ds",
        progress=lambda *a: seen.append(a),
    )
    total = seen[0][1]
    assert seen == [(done, total) for done in range(total + 1)]
