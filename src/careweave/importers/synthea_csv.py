"""Synthea CSV export -> canonical dataset (through the same staging and finalise as FHIR).

Each CSV is read row by row (``csv`` module, constant memory). Tables the
canonical dataset has a place for are mapped; every other table (devices, imaging_studies, supplies, payers, payer_transitions, claims,
claims_transactions, and any file Careweave does not know) is kept whole,
row by row, in ``raw_resources``. Rows without a Synthea ``Id`` get a
deterministic id (a hash of the fields that identify the event), so a
re-extract yields the same ids. See docs/import-mapping.md.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from careweave.errors import InputError
from careweave.importers import vocab
from careweave.importers.report import ImportReport
from careweave.importers.staging import Stager, StagingMapper
from careweave.importers.values import CURRENCY_SYSTEM, classify, parse_date, parse_ts, to_gbp
from careweave.importers.writer import run_import

#: Synthea's CSV amounts are US dollars (the Synthea cost model).
SYNTHEA_CURRENCY = "USD"

#: table -> (required columns, default code system of CODE).
MAPPED: dict[str, tuple[tuple[str, ...], str | None]] = {
    "organizations": (("Id", "NAME"), None),
    "providers": (("Id", "ORGANIZATION"), None),
    "patients": (("Id", "BIRTHDATE", "GENDER"), None),
    "encounters": (("Id", "START", "PATIENT", "ENCOUNTERCLASS"), "snomed"),
    "conditions": (("START", "PATIENT", "CODE"), "snomed"),
    "observations": (("DATE", "PATIENT", "CODE"), "loinc"),
    "medications": (("START", "PATIENT", "CODE"), "rxnorm"),
    "procedures": (("START", "PATIENT", "CODE"), "snomed"),
    "immunizations": (("DATE", "PATIENT", "CODE"), "cvx"),
    "careplans": (("Id", "START", "PATIENT", "CODE"), "snomed"),
    "allergies": (("START", "PATIENT", "CODE"), "snomed"),
}
ORDER = tuple(MAPPED)

#: Staging table -> the report label of what it holds (the Synthea table name).
CSV_LABELS = {
    "s_people": "patients",
    "s_orgs": "organizations",
    "s_encounters": "encounters",
    "s_conditions": "conditions",
    "s_observations": "observations",
    "s_procedures": "procedures",
    "s_immunisations": "immunizations",
    "s_care_plans": "careplans",
    "s_care_team": "careteams",
    "s_allergies": "allergies",
}

#: Synthea SYSTEM column words -> FHIR URIs (newer exports name the system per row).
SYSTEM_WORDS: dict[str, str] = {
    "snomed-ct": "http://snomed.info/sct",
    "snomed": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "icd-10": "http://hl7.org/fhir/sid/icd-10",
    "icd10": "http://hl7.org/fhir/sid/icd-10",
    "cvx": "http://hl7.org/fhir/sid/cvx",
}
DEFAULT_URI = {
    "snomed": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "cvx": "http://hl7.org/fhir/sid/cvx",
}


def _name(value: str | None) -> str | None:
    """A Synthea name without the digits Synthea appends to make it unique (Mosciski958)."""
    text = (value or "").strip().rstrip("0123456789").strip()
    return text or None


def _identity(row: dict[str, str]) -> tuple[str | None, ...]:
    """patients.csv -> the ten identity columns of s_people (Synthea has no telephone,
    language or interpreter; its address is one line)."""
    return (
        _name(row.get("PREFIX")),
        _name(row.get("FIRST")),
        _name(row.get("LAST")),
        (row.get("ADDRESS") or "").strip() or None,
        None,
        (row.get("CITY") or "").strip() or None,
        (row.get("ZIP") or "").strip() or None,
        None,
        None,
        None,
    )


class RowSkip(Exception):
    def __init__(self, reason: str, problem: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problem = problem


def _hid(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:24]


def _f(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None


class SyntheaMapper(StagingMapper):
    """Maps Synthea CSV rows to staging rows, one handler per table."""

    def __init__(
        self, stager: Stager, report: ImportReport, rates: dict[str, float] | None = None
    ) -> None:
        super().__init__(stager, report, rates)
        self.handlers: dict[str, Callable[[dict[str, str], str | None], None]] = {
            "organizations": self.organization,
            "providers": self.provider,
            "patients": self.patient,
            "encounters": self.encounter,
            "conditions": self.condition,
            "observations": self.observation,
            "medications": self.medication,
            "procedures": self.procedure,
            "immunizations": self.immunization,
            "careplans": self.careplan,
            "allergies": self.allergy,
        }

    def money(self, value: str | None) -> float | None:
        amount = _f(value)
        if amount is None:
            return None
        gbp = to_gbp(amount, SYNTHEA_CURRENCY, self.rates)
        if gbp is None:
            self.report.unmapped_code(CURRENCY_SYSTEM, SYNTHEA_CURRENCY)
        return gbp

    def code(self, row: dict[str, str], default: str | None) -> tuple[str, str, str | None]:
        code = (row.get("CODE") or "").strip()
        if not code:
            raise RowSkip("no code")
        uri = SYSTEM_WORDS.get((row.get("SYSTEM") or "").strip().lower()) or DEFAULT_URI.get(
            default or "", ""
        )
        kind, system, code = classify(uri, code)
        term = row.get("DESCRIPTION") or None
        if kind != "ok":
            self.report.unmapped_code(uri, code)
        if kind == "malformed":
            raise RowSkip(f"malformed {system} code")
        return system, code, term

    # -- tables

    def organization(self, row: dict[str, str], _: str | None) -> None:
        self.stager.add(
            "s_orgs", (row["Id"], None, "other", row["NAME"] or row["Id"], None, *self.loc())
        )

    def provider(self, row: dict[str, str], _: str | None) -> None:
        title = row.get("SPECIALITY")
        role, lead = vocab.staff_role(title), vocab.lead_role(title)
        org = row.get("ORGANIZATION") or None
        self.stager.add("s_practitioners", (row["Id"], org, role, lead, *self.loc()))

    def patient(self, row: dict[str, str], _: str | None) -> None:
        dob = parse_date(row["BIRTHDATE"])
        if dob is None:
            raise RowSkip("missing or invalid BIRTHDATE")
        sex = vocab.SEX.get(row["GENDER"].strip().lower(), "unknown")
        eth = vocab.US_RACE.get((row.get("RACE") or "").strip().lower(), "unknown")
        self.stager.add(
            "s_people",
            (
                row["Id"],
                None,
                False,
                dob,
                sex,
                eth,
                None,
                parse_date(row.get("DEATHDATE")),
                *_identity(row),
                None,
                *self.loc(),
            ),
        )

    def encounter(self, row: dict[str, str], _: str | None) -> None:
        cls = row["ENCOUNTERCLASS"].strip().lower()
        kind = vocab.SYNTHEA_CLASS.get(cls)
        if kind is None:
            self.report.unmapped_code("synthea:ENCOUNTERCLASS", cls)
            raise RowSkip(f"encounter class {cls!r} not mapped")
        start_ts = parse_ts(row["START"])
        if start_ts is None:
            raise RowSkip("invalid START")
        stop = row.get("STOP") or None
        self.stager.add(
            "s_encounters",
            (
                row["Id"],
                row["PATIENT"],
                kind,
                "finished",
                start_ts,
                parse_ts(stop),
                parse_date(row["START"]),
                parse_date(stop),
                None,
                row.get("ORGANIZATION") or None,
                row.get("PROVIDER") or None,
                False,
                False,
                None,
                self.money(row.get("TOTAL_CLAIM_COST")),
                None,
                *self.loc(),
            ),
        )

    def condition(self, row: dict[str, str], default: str | None) -> None:
        system, code, term = self.code(row, default)
        start = parse_date(row["START"])
        if start is None:
            raise RowSkip("invalid START")
        enc = row.get("ENCOUNTER") or None
        rid = _hid(row["PATIENT"], enc or "", code, row["START"])
        self.stager.add(
            "s_conditions",
            (
                rid,
                row["PATIENT"],
                enc,
                None,
                start,
                parse_date(row.get("STOP")),
                system,
                code,
                term,
                code if system == "icd10" else None,
                *self.loc(),
            ),
        )

    def observation(self, row: dict[str, str], default: str | None) -> None:
        system, code, term = self.code(row, default)
        when = parse_date(row["DATE"])
        if when is None:
            raise RowSkip("invalid DATE")
        value = row.get("VALUE") or ""
        num = _f(value) if (row.get("TYPE") or "numeric") == "numeric" else None
        if num is None and value:
            term = f"{term}: {value}" if term else value
        enc = row.get("ENCOUNTER") or None
        rid = _hid(row["PATIENT"], enc or "", code, row["DATE"], value)
        measure = vocab.MEASURES.get(code) if system in ("loinc", "snomed") else None
        self.stager.add(
            "s_observations",
            (
                rid,
                row["PATIENT"],
                enc,
                None,
                when,
                None,
                system,
                code,
                term,
                measure,
                num,
                (row.get("UNITS") or None) if num is not None else None,
                False,
                *self.loc(),
            ),
        )

    def medication(self, row: dict[str, str], default: str | None) -> None:
        system, code, term = self.code(row, default)
        when = parse_date(row["START"])
        if when is None:
            raise RowSkip("invalid START")
        enc = row.get("ENCOUNTER") or None
        rid = _hid(row["PATIENT"], enc or "", code, row["START"])
        self.stager.add(
            "s_medications",
            (
                rid,
                "medications",
                row["PATIENT"],
                enc,
                None,
                when,
                system,
                code,
                term,
                _f(row.get("DISPENSES")),
                None,
                *self.loc(),
            ),
        )

    def procedure(self, row: dict[str, str], default: str | None) -> None:
        system, code, term = self.code(row, default)
        when = parse_date(row["START"])
        if when is None:
            raise RowSkip("invalid START")
        enc = row.get("ENCOUNTER") or None
        rid = _hid(row["PATIENT"], enc or "", code, row["START"])
        self.stager.add(
            "s_procedures",
            (
                rid,
                row["PATIENT"],
                enc,
                None,
                when,
                system,
                code,
                term,
                self.money(row.get("BASE_COST")),
                *self.loc(),
            ),
        )

    def immunization(self, row: dict[str, str], default: str | None) -> None:
        system, code, term = self.code(row, default)
        when = parse_date(row["DATE"])
        if when is None:
            raise RowSkip("invalid DATE")
        enc = row.get("ENCOUNTER") or None
        rid = _hid(row["PATIENT"], enc or "", code, row["DATE"])
        self.stager.add(
            "s_immunisations",
            (rid, row["PATIENT"], enc, None, when, system, code, term, *self.loc()),
        )

    def careplan(self, row: dict[str, str], default: str | None) -> None:
        system, code, term = self.code(row, default)
        start = parse_date(row["START"])
        if start is None:
            raise RowSkip("invalid START")
        stop = parse_date(row.get("STOP"))
        self.stager.add(
            "s_care_plans",
            (
                row["Id"],
                row["PATIENT"],
                start,
                stop,
                system,
                code,
                term,
                "completed" if stop else "active",
                *self.loc(),
            ),
        )

    def allergy(self, row: dict[str, str], default: str | None) -> None:
        system, code, term = self.code(row, default)
        start = parse_date(row["START"])
        if start is None:
            raise RowSkip("invalid START")
        category = (row.get("CATEGORY") or "").strip().lower()
        severities = {(row.get(f"SEVERITY{i}") or "").strip().upper() for i in (1, 2)}
        criticality = "high" if "SEVERE" in severities else "low" if severities - {""} else None
        rid = _hid(row["PATIENT"], code, row["START"])
        self.stager.add(
            "s_allergies",
            (
                rid,
                row["PATIENT"],
                None,
                start,
                system,
                code,
                term,
                category if category in vocab.ALLERGY_CATEGORIES else "other",
                criticality,
                "resolved" if parse_date(row.get("STOP")) else "active",
                *self.loc(),
            ),
        )

    # -- driver

    def raw(self, table: str, row: dict[str, str], reason: str) -> None:
        self.report.raw[table] += 1
        rid = f"{table}/{row.get('Id') or row.get('ID') or _hid(*map(str, row.values()))}"
        self.stager.add("s_raw", (rid, table, reason, orjson.dumps(row).decode(), *self.loc()))

    def read(self, path: Path, table: str) -> None:
        required, default = MAPPED.get(table, ((), None))
        handler = self.handlers.get(table)
        for entry, row in _rows(path, self.file_name, self.report):
            self.entry = entry
            self.report.seen[table] += 1
            if handler is None:
                self.raw(table, row, "Synthea table not mapped")
                continue
            missing = [c for c in required if not (row.get(c) or "").strip()]
            if missing:
                self.raw(table, row, f"missing required field(s) {', '.join(missing)}")
                self.report.problem(
                    self.file_name,
                    self.entry,
                    "missing_field",
                    f"{table} row {self.entry}: missing {', '.join(missing)}",
                )
                continue
            try:
                handler(row, default)
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                self.raw(table, row, f"malformed row ({type(e).__name__})")
                self.report.problem(
                    self.file_name, self.entry, "bad_value", f"{table} row {self.entry}: malformed"
                )
            except RowSkip as s:
                self.raw(table, row, s.reason)
                if s.problem:
                    self.report.problem(
                        self.file_name,
                        self.entry,
                        "bad_value",
                        f"{table} row {self.entry}: {s.reason}",
                    )
            else:
                self.report.mapped[table] += 1


def check_header(path: Path) -> None:
    """InputError naming the file and column when a mapped table cannot be read at all.

    A mapped table (patients, encounters, ...) without one of its required columns
    would turn every row into a problem; ``patients.csv`` without a header or a row
    would leave every other row without its person. Both are the wrong input, not
    row-level problems: the import stops before writing anything. Files of tables
    Careweave does not map are kept raw whatever their columns.
    """
    table = path.stem.lower()
    if table not in MAPPED:
        return
    required = MAPPED[table][0]
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            first = next(reader, None) if table == "patients" else [""]
    except (UnicodeDecodeError, csv.Error, OSError) as e:
        raise InputError(f"{path}: cannot read as CSV ({e})") from None
    if not header or not any(h.strip() for h in header):
        raise InputError(f"{path}: empty, no header row (required columns: {', '.join(required)})")
    names = set(header)
    missing = [c for c in required if c not in names]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise InputError(
            f"{path}: no {', '.join(missing)} column{plural} "
            f"(required in {path.name}: {', '.join(required)})"
        )
    if first is None:
        raise InputError(f"{path}: no rows after the header (no people to import)")


def _rows(path: Path, name: str, report: ImportReport) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header:
                report.problem(name, None, "empty_file", "no header row")
                return
            width = len(header)
            for i, values in enumerate(reader, 1):
                if not values:
                    continue
                if len(values) != width:
                    report.problem(
                        name,
                        i,
                        "malformed_row",
                        f"row {i}: {len(values)} fields where the header has {width}",
                    )
                    if len(values) < width:
                        values = values + [""] * (width - len(values))
                    else:
                        values = values[:width]
                yield i, dict(zip(header, values, strict=True))
    except (UnicodeDecodeError, csv.Error, OSError) as e:
        report.problem(name, None, "unreadable", f"cannot read as CSV ({e})")


def import_synthea_csv(
    directory: Path,
    out: Path,
    *,
    overwrite: bool = False,
    rates: dict[str, float] | None = None,
    progress: Callable[[int], None] | None = None,
    memory_limit: str = "1GB",
) -> ImportReport:
    """Import a Synthea CSV export directory into the dataset directory ``out``."""
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory of Synthea CSV files")
    files = sorted(directory.glob("*.csv"))
    if not any(f.stem.lower() == "patients" for f in files):
        raise InputError(f"{directory}: no patients.csv (not a Synthea CSV export)")
    rank = {t: i for i, t in enumerate(ORDER)}
    files.sort(key=lambda f: (rank.get(f.stem.lower(), len(ORDER)), f.name))
    for path in files:
        check_header(path)

    def stage(staging: Path, report: ImportReport) -> list[str]:
        stager = Stager(staging / "w0")
        mapper = SyntheaMapper(stager, report, rates)
        names: list[str] = []
        for fileno, path in enumerate(files):
            names.append(str(path))
            mapper.file_name, mapper.fileno = str(path), fileno
            size = path.stat().st_size
            report.bytes_read += size
            mapper.read(path, path.stem.lower())
            if progress is not None:
                progress(size)
        stager.close()
        return names

    return run_import(
        "synthea-csv",
        out,
        stage,
        labels=CSV_LABELS,
        overwrite=overwrite,
        memory_limit=memory_limit,
        parameters={"currency_rates": rates or {}},
    )
