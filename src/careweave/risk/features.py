"""Person-level features at an as-of date D, each defined once as an Ibis expression.

Everything here looks only at history up to and including D: events dated
after D, discharges after D and rows that describe "now" (such as
``people.care_home_resident``) are never read. The same expressions run on
every engine (careweave.warehouse.engines); the spec tests in
tests/risk/test_features_spec.py run each feature on DuckDB and Spark.

Windows are counted back from D: "12 months" means dates in (D - 365 days, D].
The cohort is the registered population at D: everyone born on or before D,
alive at D (no death on or before D) and registered at D (``registered_from``
null or <= D, ``registered_to`` null or > D). The cohort, age, registers,
emergency spells, bed days and readmissions are the shared definitions of
:mod:`careweave.definitions`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
from ibis import _

from careweave.definitions import dates, population, spells
from careweave.definitions import registers as register_defs
from careweave.risk import codelists

#: Activity windows: name -> days back from the as-of date.
WINDOWS = {"6m": 183, "12m": 365, "24m": 730}
HFRS_DAYS = 730  # index and prior 2 years (Gilbert 2018)
CHARLSON_DAYS = 1826  # 5 years of hospital diagnoses
MEDICINES_DAYS = 183  # "current" medicines: issued in the last 6 months
POLYPHARMACY_MIN = 5  # distinct medicines; also the eFI polypharmacy deficit
TELEHEALTH_DAYS = 90
READMISSION_DAYS = spells.READMISSION_DAYS

#: A telehealth reading raises an alert outside these limits (lower, upper):
#: NEWS2-style red-flag values (Royal College of Physicians, NEWS2, 2017) for
#: SpO2, pulse, systolic BP and temperature; hypo/hyperglycaemia limits for
#: glucose (NICE NG28, 2022, mmol/L).
TELEHEALTH_LIMITS: dict[str, tuple[float, float]] = {
    "spo2": (92.0, 101.0),
    "heart_rate": (41.0, 130.0),
    "systolic_bp": (91.0, 219.0),
    "diastolic_bp": (40.0, 120.0),
    "temperature": (35.1, 39.0),
    "blood_glucose": (4.0, 20.0),
}

ACTIVITY = (
    "emergency_admissions",
    "emergency_bed_days",
    "ae_attendances",
    "outpatient_attendances",
    "outpatient_dnas",
)


_d = dates.lit


def feature_columns() -> tuple[str, ...]:
    """Names of the numeric features, in a fixed order (the model's inputs)."""
    regs = tuple(f"reg_{r}" for r in codelists.registers())
    acts = tuple(f"{a}_{w}" for a in ACTIVITY for w in WINDOWS)
    return (
        "age",
        "deprivation_decile",
        *regs,
        "ltc_count",
        *acts,
        "emergency_readmissions_12m",
        "medicines_6m",
        "polypharmacy",
        "social_care_package",
        "care_home",
        "telehealth_alerts_90d",
        "hfrs",
        "efi_deficits",
        "efi",
        "charlson",
    )


def cohort(engine: Any, as_of: dt.date) -> Any:
    """Everyone alive and registered at ``as_of`` (careweave.definitions.population):
    nhs_number, age (exact birthdays), sex, ethnic group, deprivation."""
    p = population.registered_at(engine.table("people"), as_of)
    return p.select(
        nhs_number=p.nhs_number,
        age=population.age_on(p, as_of),
        sex=p.sex,
        ethnic_group=p.ethnic_group,
        deprivation_decile=p.deprivation_decile.cast("int64").fill_null(0),
    )


_window = dates.days_back


def registers(engine: Any, as_of: dt.date) -> Any:
    """Raw register flags (0/1) at D (careweave.definitions.registers). Register minimum
    ages are applied in :func:`features`."""
    return register_defs.registers_at(engine, as_of)


def hospital_activity(engine: Any, as_of: dt.date) -> Any:
    """Emergency admissions and bed days (spells admitted in the window) per window."""
    s = spells.emergency(engine.table("hospital_spells"))
    s = s.filter(_window(s.admission_date, as_of, max(WINDOWS.values())))
    # Days in hospital up to D only: a stay still running at D counts to D.
    s = s.mutate(bed_days=spells.bed_days(s, as_of))
    aggs: dict[str, Any] = {}
    for w, days in WINDOWS.items():
        inside = _window(s.admission_date, as_of, days)
        aggs[f"emergency_admissions_{w}"] = inside.cast("int64").sum().cast("int64")
        aggs[f"emergency_bed_days_{w}"] = ibis.ifelse(inside, s.bed_days, 0).sum().cast("int64")
    return s.group_by("nhs_number").aggregate(**aggs)


def readmissions(engine: Any, as_of: dt.date) -> Any:
    """Emergency readmissions (careweave.definitions.spells: an emergency admission 0-30
    days after the person's previous discharge) admitted in the last 12 months."""
    s = engine.table("hospital_spells")
    s = s.filter(s.admission_date <= _d(as_of))
    r = spells.readmissions_of(s)
    r = r.filter(_window(r.admission_date, as_of, 365))
    return r.group_by("nhs_number").aggregate(emergency_readmissions_12m=_.count().cast("int64"))


def ae_activity(engine: Any, as_of: dt.date) -> Any:
    a = engine.table("ae_attendances")
    a = a.filter(_window(a.attendance_date, as_of, max(WINDOWS.values())))
    aggs = {
        f"ae_attendances_{w}": _window(a.attendance_date, as_of, days).cast("int64").sum()
        for w, days in WINDOWS.items()
    }
    return a.group_by("nhs_number").aggregate(**{k: v.cast("int64") for k, v in aggs.items()})


def outpatient_activity(engine: Any, as_of: dt.date) -> Any:
    o = engine.table("outpatient_appointments")
    o = o.filter(_window(o.appointment_date, as_of, max(WINDOWS.values())))
    aggs: dict[str, Any] = {}
    for w, days in WINDOWS.items():
        inside = _window(o.appointment_date, as_of, days)
        aggs[f"outpatient_attendances_{w}"] = (
            (inside & (o.outcome == "attended")).cast("int64").sum().cast("int64")
        )
        aggs[f"outpatient_dnas_{w}"] = (
            (inside & (o.outcome == "did_not_attend")).cast("int64").sum().cast("int64")
        )
    return o.group_by("nhs_number").aggregate(**aggs)


def medicines(engine: Any, as_of: dt.date) -> Any:
    """Distinct medicines issued in the last 6 months, and the polypharmacy flag (>= 5)."""
    m = engine.table("medications")
    m = m.filter(_window(m.issue_date, as_of, MEDICINES_DAYS))
    out = m.group_by("nhs_number").aggregate(medicines_6m=m.code.nunique().cast("int64"))
    return out.mutate(polypharmacy=(out.medicines_6m >= POLYPHARMACY_MIN).cast("int64"))


def _active(t: Any, as_of: dt.date) -> Any:
    return t.filter(dates.covers(t.start_date, t.end_date, _d(as_of)))


def social_care(engine: Any, as_of: dt.date) -> Any:
    """A social-care service running at D, and a care-home placement running at D."""
    svc = _active(engine.table("social_care_services"), as_of)
    svc = svc.select("nhs_number").distinct().mutate(social_care_package=ibis.literal(1, "int64"))
    plc = _active(engine.table("care_placements"), as_of)
    plc = plc.select("nhs_number").distinct().mutate(care_home=ibis.literal(1, "int64"))
    return svc, plc


def telehealth_alerts(engine: Any, as_of: dt.date) -> Any:
    """Readings outside TELEHEALTH_LIMITS taken in the 90 days to D."""
    r = engine.table("telehealth_readings")
    day = r.recorded_at.date()
    r = r.filter(_window(day, as_of, TELEHEALTH_DAYS))
    alert = ibis.literal(False)
    for measure, (low, high) in TELEHEALTH_LIMITS.items():
        alert = alert | ((r.measure == measure) & ((r.value < low) | (r.value > high)))
    return r.group_by("nhs_number").aggregate(
        telehealth_alerts_90d=alert.cast("int64").sum().cast("int64")
    )


def _raw_spell_codes(engine: Any, as_of: dt.date, days: int) -> Any:
    """(nhs_number, ICD-10 code as sent) from spells admitted in the window."""
    s = engine.table("hospital_spells")
    s = s.filter(_window(s.admission_date, as_of, days))
    primary = s.select(s.nhs_number, code=s.primary_diagnosis)
    secondary = s.select(s.nhs_number, code=s.secondary_diagnoses.unnest())
    codes = primary.union(secondary, distinct=False)
    return codes.filter(codes.code.notnull())


def hfrs_scores(codes: Any) -> Any:
    """HFRS per person from a long table of (``nhs_number``, ``code``) ICD-10 codes.

    A code's category is its first three characters after leading space, upper-cased (a dot,
    if any, comes after them). That string work is done once per *distinct* code, not per
    row: the distinct codes are matched to the weights (a small table), and the rows are then
    joined to that code -> (category, weight) table on the code as sent. Each category counts
    once per person; weights are summed in tenths so every engine gets the same exact value.
    People with no HFRS code get no row (``features`` fills 0).
    """
    codes = codes.filter(codes.code.notnull())
    distinct = codes.select("code").distinct()
    distinct = distinct.mutate(hfrs_code=distinct.code.lstrip().substr(0, 3).upper())
    w = ibis.memtable(codelists.hfrs_table())
    weights = distinct.join(w, "hfrs_code").select("code", "hfrs_code", "hfrs_tenths")
    hits = codes.join(weights, "code").select("nhs_number", "hfrs_code", "hfrs_tenths").distinct()
    out = hits.group_by("nhs_number").aggregate(hfrs_tenths=hits.hfrs_tenths.sum().cast("int64"))
    return out.select("nhs_number", hfrs=out.hfrs_tenths.cast("float64") / 10.0)


def hfrs(engine: Any, as_of: dt.date) -> Any:
    """Hospital Frailty Risk Score: weights of distinct 3-character codes over 2 years."""
    return hfrs_scores(_raw_spell_codes(engine, as_of, HFRS_DAYS))


def charlson(engine: Any, as_of: dt.date) -> Any:
    """Charlson comorbidity index (Quan 2005 ICD-10 groups, Charlson 1987 weights).

    As in :func:`hfrs_scores`, the string work (upper case, dots and spaces removed,
    3- and 4-character prefixes) is done once per distinct code, and the rows are joined
    to the resulting code -> group table on the code as sent.
    """
    codes = _raw_spell_codes(engine, as_of, CHARLSON_DAYS)
    distinct = codes.select("code").distinct()
    norm = distinct.code.upper().replace(".", "").strip()
    cci = ibis.memtable(codelists.charlson_table())
    groups_of = []
    for n in (3, 4):
        d = distinct.select("code", cci_prefix=norm.substr(0, n))
        groups_of.append(d.join(cci.filter(cci.cci_len == n), "cci_prefix"))
    code_groups = groups_of[0].union(groups_of[1]).select("code", "cci_group").distinct()
    h = codes.join(code_groups, "code").select("nhs_number", "cci_group").distinct()
    groups = {g: w for g, _, w in codelists.charlson_codes()}
    flags = h.group_by("nhs_number").aggregate(
        **{g: (h.cci_group == g).cast("int64").max() for g in groups}
    )
    total: Any = ibis.literal(0, "int64")
    for g, w in groups.items():
        flag = flags[g]
        for top, below in codelists.CHARLSON_SUPERSEDES.items():
            if g == below:
                flag = flag * (1 - flags[top])
        total = total + flag * w
    return flags.select("nhs_number", charlson=total.cast("int64"))


def efi_deficits(engine: Any, as_of: dt.date) -> Any:
    """Coded eFI deficits recorded by D (distinct deficits; polypharmacy added later)."""
    ev = engine.table("primary_care_events")
    ev = ev.filter(ev.code_system == "snomed", ev.event_date <= _d(as_of))
    e = ibis.memtable(codelists.efi_table())
    hits = ev.join(e, ev.code == e.efi_code).select("nhs_number", "efi_deficit").distinct()
    return hits.group_by("nhs_number").aggregate(efi_coded=hits.efi_deficit.count().cast("int64"))


def efi_category(deficits: Any) -> Any:
    """eFI category from the deficit count: eFI = n/36 to 2 d.p.; fit <= 0.12 (n <= 4),
    mild <= 0.24 (n <= 8), moderate <= 0.36 (n <= 13), severe above."""
    return ibis.cases(
        (deficits <= 4, "fit"),
        (deficits <= 8, "mild"),
        (deficits <= 13, "moderate"),
        else_="severe",
    )


def hfrs_category(score: Any) -> Any:
    """Gilbert 2018: low < 5, intermediate 5-15, high > 15."""
    return ibis.cases((score < 5, "low"), (score <= 15, "intermediate"), else_="high")


def features(engine: Any, as_of: dt.date, *, ordered: bool = True) -> Any:
    """The feature table at ``as_of``: one row per person in the cohort, ordered by NHS number
    (``ordered=False``: in no particular order, for callers that join more columns and order
    once at the end)."""
    base = cohort(engine, as_of)
    svc, plc = social_care(engine, as_of)
    parts = [
        registers(engine, as_of),
        hospital_activity(engine, as_of),
        readmissions(engine, as_of),
        ae_activity(engine, as_of),
        outpatient_activity(engine, as_of),
        medicines(engine, as_of),
        svc,
        plc,
        telehealth_alerts(engine, as_of),
        hfrs(engine, as_of),
        efi_deficits(engine, as_of),
        charlson(engine, as_of),
    ]
    t = base
    for part in parts:
        t = t.left_join(part, "nhs_number").drop("nhs_number_right")
    fills: dict[str, float] = {c: 0 for c in t.columns if c not in base.columns}
    fills["hfrs"] = 0.0
    t = t.fill_null(fills)
    # Registers count people from their register's minimum age (QOF business rules).
    t = t.mutate(
        **{
            f"reg_{r}": (t[f"reg_{r}"] * (t.age >= codelists.register_min_age(r)).cast("int64"))
            for r in codelists.registers()
            if codelists.register_min_age(r) > 0
        }
    )
    ltc = sum((t[f"reg_{r}"] for r in codelists.ltc_registers()), ibis.literal(0, "int64"))
    t = t.mutate(ltc_count=ltc.cast("int64"))
    deficits = (t.efi_coded + t.polypharmacy).cast("int64")
    t = t.mutate(
        efi_deficits=deficits,
        efi=deficits.cast("float64") / float(codelists.EFI_DEFICITS),
        efi_category=efi_category(deficits),
        hfrs_category=hfrs_category(t.hfrs),
    ).drop("efi_coded")
    cols = ["nhs_number", "sex", "ethnic_group", *feature_columns()]
    cols += ["efi_category", "hfrs_category"]
    t = t.select(*cols)
    return t.order_by("nhs_number") if ordered else t


def compute(engine: Any, as_of: dt.date) -> Any:
    """Run :func:`features` on ``engine`` and return a pandas DataFrame."""
    return engine.to_arrow(features(engine, as_of)).to_pandas()


def outcome(engine: Any, as_of: dt.date, horizon_days: int) -> Any:
    """People with at least one emergency admission in (as_of, as_of + horizon]."""
    s = engine.table("hospital_spells")
    end = as_of + dt.timedelta(days=horizon_days)
    s = s.filter(
        s.admission_method == "emergency", s.admission_date > _d(as_of), s.admission_date <= _d(end)
    )
    return s.select("nhs_number").distinct()
