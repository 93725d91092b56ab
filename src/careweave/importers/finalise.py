"""Turn staging tables into a canonical dataset directory, out of core.

One DuckDB connection (memory-capped, spilling to the staging folder) reads the
staged Parquet and, table by table:

- keeps the first occurrence of every id (by file, then entry) and reports the
  others as duplicates;
- resolves source references: patients to NHS numbers, organisation and
  practitioner ids to canonical ``org_id`` (ODS code where sent);
- moves rows whose person is unknown (dangling ``subject``) to
  ``raw_resources`` with the reason, reporting each with file and entry;
- decides each encounter's canonical table (A&E, hospital spell, outpatient,
  primary-care contact, community contact), the admission method and A&E
  disposal from neighbouring encounters, spell diagnoses from linked ICD-10
  conditions, and the cost from the Claims / ExplanationOfBenefits that
  reference it;
- streams the result in record batches through
  :func:`careweave.dataset.io.conform` into ``<table>.parquet``.

Everything is written into a temporary directory that replaces the output
directory in one rename, so a killed import leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from careweave import duck
from careweave.dataset import io as dsio
from careweave.dataset import tables as T
from careweave.dataset.nhs_number import surrogate_for
from careweave.dataset.schema import Table
from careweave.errors import InputError
from careweave.importers import outputs
from careweave.importers.report import ImportReport
from careweave.importers.staging import SCHEMAS

BATCH = 100_000

#: Staging table -> (key column, resource type label for the report).
KEYED: dict[str, tuple[str, str | None]] = {
    "s_encounters": ("id", "Encounter"),
    "s_costs": ("id", None),
    "s_conditions": ("id", "Condition"),
    "s_observations": ("id", "Observation"),
    "s_medications": ("id", None),
    "s_procedures": ("id", "Procedure"),
    "s_immunisations": ("id", "Immunization"),
    "s_care_plans": ("id", "CarePlan"),
    "s_care_team": ("id", "CareTeam"),
    "s_medication_defs": ("id", "Medication"),
    "s_allergies": ("id", "AllergyIntolerance"),
    "s_relationships": ("id", "RelatedPerson"),
    "s_episodes": ("id", "EpisodeOfCare"),
    "s_social_assessments": ("id", "Observation"),
    "s_social_episodes": ("id", "EpisodeOfCare"),
    "s_raw": ("id", None),
}


#: Staging tables with a person and the date that must not follow their death.
DATED: dict[str, str] = {
    "s_encounters": "start_date",
    "s_conditions": "event_date",
    "s_observations": "obs_date",
    "s_medications": "issue_date",
    "s_procedures": "procedure_date",
    "s_immunisations": "immunisation_date",
    "s_care_plans": "start_date",
    "s_care_team": "start_date",
    "s_allergies": "recorded_date",
    "s_episodes": "start_date",
    "s_social_assessments": "assessment_date",
    "s_social_episodes": "start_date",
}

#: Staging table -> report label of the resource it holds (FHIR resource types).
FHIR_LABELS: dict[str, str] = {
    "s_people": "Patient",
    "s_orgs": "Organization",
    "s_encounters": "Encounter",
    "s_conditions": "Condition",
    "s_observations": "Observation",
    "s_procedures": "Procedure",
    "s_immunisations": "Immunization",
    "s_care_plans": "CarePlan",
    "s_care_team": "CareTeam",
    "s_medication_defs": "Medication",
    "s_allergies": "AllergyIntolerance",
    "s_relationships": "RelatedPerson",
    "s_episodes": "EpisodeOfCare",
    "s_social_assessments": "Observation",
    "s_social_episodes": "EpisodeOfCare",
}


def allocate_surrogates(source_ids: list[str], taken: set[str]) -> list[str]:
    """A surrogate NHS number for each source id, in order: valid, in the surrogate ranges, never repeated.

    ``taken`` (the real NHS numbers of the input) is not modified.
    """
    used = set(taken)
    out: list[str] = []
    for sid in source_ids:
        try:
            number = surrogate_for(sid, used)
        except ValueError:
            raise InputError(
                f"more than {len(out):,} people without an NHS number: the surrogate "
                "NHS-number ranges are exhausted"
            ) from None
        used.add(number)
        out.append(number)
    return out


class Finaliser:
    def __init__(
        self,
        staging: Path,
        files: list[str],
        report: ImportReport,
        memory_limit: str = "1GB",
        labels: dict[str, str] | None = None,
    ) -> None:
        self.staging = staging
        self.files = files
        self.report = report
        self.labels = {**FHIR_LABELS, **(labels or {})}
        self.con = duck.connect()
        tmp = staging / "duckdb-tmp"
        tmp.mkdir(exist_ok=True)
        self.con.execute(f"SET memory_limit='{memory_limit}'")
        self.con.execute(f"SET temp_directory='{tmp.as_posix()}'")
        self.con.execute("SET preserve_insertion_order=false")
        self.con.execute("SET threads=2")
        self.staged_views()
        self.con.execute("CREATE TEMP TABLE files (idx INTEGER, name VARCHAR)")
        if files:
            self.con.executemany("INSERT INTO files VALUES (?, ?)", list(enumerate(files)))
        self.span_lo: dt.date | None = None
        self.span_hi: dt.date | None = None

    def staged_views(self) -> None:
        """Views ``<name>_all`` over the staged Parquet of every worker, references resolved.

        A resource keyed by the urn:uuid of its fullUrl is also known by its own id
        (``s_aliases``): every ``*_ref`` column is rewritten to the key, so ``Type/id``
        references resolve like ``urn:uuid:`` ones (an id that names two keys is left
        as it is). A MedicationRequest referencing a Medication takes its code here.
        """
        path = (self.staging / "*" / "{}.parquet").as_posix()
        #: Staging tables no worker wrote a row to: their checks are skipped (nothing to find).
        self.empty = {
            name
            for name in SCHEMAS
            if not any(
                pq.ParquetFile(f).metadata.num_rows for f in self.staging.glob(f"*/{name}.parquet")
            )
        }
        self.con.execute(
            "CREATE TEMP TABLE aliases AS SELECT alias, any_value(key) AS key "
            f"FROM read_parquet('{path.format('s_aliases')}') "
            "GROUP BY alias HAVING count(DISTINCT key) = 1"
        )
        aliased = bool(self.rows("SELECT count(*) FROM aliases")[0][0])
        for name in SCHEMAS:
            source = f"read_parquet('{path.format(name)}')"
            refs = [c for c, _ in SCHEMAS[name] if c.endswith("_ref")] if aliased else []
            if refs:
                joins = " ".join(
                    f"LEFT JOIN aliases a{i} ON a{i}.alias = t.{c}" for i, c in enumerate(refs)
                )
                replace = ", ".join(f"coalesce(a{i}.key, t.{c}) AS {c}" for i, c in enumerate(refs))
                source = f"(SELECT t.* REPLACE ({replace}) FROM {source} t {joins})"
            if name == "s_medications":
                source = (
                    "(SELECT t.* REPLACE (coalesce(t.code_system, d.code_system) AS code_system, "
                    "coalesce(t.code, d.code) AS code, coalesce(t.term, d.term) AS term) "
                    f"FROM {source} t LEFT JOIN (SELECT id, any_value(code_system) AS code_system, "
                    "any_value(code) AS code, any_value(term) AS term FROM "
                    f"read_parquet('{path.format('s_medication_defs')}') GROUP BY id) d "
                    "ON t.code IS NULL AND d.id = t.medication_ref)"
                )
            self.con.execute(f"CREATE VIEW {name}_all AS SELECT * FROM {source}")

    # ------------------------------------------------------------------ helpers

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def problems(self, sql: str, kind: str, label: str | None, move: str | None) -> None:
        """Report each (file, entry, message[, rtype]) row; move its count mapped -> ``move``."""
        seen: set[tuple[object, ...]] = set()
        for row in self.rows(sql):
            fileno, entry, message = row[0], row[1], row[2]
            rtype = str(row[3]) if len(row) > 3 and row[3] else label
            name = self.files[int(fileno)] if fileno is not None else "?"
            self.report.problem(name, int(entry) if entry is not None else None, kind, str(message))
            if move and rtype and (fileno, entry, rtype) not in seen:
                seen.add((fileno, entry, rtype))
                self.report.mapped[rtype] -= 1
                if move == "raw":
                    self.report.raw[rtype] += 1
                else:
                    self.report.rejected[rtype] += 1

    def dedupe(self) -> None:
        """Views ``<name>`` holding the first occurrence of each key; duplicates reported."""
        for name in SCHEMAS:
            key = KEYED.get(name, (None, None))[0]
            if name == "s_people":
                key = "source_id"
            elif name == "s_orgs":
                key = "org_id"
            elif name == "s_aliases":
                continue
            elif name == "s_practitioners":
                self.con.execute(
                    "CREATE VIEW s_practitioners AS SELECT practitioner_id, "
                    "any_value(org_ref) FILTER (WHERE org_ref IS NOT NULL) AS org_ref, "
                    "any_value(role) FILTER (WHERE role IS NOT NULL) AS role, "
                    "any_value(lead_role) FILTER (WHERE lead_role IS NOT NULL) AS lead_role "
                    "FROM s_practitioners_all GROUP BY practitioner_id"
                )
                continue
            assert key is not None
            view = f"{name}_dedup" if name in DATED else name
            if name in self.empty:
                self.con.execute(f"CREATE TEMP TABLE {view} AS SELECT * FROM {name}_all")
                continue
            self.con.execute(
                f"CREATE TEMP TABLE {name}_rank AS SELECT {key} AS k, _file, _entry, "
                f"row_number() OVER (PARTITION BY {key} ORDER BY _file, _entry) AS rn "
                f"FROM {name}_all"
            )
            # Materialised once (later queries read it several times), except the raw
            # resources, whose content is read once, when raw_resources is written.
            kind = "VIEW" if name == "s_raw" else "TEMP TABLE"
            self.con.execute(
                f"CREATE {kind} {view} AS SELECT a.* FROM {name}_all a SEMI JOIN {name}_rank r "
                f"ON a.{key} = r.k AND a._file = r._file AND a._entry = r._entry AND r.rn = 1"
            )
            label = self.labels.get(name)
            rtype_col = "NULL"
            if name in ("s_medications", "s_costs"):
                rtype_col = "(SELECT any_value(rtype) FROM " + name + "_all x WHERE x.id = d.k)"
            elif name == "s_raw":
                rtype_col = "(SELECT any_value(resource_type) FROM s_raw_all x WHERE x.id = d.k)"
            sql = (
                f"SELECT DISTINCT d._file, d._entry, 'duplicate of ' || d.k || ' first seen in ' "
                f"|| f.name || ' entry ' || CAST(r._entry AS VARCHAR), {rtype_col} "
                f"FROM {name}_rank d JOIN {name}_rank r ON r.k = d.k AND r.rn = 1 "
                f"JOIN files f ON f.idx = r._file WHERE d.rn > 1 ORDER BY 1, 2"
            )
            if name == "s_raw":
                for row in self.rows(sql):
                    self.report.problem(
                        self.files[int(row[0])], int(row[1]), "duplicate", str(row[2])
                    )
                    rt = str(row[3])
                    self.report.raw[rt] -= 1
                    self.report.rejected[rt] += 1
            else:
                self.problems(sql, "duplicate", label, "rejected")

    # ------------------------------------------------------------------ run

    def run(self, out: Path) -> dict[str, int]:
        c = self.con
        self.dedupe()
        self.unresolved_medications()
        self.surrogates()
        # People: one per source id; a second source id with the same NHS number links to it.
        c.execute(
            "CREATE TEMP TABLE people_first AS SELECT * FROM s_people_n "
            "QUALIFY row_number() OVER (PARTITION BY nhs_number ORDER BY _file, _entry) = 1"
        )
        self.problems(
            "SELECT p._file, p._entry, 'Patient ' || p.source_id || ' has the same NHS number as "
            "Patient ' || f.source_id || ': linked as one person' FROM s_people_n p "
            "JOIN people_first f ON f.nhs_number = p.nhs_number AND f.source_id <> p.source_id",
            "linked_duplicate",
            None,
            None,
        )
        c.execute(
            "CREATE TEMP TABLE pm AS SELECT s.source_id AS ref, s.nhs_number, "
            "f.date_of_death AS dod FROM s_people_n s JOIN people_first f USING (nhs_number) "
            "UNION ALL SELECT 'nhs:' || nhs_number, nhs_number, date_of_death "
            "FROM people_first WHERE real_nhs"
        )
        self.after_death()
        # Organisations: canonical id is the ODS code where sent.
        c.execute(
            "CREATE TEMP TABLE om AS SELECT org_id AS ref, coalesce(ods, org_id) AS org_id, "
            "org_type, name, parent_ref, _file, _entry FROM s_orgs"
        )
        c.execute(
            "CREATE TEMP TABLE prac AS SELECT p.practitioner_id, o.org_id, p.role, p.lead_role "
            "FROM s_practitioners p LEFT JOIN om o ON o.ref = p.org_ref"
        )
        self.encounters()
        written: dict[str, int] = {}
        for table, sql in self.queries().items():
            written[table.name] = self.write(out, table, sql)
        written["raw_resources"] = self.write(out, T.RAW_RESOURCES, self.raw_sql())
        for table in T.TABLES:
            if table.required and table.name not in written:
                written[table.name] = self.write(out, table, None)
        return written

    def unresolved_medications(self) -> None:
        """Medication issues whose referenced Medication is not in the input: kept raw."""
        if "s_medications" in self.empty:
            self.con.execute("CREATE VIEW s_medications_unresolved AS FROM s_medications_dedup")
            return
        self.con.execute(
            "CREATE TEMP TABLE s_medications_unresolved AS "
            "SELECT * FROM s_medications_dedup WHERE code IS NULL"
        )
        self.con.execute("DELETE FROM s_medications_dedup WHERE code IS NULL")
        self.problems(
            "SELECT _file, _entry, rtype || ' ' || id || ': medicationReference ' || "
            "coalesce(medication_ref, '?') || ' is not a Medication in the input', rtype "
            "FROM s_medications_unresolved",
            "unresolved_medication",
            None,
            "raw",
        )

    def surrogates(self) -> None:
        """``s_people_n``: people with a surrogate NHS number where the source had none.

        Allocated here, once, in input order (file, entry), so the numbers do not
        depend on how many workers staged the input.
        """
        ids = [
            r[0]
            for r in self.rows(
                "SELECT source_id FROM s_people WHERE NOT real_nhs ORDER BY _file, _entry"
            )
        ]
        taken = {r[0] for r in self.rows("SELECT nhs_number FROM s_people WHERE real_nhs")}
        table = pa.table(
            {
                "source_id": pa.array(ids, pa.string()),
                "nhs_number": pa.array(allocate_surrogates(ids, taken), pa.string()),
            }
        )
        self.con.register("sur_arrow", table)
        self.con.execute("CREATE TEMP TABLE sur AS SELECT * FROM sur_arrow")
        self.con.unregister("sur_arrow")
        self.con.execute(
            "CREATE VIEW s_people_n AS SELECT p.* REPLACE "
            "(coalesce(p.nhs_number, s.nhs_number) AS nhs_number) "
            "FROM s_people p LEFT JOIN sur s ON s.source_id = p.source_id"
        )

    def after_death(self) -> None:
        """Views without the rows dated after the person's death (kept raw instead)."""
        for name, col in DATED.items():
            if name in self.empty:
                self.con.execute(f"CREATE VIEW {name}_late AS SELECT * FROM {name}_dedup")
                self.con.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_dedup")
                continue
            self.con.execute(
                f"CREATE TEMP TABLE {name}_late AS SELECT t.* FROM {name}_dedup t "
                f"JOIN pm ON pm.ref = t.patient_ref "
                f"WHERE pm.dod IS NOT NULL AND t.{col} > pm.dod"
            )
            self.con.execute(
                f"CREATE TEMP TABLE {name} AS SELECT t.* FROM {name}_dedup t "
                f"ANTI JOIN {name}_late l ON l.id = t.id"
            )
            label = "rtype" if name == "s_medications" else f"'{self.labels[name]}'"
            self.problems(
                f"SELECT _file, _entry, {label} || ' ' || id || ': dated {col} ' || "
                f"CAST({col} AS VARCHAR) || ', after the person''s death', {label} "
                f"FROM {name}_late",
                "after_death",
                None,
                "raw",
            )

    def encounters(self) -> None:
        c = self.con
        self.problems(
            "SELECT _file, _entry, 'Encounter ' || id || ': subject ' || patient_ref || "
            "' is not a Patient in the input' FROM s_encounters e ANTI JOIN pm ON pm.ref = e.patient_ref",
            "dangling_reference",
            self.labels["s_encounters"],
            "raw",
        )
        self.dangling_org(
            "s_encounters", "provider_ref", self.labels["s_encounters"], "serviceProvider"
        )
        c.execute(
            """
            CREATE TEMP TABLE enc AS
            WITH costs AS (
                SELECT encounter_ref,
                       coalesce(sum(amount) FILTER (WHERE rtype = 'Claim'),
                                sum(amount) FILTER (WHERE rtype <> 'Claim')) AS amount
                FROM s_costs GROUP BY encounter_ref
            )
            SELECT e.*, pm.nhs_number,
                   coalesce(o.org_id, pr.org_id) AS provider_id,
                   o.org_type AS provider_type,
                   pr.role AS practitioner_role,
                   coalesce(e.cost, costs.amount) AS total_cost,
                   CASE json_extract_string(e.detail, '$.table')
                     WHEN 'hospital_spells' THEN 'spell'
                     WHEN 'ae_attendances' THEN 'ae'
                     WHEN 'outpatient_appointments' THEN 'outpatient'
                     WHEN 'community_contacts' THEN 'community'
                     WHEN 'mental_health_contacts' THEN 'mental_health'
                     WHEN 'primary_care_contacts' THEN 'primary'
                     WHEN 'social_care_services' THEN 'social_care'
                     ELSE CASE
                     WHEN e.kind IN ('emergency', 'urgent') THEN 'ae'
                     WHEN e.kind IN ('inpatient', 'snf') THEN 'spell'
                     WHEN e.kind = 'outpatient' THEN 'outpatient'
                     WHEN e.kind = 'ambulatory'
                          AND (e.specialty IS NOT NULL OR o.org_type = 'hospital') THEN 'outpatient'
                     WHEN e.kind IN ('ambulatory', 'virtual') THEN 'primary'
                     WHEN e.kind IN ('home', 'hospice') THEN 'community'
                     ELSE 'other'
                   END END AS target
            FROM s_encounters e
            JOIN pm ON pm.ref = e.patient_ref
            LEFT JOIN om o ON o.ref = e.provider_ref
            LEFT JOIN prac pr ON pr.practitioner_id = e.practitioner_ref
            LEFT JOIN costs ON costs.encounter_ref = e.id
            """
        )
        self.problems(
            "SELECT _file, _entry, rtype || ' ' || id || ': references encounter ' || encounter_ref "
            "|| ' which is not in the input or not an activity row', rtype FROM s_costs s ANTI JOIN enc ON enc.id = s.encounter_ref",
            "dangling_reference",
            None,
            "raw",
        )

    def dangling_org(self, name: str, column: str, label: str, field: str) -> None:
        key = {"s_people": "source_id", "s_orgs": "org_id"}.get(name, "id")
        self.problems(
            f"SELECT _file, _entry, '{label} ' || {key} "
            f"|| ': {field} ' || {column} || ' is not an Organization in the input' "
            f"FROM {name} t WHERE {column} IS NOT NULL AND {column} NOT IN (SELECT ref FROM om) "
            f"AND {column} NOT IN (SELECT practitioner_id FROM prac)",
            "dangling_reference",
            label,
            None,
        )

    def event_problems(self, name: str, label: str) -> None:
        if name in self.empty:
            return
        self.problems(
            f"SELECT _file, _entry, '{label} ' || id || ': subject ' || patient_ref || "
            f"' is not a Patient in the input' FROM {name} t ANTI JOIN pm ON pm.ref = t.patient_ref",
            "dangling_reference",
            label,
            "raw",
        )
        if "encounter_ref" in dict(SCHEMAS[name]):
            self.problems(
                f"SELECT _file, _entry, '{label} ' || id || ': encounter ' || encounter_ref || "
                f"' is not in the input' FROM {name} t WHERE encounter_ref IS NOT NULL "
                f"AND encounter_ref NOT IN (SELECT id FROM s_encounters)",
                "dangling_reference",
                label,
                None,
            )
        if "org_ref" in dict(SCHEMAS[name]) and name != "s_care_team":
            self.dangling_org(name, "org_ref", label, "organisation")

    def reference_problems(self) -> None:
        """Report rows whose person, encounter or organisation is not in the input."""
        for name in outputs.PERSON_EVENTS:
            self.event_problems(name, self.labels[name])
        self.problems(
            "SELECT _file, _entry, rtype || ' ' || id || ': subject ' || patient_ref || "
            "' is not a Patient in the input', rtype FROM s_medications t ANTI JOIN pm ON pm.ref = t.patient_ref",
            "dangling_reference",
            None,
            "raw",
        )
        self.dangling_org("s_people", "practice_ref", self.labels["s_people"], "practice")
        self.dangling_org("s_orgs", "parent_ref", self.labels["s_orgs"], "partOf")
        self.outside_population()

    def outside_population(self) -> None:
        """Relationships whose related person is not in the population: kept raw, counted.

        Not a problem: a daughter 150 miles away is a contact (operational data), not a
        person of the canonical dataset. The raw rows say why (see ``outputs.raw_sql``).
        """
        if "s_relationships" in self.empty:
            return
        label = self.labels["s_relationships"]
        (n,) = self.rows(
            "SELECT count(*) FROM s_relationships t SEMI JOIN pm ON pm.ref = t.patient_ref "
            "WHERE t.related_nhs_number NOT IN (SELECT nhs_number FROM people_first)"
        )[0]
        if n:
            self.report.mapped[label] -= n
            self.report.raw[label] += n

    def queries(self) -> dict[Table, str]:
        self.reference_problems()
        return outputs.queries()

    def raw_sql(self) -> str:
        return outputs.raw_sql(self.labels, DATED)

    # ------------------------------------------------------------------ writing

    def write(self, out: Path, table: Table, sql: str | None) -> int:
        path = out / f"{table.name}.parquet"
        tmp = path.with_name(path.name + ".tmp")
        if sql is None:
            dsio.write_table(out, table, table.arrow_schema.empty_table())
            return 0
        reader = self.con.execute(sql).to_arrow_reader(BATCH)
        schema = table.arrow_schema.remove_metadata()
        n = 0
        date_col = table.date_columns[0] if table.date_columns else None
        track = date_col is not None and table.name not in ("people",)
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                data = dsio.conform(table, pa.Table.from_batches([batch]))
                writer.write_table(data)
                n += data.num_rows
                if track and date_col is not None:
                    self._span(data.column(date_col))
        os.replace(tmp, path)
        return n

    def _span(self, col: pa.ChunkedArray) -> None:
        mm = pc.min_max(col)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        if lo is None or hi is None:
            return
        if isinstance(lo, dt.datetime):
            lo, hi = lo.date(), hi.date()
        self.span_lo = lo if self.span_lo is None or lo < self.span_lo else self.span_lo
        self.span_hi = hi if self.span_hi is None or hi > self.span_hi else self.span_hi

    def close(self) -> None:
        self.con.close()
