"""FHIR R4 import: Bundles (any type) and Bulk Data NDJSON, plain or gzip.

The hot path parses with orjson and maps plain dicts: no model objects per
resource. Files are read as a stream of entries:

- NDJSON (``.ndjson``/``.jsonl``, or any file whose first line is a whole
  non-Bundle resource): line by line, one resource per line; a bad line is a
  problem for that line and the next line is read as usual.
- A JSON document (a Bundle, or one resource): up to :data:`WHOLE_FILE_LIMIT`
  bytes it is parsed in one go with orjson; larger files are streamed entry by
  entry with ijson's C backend, so memory stays flat for multi-gigabyte Bundles.
  A document orjson rejects (malformed, truncated) is re-read with ijson to
  keep every entry before the fault.

The mapping itself is in :class:`FhirMapper` and documented in
docs/import-mapping.md.
"""

from __future__ import annotations

import datetime as dt
import gc
import gzip
import io
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import msgspec
import orjson

from careweave.dataset.nhs_number import is_valid
from careweave.importers import vocab
from careweave.importers.report import ImportReport
from careweave.importers.staging import Stager

#: JSON documents up to this size (bytes, as stored) are parsed whole.
WHOLE_FILE_LIMIT = 64 * 1024 * 1024
GZIP_WHOLE_FILE_LIMIT = 8 * 1024 * 1024

JSON_SUFFIXES = (".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz")
CURRENCY_SYSTEM = "urn:iso:std:iso:4217"
NDJSON_SUFFIXES = (".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz")

Resource = dict[str, Any]
Entry = tuple[int, Resource, str | None]


class Skip(Exception):
    """A resource that is kept raw with a reason, reported as a problem of ``kind``."""

    def __init__(self, reason: str, kind: str | None = "missing_field") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


# --------------------------------------------------------------------------- files


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files to read: each file as given, each directory's JSON/NDJSON files (recursively)."""
    from careweave.errors import InputError

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(JSON_SUFFIXES))
            )
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return out


def _open(path: Path) -> IO[bytes]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


class _Tracked:
    """A file opened for reading (gunzipped when it is gzip) that knows its stored position."""

    def __init__(self, path: Path) -> None:
        self.raw = path.open("rb")
        gz = self.raw.read(2) == b"\x1f\x8b"
        self.raw.seek(0)
        self.stream: IO[bytes] = (
            cast(IO[bytes], gzip.GzipFile(fileobj=self.raw, mode="rb")) if gz else self.raw
        )

    def __enter__(self) -> _Tracked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.close()
        self.raw.close()

    def position(self) -> int:
        return self.raw.tell()


Tick = Callable[[int], None]


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as probe:
        return probe.read(2) == b"\x1f\x8b"


