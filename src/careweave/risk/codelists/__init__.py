"""Code lists behind the features: HFRS, Charlson, eFI deficits and registers.

Each list is a CSV file in this folder; ``sources.toml`` gives its source,
year and version. Nothing here is computed: the figures are the published
ones, read once and cached.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tomllib
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa

from careweave.dataset.registers import Register, load_registers

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
    out = {name: meta["version"] for name, meta in sources().items()}
    text = resources.files("careweave.dataset").joinpath("data/registers.csv").read_bytes()
    out["registers"] = "dataset-registers-" + hashlib.sha256(text).hexdigest()[:12]
    return out


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


def _registers() -> tuple[Register, ...]:
    return load_registers()


@cache
def register_codes() -> dict[str, tuple[str, ...]]:
    """Register name -> SNOMED CT concept ids: the shared QOF-style registers
    (careweave.dataset.registers) plus Careweave's physical-disability list."""
    out = {r.name: r.snomed_codes for r in _registers()}
    out["physical_disability"] = tuple(r["code"] for r in _read("physical_disability.csv"))
    return out


def register_min_age(name: str) -> int:
    """Youngest age counted on a register (e.g. 17 for diabetes, 18 for depression)."""
    return {r.name: r.register_min_age for r in _registers()}.get(name, 0)


def register_observation_rules() -> dict[str, Any]:
    """Register name -> ObservationRule for registers also entered by an observation (BMI)."""
    return {r.name: r.observation_rule for r in _registers() if r.observation_rule is not None}


def register_label(name: str) -> str:
    labels = {r.name: r.label for r in _registers()}
    return labels.get(name, name.replace("_", " "))


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
