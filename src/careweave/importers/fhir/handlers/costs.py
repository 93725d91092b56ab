"""FHIR Claim and ExplanationOfBenefit: the cost of an encounter, in pounds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from careweave.importers.fhir.fields import Resource, Skip, codes_of, money, ref_id
from careweave.importers.values import CURRENCY_SYSTEM, to_gbp

if TYPE_CHECKING:
    from careweave.importers.fhir.mapper import FhirMapper


def claim(m: FhirMapper, res: Resource, key: str) -> None:
    rtype = res["resourceType"]
    if res.get("prescription") or any(
        code == "pharmacy" for _, code, _ in codes_of(res.get("type"))
    ):
        raise Skip("pharmacy claim: medication issues carry no cost column", None)
    total = money(res)
    if total is None:
        raise Skip("no total amount")
    amount, currency = total
    if currency is not None:
        gbp = to_gbp(amount, str(currency), m.rates)
        if gbp is None:
            m.report.unmapped_code(CURRENCY_SYSTEM, str(currency))
            raise Skip(f"amount in {currency}, not GBP (no exchange rate given)", None)
        amount = gbp
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
    m.stager.add("s_costs", (key, rtype, encounter, amount, *m.loc()))
