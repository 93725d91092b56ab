"""Import results are identical, row for row, to a checked-in digest.

Each case imports fixtures (Synthea FHIR and CSV, the hand-made edge cases, bad
and duplicate input; one and several workers; the whole-file, streamed and
general parsing paths) and hashes every output table (its schema and its rows,
sorted) and the import report (without its timing). The digest was computed
before the FHIR importer became a package, so it keeps refactors of the
importers honest: a change that alters what an import writes fails here.

When an import is meant to change, regenerate the digest and say why in the
commit: ``PYTHONPATH=src python tests/test_import_digest.py --write``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from careweave.importers.fhir import import_fhir
from careweave.importers.fhir import reading as fhir_reading
from careweave.importers.synthea_csv import import_synthea_csv

HERE = Path(__file__).parent
DIGEST = HERE / "fixtures" / "importers" / "digest.json"
SYNTHEA = HERE.parents[1] / "shared" / "fixtures" / "synthea"
if not SYNTHEA.exists():
    SYNTHEA = Path("/work/shared/fixtures/synthea")
EDGE = HERE / "fixtures" / "importers"
USD = {"USD": 0.79}


def _streamed(inp: Path, out: Path) -> object:
    old = fhir_reading.WHOLE_FILE_LIMIT
    fhir_reading.WHOLE_FILE_LIMIT = 1024
    try:
        return import_fhir([inp / "synthea-fhir"], out, workers=1)
    finally:
        fhir_reading.WHOLE_FILE_LIMIT = old


def _general(inp: Path, out: Path) -> object:
    old = fhir_reading._fast_entries
    fhir_reading._fast_entries = lambda data: None  # type: ignore[assignment]
    try:
        return import_fhir([inp / "synthea-fhir", inp / "edge" / "fhir"], out, workers=1)
    finally:
        fhir_reading._fast_entries = old  # type: ignore[assignment]


#: case -> how to import from the copied inputs into ``out``.
CASES: dict[str, Callable[[Path, Path], object]] = {
    "synthea-fhir-1-worker": lambda i, o: import_fhir([i / "synthea-fhir"], o, workers=1),
    "synthea-fhir-2-workers-usd": lambda i, o: import_fhir(
        [i / "synthea-fhir"], o, workers=2, rates=USD
    ),
    "edge-fhir-1-worker": lambda i, o: import_fhir([i / "edge" / "fhir"], o, workers=1),
    "edge-fhir-3-workers": lambda i, o: import_fhir([i / "edge" / "fhir"], o, workers=3),
    "bad-dup-synthea": lambda i, o: import_fhir(
        [i / "edge" / "bad", i / "edge" / "dup", i / "synthea-fhir"], o, workers=1
    ),
    "synthea-fhir-streamed": _streamed,
    "fhir-general-path": _general,
    "synthea-csv-usd": lambda i, o: import_synthea_csv(i / "synthea-csv", o, rates=USD),
    "synthea-csv": lambda i, o: import_synthea_csv(i / "synthea-csv", o),
}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def digest_of(out: Path, root: Path) -> dict[str, Any]:
    """Every file of a dataset directory as a hash; ``root`` is written as ``<in>``."""

    def clean(text: str) -> str:
        return text.replace(str(root), "<in>")

    d: dict[str, Any] = {}
    for f in sorted(out.iterdir()):
        if f.suffix == ".parquet":
            t = pq.read_table(f)
            rows = sorted(clean(json.dumps(r, default=str, sort_keys=True)) for r in t.to_pylist())
            d[f.name] = {"schema": str(t.schema), "rows": len(rows), "sha": _sha("\n".join(rows))}
        elif f.name == "import-report.json":
            rep = json.loads(f.read_text())
            rep.pop("seconds")
            d[f.name] = _sha(clean(json.dumps(rep, sort_keys=True)))
        elif f.name == "manifest.json":
            man = json.loads(f.read_text())
            man.pop("created")
            d[f.name] = _sha(clean(json.dumps(man, sort_keys=True)))
        else:
            d[f.name] = _sha(clean(f.read_text()))
    return d


def copy_inputs(root: Path) -> Path:
    inp = root / "in"
    shutil.copytree(SYNTHEA / "fhir", inp / "synthea-fhir")
    shutil.copytree(SYNTHEA / "csv", inp / "synthea-csv")
    shutil.copytree(EDGE, inp / "edge", ignore=shutil.ignore_patterns("*.py", "digest.json"))
    return inp


def run_case(name: str, root: Path) -> dict[str, Any]:
    inp = root / "in"
    if not inp.exists():
        copy_inputs(root)
    out = root / "out" / name
    CASES[name](inp, out)
    return digest_of(out, inp)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digest")
    copy_inputs(root)
    return root


@pytest.mark.parametrize("case", list(CASES))
def test_import_output_matches_digest(case: str, inputs: Path) -> None:
    expected = json.loads(DIGEST.read_text())[case]
    got = run_case(case, inputs)
    assert sorted(got) == sorted(expected), "different files written"
    for name in expected:
        assert got[name] == expected[name], f"{case}: {name} differs"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: PYTHONPATH=src python tests/test_import_digest.py --write")
    with tempfile.TemporaryDirectory() as tmp:
        result = {case: run_case(case, Path(tmp)) for case in CASES}
    DIGEST.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DIGEST}")
