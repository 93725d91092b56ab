"""FHIR activity resources: Encounter, Condition, Procedure, Immunization."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from careweave.importers import vocab
from careweave.importers.fhir.fields import (
    Resource,
    Skip,
    as_list,
    as_str,
    codes_of,
    first_text,
    ref_id,
    ref_type,
    skip_status,
)
from careweave.importers.values import parse_date, parse_ts

if TYPE_CHECKING:
    from careweave.importers.fhir.mapper import FhirMapper


def encounter(m: FhirMapper, res: Resource, key: str) -> None:
    status = skip_status(res, "entered-in-error")
    patient = m.subject(res)
    cls = res.get("class")
    if isinstance(cls, list):  # R5 shape: list of CodeableConcept
        cls = (cls[0].get("coding") or [{}])[0] if cls and isinstance(cls[0], dict) else None
    code = cls.get("code") if isinstance(cls, dict) else None
    kind = vocab.ENCOUNTER_CLASS.get(str(code)) if code else None
    if kind is None:
        if code is None:
            raise Skip("missing required field class")
        m.report.unmapped_code(
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
    for _, pcode, _ in codes_of(res.get("priority")):
        emergency = emergency or pcode in ("EM", "UR", "S", "emergency")
    hosp = res.get("hospitalization") or {}
    for _, acode, _ in codes_of(hosp.get("admitSource")):
        emergency = emergency or acode in ("emd", "mp")
    for ext in res.get("extension") or ():
        if isinstance(ext, dict) and "AdmissionMethod" in str(ext.get("url", "")):
            for _, mcode, _ in codes_of(ext.get("valueCodeableConcept")):
                emergency = emergency or mcode.startswith("2")
                maternity = maternity or mcode.startswith("3")
    discharge = None
    for _, dcode, _ in codes_of(hosp.get("dischargeDisposition")):
        discharge = vocab.DISCHARGE.get(dcode, "other")
    specialty = None
    for st in as_list(res.get("serviceType")):
        specialty = first_text(st)
        break
    practitioner = None
    for p in res.get("participant") or ():
        if isinstance(p, dict):
            practitioner = ref_id(p.get("individual"))
            if practitioner:
                break
    m.stager.add(
        "s_encounters",
        (
            key,
            patient,
            kind,
            as_str(status),
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
            detail(res),
            *m.loc(),
        ),
    )


def detail(res: Resource) -> str | None:
    """JSON of what an Encounter says beyond the staged fields: the Careweave
    encounter-detail values (checked against the canonical vocabulary; the source
    ``table`` decides the canonical table written), the ICD-10
    codes of ``reasonCode`` in order (spell diagnoses when no Condition is linked) and
    the discharge-ready date; None when it says none of these."""
    out: dict[str, object] = {}
    for ext in res.get("extension") or ():
        if not isinstance(ext, dict):
            continue
        if ext.get("url") == vocab.ENCOUNTER_DETAIL:
            for sub in ext.get("extension") or ():
                if not isinstance(sub, dict):
                    continue
                name, value = sub.get("url"), sub.get("valueCode")
                allowed = vocab.ENCOUNTER_DETAIL_VALUES.get(str(name))
                if allowed is not None and value in allowed:
                    out[str(name)] = value
                number = sub.get("valueDecimal")
                if (
                    name in vocab.ENCOUNTER_DETAIL_DECIMALS
                    and isinstance(number, int | float)
                    and not isinstance(number, bool)
                    and number >= 0
                ):
                    out[str(name)] = float(number)
        elif ext.get("url") == vocab.DISCHARGE_READY_DATE:
            ready = parse_date(ext.get("valueDate"))
            if ready is not None:
                out["discharge_ready_date"] = ready.isoformat()
    diagnoses = []
    for cc in as_list(res.get("reasonCode")):
        for uri, c, _ in codes_of(cc):
            if vocab.SYSTEMS.get(uri) == "icd10":
                from careweave.dataset.codes import normalise_icd10

                c = normalise_icd10(c)
                if vocab.code_ok("icd10", c):
                    diagnoses.append(c)
    if diagnoses:
        out["diagnoses"] = diagnoses
    return orjson.dumps(out).decode() if out else None


def condition(m: FhirMapper, res: Resource, key: str) -> None:
    for _, vcode, _ in codes_of(res.get("verificationStatus")):
        if vcode in ("entered-in-error", "refuted"):
            raise Skip(f"verification status {vcode}", None)
    patient = m.subject(res)
    system, code, term = m.code(res.get("code"), "condition")
    onset = res.get("onsetDateTime") or (res.get("onsetPeriod") or {}).get("start")
    when = parse_date(onset) or parse_date(res.get("recordedDate"))
    if when is None:
        raise Skip("missing required field onset[x]/recordedDate")
    abate = res.get("abatementDateTime") or (res.get("abatementPeriod") or {}).get("end")
    icd10 = None
    for uri, c, _ in codes_of(res.get("code")):
        if vocab.SYSTEMS.get(uri) == "icd10":
            from careweave.dataset.codes import normalise_icd10

            c = normalise_icd10(c)
            if vocab.code_ok("icd10", c):
                icd10 = c
                break
    m.stager.add(
        "s_conditions",
        (
            key,
            patient,
            ref_id(res.get("encounter")),
            ref_id(res.get("asserter"))
            if ref_type(res.get("asserter")) == "Organization"
            else None,
            when,
            parse_date(abate),
            system,
            code,
            term,
            icd10,
            *m.loc(),
        ),
    )


def procedure(m: FhirMapper, res: Resource, key: str) -> None:
    skip_status(res, "entered-in-error", "not-done")
    patient = m.subject(res)
    system, code, term = m.code(res.get("code"), "procedure")
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
    enc = ref_id(res.get("encounter"))
    row = (key, patient, enc, org, when, system, code, term, None, *m.loc())
    m.stager.add("s_procedures", row)


def immunization(m: FhirMapper, res: Resource, key: str) -> None:
    skip_status(res, "entered-in-error", "not-done")
    patient = m.subject(res, "patient")
    system, code, term = m.code(res.get("vaccineCode"), "vaccine")
    when = parse_date(res.get("occurrenceDateTime")) or parse_date(res.get("recorded"))
    if when is None:
        raise Skip("missing required field occurrenceDateTime")
    org = None
    for p in res.get("performer") or ():
        if isinstance(p, dict) and ref_type(p.get("actor")) == "Organization":
            org = ref_id(p.get("actor"))
    enc = ref_id(res.get("encounter"))
    m.stager.add("s_immunisations", (key, patient, enc, org, when, system, code, term, *m.loc()))
