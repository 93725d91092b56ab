"""A small builder of valid canonical datasets for the loader's tests.

``valid_dataset(people, seed)`` returns every table as a list of row dicts
(easy to corrupt in a test); ``write_dataset`` writes them as a dataset
directory (Parquet or CSV, with a manifest). Every row it makes passes every
rule of careweave load: valid NHS numbers, codes and references, dates within
each person's life and before today.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from careweave.dataset import tables as T
from careweave.dataset.io import Manifest, write_manifest
from careweave.dataset.nhs_number import synthetic_numbers

Row = dict[str, Any]
Dataset = dict[str, list[Row]]

SPAN = (dt.date(2020, 1, 1), dt.date(2024, 12, 31))
SNOMED = ("44054006", "73211009", "38341003", "195967001", "13645005")
LOINC = ("4548-4", "2339-0", "8302-2")
ICD10 = ("J44.1", "I10", "E11.9", "I50.0", "N18.3")
PRACTICES = ("P1", "P2")
LA = "LA1"

ORGANISATIONS: list[Row] = [
    {"org_id": "HB1", "org_type": "health_board", "name": "Health board", "parent_id": None},
    {"org_id": "LOC1", "org_type": "locality", "name": "Locality", "parent_id": "HB1"},
    {"org_id": "CL1", "org_type": "cluster", "name": "Cluster", "parent_id": "LOC1"},
    {"org_id": "P1", "org_type": "gp_practice", "name": "Practice 1", "parent_id": "CL1"},
    {"org_id": "P2", "org_type": "gp_practice", "name": "Practice 2", "parent_id": "CL1"},
    {"org_id": LA, "org_type": "local_authority", "name": "Council", "parent_id": None},
    {"org_id": "H1", "org_type": "hospital", "name": "Hospital", "parent_id": None},
    {"org_id": "C1", "org_type": "community_provider", "name": "Community", "parent_id": None},
    {"org_id": "MH1", "org_type": "mental_health_provider", "name": "MH", "parent_id": None},
    {"org_id": "CH1", "org_type": "care_home", "name": "Care home", "parent_id": None},
]


def valid_dataset(people: int = 12, seed: int = 0, *, optional: bool = True) -> Dataset:
    """A valid dataset of ``people`` people, a few rows of every table per person."""
    rng = random.Random(seed)
    data: Dataset = {t.name: [] for t in T.TABLES if t.required or optional}
    data["organisations"] = [dict(o) for o in ORGANISATIONS]
    start, end = SPAN
    for i, nhs in enumerate(synthetic_numbers(people)):
        dob = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 85))
        dead = rng.random() < 0.2
        first = max(dob, start)
        dod = _between(rng, first, end) if dead else None
        last = dod or end
        data["people"].append(
            {
                "nhs_number": nhs,
                "date_of_birth": dob,
                "sex": rng.choice(("female", "male")),
                "ethnic_group": rng.choice(T.ETHNIC_GROUP),
                "small_area": f"W0100{i:04d}",
                "deprivation_decile": rng.randint(1, 10),
                "practice_id": rng.choice(PRACTICES),
                "local_authority_id": LA,
                "registered_from": dob,
                "registered_to": dod,
                "care_home_resident": rng.random() < 0.05,
                "date_of_death": dod,
                "source_id": None,
            }
        )
        for k in range(rng.randint(1, 3)):
            _activity(data, rng, f"{i}-{k}", nhs, first, last, optional)
    return data


def _activity(
    data: Dataset, rng: random.Random, n: str, nhs: str, first: dt.date, last: dt.date, opt: bool
) -> None:
    def day() -> dt.date:
        return _between(rng, first, last)

    def coded(system: str, choices: tuple[str, ...]) -> Row:
        return {"code_system": system, "code": rng.choice(choices), "term": None}

    d = day()
    data["primary_care_events"].append(
        {"id": f"pce-{n}", "nhs_number": nhs, "event_date": d, **coded("snomed", SNOMED)}
        | {"resolved_date": _between(rng, d, last) if rng.random() < 0.3 else None}
        | {"org_id": "P1"}
    )
    data["observations"].append(
        {"id": f"obs-{n}", "nhs_number": nhs, "obs_date": day(), **coded("loinc", LOINC)}
        | {"measure": "hba1c", "value": rng.uniform(30, 90), "unit": "mmol/mol", "org_id": "P2"}
    )
    data["medications"].append(
        {"id": f"med-{n}", "nhs_number": nhs, "issue_date": day(), **coded("dmd", SNOMED)}
        | {"quantity": 28.0, "org_id": "P1"}
    )
    data["primary_care_contacts"].append(
        {
            "id": f"pcc-{n}",
            "nhs_number": nhs,
            "contact_date": day(),
            "staff_role": rng.choice(T.PRIMARY_CARE_ROLE),
            "mode": rng.choice(T.CONTACT_MODE),
            "org_id": "P2",
            "cost": None,
        }
    )
    adm = day()
    dis = _between(rng, adm, last)
    data["hospital_spells"].append(
        {
            "id": f"spell-{n}",
            "nhs_number": nhs,
            "provider_id": "H1",
            "admission_date": adm,
            "discharge_date": dis,
            "admission_method": rng.choice(T.ADMISSION_METHOD),
            "primary_diagnosis": rng.choice(ICD10),
            "secondary_diagnoses": rng.sample(ICD10, rng.randint(0, 3)),
            "specialty": "300",
            "discharge_destination": "home",
            "cost": 2500.0,
        }
    )
    data["ae_attendances"].append(
        {
            "id": f"ae-{n}",
            "nhs_number": nhs,
            "provider_id": "H1",
            "attendance_date": day(),
            "disposal": rng.choice(T.AE_DISPOSAL),
            "cost": None,
        }
    )
    data["outpatient_appointments"].append(
        {
            "id": f"op-{n}",
            "nhs_number": nhs,
            "provider_id": "H1",
            "appointment_date": day(),
            "specialty": "320",
            "outcome": rng.choice(T.OUTPATIENT_OUTCOME),
            "cost": 150.0,
        }
    )
    for table, provider, services in (
        ("community_contacts", "C1", T.COMMUNITY_SERVICE),
        ("mental_health_contacts", "MH1", T.MENTAL_HEALTH_SERVICE),
    ):
        data[table].append(
            {
                "id": f"{table}-{n}",
                "nhs_number": nhs,
                "provider_id": provider,
                "contact_date": day(),
                "service": rng.choice(services),
                "mode": rng.choice(T.CONTACT_MODE),
                "cost": None,
            }
        )
    data["social_care_assessments"].append(
        {
            "id": f"sca-{n}",
            "nhs_number": nhs,
            "local_authority_id": LA,
            "assessment_date": day(),
            "assessment_type": rng.choice(T.SOCIAL_CARE_ASSESSMENT),
            "outcome": rng.choice(T.SOCIAL_CARE_OUTCOME),
        }
    )
    s = day()
    data["social_care_services"].append(
        {
            "id": f"scs-{n}",
            "nhs_number": nhs,
            "local_authority_id": LA,
            "service_type": rng.choice(T.SOCIAL_CARE_SERVICE),
            "start_date": s,
            "end_date": _between(rng, s, last) if rng.random() < 0.5 else None,
            "weekly_hours": rng.uniform(0, 40),
            "weekly_cost": None,
        }
    )
    s = day()
    data["care_placements"].append(
        {
            "id": f"cp-{n}",
            "nhs_number": nhs,
            "local_authority_id": LA,
            "care_home_id": "CH1",
            "placement_type": rng.choice(T.PLACEMENT_TYPE),
            "permanent": rng.random() < 0.5,
            "start_date": s,
            "end_date": None,
            "weekly_cost": 900.0,
        }
    )
    data["reablement_episodes"].append(
        {
            "id": f"re-{n}",
            "nhs_number": nhs,
            "local_authority_id": LA,
            "spell_id": f"spell-{n}",
            "start_date": dis,
            "end_date": _between(rng, dis, last),
            "at_home_91d": rng.random() < 0.8,
        }
    )
    ts = dt.datetime.combine(day(), dt.time(8, rng.randrange(60)))
    data["telehealth_readings"].append(
        {
            "id": f"th-{n}",
            "nhs_number": nhs,
            "device": "glucometer",
            "measure": "blood_glucose",
            "value": rng.uniform(4, 12),
            "unit": "mmol/L",
            "recorded_at": ts,
        }
    )
    if not opt:
        return
    data["procedures"].append(
        {"id": f"proc-{n}", "nhs_number": nhs, "procedure_date": day(), **coded("snomed", SNOMED)}
        | {"org_id": "H1", "cost": None}
    )
    data["immunisations"].append(
        {"id": f"imm-{n}", "nhs_number": nhs, "immunisation_date": day()}
        | coded("snomed", SNOMED)
        | {"org_id": "P1"}
    )
    data["care_plans"].append(
        {"id": f"plan-{n}", "nhs_number": nhs, "start_date": day(), "end_date": None}
        | coded("snomed", SNOMED)
        | {"status": "active"}
    )
    data["care_team_members"].append(
        {
            "id": f"ctm-{n}",
            "nhs_number": nhs,
            "role": "gp",
            "practitioner_id": None,
            "org_id": "P1",
            "start_date": None,
            "end_date": None,
        }
    )
    data["raw_resources"].append(
        {
            "id": f"raw-{n}",
            "source_file": "bundle.json",
            "resource_type": "Claim",
            "reason": "not mapped",
            "content": '{"resourceType": "Claim"}',
        }
    )


def _between(rng: random.Random, a: dt.date, b: dt.date) -> dt.date:
    return a + dt.timedelta(days=rng.randint(0, max((b - a).days, 0)))


def write_dataset(
    out: Path, data: Dataset, *, fmt: str = "parquet", span: tuple[dt.date, dt.date] = SPAN
) -> Path:
    """Write ``data`` as a dataset directory (``fmt`` "parquet" or "csv") with a manifest."""
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in data.items():
        table = T.table(name)
        if fmt == "parquet":
            pq.write_table(
                pa.Table.from_pylist(rows, schema=nullable_schema(table.arrow_schema)),
                out / f"{name}.parquet",
            )
        else:
            # Columns added since the first release are left out unless a row has
            # them, as an older extract would (the loader reads them as nulls).
            columns = tuple(
                c
                for c in table.column_names
                if c not in table.may_be_absent or any(c in r for r in rows)
            )
            write_csv(out / f"{name}.csv", columns, rows)
    write_manifest(out, Manifest(source="test", span_start=span[0], span_end=span[1]))
    return out


def nullable_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every field nullable, so tests can write rows with missing values."""
    return pa.schema([f.with_nullable(True) for f in schema])


def write_csv(path: Path, columns: tuple[str, ...], rows: list[Row]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for r in rows:
            w.writerow([_csv_value(r[c]) for c in columns])


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ";".join(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def row_count(data: Dataset) -> int:
    return sum(len(rows) for rows in data.values())
