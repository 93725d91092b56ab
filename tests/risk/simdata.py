"""A small, fast simulated population for the risk tests and benchmarks.

Not the product's synthetic generator (careweave.synth): this one writes only
the tables the risk engine reads, with a latent per-person risk that drives
emergency admissions year after year, so that the past predicts the future
(well, never perfectly). Vectorised with numpy so 1,000,000 people take
seconds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from careweave.dataset.nhs_number import valid_numbers_from
from careweave.dataset.tables import BY_NAME

START = dt.date(2019, 1, 1)
EPOCH = np.datetime64("1970-01-01")

# condition -> (SNOMED code, ICD-10 code used on spells, prevalence at 80, risk log-odds)
CONDITIONS = {
    "hypertension": ("38341003", "I10", 0.45, 0.1),
    "diabetes": ("44054006", "E11.9", 0.2, 0.3),
    "copd": ("13645005", "J44.1", 0.1, 0.8),
    "heart_failure": ("84114007", "I50.0", 0.08, 1.0),
    "atrial_fibrillation": ("49436004", "I48.9", 0.12, 0.3),
    "dementia": ("52448006", "F03", 0.07, 0.8),
    "chronic_kidney_disease": ("433144002", "N18.3", 0.18, 0.4),
    "cancer": ("363346000", "C18.9", 0.08, 0.7),
    "depression": ("35489007", "F32.9", 0.12, 0.3),
    "asthma": ("195967001", "J45.9", 0.07, 0.3),
}
FRAILTY = [
    ("161898004", "W19"),
    ("64859006", "M81.9"),
    ("404640003", "R42"),
    ("15188001", "H91.9"),
    ("165232002", "R32"),
]
OTHER_ICD = ["J18.9", "N39.0", "R55", "K59.0", "A41.9", "S72.0", "E87.1", "R29.6", "L03.1"]


def _dates(start_days: npt.NDArray[np.int64], span: int, rng: np.random.Generator) -> pa.Array:
    days = start_days + rng.integers(0, span, size=len(start_days))
    return pa.array((EPOCH + days.astype("timedelta64[D]")).astype("datetime64[D]"))


def simulate(n: int, seed: int = 1, years: int = 5) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    start = int((np.datetime64(START) - EPOCH).astype(int))
    numbers = valid_numbers_from(9_990_000_000, n)
    nhs = pa.array([f"{x:010d}" for x in numbers])
    age0 = np.minimum(rng.gamma(2.2, 19.0, n), 100).astype(np.int64)
    dob = start - age0 * 365 - rng.integers(0, 365, n)
    female = rng.random(n) < 0.51
    decile = rng.integers(1, 11, n)
    u = rng.normal(0, 0.9, n)
    agef = np.clip((age0 - 20) / 60, 0, 1.6)
    conds = {}
    logit = -4.6 + 1.9 * agef + 0.06 * (5.5 - decile) + u
    for name, (_, _, prev80, beta) in CONDITIONS.items():
        p = np.clip(prev80 * agef * np.exp(0.3 * u), 0, 0.9)
        has = rng.random(n) < p
        conds[name] = has
        logit = logit + beta * has
    frail_n = rng.binomial(5, np.clip(0.25 * agef * np.exp(0.4 * u), 0, 0.95))
    logit = logit + 0.25 * frail_n
    care_home = (age0 > 80) & (rng.random(n) < 0.06 * frail_n)
    logit = logit + 0.6 * care_home
    death = np.where(rng.random(n) < 0.01 * years * np.exp(1.5 * agef - 1), 0, -1)
    death_day = np.where(death == 0, start + rng.integers(365, 365 * years, n), -1)
    people = {
        "nhs_number": nhs,
        "date_of_birth": pa.array((EPOCH + dob.astype("timedelta64[D]")).astype("datetime64[D]")),
        "sex": pa.array(np.where(female, "female", "male")),
        "ethnic_group": pa.array(
            rng.choice(
                ["white", "asian", "black", "mixed", "other"], n, p=[0.86, 0.07, 0.03, 0.02, 0.02]
            )
        ),
        "small_area": pa.nulls(n, pa.string()),
        "deprivation_decile": pa.array(decile.astype(np.int16)),
        "practice_id": pa.array(np.char.add("W", (numbers % 20).astype(str))),
        "local_authority_id": pa.nulls(n, pa.string()),
        "registered_from": pa.nulls(n, pa.date32()),
        "registered_to": pa.nulls(n, pa.date32()),
        "care_home_resident": pa.array(care_home),
        "date_of_death": pa.array(
            np.where(death_day > 0, death_day, 0).astype("datetime64[D]"), mask=death_day < 0
        ),
        "source_id": pa.nulls(n, pa.string()),
    }
    idx = np.arange(n)
    ev_p, ev_code = [], []
    for name, (snomed, _, _, _) in CONDITIONS.items():
        w = idx[conds[name]]
        ev_p.append(w)
        ev_code.append(np.full(len(w), snomed))
    for k, (snomed, _) in enumerate(FRAILTY):
        w = idx[frail_n > k]
        ev_p.append(w)
        ev_code.append(np.full(len(w), snomed))
    pe = np.concatenate(ev_p)
    primary = {
        "id": pa.array(np.char.add("pe", np.arange(len(pe)).astype(str))),
        "nhs_number": nhs.take(pa.array(pe)),
        "event_date": _dates(np.full(len(pe), start - 3000), 3000 + 365 * years - 1, rng),
        "code_system": pa.array(np.full(len(pe), "snomed")),
        "code": pa.array(np.concatenate(ev_code)),
        "term": pa.nulls(len(pe), pa.string()),
        "resolved_date": pa.nulls(len(pe), pa.date32()),
        "org_id": pa.nulls(len(pe), pa.string()),
    }
    # Emergency admissions per person-year from the latent risk (with a year wobble).
    sp_p, sp_day = [], []
    ae_p, ae_day = [], []
    for y in range(years):
        rate = np.minimum(np.exp(logit + rng.normal(0, 0.35, n)) * 1.1, 2.5)
        k = rng.poisson(rate)
        who = np.repeat(idx, k)
        sp_p.append(who)
        sp_day.append(start + 365 * y + rng.integers(0, 365, len(who)))
        ka = rng.poisson(rate * 2.5 + 0.15)
        wa = np.repeat(idx, ka)
        ae_p.append(wa)
        ae_day.append(start + 365 * y + rng.integers(0, 365, len(wa)))
    sp = np.concatenate(sp_p)
    sd = np.concatenate(sp_day)
    alive = (death_day[sp] < 0) | (sd < death_day[sp])
    sp, sd = sp[alive], sd[alive]
    los = rng.geometric(np.clip(0.35 - 0.12 * agef[sp], 0.05, 1))
    prim = np.array(OTHER_ICD)[rng.integers(0, len(OTHER_ICD), len(sp))]
    cond_icd = [CONDITIONS[c][1] for c in CONDITIONS]
    has_matrix = np.stack([conds[c] for c in CONDITIONS], axis=1)[sp]
    sec = [
        [cond_icd[j] for j in np.flatnonzero(row)] + ([FRAILTY[0][1]] if f > 1 else [])
        for row, f in zip(has_matrix, frail_n[sp], strict=True)
    ]
    spells = {
        "id": pa.array(np.char.add("sp", np.arange(len(sp)).astype(str))),
        "nhs_number": nhs.take(pa.array(sp)),
        "provider_id": pa.array(np.full(len(sp), "H1")),
        "admission_date": pa.array((EPOCH + sd.astype("timedelta64[D]")).astype("datetime64[D]")),
        "discharge_date": pa.array(
            (EPOCH + (sd + los).astype("timedelta64[D]")).astype("datetime64[D]")
        ),
        "admission_method": pa.array(np.full(len(sp), "emergency")),
        "primary_diagnosis": pa.array(prim),
        "secondary_diagnoses": pa.array(sec, pa.list_(pa.string())),
        "specialty": pa.nulls(len(sp), pa.string()),
        "discharge_destination": pa.nulls(len(sp), pa.string()),
        "cost": pa.nulls(len(sp), pa.float64()),
    }
    ae = np.concatenate(ae_p)
    ad = np.concatenate(ae_day)
    ae_tab = {
        "id": pa.array(np.char.add("ae", np.arange(len(ae)).astype(str))),
        "nhs_number": nhs.take(pa.array(ae)),
        "provider_id": pa.array(np.full(len(ae), "H1")),
        "attendance_date": pa.array((EPOCH + ad.astype("timedelta64[D]")).astype("datetime64[D]")),
        "disposal": pa.array(np.full(len(ae), "discharged")),
        "cost": pa.nulls(len(ae), pa.float64()),
    }
    n_meds = np.minimum(rng.poisson(has_matrix_sum(conds) * 1.5 + frail_n * 0.5), 15)
    mp = np.repeat(idx, n_meds * years * 2)
    meds = {
        "id": pa.array(np.char.add("md", np.arange(len(mp)).astype(str))),
        "nhs_number": nhs.take(pa.array(mp)),
        "issue_date": _dates(np.full(len(mp), start), 365 * years, rng),
        "code_system": pa.array(np.full(len(mp), "dmd")),
        "code": pa.array(rng.integers(1000, 1040, len(mp)).astype(str)),
        "term": pa.nulls(len(mp), pa.string()),
        "quantity": pa.nulls(len(mp), pa.float64()),
        "org_id": pa.nulls(len(mp), pa.string()),
    }
    ch = idx[care_home]
    placements = {
        "id": pa.array(np.char.add("cp", np.arange(len(ch)).astype(str))),
        "nhs_number": nhs.take(pa.array(ch)),
        "local_authority_id": pa.array(np.full(len(ch), "LA1")),
        "care_home_id": pa.array(np.full(len(ch), "CH1")),
        "placement_type": pa.array(np.full(len(ch), "residential")),
        "permanent": pa.array(np.ones(len(ch), bool)),
        "start_date": _dates(np.full(len(ch), start - 400), 365 * years, rng),
        "end_date": pa.nulls(len(ch), pa.date32()),
        "weekly_cost": pa.nulls(len(ch), pa.float64()),
    }
    out = {
        "people": people,
        "primary_care_events": primary,
        "hospital_spells": spells,
        "ae_attendances": ae_tab,
        "medications": meds,
        "care_placements": placements,
    }
    return {name: _table(name, cols) for name, cols in out.items()}


def _table(name: str, cols: dict[str, pa.Array]) -> pa.Table:
    """The canonical table ``name``: optional columns not simulated are all null."""
    schema = BY_NAME[name].arrow_schema
    n = len(next(iter(cols.values())))
    full = {f.name: cols.get(f.name, pa.nulls(n, f.type)) for f in schema}
    return pa.table(full, schema=schema)


def has_matrix_sum(conds: dict[str, npt.NDArray[np.bool_]]) -> npt.NDArray[np.int64]:
    return np.asarray(np.sum(np.stack(list(conds.values()), axis=1), axis=1), dtype=np.int64)


def write_warehouse(tables: dict[str, pa.Table], path: Path, end: dt.date | None = None) -> Path:
    """A DuckDB warehouse holding ``tables`` (and a ``_load_batches`` row with the span)."""
    con = duckdb.connect(str(path))
    try:
        for name, data in tables.items():
            con.register("_src", data)
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _src')
            con.unregister("_src")
        span_end = end or dt.date(START.year + 5, 1, 1) - dt.timedelta(days=1)
        con.execute(
            "CREATE OR REPLACE TABLE _load_batches AS SELECT 'sim' AS batch_id, "
            "'' AS source_dir, 'sim' AS source, ?::DATE AS span_start, ?::DATE AS span_end, "
            "now() AS loaded_at, 0 AS rows_in, 0 AS rows_loaded, 0 AS rows_quarantined",
            [START, span_end],
        )
    finally:
        con.close()
    return path
