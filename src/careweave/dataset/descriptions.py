"""What a clinical code means, in words, for the care pages.

A row's own ``term`` (as its source sent it) comes first; where a source sends
a bare code (hospital diagnoses are ICD-10 codes only), the shipped list
``careweave/dataset/data/code_descriptions.csv`` fills in. ICD-10 codes compare
without the dot and the UK ``X`` filler, so ``N17.9``, ``N179`` and ``I10X``/``I10``
find the same entry. A code neither knows is shown as the code.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources


def _norm(system: str, code: str) -> tuple[str, str]:
    code = code.strip().upper()
    if system == "icd10":
        code = code.replace(".", "")
        if len(code) == 4 and code.endswith("X"):
            code = code[:3]
    if system == "dmd":  # dm+d identifiers are SNOMED CT identifiers
        system = "snomed"
    return system, code


@cache
def table() -> dict[tuple[str, str], str]:
    text = (
        resources.files("careweave.dataset")
        .joinpath("data/code_descriptions.csv")
        .read_text(encoding="utf-8")
    )
    rows = csv.DictReader(io.StringIO("".join(ln for ln in text.splitlines(True) if ln[:1] != "#")))
    return {_norm(r["code_system"], r["code"]): r["description"] for r in rows}


def description(system: str | None, code: str | None, term: str | None = None) -> str | None:
    """The words for a code: the row's term, else the shipped list's, else None."""
    if term and term.strip():
        return term.strip()
    if not system or not code:
        return None
    return table().get(_norm(system, code))


def label(system: str | None, code: str | None, term: str | None = None) -> str:
    """ "Acute kidney failure, unspecified (N17.9)"; the bare code when nothing describes it."""
    words = description(system, code, term)
    if not code:
        return words or ""
    return f"{words} ({code})" if words else code
