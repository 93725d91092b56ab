"""Staging: mapped records written in chunks while the input streams past.

A mapper adds one tuple per record to a staging table; every ``CHUNK`` rows the
table's buffer becomes an Arrow batch appended to ``<staging>/<name>.parquet``.
Memory therefore holds at most one chunk per staging table, whatever the size
of the input. Staging rows still carry *source* references (patient, encounter,
organisation ids as sent); :mod:`careweave.importers.finalise` resolves them
into canonical tables in one out-of-core DuckDB pass.

Every staging row ends with ``_file`` (index into the list of input files) and
``_entry`` (entry index in a Bundle, 1-based line in NDJSON/CSV), so a problem
found at finalise time can still be reported against its file and entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from careweave.importers.report import ImportReport

CHUNK = 20_000

_s, _d, _ts, _f, _b = pa.string(), pa.date32(), pa.timestamp("us"), pa.float64(), pa.bool_()

#: Staging table -> columns (name, Arrow type); ``_file``/``_entry`` are appended.
SCHEMAS: dict[str, tuple[tuple[str, pa.DataType], ...]] = {
    "s_people": (
        ("source_id", _s),
        ("nhs_number", _s),
        ("real_nhs", _b),
        ("date_of_birth", _d),
        ("sex", _s),
        ("ethnic_group", _s),
        ("practice_ref", _s),
        ("date_of_death", _d),
        ("title", _s),
        ("given_name", _s),
        ("family_name", _s),
        ("address_line_1", _s),
        ("address_line_2", _s),
        ("town", _s),
        ("postcode", _s),
        ("telephone", _s),
        ("preferred_language", _s),
        ("interpreter_required", _b),
        # JSON: the Careweave person-detail extension's values; else null.
        ("detail", _s),
    ),
    "s_orgs": (
        ("org_id", _s),
        ("ods", _s),
        ("org_type", _s),
        ("name", _s),
        ("parent_ref", _s),
    ),
    "s_practitioners": (
        ("practitioner_id", _s),
        ("org_ref", _s),
        ("role", _s),
        ("lead_role", _s),
    ),
    "s_encounters": (
        ("id", _s),
        ("patient_ref", _s),
        ("kind", _s),
        ("status", _s),
        ("start_ts", _ts),
        ("end_ts", _ts),
        ("start_date", _d),
        ("end_date", _d),
        ("specialty", _s),
        ("provider_ref", _s),
        ("practitioner_ref", _s),
        ("emergency_coded", _b),
        ("maternity_coded", _b),
        ("discharge", _s),
        ("cost", _f),
        # JSON: the Careweave encounter-detail values, ICD-10 reasonCodes (``diagnoses``)
        # and the discharge-ready date, where the Encounter carries them; else null.
        ("detail", _s),
    ),
    "s_costs": (("id", _s), ("rtype", _s), ("encounter_ref", _s), ("amount", _f)),
    "s_conditions": (
        ("id", _s),
        ("patient_ref", _s),
        ("encounter_ref", _s),
        ("org_ref", _s),
        ("event_date", _d),
        ("resolved_date", _d),
        ("code_system", _s),
        ("code", _s),
        ("term", _s),
        ("icd10", _s),
    ),
    "s_observations": (
        ("id", _s),
        ("patient_ref", _s),
        ("encounter_ref", _s),
        ("org_ref", _s),
        ("obs_date", _d),
        ("recorded_at", _ts),
        ("code_system", _s),
        ("code", _s),
        ("term", _s),
        ("measure", _s),
        ("value", _f),
        ("unit", _s),
        ("device", _b),
    ),
    "s_medications": (
        ("id", _s),
        ("rtype", _s),
        ("patient_ref", _s),
        ("encounter_ref", _s),
        ("org_ref", _s),
        ("issue_date", _d),
        ("code_system", _s),
        ("code", _s),
        ("term", _s),
        ("quantity", _f),
        # A Medication referenced (not contained): its code is resolved at finalise.
        ("medication_ref", _s),
    ),
    "s_medication_defs": (("id", _s), ("code_system", _s), ("code", _s), ("term", _s)),
    #: A resource's own ``id`` where its key is another (the urn:uuid of its fullUrl),
    #: so that ``Type/id`` references resolve too.
    "s_aliases": (("alias", _s), ("key", _s)),
    "s_procedures": (
        ("id", _s),
        ("patient_ref", _s),
        ("encounter_ref", _s),
        ("org_ref", _s),
        ("procedure_date", _d),
        ("code_system", _s),
        ("code", _s),
        ("term", _s),
        ("cost", _f),
    ),
    "s_immunisations": (
        ("id", _s),
        ("patient_ref", _s),
        ("encounter_ref", _s),
        ("org_ref", _s),
        ("immunisation_date", _d),
        ("code_system", _s),
        ("code", _s),
        ("term", _s),
    ),
    "s_care_plans": (
        ("id", _s),
        ("patient_ref", _s),
        ("start_date", _d),
        ("end_date", _d),
        ("code_system", _s),
        ("code", _s),
        ("term", _s),
        ("status", _s),
    ),
    "s_care_team": (
        ("id", _s),
        ("patient_ref", _s),
        ("role", _s),
        ("member_ref", _s),
        ("org_ref", _s),
        ("start_date", _d),
        ("end_date", _d),
    ),
    "s_allergies": (
        ("id", _s),
        ("patient_ref", _s),
        ("org_ref", _s),
        ("recorded_date", _d),
        ("code_system", _s),
        ("code", _s),
        ("term", _s),
        ("category", _s),
        ("criticality", _s),
        ("status", _s),
    ),
    "s_relationships": (
        ("id", _s),
        ("patient_ref", _s),
        ("related_nhs_number", _s),
        ("relationship", _s),
        ("start_date", _d),
        ("end_date", _d),
    ),
    "s_episodes": (
        ("id", _s),
        ("patient_ref", _s),
        ("org_ref", _s),
        ("start_date", _d),
        ("end_date", _d),
        ("manager_ref", _s),
        ("lead_role", _s),
    ),
    "s_social_assessments": (
        ("id", _s),
        ("patient_ref", _s),
        ("org_ref", _s),
        ("assessment_date", _d),
        ("assessment_type", _s),
        ("outcome", _s),
    ),
    # Careweave's social-care EpisodeOfCare: ``target`` the canonical table, ``kind`` the
    # placement type or telecare service, ``detail`` the episode-detail extension (JSON).
    "s_social_episodes": (
        ("id", _s),
        ("patient_ref", _s),
        ("target", _s),
        ("org_ref", _s),
        ("start_date", _d),
        ("end_date", _d),
        ("kind", _s),
        ("detail", _s),
    ),
    "s_raw": (
        ("id", _s),
        ("resource_type", _s),
        ("reason", _s),
        ("content", _s),
    ),
}

#: Staging table -> the source resource type it holds (for report bookkeeping).
RESOURCE_OF: dict[str, str] = {
    "s_encounters": "Encounter",
    "s_costs": "Claim",
    "s_conditions": "Condition",
    "s_observations": "Observation",
    "s_medications": "MedicationRequest",
    "s_procedures": "Procedure",
    "s_immunisations": "Immunization",
    "s_care_plans": "CarePlan",
    "s_care_team": "CareTeam",
    "s_allergies": "AllergyIntolerance",
    "s_relationships": "RelatedPerson",
    "s_episodes": "EpisodeOfCare",
    "s_social_assessments": "Observation",
    "s_social_episodes": "EpisodeOfCare",
}


def _schema(name: str) -> pa.Schema:
    cols = [*SCHEMAS[name], ("_file", pa.int32()), ("_entry", pa.int64())]
    return pa.schema([pa.field(n, t) for n, t in cols])


class Stager:
    """Chunked, append-only writers for the staging tables."""

    def __init__(self, directory: Path, chunk: int = CHUNK) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.chunk = chunk
        self.buffers: dict[str, list[tuple[Any, ...]]] = {n: [] for n in SCHEMAS}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.schemas = {n: _schema(n) for n in SCHEMAS}
        self.counts: dict[str, int] = dict.fromkeys(SCHEMAS, 0)

    def add(self, name: str, row: tuple[Any, ...]) -> None:
        buf = self.buffers[name]
        buf.append(row)
        if len(buf) >= self.chunk:
            self.flush(name)

    def flush(self, name: str) -> None:
        buf = self.buffers[name]
        if not buf:
            return
        schema = self.schemas[name]
        columns = list(zip(*buf, strict=True))
        arrays = [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)]
        batch = pa.Table.from_arrays(arrays, schema=schema)
        writer = self.writers.get(name)
        if writer is None:
            writer = pq.ParquetWriter(self.path(name), schema, compression="snappy")
            self.writers[name] = writer
        writer.write_table(batch)
        self.counts[name] += len(buf)
        buf.clear()

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.parquet"

    def close(self) -> None:
        """Flush everything; every staging table then exists (possibly empty)."""
        for name in SCHEMAS:
            self.flush(name)
            writer = self.writers.pop(name, None)
            if writer is not None:
                writer.close()
            else:
                pq.write_table(self.schemas[name].empty_table(), self.path(name))


class StagingMapper:
    """What every importer's mapper shares: where rows go, what is reported, where it is.

    ``file_name``/``fileno``/``entry`` say which input entry is being mapped, so that
    every staging row (``loc``) and every problem can be traced back to it.
    """

    def __init__(
        self, stager: Stager, report: ImportReport, rates: dict[str, float] | None = None
    ) -> None:
        self.stager = stager
        self.report = report
        self.rates = rates or {}
        self.file_name = ""
        self.fileno = 0
        self.entry = 0

    def loc(self) -> tuple[int, int]:
        """(file index, entry index) of the entry being mapped: the last two staging columns."""
        return self.fileno, self.entry
