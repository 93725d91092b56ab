from __future__ import annotations

import pytest

from careweave.dataset.codes import is_snomed
from careweave.dataset.registers import icd10_matches, load_registers, parse_registers, register

REFERENCE_REGISTERS = {
    "hypertension",
    "depression",
    "obesity",
    "diabetes",
    "asthma",
    "ckd",
    "cancer",
    "chd",
    "atrial_fibrillation",
    "copd",
    "stroke_tia",
    "heart_failure",
    "smi",
    "epilepsy",
    "rheumatoid_arthritis",
    "dementia",
    "pad",
    "learning_disability",
    "palliative_care",
}


def test_the_nineteen_registers() -> None:
    regs = load_registers()
    assert {r.name for r in regs} == REFERENCE_REGISTERS
    for r in regs:
        assert r.snomed_codes and all(is_snomed(c) for c in r.snomed_codes)
        assert 0 < r.reference_prevalence < 0.2
        assert r.source
    assert register("depression").denominator_min_age == 18
    assert register("asthma").register_min_age == 6
    rule = register("obesity").observation_rule
    assert rule is not None and (rule.measure, rule.op, rule.value, rule.within_days) == (
        "bmi",
        ">=",
        30.0,
        365,
    )
    assert icd10_matches(register("copd"), "J44.1")
    assert not icd10_matches(register("copd"), "J45.9")


def test_bad_register_file() -> None:
    header = (
        "register,label,snomed_codes,icd10_codes,register_min_age,denominator_min_age,"
        "observation_rule,reference_prevalence,source\n"
    )
    with pytest.raises(ValueError, match="SNOMED"):
        parse_registers(header + "x,X,12345,I10,0,0,,0.1,test\n")
    with pytest.raises(ValueError, match="observation_rule"):
        parse_registers(header + "x,X,38341003,I10,0,0,bmi about 30,0.1,test\n")
