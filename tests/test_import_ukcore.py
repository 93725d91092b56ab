"""UK Core on the way in (issue 18 item 4): references across the input, the new types.

Fixtures: tests/fixtures/importers/ukcore/ (written by make_ukcore.py), hand-made
UK Core resources for invented people with NHS numbers from the 999 test range.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from careweave.importers.fhir import import_fhir, iter_file, validation_errors
from careweave.importers.report import REPORT_FILE, ImportReport
from careweave.importers.synthea_csv import import_synthea_csv
from dataset_check import check_dataset
from test_import_synthea_csv import CSV

UKCORE = Path(__file__).parent / "fixtures" / "importers" / "ukcore"
MARY, JOHN, ALICE, BOB = "9990000018", "9990000026", "9990000034", "9990000042"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("uk") / "ds"
    import_fhir([UKCORE / "bundle.json"], out, workers=1)
    data = {name: t.to_pylist() for name, t in check_dataset(out).items()}
    data["report"] = json.loads((out / REPORT_FILE).read_text())
    return data


def _raw(data: dict[str, Any]) -> dict[str, str]:
    return {r["id"].split("/", 1)[0] + ":" + r["id"]: r["reason"] for r in data["raw_resources"]}


def test_fixtures_validate_as_fhir_r4b() -> None:
    report = ImportReport(source="test")
    files = [UKCORE / "bundle.json", *sorted((UKCORE / "export").glob("*.ndjson"))]
    resources = [res for f in files for _, res, _ in iter_file(f, str(f), report)]
    assert len(resources) > 30 and report.problem_count == 0
    for res in resources:
        assert validation_errors(res) is None, (res["resourceType"], res["id"])


def test_medication_requests_resolve_medications_in_the_same_bundle(
    bundle: dict[str, Any],
) -> None:
    meds = {m["term"]: m for m in bundle["medications"]}
    # By Type/id (the Bundle's fullUrls are urn:uuid) and by the Medication's fullUrl.
    assert meds["Amlodipine 5mg tablets"]["code"] == "319283006"
    assert meds["Furosemide 40mg tablets"]["code_system"] == "dmd"
    assert {m["nhs_number"] for m in meds.values()} == {MARY}
    reasons = [r["reason"] for r in bundle["raw_resources"]]
    assert "unresolved reference: medication med-nowhere is not a Medication in the input" in (
        reasons
    )
    problems = bundle["report"]["problems"]
    assert problems["by_kind"] == {"unresolved_medication": 1}
    mr = bundle["report"]["resources"]["MedicationRequest"]
    assert (mr["mapped"], mr["kept_raw"]) == (2, 1)


def test_ndjson_export_files_reference_each_other_by_type_and_id(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    report = import_fhir([UKCORE / "export"], out, workers=2)
    data = {name: t.to_pylist() for name, t in check_dataset(out).items()}
    (med,) = data["medications"]
    assert (med["nhs_number"], med["code"], med["org_id"]) == (BOB, "318900007", "Y01234")
    (cond,) = data["primary_care_events"]
    assert (cond["nhs_number"], cond["org_id"]) == (BOB, "Y01234")  # org from its Encounter
    (person,) = data["people"]
    assert person["practice_id"] == "Y01234"
    (allergy,) = data["allergies"]
    assert (allergy["category"], allergy["criticality"]) == ("food", "low")
    assert not data["raw_resources"]
    # Bob's NHS number is "trace required": used, and said so.
    assert report.problems_by_kind == {"unverified_nhs_number": 1}


def test_patient_identity_and_uk_core_extensions(bundle: dict[str, Any]) -> None:
    people = {p["nhs_number"]: p for p in bundle["people"]}
    mary = people[MARY]
    assert (mary["title"], mary["given_name"], mary["family_name"]) == ("Mrs", "Mary", "Jones")
    # The home address, not the old one; the phone, not the e-mail address.
    assert (mary["address_line_1"], mary["address_line_2"]) == ("12 Chapel Street", "Headingley")
    assert (mary["town"], mary["postcode"]) == ("Leeds", "LS6 3AB")
    assert mary["telephone"] == "0113 496 0000"
    assert (mary["preferred_language"], mary["interpreter_required"]) == ("cy", True)
    assert mary["ethnic_group"] == "white"  # UK Core ethnic category A
    assert mary["practice_id"] == "Y01234"  # generalPractitioner by fullUrl
    john = people[JOHN]
    assert str(john["date_of_death"]) == "2024-03-01"  # formal death notification
    assert (john["telephone"], john["interpreter_required"]) == ("07700 900123", False)
    # A death notice removed (status U) is not a death.
    assert people[ALICE]["date_of_death"] is None


def test_allergy_intolerance(bundle: dict[str, Any]) -> None:
    (allergy,) = bundle["allergies"]
    assert allergy["nhs_number"] == MARY
    assert (allergy["code_system"], allergy["code"]) == ("snomed", "91936005")
    assert (allergy["category"], allergy["criticality"], allergy["status"]) == (
        "medication",
        "high",
        "active",
    )
    assert (str(allergy["recorded_date"]), allergy["org_id"]) == ("2019-05-04", "Y01234")


def test_related_person_within_the_population(bundle: dict[str, Any]) -> None:
    rels = sorted(
        (r["nhs_number"], r["relationship"], r["related_nhs_number"])
        for r in bundle["person_relationships"]
    )
    assert rels == [(JOHN, "carer_of", MARY), (JOHN, "spouse", MARY)]
    raw = [r["reason"] for r in bundle["raw_resources"] if r["resource_type"] == "RelatedPerson"]
    assert sorted(raw) == [
        "related person not in the population (a contact: operational data, not canonical)",
        "related person without an NHS number: not a person of the population",
    ]
    rp = bundle["report"]["resources"]["RelatedPerson"]
    assert (rp["seen"], rp["mapped"], rp["kept_raw"]) == (4, 2, 2)


def test_episode_of_care_as_case_management(bundle: dict[str, Any]) -> None:
    (ep,) = bundle["case_management_episodes"]
    assert (ep["nhs_number"], str(ep["start_date"]), ep["end_date"]) == (MARY, "2024-01-15", None)
    assert (ep["lead_professional_role"], ep["org_id"]) == ("community_matron", "Y01234")
    assert ep["enrolment_reason"] == "other"
    reasons = {
        r["reason"] for r in bundle["raw_resources"] if r["resource_type"] == "EpisodeOfCare"
    }
    assert reasons == {"not a case-management episode (no canonical table for it)"}


def test_diagnostic_report_results_become_observations(bundle: dict[str, Any]) -> None:
    obs = {o["term"]: o for o in bundle["observations"]}
    hb = obs["Haemoglobin concentration"]  # contained: subject and date from the report
    assert (hb["nhs_number"], str(hb["obs_date"]), hb["value"], hb["unit"]) == (
        MARY,
        "2024-02-01",
        121.0,
        "g/L",
    )
    assert obs["White blood cell count"]["value"] == 6.1  # referenced: mapped on its own
    dr = bundle["report"]["resources"]["DiagnosticReport"]
    assert (dr["mapped"], dr["kept_raw"]) == (1, 0)
    # The contained result counts as an Observation seen and mapped.
    assert bundle["report"]["resources"]["Observation"]["mapped"] == 2


def test_dispense_care_plan_and_types_kept_raw(bundle: dict[str, Any]) -> None:
    meds = {m["term"]: m for m in bundle["medications"]}
    assert meds["Paracetamol 500mg tablets"]["quantity"] == 32  # dispensed without a request
    (plan,) = bundle["care_plans"]
    assert (plan["code_system"], plan["code"], plan["term"]) == (
        "other",
        "uncategorised",
        "Anticipatory care plan",
    )
    by_type = {r["resource_type"]: r["reason"] for r in bundle["raw_resources"]}
    for rtype in ("Flag", "ServiceRequest", "Appointment", "QuestionnaireResponse"):
        assert by_type[rtype].startswith("no canonical table"), rtype
    assert "not an issue" in by_type["MedicationAdministration"]
    assert "MedicationRequest, which is the issue" in by_type["MedicationDispense"]
    resources = bundle["report"]["resources"]
    for rtype, c in resources.items():
        assert c["seen"] == c["mapped"] + c["kept_raw"] + c["rejected"], rtype
    assert sum(c["mapped"] for c in resources.values()) == 18


def test_synthea_csv_allergies_and_identity(tmp_path: Path) -> None:
    src = tmp_path / "csv"
    shutil.copytree(CSV, src)
    patients = list(csv.DictReader((src / "patients.csv").open(newline="")))
    pid = patients[1]["Id"]
    with (src / "allergies.csv").open("a", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            [
                "2015-03-01",
                "",
                pid,
                "",
                "91936005",
                "SNOMED-CT",
                "Allergy to penicillin",
                "allergy",
                "medication",
                "",
                "",
                "SEVERE",
                "",
                "",
                "",
            ]
        )
        w.writerow(
            [
                "2012-06-01",
                "2018-01-01",
                pid,
                "",
                "91935009",
                "SNOMED-CT",
                "Allergy to peanut",
                "allergy",
                "food",
                "",
                "",
                "MILD",
                "",
                "",
                "",
            ]
        )
    out = tmp_path / "ds"
    report = import_synthea_csv(src, out)
    data = {name: t.to_pylist() for name, t in check_dataset(out).items()}
    allergies = {a["code"]: a for a in data["allergies"]}
    assert (allergies["91936005"]["criticality"], allergies["91936005"]["status"]) == (
        "high",
        "active",
    )
    assert (allergies["91935009"]["category"], allergies["91935009"]["status"]) == (
        "food",
        "resolved",
    )
    assert report.mapped["allergies"] == 2
    person = next(p for p in data["people"] if p["source_id"] == pid)
    assert (person["title"], person["given_name"], person["family_name"]) == (
        "Mr.",
        "Hai",
        "Rogahn",
    )  # Synthea's uniqueness digits (Hai304, Rogahn59) removed
    assert (person["address_line_1"], person["town"]) == ("764 Effertz Promenade", "Everett")


def test_types_the_facade_serves_without_a_canonical_home_are_kept_raw_with_why(
    tmp_path: Path,
) -> None:
    from careweave.importers.fhir.handlers.unmapped import NO_HOME

    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1940-01-01"}
    others = [
        {"resourceType": rtype, "id": f"x{i}", "subject": {"reference": "Patient/p1"}}
        for i, rtype in enumerate(NO_HOME)
    ]
    src = tmp_path / "in.ndjson"
    src.write_text("".join(json.dumps(r) + "\n" for r in [patient, *others]))
    out = tmp_path / "ds"
    report = import_fhir([src], out, workers=1)
    reasons = {
        r["resource_type"]: r["reason"] for r in check_dataset(out)["raw_resources"].to_pylist()
    }
    assert reasons == NO_HOME
    assert report.problem_count == 0  # kept raw on purpose, not a problem
    assert all(report.raw[t] == 1 and report.mapped[t] == 0 for t in NO_HOME)
