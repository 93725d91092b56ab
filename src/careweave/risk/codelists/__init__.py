"""Code lists behind the features: HFRS, Charlson, eFI deficits and registers.

Each list is a CSV file in this folder; ``sources.toml`` gives its source,
year and version. Nothing here is computed: the figures are the published
ones, read once and cached.
"""

from __future__ import annotations

import csv
import io
import tomllib
from functools import cache
from importlib import resources

import pyarrow as pa

#: Registers that count as a long-term condition in ``ltc_count``. Obesity and
#: palliative care are registers, but neither is a condition one "has" in the
#: sense of multimorbidity counts; physical disability is a segmentation list.
NOT_LTC = ("obesity", "palliative_care", "physical_disability")


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files(__name__).joinpath(name).read_text()
    return list(csv.DictReader(io.StringIO(text)))


@cache
def sources() -> dict[str, dict[str, str]]:
    text = resources.files(__name__).joinpath("sources.toml").read_text()
    return {k: dict(v) for k, v in tomllib.loads(text).items()}


def versions() -> dict[str, str]:
    """Code-list name -> version, recorded in every model artefact."""
    return {name: meta["version"] for name, meta in sources().items()}


@cache
def hfrs_weights() -> dict[str, float]:
    """Three-character ICD-10 code -> HFRS weight (Gilbert 2018)."""
    return {r["code"]: float(r["weight"]) for r in _read("hfrs.csv")}


@cache
def charlson_codes() -> tuple[tuple[str, str, int], ...]:
    """(group, ICD-10 prefix without dot, weight) rows of the Charlson index."""
    return tuple((r["group"], r["code"], int(r["weight"])) for r in _read("charlson.csv"))


#: Charlson groups that replace another when both are present.
CHARLSON_SUPERSEDES = {
    "diabetes_complicated": "diabetes_uncomplicated",
    "moderate_severe_liver_disease": "mild_liver_disease",
    "metastatic_solid_tumour": "malignancy",
}


@cache
def efi_codes() -> dict[str, str]:
    """SNOMED CT concept id -> eFI deficit name (35 coded deficits)."""
    return {r["code"]: r["deficit"] for r in _read("efi.csv")}


EFI_DEFICITS = 36  # 35 coded deficits + polypharmacy


@cache
def register_codes() -> dict[str, tuple[str, ...]]:
    """Register name -> SNOMED CT concept ids."""
    out: dict[str, list[str]] = {}
    for r in _read("registers.csv"):
        out.setdefault(r["register"], []).append(r["code"])
    return {k: tuple(v) for k, v in out.items()}


def registers() -> tuple[str, ...]:
    return tuple(register_codes())


def ltc_registers() -> tuple[str, ...]:
    return tuple(r for r in registers() if r not in NOT_LTC)


def hfrs_table() -> pa.Table:
    """HFRS weights as a table, in tenths (integers) so sums are exact on any engine."""
    w = hfrs_weights()
    return pa.table(
        {
            "hfrs_code": pa.array(list(w), pa.string()),
            "hfrs_tenths": pa.array([round(v * 10) for v in w.values()], pa.int64()),
        }
    )


def charlson_table() -> pa.Table:
    rows = charlson_codes()
    return pa.table(
        {
            "cci_group": pa.array([r[0] for r in rows], pa.string()),
            "cci_prefix": pa.array([r[1] for r in rows], pa.string()),
            "cci_len": pa.array([len(r[1]) for r in rows], pa.int64()),
            "cci_weight": pa.array([r[2] for r in rows], pa.int64()),
        }
    )


def efi_table() -> pa.Table:
    codes = efi_codes()
    return pa.table(
        {
            "efi_code": pa.array(list(codes), pa.string()),
            "efi_deficit": pa.array(list(codes.values()), pa.string()),
        }
    )


def register_table() -> pa.Table:
    rows = [(reg, code) for reg, codes in register_codes().items() for code in codes]
    return pa.table(
        {
            "reg_name": pa.array([r[0] for r in rows], pa.string()),
            "reg_code": pa.array([r[1] for r in rows], pa.string()),
        }
    )
