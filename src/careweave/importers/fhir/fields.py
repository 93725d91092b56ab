"""Reading FHIR datatypes out of plain dicts: References, CodeableConcepts, values, money.

Also :class:`Skip`, which a resource handler raises to keep a resource raw
with a reason, and :func:`validation_errors`, which says (off the hot path)
what the R4B model finds wrong with a resource that could not be mapped.
"""

from __future__ import annotations

from typing import Any

from careweave.importers import vocab

Resource = dict[str, Any]


class Skip(Exception):
    """A resource that is kept raw with a reason, reported as a problem of ``kind``."""

    def __init__(self, reason: str, kind: str | None = "missing_field") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def skip_status(res: Resource, *statuses: str) -> str | None:
    """The resource's status; :class:`Skip` (not a problem) when it is one of ``statuses``."""
    status = res.get("status")
    if status in statuses:
        raise Skip(f"status {status}", None)
    return status if isinstance(status, str) or status is None else str(status)


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


def first_text(cc: Any) -> str | None:
    if not isinstance(cc, dict):
        return None
    text = cc.get("text")
    if text:
        return str(text)
    for c in cc.get("coding") or ():
        if isinstance(c, dict) and c.get("display"):
            return str(c["display"])
    return None


def codes_of(cc: Any) -> list[tuple[str, str, str | None]]:
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


VALUE_KEYS = frozenset(
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


def money(res: Resource) -> tuple[float, str | None] | None:
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
            cats = [c for _, c, _ in codes_of(t.get("category"))]
            if "submitted" in cats:
                return float(v), amount.get("currency")
            chosen = chosen or (float(v), amount.get("currency"))
        return chosen
    nets = [(i.get("net") or {}) for i in res.get("item") or () if isinstance(i, dict)]
    nums = [float(n["value"]) for n in nets if isinstance(n.get("value"), int | float)]
    return (sum(nums), nets[0].get("currency")) if nums else None


def value_of(obj: Resource, term: str | None) -> tuple[float | None, str | None, str | None]:
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
        answer = first_text(cc)
        return None, None, f"{term}: {answer}" if term and answer else term or answer
    s = obj.get("valueString")
    if isinstance(s, str):
        return None, None, f"{term}: {s}" if term else s
    b = obj.get("valueBoolean")
    if isinstance(b, bool):
        return float(b), None, term
    return None, None, term


def as_str(v: Any) -> str | None:
    return None if v is None else v if isinstance(v, str) else str(v)


def as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def codes_of_list(v: Any) -> list[tuple[str, str, str | None]]:
    return [c for cc in as_list(v) for c in codes_of(cc)]


def ref_type(ref: Any) -> str | None:
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
