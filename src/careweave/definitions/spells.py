"""Hospital spells: emergency and elective spells, bed days, length of stay, readmissions.

- **Emergency spell**: ``admission_method = 'emergency'``; **elective**: ``'elective'``.
- **Bed days** of a spell up to a date ``until``: the earlier of discharge and
  ``until``, minus admission (a spell still open counts to ``until``); a
  same-day spell has 0 bed days. **Length of stay** is the bed days of a
  discharged spell.
- **30-day emergency readmission** (after NHS Digital's indicator I02040,
  "Emergency readmissions within 30 days of discharge from hospital"): each
  spell is paired with the same person's *next* spell (by admission date, then
  id). The pair is a readmission when the next spell is an emergency admitted
  0 to 30 days after the earlier spell's discharge. The indicator's **index
  discharges** are discharged spells (not dying in hospital), not obstetric
  (``admission_method = 'maternity'``) and without a cancer primary
  diagnosis (ICD-10 C00-C97, D37-D48), since those readmissions may be part
  of a care plan; an index discharge counts in the month of its discharge,
  readmitted or not. The risk feature ``emergency_readmissions_12m`` counts
  the same pairs by the readmission's admission date, with no exclusions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from careweave.definitions.dates import lit

READMISSION_DAYS = 30
#: ICD-10 primary diagnoses excluded from index discharges (cancer), as 3-character prefixes.
CANCER_PREFIXES = tuple(f"C{i:02d}" for i in range(98)) + tuple(f"D{i}" for i in range(37, 49))


def is_emergency(spells: Any) -> Any:
    """The spell is an emergency (a predicate, for tables that carry the spell's columns)."""
    return spells.admission_method == "emergency"


def is_elective(spells: Any) -> Any:
    return spells.admission_method == "elective"


def emergency(spells: Any) -> Any:
    return spells.filter(is_emergency(spells))


def elective(spells: Any) -> Any:
    return spells.filter(is_elective(spells))


def bed_days(spells: Any, until: dt.date) -> Any:
    """Bed days of each spell counted up to ``until`` (an Ibis int64 column)."""
    d = lit(until)
    end = ibis.least(spells.discharge_date.fill_null(d), d)
    return end.delta(spells.admission_date, unit="day").cast("int64")


def length_of_stay(spells: Any) -> Any:
    """Discharge minus admission, in days (null while the spell is open)."""
    return spells.discharge_date.delta(spells.admission_date, unit="day").cast("int64")


def spell_pairs(spells: Any) -> Any:
    """Every spell with the same person's next spell: next_id, next_admission,
    next_method, gap_days (next admission - this discharge)."""
    s = spells
    w = ibis.window(group_by=s.nhs_number, order_by=[s.admission_date, s.id])
    s = s.mutate(
        next_id=s.id.lead().over(w),
        next_admission=s.admission_date.lead().over(w),
        next_method=s.admission_method.lead().over(w),
    )
    return s.mutate(gap_days=s.next_admission.delta(s.discharge_date, unit="day").cast("int64"))


def is_readmission(pairs: Any) -> Any:
    """The pair's next spell is an emergency readmission within READMISSION_DAYS."""
    return (
        (pairs.next_method == "emergency")
        & pairs.discharge_date.notnull()
        & (pairs.gap_days >= 0)
        & (pairs.gap_days <= READMISSION_DAYS)
    ).fill_null(False)


def readmissions_of(spells: Any) -> Any:
    """The readmission spells: nhs_number, admission_date (of the readmission)."""
    p = spell_pairs(spells)
    p = p.filter(is_readmission(p))
    return p.select("nhs_number", admission_date=p.next_admission)


def is_index_discharge(spells: Any) -> Any:
    """A discharge that counts in the readmission indicator's denominator."""
    s = spells
    diag = s.primary_diagnosis.fill_null("").upper().lstrip().substr(0, 3)
    return (
        s.discharge_date.notnull()
        & (s.discharge_destination.fill_null("") != "died")
        & (s.admission_method != "maternity")
        & ~diag.isin(CANCER_PREFIXES)
    )


def index_discharges(spells: Any) -> Any:
    """nhs_number, discharge_date, readmitted (0/1) for every index discharge."""
    p = spell_pairs(spells)
    p = p.filter(is_index_discharge(p))
    return p.select("nhs_number", "discharge_date", readmitted=is_readmission(p).cast("int64"))