def _looks_ndjson(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(NDJSON_SUFFIXES):
        return True
    if name.endswith((".json", ".json.gz")):
        return False
    try:
        with _open(path) as f:
            first = f.readline(16 * 1024 * 1024)
        doc = orjson.loads(first)
    except (orjson.JSONDecodeError, OSError, EOFError, zlib.error):
        return False
    return isinstance(doc, dict) and doc.get("resourceType") != "Bundle"


_READ_ERRORS = (OSError, EOFError, zlib.error)


def iter_file(
    path: Path, name: str, report: ImportReport, tick: Tick | None = None
) -> Iterator[Entry]:
    """Every (entry index, resource, fullUrl) in one file; problems go to ``report``.

    ``tick`` is told, now and then, how many stored bytes of a large file have been read.
    """
    if _looks_ndjson(path):
        return _iter_ndjson(path, name, report, tick)
    return _iter_document(path, name, report, tick)


def _iter_ndjson(
    path: Path, name: str, report: ImportReport, tick: Tick | None = None
) -> Iterator[Entry]:
    line_no = 0
    try:
        with _Tracked(path) as tracked:
            for line_no, line in enumerate(tracked.stream, 1):
                if tick is not None and line_no & 8191 == 0:
                    tick(tracked.position())
                if not line.strip():
                    continue
                try:
                    doc = orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    kind = "truncated" if not line.endswith(b"\n") else "malformed_json"
                    report.problem(name, line_no, kind, f"line {line_no}: not JSON ({e})")
                    continue
                if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
                    for _, res, full in _bundle_entries(doc, name, line_no, report):
                        yield line_no, res, full
                elif isinstance(doc, dict):
                    yield line_no, doc, None
                else:
                    report.problem(name, line_no, "not_a_resource", "line is not a JSON object")
    except _READ_ERRORS as e:
        report.problem(name, line_no + 1, "truncated", f"file ends early or is corrupt ({e})")


def _bundle_entries(
    doc: Resource, name: str, at: int | None, report: ImportReport
) -> Iterator[Entry]:
    entries = doc.get("entry") or []
    if not isinstance(entries, list):
        report.problem(name, at, "malformed_bundle", "Bundle.entry is not a list")
        return
    for i, entry in enumerate(entries):
        res = _entry_resource(entry, name, i if at is None else at, report)
        if res is not None:
            yield i if at is None else at, res, entry.get("fullUrl")


def _entry_resource(entry: Any, name: str, i: int, report: ImportReport) -> Resource | None:
    if not isinstance(entry, dict):
        report.problem(name, i, "malformed_bundle", f"entry {i} is not an object")
        return None
    res = entry.get("resource")
    if not isinstance(res, dict):
        method = (entry.get("request") or {}).get("method", "")
        report.problem(
            name,
            i,
            "no_resource",
            f"entry {i} has no resource{f' ({method} request)' if method else ''}",
        )
        return None
    return res


def _iter_document(
    path: Path, name: str, report: ImportReport, tick: Tick | None = None
) -> Iterator[Entry]:
    size = path.stat().st_size
    gz = _is_gzip(path)
    if size <= (GZIP_WHOLE_FILE_LIMIT if gz else WHOLE_FILE_LIMIT):
        try:
            with _open(path) as f:
                data = f.read()
        except _READ_ERRORS as e:
            report.problem(name, None, "truncated", f"file ends early or is corrupt ({e})")
            return
        fast = _fast_entries(data)
        if fast is not None:
            yield from _iter_fast(fast, data, name, report)
            return
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            yield from _stream_entries(io.BytesIO(data), name, report)
            return
        if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
            yield from _bundle_entries(doc, name, None, report)
        elif isinstance(doc, dict):
            yield 0, doc, None
        elif isinstance(doc, list):
            for i, item in enumerate(doc):
                if isinstance(item, dict):
                    yield i, item, None
                else:
                    report.problem(name, i, "not_a_resource", f"item {i} is not a JSON object")
        else:
            report.problem(
                name, None, "not_a_resource", "the file is not a FHIR resource or Bundle"
            )
        return
    with _Tracked(path) as tracked:
        yield from _stream_entries(tracked.stream, name, report, tick, tracked.position)


# ----------------------------------------------------------- fast path for Bundles
#
# Parsing a whole Bundle into dicts at once is several times slower than parsing
# it resource by resource (the whole document's objects no longer fit in the CPU
# caches). msgspec splits the document into its entries without building
# anything (``Raw`` spans of the original bytes); orjson then parses each
# resource just before it is mapped, so the resources are the same dicts as
# before. Anything unusual (a shape or field outside the FHIR Bundle/entry
# structure, invalid UTF-8, a value orjson rejects) falls back to the general
# path, which handles and reports it as before.

_RAW = msgspec.Raw()


class _FastEntry(msgspec.Struct, forbid_unknown_fields=True):
    # Decoded (and so checked like orjson would check them) except the resource.
    fullUrl: Any = None
    resource: msgspec.Raw = _RAW
    request: Any = None
    response: Any = None
    search: Any = None
    link: Any = None
    id: Any = None
    extension: Any = None
    modifierExtension: Any = None


class _FastBundle(msgspec.Struct, forbid_unknown_fields=True):
    resourceType: Any = None
    id: Any = None
    meta: Any = None
    implicitRules: Any = None
    language: Any = None
    identifier: Any = None
    type: Any = None
    timestamp: Any = None
    total: Any = None
    link: Any = None
    entry: list[_FastEntry] = []
    signature: Any = None
    issues: Any = None


_FAST_DECODER = msgspec.json.Decoder(_FastBundle)


def _fast_entries(data: bytes) -> list[_FastEntry] | None:
    """The entries of a well-formed Bundle; None for anything else."""
    if not data.isascii():
        try:
            data.decode("utf-8")  # msgspec does not check the UTF-8 of what it skips
        except UnicodeDecodeError:
            return None
    try:
        doc = _FAST_DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    if doc.resourceType != "Bundle":
        return None
    for e in doc.entry:
        if not e.resource or memoryview(e.resource)[0] != 0x7B:  # "{": an object
            return None
    return doc.entry


def _iter_fast(
    entries: list[_FastEntry], data: bytes, name: str, report: ImportReport
) -> Iterator[Entry]:
    for i, e in enumerate(entries):
        try:
            res = orjson.loads(memoryview(e.resource))
        except orjson.JSONDecodeError:
            # orjson would have rejected the whole document: from here on, read it as the
            # general path does (ijson), which yields the same entries before this one.
            for j, item in enumerate(_stream_entries(io.BytesIO(data), name, report)):
                if j >= i:
                    yield item
            return
        yield i, res, e.fullUrl


def _ijson_backend() -> Any:
    """ijson's C backend (yajl2_c, in the ijson wheels); the default one if it is missing."""
    import ijson

    try:
        return ijson.get_backend("yajl2_c")
    except ImportError:
        return ijson


def _stream_entries(
    f: IO[bytes],
    name: str,
    report: ImportReport,
    tick: Tick | None = None,
    position: Callable[[], int] | None = None,
) -> Iterator[Entry]:
    """Bundle entries one at a time (ijson, C backend); stops at the first fault."""
    import ijson

    backend = _ijson_backend()
    i = -1
    try:
        for i, entry in enumerate(backend.items(f, "entry.item", use_float=True)):
            if tick is not None and position is not None and i & 2047 == 0:
                tick(position())
            res = _entry_resource(entry, name, i, report)
            if res is not None:
                yield i, res, entry.get("fullUrl")
    except ijson.common.IncompleteJSONError as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else "incomplete JSON"
        kind = (
            "truncated"
            if "premature EOF" in msg or "incomplete" in msg.lower()
            else "malformed_json"
        )
        report.problem(
            name,
            i + 1,
            kind,
            f"JSON breaks at entry {i + 1} ({msg}); entries before it were imported, "
            "the rest of the file could not be read",
        )
    except (ijson.common.JSONError, *_READ_ERRORS) as e:
        report.problem(
            name,
            i + 1,
            "malformed_json",
            f"JSON breaks at entry {i + 1} ({e}); entries before it were imported",
        )
    if i == -1 and report.problems_by_file[name] == 0:
        report.problem(name, None, "not_a_resource", "no Bundle entries found")


# --------------------------------------------------------------------------- helpers


def _classify(uri: Any, raw_code: Any) -> tuple[str, str, str]:
    """("ok" | "other" | "malformed", code_system, code) for one coding."""
    code = str(raw_code)
    system = vocab.SYSTEMS.get(str(uri or ""))
    if system is None:
        return "other", "other", code
    if system == "icd10":
        from careweave.dataset.codes import normalise_icd10

        code = normalise_icd10(code)
    if not vocab.code_ok(system, code):
        return "malformed", system, code
    return "ok", system, code


def ref_id(ref: Any) -> str | None:
    """The id a Reference points at (``urn:uuid:X``, ``Type/X``, absolute URLs, NHS-number searches)."""
    if not isinstance(ref, dict):
        return None
    r = ref.get("reference")
    if not isinstance(r, str) or not r:
        ident = ref.get("identifier")
        if isinstance(ident, dict) and ident.get("system") == vocab.NHS_NUMBER_SYSTEM:
            return "nhs:" + str(ident.get("value", "")).replace(" ", "")
        return None
    if r.startswith("urn:uuid:"):
        return r[9:]
    if r.startswith("#"):
        return None
    if "?identifier=" in r and vocab.NHS_NUMBER_SYSTEM in r:
        return "nhs:" + r.rsplit("|", 1)[-1].replace(" ", "")
    parts = r.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return parts[-1] if parts else None


def parse_date(value: Any) -> dt.date | None:
    """The calendar date of a FHIR date/dateTime as sent (partial dates padded to the 1st)."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    s = value[:10]
    if len(s) == 4:
        s += "-01-01"
    elif len(s) == 7:
        s += "-01"
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        return None


def parse_ts(value: Any) -> dt.datetime | None:
    """A FHIR dateTime as a naive UTC timestamp (date-only values: midnight)."""
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        d = parse_date(value)
        return dt.datetime(d.year, d.month, d.day) if d else None
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC).replace(tzinfo=None)
    return t


def _first_text(cc: Any) -> str | None:
    if not isinstance(cc, dict):
        return None
    text = cc.get("text")
    if text:
        return str(text)
    for c in cc.get("coding") or ():
        if isinstance(c, dict) and c.get("display"):
            return str(c["display"])
    return None


def _codes_of(cc: Any) -> list[tuple[str, str, str | None]]:
    """(system URI, code, display) of every coding in a CodeableConcept (or Coding)."""
    if not isinstance(cc, dict):
        return []
    codings = cc.get("coding") if "coding" in cc else [cc]
    out = []
    for c in codings or ():
        if isinstance(c, dict) and c.get("code") is not None:
            display = c.get("display")
            out.append(
                (
                    str(c.get("system") or ""),
                    str(c["code"]),
                    None if display is None else str(display),
                )
            )
    return out


# --------------------------------------------------------------------------- mapper


class FhirMapper:
    """Maps FHIR resources (dicts) to staging rows; see docs/import-mapping.md."""

    def __init__(
        self, stager: Stager, report: ImportReport, rates: dict[str, float] | None = None
    ) -> None:
        self.stager = stager
        self.report = report
        self.rates = rates or {}
        self._codes: dict[tuple[Any, Any], tuple[str, str, str]] = {}
        self.file_name = ""
        self.fileno = 0
        self.entry = 0
        self.handlers: dict[str, Callable[[Resource, str], None]] = {
            "Patient": self.patient,
            "Organization": self.organization,
            "Practitioner": self.practitioner,
            "PractitionerRole": self.practitioner_role,
            "Encounter": self.encounter,
            "Condition": self.condition,
            "Observation": self.observation,
            "MedicationRequest": self.medication,
            "MedicationStatement": self.medication,
            "CarePlan": self.care_plan,
            "CareTeam": self.care_team,
            "Procedure": self.procedure,
            "Claim": self.claim,
            "ExplanationOfBenefit": self.claim,
            "Immunization": self.immunization,
        }

    # -- driver

    def map(self, res: Resource, full_url: str | None) -> None:
        rtype = res.get("resourceType")
        if not isinstance(rtype, str):
            self.report.seen["(no resourceType)"] += 1
            self._raw(res, "(no resourceType)", "missing resourceType", "missing_field")
            return
        self.report.seen[rtype] += 1
        key = (
            full_url[9:] if isinstance(full_url, str) and full_url.startswith("urn:uuid:") else None
        )
        if key is None:
            rid = res.get("id")
            key = rid if isinstance(rid, str) else None
        handler = self.handlers.get(rtype)
        if handler is None:
            self._raw(res, rtype, "resource type not mapped", None, key)
            return
        if not isinstance(key, str) or not key:
            self._raw(res, rtype, "missing id", "missing_field")
            return
        try:
            handler(res, key)
        except (AttributeError, TypeError, KeyError, ValueError, IndexError) as e:
            # A field of the wrong JSON shape (a list where an object belongs, ...).
            why = validation_errors(res) or type(e).__name__
            self._raw(res, rtype, f"malformed resource ({why})", "malformed_resource", key)
        except Skip as s:
            reason = s.reason
            if s.kind == "missing_field":
                detail = validation_errors(res)
                if detail:
                    reason = f"{reason} (FHIR R4B validation: {detail})"
            self._raw(res, rtype, reason, s.kind, key)
        else:
            self.report.mapped[rtype] += 1

    def _raw(
        self, res: Resource, rtype: str, reason: str, kind: str | None, key: str | None = None
    ) -> None:
        self.report.raw[rtype] += 1
        if kind is not None:
            self.report.problem(self.file_name, self.entry, kind, f"{rtype} {key or ''}: {reason}")
        rid = f"{rtype}/{key}" if key else f"{self.file_name}#{self.entry}"
        self.stager.add(
            "s_raw",
            (rid, rtype, reason, orjson.dumps(res).decode(), self.fileno, self.entry),
        )

    def _loc(self) -> tuple[int, int]:
        return self.fileno, self.entry

    def code(self, cc: Any, what: str) -> tuple[str, str, str | None]:
        """(code_system, code, term) of the preferred coding; Skip when there is none usable."""
        # Fast path: one coding (the common case), classified once per (system, code).
        if type(cc) is dict:
            codings = cc.get("coding")
            if type(codings) is list and len(codings) == 1 and type(codings[0]) is dict:
                c = codings[0]
                uri, raw_code = c.get("system"), c.get("code")
                if raw_code is not None:
                    key = (uri, raw_code)
                    hit = self._codes.get(key)
                    if hit is None:
                        if len(self._codes) > 200_000:
                            self._codes.clear()
                        hit = self._codes[key] = _classify(uri, raw_code)
                    kind, fsystem, fcode = hit
                    fterm = c.get("display") or cc.get("text")
                    if fterm is not None and type(fterm) is not str:
                        fterm = str(fterm)
                    if kind == "ok":
                        return fsystem, fcode, fterm
                    self.report.unmapped_code(str(uri or ""), fcode)
                    if kind == "other":
                        return "other", fcode, fterm
                    raise Skip(f"malformed {what} code in {uri}", "malformed_code")
        codes = _codes_of(cc)
        if not codes:
            raise Skip(f"no {what} code")
        term = _first_text(cc)
        best: tuple[int, str, str, str | None] | None = None
        malformed: tuple[str, str] | None = None
        for uri, code, display in codes:
            system = vocab.SYSTEMS.get(uri)
            if system is None:
                continue
            if system == "icd10":
                from careweave.dataset.codes import normalise_icd10

                code = normalise_icd10(code)
            if not vocab.code_ok(system, code):
                malformed = (uri, code)
                continue
            rank = vocab.SYSTEM_PREFERENCE.index(system)
            if best is None or rank < best[0]:
                best = (rank, system, code, display or term)
        if best is not None:
            return best[1], best[2], best[3] or term
        if malformed is not None:
            self.report.unmapped_code(malformed[0], malformed[1])
            raise Skip(f"malformed {what} code in {malformed[0]}", "malformed_code")
        uri, code, display = codes[0]
        self.report.unmapped_code(uri, code)
        return "other", code, display or term

    def subject(self, res: Resource, field: str = "subject") -> str:
        ref = ref_id(res.get(field))
        if ref is None:
            raise Skip(f"missing required field {field}")
        return ref

    # -- identity and organisations

    def patient(self, res: Resource, key: str) -> None:
        nhs = None
        for ident in res.get("identifier") or ():
            if isinstance(ident, dict) and ident.get("system") == vocab.NHS_NUMBER_SYSTEM:
                value = str(ident.get("value") or "").replace(" ", "").replace("-", "")
                if is_valid(value):
                    nhs = value
                else:
                    self.report.problem(
                        self.file_name,
                        self.entry,
                        "invalid_nhs_number",
                        f"Patient {key}: NHS number fails the Modulus-11 check; surrogate used",
                    )
        dob = parse_date(res.get("birthDate"))
        if dob is None:
            raise Skip("missing or invalid required field birthDate")
        real = nhs is not None
        sex = vocab.SEX.get(str(res.get("gender", "unknown")).lower(), "unknown")
        practice = None
        for gp in res.get("generalPractitioner") or ():
            practice = ref_id(gp)
            if practice:
                break
        practice = practice or ref_id(res.get("managingOrganization"))
        dod = parse_date(res.get("deceasedDateTime"))
        self.stager.add(
            "s_people",
            (key, nhs, real, dob, sex, self.ethnicity(res), practice, dod, *self._loc()),
        )

    @staticmethod
    def ethnicity(res: Resource) -> str:
        for ext in res.get("extension") or ():
            if not isinstance(ext, dict):
                continue
            url = ext.get("url")
            if url == vocab.US_CORE_RACE:
                for sub in ext.get("extension") or ():
                    if isinstance(sub, dict) and sub.get("url") == "ombCategory":
                        code = str((sub.get("valueCoding") or {}).get("code", ""))
                        return vocab.US_RACE.get(code, "unknown")
            elif url in vocab.UK_ETHNIC_EXTENSIONS:
                for _, code, _ in _codes_of(ext.get("valueCodeableConcept")):
                    return vocab.ethnic_from_nhs(code)
        return "unknown"

    def organization(self, res: Resource, key: str) -> None:
        org_type = "other"
        for _, code, _ in _codes_of_list(res.get("type")):
            if code in vocab.ORG_TYPE:
                org_type = vocab.ORG_TYPE[code]
                if org_type != "other":
                    break
        ods = None
        for ident in res.get("identifier") or ():
            if (
                isinstance(ident, dict)
                and ident.get("system") == "https://fhir.nhs.uk/Id/ods-organization-code"
            ):
                ods = str(ident.get("value") or "") or None
        name = str(res.get("name") or ods or key)
        parent = ref_id(res.get("partOf"))
        self.stager.add("s_orgs", (key, ods, org_type, name, parent, *self._loc()))

    def practitioner(self, res: Resource, key: str) -> None:
        role = None
        for q in res.get("qualification") or ():
            if isinstance(q, dict):
                role = vocab.staff_role(_first_text(q.get("code")))
                if role:
                    break
        self.stager.add("s_practitioners", (key, None, role, *self._loc()))

    def practitioner_role(self, res: Resource, key: str) -> None:
        who = ref_id(res.get("practitioner"))
        if who is None:
            raise Skip("missing required field practitioner")
        text = " ".join(
            t
            for t in (
                _first_text(c) for c in (res.get("code") or []) + (res.get("specialty") or [])
            )
            if t
        )
        org = ref_id(res.get("organization"))
        self.stager.add("s_practitioners", (who, org, vocab.staff_role(text), *self._loc()))

    # -- activity

    def encounter(self, res: Resource, key: str) -> None:
        status = res.get("status")
        if status == "entered-in-error":
            raise Skip("status entered-in-error", None)
        patient = self.subject(res)
        cls = res.get("class")
        if isinstance(cls, list):  # R5 shape: list of CodeableConcept
            cls = (cls[0].get("coding") or [{}])[0] if cls and isinstance(cls[0], dict) else None
        code = cls.get("code") if isinstance(cls, dict) else None
        kind = vocab.ENCOUNTER_CLASS.get(str(code)) if code else None
        if kind is None:
            if code is None:
                raise Skip("missing required field class")
            self.report.unmapped_code(
                str(cls.get("system") or "") if isinstance(cls, dict) else "", str(code)
            )
            raise Skip(f"encounter class {code} not mapped", "unmapped_code")
        if status == "planned":
            raise Skip("planned encounter (not yet happened)", None)
        if status == "cancelled":
            if kind not in ("ambulatory", "outpatient"):
                raise Skip(f"cancelled {kind} encounter", None)
            kind = "outpatient"
        period = res.get("period") or {}
        start = period.get("start")
        start_date = parse_date(start)
        if start_date is None:
            raise Skip("missing required field period.start")
        end = period.get("end")
        emergency = maternity = False
        for _, pcode, _ in _codes_of(res.get("priority")):
            emergency = emergency or pcode in ("EM", "UR", "S", "emergency")
        hosp = res.get("hospitalization") or {}
        for _, acode, _ in _codes_of(hosp.get("admitSource")):
            emergency = emergency or acode in ("emd", "mp")
        for ext in res.get("extension") or ():
            if isinstance(ext, dict) and "AdmissionMethod" in str(ext.get("url", "")):
                for _, mcode, _ in _codes_of(ext.get("valueCodeableConcept")):
                    emergency = emergency or mcode.startswith("2")
                    maternity = maternity or mcode.startswith("3")
        discharge = None
        for _, dcode, _ in _codes_of(hosp.get("dischargeDisposition")):
            discharge = vocab.DISCHARGE.get(dcode, "other")
        specialty = None
        for st in _as_list(res.get("serviceType")):
            specialty = _first_text(st)
            break
        practitioner = None
        for p in res.get("participant") or ():
            if isinstance(p, dict):
                practitioner = ref_id(p.get("individual"))
                if practitioner:
                    break
        self.stager.add(
            "s_encounters",
            (
                key,
                patient,
                kind,
                _str(status),
                parse_ts(start),
                parse_ts(end),
                start_date,
                parse_date(end),
                specialty,
                ref_id(res.get("serviceProvider")),
                practitioner,
                emergency,
                maternity,
                discharge,
                None,
                *self._loc(),
            ),
        )

    def condition(self, res: Resource, key: str) -> None:
        for _, vcode, _ in _codes_of(res.get("verificationStatus")):
            if vcode in ("entered-in-error", "refuted"):
                raise Skip(f"verification status {vcode}", None)
        patient = self.subject(res)
        system, code, term = self.code(res.get("code"), "condition")
        onset = res.get("onsetDateTime") or (res.get("onsetPeriod") or {}).get("start")
        when = parse_date(onset) or parse_date(res.get("recordedDate"))
        if when is None:
            raise Skip("missing required field onset[x]/recordedDate")
        abate = res.get("abatementDateTime") or (res.get("abatementPeriod") or {}).get("end")
        icd10 = None
        for uri, c, _ in _codes_of(res.get("code")):
            if vocab.SYSTEMS.get(uri) == "icd10":
                from careweave.dataset.codes import normalise_icd10

                c = normalise_icd10(c)
                if vocab.code_ok("icd10", c):
                    icd10 = c
                    break
        self.stager.add(
            "s_conditions",
            (
                key,
                patient,
                ref_id(res.get("encounter")),
                ref_id(res.get("asserter"))
                if _ref_type(res.get("asserter")) == "Organization"
                else None,
                when,
                parse_date(abate),
                system,
                code,
                term,
                icd10,
                *self._loc(),
            ),
        )

    def observation(self, res: Resource, key: str) -> None:
        status = res.get("status")
        if status in ("entered-in-error", "cancelled"):
            raise Skip(f"status {status}", None)
        patient = self.subject(res)
        eff = (
            res.get("effectiveDateTime")
            or res.get("effectiveInstant")
            or (res.get("effectivePeriod") or {}).get("start")
            or res.get("issued")
        )
        when = parse_date(eff)
        if when is None:
            raise Skip("missing required field effective[x]")
        device = "device" in res
        recorded = parse_ts(eff) if device else None
        encounter = ref_id(res.get("encounter"))
        org = None
        for p in res.get("performer") or ():
            if _ref_type(p) == "Organization":
                org = ref_id(p)
                break
        components = res.get("component")
        has_value = not _VALUE_KEYS.isdisjoint(res)
        rows: list[tuple[Any, ...]] = []
        if has_value or not components:
            system, code, term = self.code(res.get("code"), "observation")
            value, unit, term = _value(res, term)
            rows.append(
                self._obs(
                    key,
                    patient,
                    encounter,
                    org,
                    when,
                    recorded,
                    system,
                    code,
                    term,
                    value,
                    unit,
                    device,
                )
            )
        for i, comp in enumerate(components or ()):
            if not isinstance(comp, dict):
                continue
            system, code, term = self.code(comp.get("code"), "observation component")
            value, unit, term = _value(comp, term)
            rows.append(
                self._obs(
                    f"{key}:{i}",
                    patient,
                    encounter,
                    org,
                    when,
                    recorded,
                    system,
                    code,
                    term,
                    value,
                    unit,
                    device,
                )
            )
        for row in rows:
            self.stager.add("s_observations", row)

    def _obs(
        self,
        rid: str,
        patient: str,
        encounter: str | None,
        org: str | None,
        when: dt.date,
        recorded: dt.datetime | None,
        system: str,
        code: str,
        term: str | None,
        value: float | None,
        unit: str | None,
        device: bool,
    ) -> tuple[Any, ...]:
        measure = vocab.MEASURES.get(code) if system in ("loinc", "snomed") else None
        return (
            rid,
            patient,
            encounter,
            org,
            when,
            recorded,
            system,
            code,
            term,
            measure,
            value,
            unit,
            device,
            *self._loc(),
        )

    def medication(self, res: Resource, key: str) -> None:
        status = res.get("status")
        if status == "entered-in-error":
            raise Skip("status entered-in-error", None)
        patient = self.subject(res)
        cc = res.get("medicationCodeableConcept")
        if cc is None:
            mref = (res.get("medicationReference") or {}).get("reference", "")
            if isinstance(mref, str) and mref.startswith("#"):
                for c in res.get("contained") or ():
                    if isinstance(c, dict) and c.get("id") == mref[1:]:
                        cc = c.get("code")
            if cc is None:
                raise Skip(
                    "medication[x] is missing or not a contained Medication",
                    "unresolved_medication",
                )
        system, code, term = self.code(cc, "medication")
        when = (
            parse_date(res.get("authoredOn"))
            or parse_date(res.get("effectiveDateTime"))
            or parse_date((res.get("effectivePeriod") or {}).get("start"))
            or parse_date(res.get("dateAsserted"))
        )
        if when is None:
            raise Skip("missing required field authoredOn/effective[x]")
        qty = ((res.get("dispenseRequest") or {}).get("quantity") or {}).get("value")
        self.stager.add(
            "s_medications",
            (
                key,
                res["resourceType"],
                patient,
                ref_id(res.get("encounter") or res.get("context")),
                None,
                when,
                system,
                code,
                term,
                float(qty) if isinstance(qty, int | float) else None,
                *self._loc(),
            ),
        )

    def care_plan(self, res: Resource, key: str) -> None:
        patient = self.subject(res)
        period = res.get("period") or {}
        start = parse_date(period.get("start")) or parse_date(res.get("created"))
        if start is None:
            raise Skip("missing required field period.start")
        cats = res.get("category") or []
        merged = {
            "coding": [c for cat in cats if isinstance(cat, dict) for c in cat.get("coding") or ()]
        }
        if cats and isinstance(cats[-1], dict) and cats[-1].get("text"):
            merged["text"] = cats[-1]["text"]
        system, code, term = self.code(merged, "care plan category")
        self.stager.add(
            "s_care_plans",
            (
                key,
                patient,
                start,
                parse_date(period.get("end")),
                system,
                code,
                term,
                _str(res.get("status")),
                *self._loc(),
            ),
        )

    def care_team(self, res: Resource, key: str) -> None:
        patient = self.subject(res)
        period = res.get("period") or {}
        start, end = parse_date(period.get("start")), parse_date(period.get("end"))
        managing = None
        for m in res.get("managingOrganization") or ():
            managing = ref_id(m)
            break
        members: list[tuple[Any, ...]] = []
        for i, p in enumerate(res.get("participant") or ()):
            if not isinstance(p, dict):
                continue
            member = ref_id(p.get("member"))
            if member is None or member == patient or _ref_type(p.get("member")) == "Patient":
                continue
            role = None
            for r in p.get("role") or ():
                role = _first_text(r)
                break
            org = ref_id(p.get("onBehalfOf")) or managing
            members.append(
                (
                    f"{key}:{i}",
                    patient,
                    role or "unspecified",
                    member,
                    org,
                    start,
                    end,
                    *self._loc(),
                )
            )
        if not members:
            raise Skip("no members other than the patient", None)
        for row in members:
            self.stager.add("s_care_team", row)

    def procedure(self, res: Resource, key: str) -> None:
        status = res.get("status")
        if status in ("entered-in-error", "not-done"):
            raise Skip(f"status {status}", None)
        patient = self.subject(res)
        system, code, term = self.code(res.get("code"), "procedure")
        when = parse_date(res.get("performedDateTime")) or parse_date(
            (res.get("performedPeriod") or {}).get("start")
        )
        if when is None:
            raise Skip("missing required field performed[x]")
        org = None
        for p in res.get("performer") or ():
            if isinstance(p, dict):
                org = ref_id(p.get("onBehalfOf"))
                if org:
                    break
        self.stager.add(
            "s_procedures",
            (
                key,
                patient,
                ref_id(res.get("encounter")),
                org,
                when,
                system,
                code,
                term,
                None,
                *self._loc(),
            ),
        )

    def immunization(self, res: Resource, key: str) -> None:
        status = res.get("status")
        if status in ("entered-in-error", "not-done"):
            raise Skip(f"status {status}", None)
        patient = self.subject(res, "patient")
        system, code, term = self.code(res.get("vaccineCode"), "vaccine")
        when = parse_date(res.get("occurrenceDateTime")) or parse_date(res.get("recorded"))
        if when is None:
            raise Skip("missing required field occurrenceDateTime")
        org = None
        for p in res.get("performer") or ():
            if isinstance(p, dict) and _ref_type(p.get("actor")) == "Organization":
                org = ref_id(p.get("actor"))
        self.stager.add(
            "s_immunisations",
            (
                key,
                patient,
                ref_id(res.get("encounter")),
                org,
                when,
                system,
                code,
                term,
                *self._loc(),
            ),
        )

    def claim(self, res: Resource, key: str) -> None:
        rtype = res["resourceType"]
        if res.get("prescription") or any(
            code == "pharmacy" for _, code, _ in _codes_of(res.get("type"))
        ):
            raise Skip("pharmacy claim: medication issues carry no cost column", None)
        money = _money(res)
        if money is None:
            raise Skip("no total amount")
        amount, currency = money
        if currency not in (None, "GBP"):
            rate = self.rates.get(str(currency))
            if rate is None:
                self.report.unmapped_code(CURRENCY_SYSTEM, str(currency))
                raise Skip(f"amount in {currency}, not GBP (no exchange rate given)", None)
            amount = round(amount * rate, 2)
        encounter = None
        for item in res.get("item") or ():
            if isinstance(item, dict):
                for e in item.get("encounter") or ():
                    encounter = ref_id(e)
                    if encounter:
                        break
            if encounter:
                break
        if encounter is None:
            raise Skip("references no encounter", None)
        self.stager.add("s_costs", (key, rtype, encounter, amount, *self._loc()))


def validation_errors(res: Resource, limit: int = 3) -> str | None:
    """What the fhir.resources R4B model says is wrong with ``res`` (off the hot path).

    Only field paths and messages are returned, never the values (no personal data).
    """
    from pydantic import ValidationError

    try:
        from fhir.resources.R4B import get_fhir_model_class

        model = get_fhir_model_class(str(res.get("resourceType")))
    except (KeyError, ValueError, ImportError):
        return None
    try:
        model.model_validate(res)
    except ValidationError as e:
        errs = e.errors()
        parts = [f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in errs[:limit]]
        more = f" (+{len(errs) - limit} more)" if len(errs) > limit else ""
        return "; ".join(parts) + more
    except (TypeError, ValueError) as e:
        return type(e).__name__
    return None


_VALUE_KEYS = frozenset(
    "value" + t
    for t in (
        "Quantity",
        "CodeableConcept",
        "String",
        "Boolean",
        "Integer",
        "Range",
        "Ratio",
        "SampledData",
        "Time",
        "DateTime",
        "Period",
        "Decimal",
    )
)


def _money(res: Resource) -> tuple[float, str | None] | None:
    """(amount, currency) of a Claim.total, ExplanationOfBenefit.total or the item nets."""
    total = res.get("total")
    if isinstance(total, dict):
        v = total.get("value")
        return (float(v), total.get("currency")) if isinstance(v, int | float) else None
    if isinstance(total, list):  # ExplanationOfBenefit.total: [{category, amount}]
        chosen = None
        for t in total:
            if not isinstance(t, dict):
                continue
            amount = t.get("amount") or {}
            v = amount.get("value")
            if not isinstance(v, int | float):
                continue
            cats = [c for _, c, _ in _codes_of(t.get("category"))]
            if "submitted" in cats:
                return float(v), amount.get("currency")
            chosen = chosen or (float(v), amount.get("currency"))
        return chosen
    nets = [(i.get("net") or {}) for i in res.get("item") or () if isinstance(i, dict)]
    nums = [float(n["value"]) for n in nets if isinstance(n.get("value"), int | float)]
    return (sum(nums), nets[0].get("currency")) if nums else None


def _value(obj: Resource, term: str | None) -> tuple[float | None, str | None, str | None]:
    q = obj.get("valueQuantity")
    if isinstance(q, dict):
        v = q.get("value")
        unit = q.get("code") or q.get("unit")
        return (
            (float(v) if isinstance(v, int | float) else None),
            (str(unit) if unit else None),
            term,
        )
    for k in ("valueInteger", "valueDecimal"):
        v = obj.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v), None, term
    cc = obj.get("valueCodeableConcept")
    if cc is not None:
        answer = _first_text(cc)
        return None, None, f"{term}: {answer}" if term and answer else term or answer
    s = obj.get("valueString")
    if isinstance(s, str):
        return None, None, f"{term}: {s}" if term else s
    b = obj.get("valueBoolean")
    if isinstance(b, bool):
        return float(b), None, term
    return None, None, term


def _str(v: Any) -> str | None:
    return None if v is None else v if isinstance(v, str) else str(v)


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _codes_of_list(v: Any) -> list[tuple[str, str, str | None]]:
    return [c for cc in _as_list(v) for c in _codes_of(cc)]


def _ref_type(ref: Any) -> str | None:
    if not isinstance(ref, dict):
        return None
    t = ref.get("type")
    if isinstance(t, str):
        return t
    r = ref.get("reference")
    if isinstance(r, str) and "/" in r and not r.startswith("urn:"):
        parts = r.split("/")
        if "_history" in parts:
            parts = parts[: parts.index("_history")]
        return parts[-2] if len(parts) >= 2 else None
    return None


# --------------------------------------------------------------------------- entry point


def import_fhir(
    paths: list[Path],
    out: Path,
    *,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    memory_limit: str = "1GB",
    rates: dict[str, float] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import FHIR R4 files/directories into the dataset directory ``out``.

    ``workers`` processes (default: one per core, at most one per file) parse and
    map whole files in parallel; the result does not depend on their number.
    """
    from careweave.errors import InputError
    from careweave.importers.writer import run_import

    files = expand_paths(paths)
    if not files:
        raise InputError(f"{', '.join(map(str, paths))}: no FHIR JSON or NDJSON files found")

    workers = max(1, min(workers if workers is not None else os.cpu_count() or 1, len(files)))

    def stage(staging: Path, report: ImportReport) -> list[str]:
        if workers == 1:
            _stage_files(files, range(len(files)), staging / "w0", report, rates, progress)
        else:
            _stage_parallel(files, staging, workers, report, rates, progress)
        return [str(f) for f in files]

    return run_import(
        "fhir",
        out,
        stage,
        overwrite=overwrite,
        memory_limit=memory_limit,
        parameters={"currency_rates": rates or {}},
    )


def _stage_files(
    files: list[Path],
    indices: Iterable[int],
    directory: Path,
    report: ImportReport,
    rates: dict[str, float] | None,
    progress: Callable[[int], None] | None,
) -> None:
    stager = Stager(directory)
    mapper = FhirMapper(stager, report, rates)
    sent = [0]  # stored bytes of the current file already passed to ``progress``

    def tick(position: int) -> None:
        if progress is not None and position > sent[0]:
            progress(position - sent[0])
            sent[0] = position

    for fileno in indices:
        path = files[fileno]
        name = str(path)
        mapper.file_name, mapper.fileno = name, fileno
        size = path.stat().st_size
        report.bytes_read += size
        sent[0] = 0
        for entry, res, full_url in iter_file(path, name, report, tick):
            mapper.entry = entry
            mapper.map(res, full_url)
        tick(size)
    stager.close()


def _worker(
    files: list[Path],
    directory: Path,
    tasks: Any,
    results: Any,
    rates: dict[str, float] | None,
) -> None:
    report = ImportReport(source="fhir")

    def next_files() -> Iterator[int]:
        while (i := tasks.get()) is not None:
            yield i

    try:
        _stage_files(
            files, next_files(), directory, report, rates, lambda n: results.put(("progress", n))
        )
    except BaseException as e:  # reported to the parent, which re-raises
        results.put(("error", f"{type(e).__name__}: {e}"))
        raise
    results.put(("done", report))


def _stage_parallel(
    files: list[Path],
    staging: Path,
    workers: int,
    report: ImportReport,
    rates: dict[str, float] | None,
    progress: Callable[[int], None] | None,
) -> None:
    """Stage ``files`` with ``workers`` forked processes, each with its own staging folder."""
    import multiprocessing as mp
    import queue

    # The workers build Arrow arrays, and pyarrow imports pandas the first time it does:
    # import both once here so that every forked worker inherits them instead of paying
    # for the import itself (the parent needs them to finalise anyway).
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    files_order = {str(f): i for i, f in enumerate(files)}
    ctx = mp.get_context("fork")
    tasks: Any = ctx.Queue()
    results: Any = ctx.Queue()
    # Largest files first, so the last file to finish is a small one.
    for i in sorted(range(len(files)), key=lambda i: -files[i].stat().st_size):
        tasks.put(i)
    for _ in range(workers):
        tasks.put(None)
    procs = [
        ctx.Process(
            target=_worker, args=(files, staging / f"w{w}", tasks, results, rates), daemon=True
        )
        for w in range(workers)
    ]
    # Objects that exist before the fork are never collected by the workers' garbage
    # collector, which would otherwise touch (and so copy) every page they live on.
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        for proc in procs:
            proc.start()
    finally:
        if frozen_before == 0:  # leave a caller's own freeze alone
            gc.unfreeze()
    done = 0
    try:
        while done < workers:
            try:
                kind, payload = results.get(timeout=1.0)
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise RuntimeError("an import worker died unexpectedly") from None
                continue
            if kind == "progress":
                if progress is not None:
                    progress(payload)
            elif kind == "done":
                report.merge(payload)
                done += 1
            else:
                raise RuntimeError(f"an import worker failed: {payload}")
        for proc in procs:
            proc.join()
        report.problems.sort(key=lambda p: (files_order.get(p.file, 0), p.entry or 0))
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
