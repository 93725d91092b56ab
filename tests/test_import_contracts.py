"""The import contracts ([tool.importlinter] in pyproject.toml) hold, and catch a bad import.

Each bad case copies the package's Python files and pyproject.toml into a
temporary directory, adds one import the architecture forbids, and runs
``lint-imports`` on the copy: it must exit 1 naming the broken contract and the
import. Main's own code is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    """A copy of src/careweave (Python files only) and pyproject.toml under ``tmp_path``."""
    shutil.copytree(
        ROOT / "src" / "careweave",
        tmp_path / "src" / "careweave",
        ignore=lambda d, names: [
            n for n in names if not n.endswith(".py") and not (Path(d) / n).is_dir()
        ],
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    # Wide enough that no contract's name wraps onto two lines.
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "COLUMNS": "300"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contracts_hold_on_the_code() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


BAD = [
    # (module in the copy, the import added, the contract that must break)
    ("risk/features.py", "import careweave.store.models", "Analytics never import"),
    ("ingest/report.py", "from careweave.security import audit", "Analytics never import"),
    ("api/app.py", "import careweave.web", "Layers"),
    ("care/register.py", "import careweave.cli.main", "The core never imports the edges"),
    ("store/db.py", "import careweave.risk.scoring", "The operational side never imports"),
    ("risk/scoring.py", "import careweave.settings", "The core never imports the edges"),
    ("measures/compute.py", "import careweave.care.register", "Analytics never import"),
    # The pages may use measures' disclosure control, nothing else of measures.
    ("web/pages/population.py", "import careweave.measures.compute", "The operational side"),
    # A package that does not exist yet is held to its layer as soon as it appears.
    ("future/__init__.py", "import careweave.store.db", "Layers"),
]


@pytest.mark.parametrize(("module", "line", "contract"), BAD)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tree = _copy(tmp_path)
    if module.startswith("future/"):  # an optional layer, as measures was before it landed
        config = tree / "pyproject.toml"
        layer = "careweave.measures : careweave.stats"
        text = config.read_text()
        assert layer in text
        config.write_text(
            text.replace(layer, "careweave.measures : (careweave.future) : careweave.stats")
        )
        assert _lint(tree).returncode == 0  # holds while the package does not exist
    path = tree / "src" / "careweave" / module
    path.parent.mkdir(parents=True, exist_ok=True)
    source = path.read_text() if path.exists() else '"""Added by the test."""\n'
    path.write_text(source + f"\n{line}  # deliberately bad\n")
    result = _lint(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    importer = "careweave." + module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    imported = line.split()[1]
    broken = [ln for ln in result.stdout.splitlines() if "BROKEN" in ln]
    assert any(ln.startswith(contract) for ln in broken), broken
    assert f"{importer} -> {imported}" in result.stdout
