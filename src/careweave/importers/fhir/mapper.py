"""The FHIR mapper: one handler per resource type, dispatched from a table.

:class:`FhirMapper` holds what every handler needs (the stager, the report,
the exchange rates, where in which file the current entry is) and the shared
steps: choosing a resource's key, picking the preferred coding, reading the
subject, keeping a resource raw. The handlers themselves are small module-level
functions in :mod:`careweave.importers.fhir.handlers`, one per resource type,
listed in :data:`~careweave.importers.fhir.handlers.HANDLERS`. The mapping is
documented in docs/import-mapping.md.
"""

from __future__ import annotations

from typing import Any

import orjson

from careweave.importers import vocab
from careweave.importers.fhir.fields import (
    Resource,
    Skip,
    codes_of,
    first_text,
    ref_id,
    validation_errors,
)
from careweave.importers.fhir.handlers import HANDLERS
from careweave.importers.report import ImportReport
from careweave.importers.staging import Stager, StagingMapper
from careweave.importers.values import classify


class FhirMapper(StagingMapper):
    """Maps FHIR resources (dicts) to staging rows; see docs/import-mapping.md."""

    def __init__(
        self, stager: Stager, report: ImportReport, rates: dict[str, float] | None = None
    ) -> None:
        super().__init__(stager, report, rates)
        self._codes: dict[tuple[Any, Any], tuple[str, str, str]] = {}

    # -- driver

    def map(self, res: Resource, full_url: str | None) -> None:
        rtype = res.get("resourceType")
        if not isinstance(rtype, str):
            self.report.seen["(no resourceType)"] += 1
            self._raw(res, "(no resourceType)", "missing resourceType", "missing_field")
            return
        self.report.seen[rtype] += 1
        rid = res.get("id")
        key = (
            full_url[9:] if isinstance(full_url, str) and full_url.startswith("urn:uuid:") else None
        )
        if key is None:
            key = rid if isinstance(rid, str) else None
        handler = HANDLERS.get(rtype)
        if handler is None:
            self._raw(res, rtype, "resource type not mapped", None, key)
            return
        if not isinstance(key, str) or not key:
            self._raw(res, rtype, "missing id", "missing_field")
            return
        try:
            handler(self, res, key)
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
            if rid != key and isinstance(rid, str) and rid:
                # Known by its urn:uuid here; ``Type/id`` references elsewhere use its id.
                self.stager.add("s_aliases", (rid, key, self.fileno, self.entry))

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
                        hit = self._codes[key] = classify(uri, raw_code)
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
        codes = codes_of(cc)
        if not codes:
            raise Skip(f"no {what} code")
        term = first_text(cc)
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
