"""Small modules and functions (issue 10): in the CLI, the loader, the API, risk, and the
composition root and settings, no module over 600 lines, no function over 120 unless its
docstring says why it is long."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import careweave

ROOT = Path(careweave.__file__).parent
PACKAGES = ("cli", "ingest", "api", "risk")
MODULES = ("server.py", "settings.py")
MAX_MODULE, MAX_FUNCTION = 600, 120


def _modules() -> list[Path]:
    found = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    return sorted(found + [ROOT / m for m in MODULES])


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_are_small(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE, f"{path.name}: over {MAX_MODULE} lines"
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        doc = ast.get_docstring(node) or ""
        assert length <= MAX_FUNCTION or "long" in doc.lower(), (
            f"{path.name}:{node.lineno} {node.name} is {length} lines; split it or say why"
        )
