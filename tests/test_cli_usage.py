"""Usage errors (unknown command or option, bad value) print the usage and exit 2, never a
traceback; user errors stay one line; ``--version`` and ``--help`` exit 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from careweave.cli.main import main

USAGE_ERRORS = [
    (["nosuch"], "careweave [OPTIONS] COMMAND", "No such command 'nosuch'"),
    (["load", "--bogus"], "careweave load [OPTIONS]", "No such option: --bogus"),
    (["serve", "--port", "abc"], "careweave serve [OPTIONS]", "Invalid value for '--port'"),
    (["synth", "--out", "x", "--people", "many"], "careweave synth [OPTIONS]", "'--people'"),
    (["events", "nosuch"], "careweave events [OPTIONS] COMMAND", "No such command 'nosuch'"),
    (["users", "add"], "careweave users add [OPTIONS]", "Missing argument"),
]


@pytest.mark.parametrize(("argv", "usage", "message"), USAGE_ERRORS)
def test_a_usage_error_prints_the_usage_and_exits_2(
    argv: list[str], usage: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Usage: " + usage in captured.err
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""


@pytest.mark.parametrize(
    "argv", [["nosuch"], ["load", "--bogus"], ["serve", "--port", "abc"]], ids=str
)
def test_the_installed_command_exits_2_without_a_traceback(argv: list[str]) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "careweave.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "Usage: careweave" in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.splitlines()) < 10


def test_an_out_of_range_setting_is_one_line_naming_the_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bounds of settings (port, workers) are the settings object's, checked once for flag
    and environment alike: a bad one is a one-line error naming the flag, exit 2."""
    assert main(["serve", "--port", "70000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("careweave: error: --port: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_version_and_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("careweave ")
    assert main(["--help"]) == 0
    assert "Usage: careweave" in capsys.readouterr().out


def test_no_command_shows_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "Usage: careweave" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_a_user_error_is_one_line_with_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["load", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("careweave: error: ") and err.count("\n") == 1
