import pytest

from careweave.dataset import codes


@pytest.mark.parametrize(
    "code",
    [
        "44054006",
        "22298006",
        "73211009",
        "38341003",
        "195967001",
        "84114007",
        "999791000000106",
        "49436004",
        "13645005",
    ],
)
def test_real_snomed_concepts_pass(code: str) -> None:
    assert codes.is_snomed(code)


@pytest.mark.parametrize("code", ["44054007", "0440546", "12345", "4405400a", ""])
def test_malformed_snomed_fails(code: str) -> None:
    assert not codes.is_snomed(code)


def test_verhoeff_round_trip() -> None:
    for body in ["4405400", "2229800", "123456789"]:
        assert codes.verhoeff_valid(body + str(codes.verhoeff_check_digit(body)))


@pytest.mark.parametrize(
    "code", ["J44.1", "J441", "I10", "I10X", "M80.08", "E11.9", "u07.1", "F03*"]
)
def test_icd10_syntax_passes(code: str) -> None:
    assert codes.is_icd10(code)


@pytest.mark.parametrize("code", ["J4", "44A", "J44.123", "", "1J44"])
def test_icd10_syntax_fails(code: str) -> None:
    assert not codes.is_icd10(code)


def test_icd10_three_char() -> None:
    assert codes.icd10_three_char(" j44.1 ") == "J44"


@pytest.mark.parametrize("code", ["4548-4", "2339-0", "8302-2", "29463-7", "39156-5"])
def test_loinc_passes(code: str) -> None:
    assert codes.is_loinc(code)


@pytest.mark.parametrize("code", ["4548-5", "4548", "abc-1"])
def test_loinc_fails(code: str) -> None:
    assert not codes.is_loinc(code)


def test_is_valid_code_dispatches_on_system() -> None:
    assert codes.is_valid_code("snomed", "44054006")
    assert codes.is_valid_code("dmd", "44054006")
    assert not codes.is_valid_code("icd10", "44054006")
    assert codes.is_valid_code("rxnorm", "860975")
    assert codes.is_valid_code("other", "anything")
    assert not codes.is_valid_code("snomed", "")
