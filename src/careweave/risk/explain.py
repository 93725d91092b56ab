"""Per-person explanations: the top three drivers of a person's risk, in plain English.

Method: the default model's log-odds is a sum over design columns of
coefficient x (scaled value - training mean). Grouping columns by the feature
they come from (an interaction is shared half-and-half between its two
features) gives each *driver* an exact additive contribution relative to the
average person in the training cohort. The three drivers that raise the
person's risk most (contribution above MIN_CONTRIBUTION) are named, with the
person's own values ("2 emergency admissions in the last 12 months").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from careweave.risk import codelists

#: Log-odds a driver must add to be named (about a 5% relative increase in odds).
MIN_CONTRIBUTION = 0.05
TOP = 3

# Plain-English names of the registers, where the register label is not already one.
CONDITION_NAMES = {
    "hypertension": "hypertension",
    "depression": "depression",
    "obesity": "obesity",
    "diabetes": "diabetes",
    "asthma": "asthma",
    "ckd": "chronic kidney disease",
    "cancer": "cancer",
    "chd": "coronary heart disease",
    "atrial_fibrillation": "atrial fibrillation",
    "copd": "COPD",
    "stroke_tia": "stroke or TIA",
    "heart_failure": "heart failure",
    "smi": "serious mental illness",
    "epilepsy": "epilepsy",
    "rheumatoid_arthritis": "rheumatoid arthritis",
    "dementia": "dementia",
    "pad": "peripheral arterial disease",
    "learning_disability": "learning disability",
    "palliative_care": "on the palliative care register",
    "physical_disability": "physical disability",
}


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _windowed(row: Any, stem: str, one: str, many: str | None = None) -> str:
    for w, label in (("12m", "12 months"), ("24m", "24 months"), ("6m", "6 months")):
        key = f"{stem}_{w}"
        if key in row and int(row[key]) > 0:
            return f"{_plural(int(row[key]), one, many)} in the last {label}"
    return f"no {many or one + 's'} in the last 24 months"


def age_phrase(age: int) -> str:
    if age >= 85:
        return "aged 85+"
    if age >= 75:
        return "aged 75-84"
    if age >= 65:
        return "aged 65-74"
    return f"aged {age}"


def phrase(driver: str, row: Any) -> str:
    """Plain-English words for one driver, using the person's own values."""
    if driver == "age":
        return age_phrase(int(row["age"]))
    if driver == "sex":
        return f"{row['sex']} sex"
    if driver == "deprivation":
        d = int(row["deprivation_decile"])
        return f"lives in deprivation decile {d} (1 = most deprived)" if d else "area unknown"
    if driver in CONDITION_NAMES:
        return CONDITION_NAMES[driver]
    if driver in codelists.registers():
        return codelists.register_label(driver).lower()
    if driver == "ltc_count":
        return _plural(int(row["ltc_count"]), "long-term condition")
    if driver == "emergency_admissions":
        return _windowed(row, "emergency_admissions", "emergency admission")
    if driver == "emergency_bed_days":
        n = int(row["emergency_bed_days_12m"])
        return f"{_plural(n, 'day')} in hospital after emergency admission in the last 12 months"
    if driver == "ae_attendances":
        return _windowed(row, "ae_attendances", "A&E attendance")
    if driver == "outpatient_attendances":
        return _windowed(row, "outpatient_attendances", "outpatient attendance")
    if driver == "outpatient_dnas":
        return _windowed(row, "outpatient_dnas", "missed outpatient appointment")
    if driver == "readmissions":
        n = int(row["emergency_readmissions_12m"])
        return f"{_plural(n, 'emergency readmission')} within 30 days in the last 12 months"
    if driver == "medicines":
        return f"{_plural(int(row['medicines_6m']), 'medicine')} in the last 6 months"
    if driver == "social_care_package":
        return "receives a social-care package"
    if driver == "care_home":
        return "lives in a care home"
    if driver == "telehealth_alerts":
        return (
            f"{_plural(int(row['telehealth_alerts_90d']), 'telehealth alert')} in the last 90 days"
        )
    if driver == "hfrs":
        return f"hospital frailty risk score {row['hfrs']:.1f} ({row['hfrs_category']})"
    if driver == "efi":
        return f"frailty: eFI {row['efi']:.2f} ({row['efi_category']})"
    if driver == "charlson":
        return f"Charlson comorbidity index {int(row['charlson'])}"
    return driver.replace("_", " ")


def top_drivers(contrib: np.ndarray, k: int = TOP) -> tuple[np.ndarray, np.ndarray]:
    """(indices, values) of each row's k largest contributions, largest first."""
    k = min(k, contrib.shape[1])
    idx = np.argpartition(-contrib, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(contrib, idx, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(vals, order, axis=1)


def needs(driver: str) -> list[str]:
    """The feature columns :func:`phrase` reads for ``driver``."""
    windowed = (
        "emergency_admissions",
        "ae_attendances",
        "outpatient_attendances",
        "outpatient_dnas",
    )
    if driver in windowed:
        return [f"{driver}_{w}" for w in ("6m", "12m", "24m")]
    return {
        "age": ["age"],
        "sex": ["sex"],
        "deprivation": ["deprivation_decile"],
        "ltc_count": ["ltc_count"],
        "emergency_bed_days": ["emergency_bed_days_12m"],
        "readmissions": ["emergency_readmissions_12m"],
        "medicines": ["medicines_6m"],
        "telehealth_alerts": ["telehealth_alerts_90d"],
        "hfrs": ["hfrs", "hfrs_category"],
        "efi": ["efi", "efi_category"],
        "charlson": ["charlson"],
    }.get(driver, [])


def explain(frame: pd.DataFrame, drivers: list[str], contrib: np.ndarray) -> list[list[str]]:
    """For each person, the plain-English names of up to three drivers raising their risk.

    Phrases are built driver by driver and cached by the values they read, so a
    million people cost a few seconds.
    """
    idx, vals = top_drivers(contrib)
    words = np.full(idx.shape, None, dtype=object)
    for j, driver in enumerate(drivers):
        mask = (idx == j) & (vals > MIN_CONTRIBUTION)
        rows = np.flatnonzero(mask.any(axis=1))
        if not len(rows):
            continue
        cols = needs(driver)
        cache: dict[tuple[Any, ...], str] = {}
        texts: list[str] = []
        if not cols:
            texts = [phrase(driver, {})] * len(rows)
        for values in frame.iloc[rows][cols].itertuples(index=False, name=None) if cols else []:
            text = cache.get(values)
            if text is None:
                text = cache[values] = phrase(driver, dict(zip(cols, values, strict=True)))
            texts.append(text)
        r, c = np.nonzero(mask[rows])
        words[rows[r], c] = np.asarray(texts, dtype=object)[r]
    return [[w for w in row if w is not None] for row in words.tolist()]
