"""`careweave import fhir`: Synthea bundles, UK edge cases, bad input, streaming path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from careweave.cli.main import main
from careweave.dataset.nhs_number import SURROGATE_RANGES, in_ranges
from careweave.errors import InputError
from careweave.importers.fhir import import_fhir, reading
from careweave.importers.report import REPORT_FILE
from dataset_check import check_dataset, counts

SYNTHEA = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "synthea"
if not SYNTHEA.exists():
    SYNTHEA = Path("/work/shared/fixtures/synthea")
EDGE = Path(__file__).parent / "fixtures" / "importers"

#: Rows from the two unmodified Synthea bundles (checked by hand against the bundles).
SYNTHEA_ROWS = {
    "organisations": 4,
    "people": 2,
    "primary_care_events": 38,
    "observations": 400,  # 380 Observations, BP panels split into components, 1 after death
    "medications": 53,
    "primary_care_contacts": 82,  # AMB encounters; the death certification is after death
    "hospital_spells": 53,
    "ae_attendances": 15,
    "procedures": 32,
    "immunisations": 15,
    "care_plans": 12,
    "care_team_members": 24,
    "raw_resources": 382,
}


def report_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / REPORT_FILE).read_text())
    return data


def test_synthea_bundles_map_losslessly(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    report = import_fhir([SYNTHEA / "fhir"], out)
    data = check_dataset(out)
    assert counts(data) == SYNTHEA_ROWS
    rep = report_of(out)
    assert rep["span"] == ["1932-02-18", "2023-11-27"]
    # Nothing silently dropped: every resource is mapped, kept raw or rejected.
    for rtype, c in rep["resources"].items():
        assert c["seen"] == c["mapped"] + c["kept_raw"] + c["rejected"], rtype
    assert rep["resources"]["DiagnosticReport"] == {
        "seen": 24,
        "mapped": 0,
        "kept_raw": 24,
        "rejected": 0,
    }
    # Synthea costs are US dollars: kept raw, and said so.
    assert rep["unmapped_codes"]["urn:iso:std:iso:4217"]["examples"] == ["USD"]
    assert rep["unmapped_codes"]["http://hl7.org/fhir/sid/cvx"]["count"] == 15
    assert report.problems_by_kind == {"after_death": 2}
    people = data["people"].to_pylist()
    assert {p["date_of_death"] is None for p in people} == {True, False}
    assert all(p["deprivation_decile"] is None and p["small_area"] is None for p in people)
    # The surrogate NHS numbers are in the importer's never-issued ranges and keep the source id.
    assert all(
        in_ranges(int(p["nhs_number"][:9]), SURROGATE_RANGES) and p["source_id"] for p in people
    )
    raw = data["raw_resources"].to_pylist()
    assert all(json.loads(r["content"]) for r in raw)


def test_synthea_bundles_with_exchange_rate_cost_encounters(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    import_fhir([SYNTHEA / "fhir"], out, rates={"USD": 0.8})
    data = check_dataset(out)
    spells = data["hospital_spells"].to_pylist()
    assert all(s["cost"] is not None and s["cost"] > 0 for s in spells)
    rep = report_of(out)
    # 53 pharmacy claims stay raw; 1 claim is for the death certification (after death).
    assert rep["resources"]["Claim"]["mapped"] == 150
    assert "urn:iso:std:iso:4217" not in rep["unmapped_codes"]


def test_uk_edge_cases(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    report = import_fhir([EDGE / "fhir"], out)
    data = check_dataset(out)
    people = {p["source_id"] or p["nhs_number"]: p for p in data["people"].to_pylist()}
    uk1 = people["9990001006"]  # NHS number identifier with spaces, valid
    assert uk1["practice_id"] == "W99001" and uk1["ethnic_group"] == "asian"
    assert uk1["source_id"] is None
    uk2 = people["pat-uk-2"]  # invalid NHS number -> surrogate; partial birth date
    assert uk2["nhs_number"] != "9990001015"
    assert in_ranges(int(uk2["nhs_number"][:9]), SURROGATE_RANGES)
    assert str(uk2["date_of_birth"]) == "1950-07-01" and uk2["practice_id"] == "W99001"
    assert people["9990001014"]["ethnic_group"] == "unknown"  # searchset patient

    orgs = {o["org_id"]: o["org_type"] for o in data["organisations"].to_pylist()}
    assert orgs == {
        "W99001": "gp_practice",
        "7A1": "hospital",
        "org-community": "community_provider",
    }

    spells = {s["id"]: s for s in data["hospital_spells"].to_pylist()}
    em = spells["enc-ip-em"]
    assert em["admission_method"] == "emergency"  # follows the A&E attendance
    assert em["primary_diagnosis"] == "I21.9" and em["secondary_diagnoses"] == ["E11.9"]
    assert em["discharge_destination"] == "home" and em["cost"] == 4100.0  # from the EOB
    assert spells["enc-ip-el"]["admission_method"] == "elective"
    (ae,) = data["ae_attendances"].to_pylist()
    assert ae["disposal"] == "admitted" and ae["cost"] == 312.5  # from the Claim
    (op,) = data["outpatient_appointments"].to_pylist()
    assert op["id"] == "enc-op" and op["specialty"] == "Cardiology" and op["outcome"] == "attended"
    pc = {c["id"]: c for c in data["primary_care_contacts"].to_pylist()}
    assert pc["enc-gp"]["staff_role"] == "nurse" and pc["enc-gp"]["org_id"] == "W99001"
    assert pc["enc-video"]["mode"] == "video"
    (cc,) = data["community_contacts"].to_pylist()
    assert cc["mode"] == "home_visit"
    (tele,) = data["telehealth_readings"].to_pylist()
    assert (tele["device"], tele["measure"], tele["value"]) == ("glucometer", "blood_glucose", 7.8)
    assert str(tele["recorded_at"]) == "2023-08-01 06:30:00"  # UTC
    obs = {o["id"]: o for o in data["observations"].to_pylist()}
    assert obs["obs-bp:0"]["measure"] == "systolic_bp" and obs["obs-bp:1"]["value"] == 88
    assert obs["obs-hba1c"]["measure"] == "hba1c"
    assert obs["obs-bp:0"]["org_id"] == "W99001"  # from its encounter
    (med,) = data["medications"].to_pylist()
    assert (med["code_system"], med["code"]) == ("dmd", "39732311000001104")
    events = {e["id"]: e for e in data["primary_care_events"].to_pylist()}
    assert events["cond-mi"]["code_system"] == "snomed"  # SNOMED preferred over ICD-10
    assert str(events["cond-dm"]["resolved_date"]) == "2023-01-01"

    raw = {r["id"]: r for r in data["raw_resources"].to_pylist()}
    # Mapped to allergies when dated; this one has no recordedDate or onset.
    assert raw["AllergyIntolerance/allergy-1"]["reason"].startswith(
        "missing required field recordedDate/onset[x]"
    )
    assert "PRENC" in raw["Encounter/enc-pre"]["reason"]
    assert json.loads(raw["Encounter/enc-pre"]["content"])["id"] == "enc-pre"  # kept whole
    reason = raw["Condition/cond-nosubject"]["reason"]
    assert reason.startswith("missing required field subject")
    assert "FHIR R4B validation: subject: Field required" in reason
    assert "dangling" in raw["Observation/obs-orphan#unresolved"]["reason"]

    kinds = report.problems_by_kind
    assert kinds == {
        "malformed_json": 1,  # a bad NDJSON line; the lines after it are imported
        "invalid_nhs_number": 1,
        "unmapped_code": 1,
        "missing_field": 2,  # a Condition without subject, an undated allergy
        "no_resource": 1,
        "dangling_reference": 1,
    }
    by_file = {(p.kind, Path(p.file).name, p.entry) for p in report.problems}
    assert ("malformed_json", "Observation.ndjson.gz", 4) in by_file
    assert ("dangling_reference", "uk-collection.json", 21) in by_file
    assert ("missing_field", "uk-collection.json", 17) in by_file
    assert ("no_resource", "uk-collection.json", 27) in by_file
    weights = [o for o in obs.values() if o["code"] == "29463-7"]
    assert len(weights) == 6  # all six good NDJSON lines, around the broken one


def test_truncated_bundle_keeps_entries_before_the_break(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    report = import_fhir([EDGE / "bad" / "truncated-bundle.json"], out)
    data = check_dataset(out)
    assert counts(data) == {"people": 1, "primary_care_events": 1}
    (problem,) = report.problems
    assert problem.kind in ("truncated", "malformed_json") and problem.entry == 2


def test_duplicates_across_files_are_reported_once_kept_once(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    report = import_fhir([EDGE / "dup"], out)
    data = check_dataset(out)
    assert counts(data) == {"people": 1, "primary_care_events": 1, "raw_resources": 2}
    dups = [p for p in report.problems if p.kind == "duplicate"]
    assert {(Path(p.file).name, p.entry) for p in dups} == {("b.json", 0), ("b.json", 1)}
    assert report.rejected == {"Patient": 1, "Condition": 1}
    assert report.raw["OperationOutcome"] == 2  # not keyed: both kept


def test_nothing_importable_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    code = main(["import", "fhir", str(EDGE / "bad" / "not-json.json"), "--out", str(out)])
    assert code == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err
    assert "nothing could be imported" in err and err.count("\n") == 1


def test_cli_exit_0_with_warnings_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    paths = [str(EDGE / "fhir"), str(EDGE / "bad")]
    assert main(["import", "fhir", *paths, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "warning:" in text and "Resources" in text and "Rows written" in text
    rep = report_of(out)
    assert rep["problems"]["by_kind"]["malformed_json"] >= 2
    assert (out / "manifest.json").exists()
    # A second import into the same directory needs --overwrite.
    assert main(["import", "fhir", paths[0], "--out", str(out)]) == 2
    assert main(["import", "fhir", paths[0], "--out", str(out), "--overwrite"]) == 0
    assert "malformed_json" in report_of(out)["problems"]["by_kind"]


def test_missing_input_is_one_line_exit_2(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_fhir([tmp_path / "nope.json"], tmp_path / "out")
    assert main(["import", "fhir", str(tmp_path / "nope.json"), "--out", str(tmp_path / "o")]) == 2


def test_streaming_path_matches_whole_file_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = tmp_path / "whole"
    import_fhir([SYNTHEA / "fhir"], whole)
    monkeypatch.setattr(reading, "WHOLE_FILE_LIMIT", 1024)
    streamed = tmp_path / "streamed"
    import_fhir([SYNTHEA / "fhir"], streamed)
    a, b = check_dataset(whole), check_dataset(streamed)
    assert counts(a) == counts(b)
    for name in a:
        if name != "raw_resources":
            assert (
                a[name]
                .sort_by(a[name].column_names[0])
                .equals(b[name].sort_by(b[name].column_names[0]))
            ), name


def test_fast_bundle_path_matches_general_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = tmp_path / "fast"
    one = import_fhir([SYNTHEA / "fhir"], fast)
    monkeypatch.setattr(reading, "_fast_entries", lambda data: None)
    general = tmp_path / "general"
    two = import_fhir([SYNTHEA / "fhir"], general)
    a, b = check_dataset(fast), check_dataset(general)
    for name in a:
        key = a[name].column_names[0]
        assert a[name].sort_by(key).equals(b[name].sort_by(key)), name
    assert one.as_dict()["resources"] == two.as_dict()["resources"]


def _bundle(resources: list[str], extra: str = "") -> bytes:
    entries = ",".join(
        f'{{"fullUrl":"urn:uuid:r{i}","resource":{r},"request":{{"method":"POST"}}}}'
        for i, r in enumerate(resources)
    )
    return f'{{"resourceType":"Bundle","type":"batch"{extra},"entry":[{entries}]}}'.encode()


def _encounter(i: int, extra: str = "") -> str:
    return (
        f'{{"resourceType":"Encounter","id":"e{i}","status":"finished","class":{{"code":"AMB"}},'
        f'"subject":{{"reference":"urn:uuid:r0"}},"period":{{"start":"2020-01-0{i + 1}"}}{extra}}}'
    )


_PATIENT = '{"resourceType":"Patient","id":"p","birthDate":"1970-01-01","gender":"female"}'


def test_bundle_fast_path_hands_unusual_json_to_the_general_path(tmp_path: Path) -> None:
    assert reading._fast_entries(_bundle([_PATIENT, _encounter(1)])) is not None
    # Outside the FHIR Bundle/entry structure, invalid UTF-8, numbers orjson refuses.
    assert reading._fast_entries(_bundle([_PATIENT], ',"foo":1')) is None
    assert reading._fast_entries(_bundle([_PATIENT], ',"total":1e400')) is None
    assert reading._fast_entries(_bundle([_PATIENT.replace("female", "fem\xffale")])) is not None
    assert reading._fast_entries(_bundle([_PATIENT]).replace(b"female", b"fem\xffale")) is None
    # A resource orjson refuses: the entries before it are imported, the fault reported.
    src = tmp_path / "b.json"
    src.write_bytes(_bundle([_PATIENT, _encounter(1), _encounter(2, ',"x":1e400'), _encounter(3)]))
    report = import_fhir([src], tmp_path / "ds")
    assert report.problems_by_kind == {"malformed_json": 1}
    assert report.problems[0].entry == 2
    assert check_dataset(tmp_path / "ds")["primary_care_contacts"].num_rows == 1


def test_gzip_bundle_and_ndjson_of_bundle_lines(tmp_path: Path) -> None:
    import gzip

    src = (SYNTHEA / "fhir" / "1064735-bundle.json").read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "b.json.gz").write_bytes(gzip.compress(src))
    out = tmp_path / "ds"
    import_fhir([tmp_path / "in"], out)
    people = check_dataset(out)["people"]
    assert people.num_rows == 1


def test_result_does_not_depend_on_worker_count(tmp_path: Path) -> None:
    paths = [SYNTHEA / "fhir", EDGE / "fhir", EDGE / "dup"]
    one = import_fhir(paths, tmp_path / "a", workers=1)
    two = import_fhir(paths, tmp_path / "b", workers=2)
    a, b = check_dataset(tmp_path / "a"), check_dataset(tmp_path / "b")
    for name in a:
        key = a[name].column_names[0]
        assert a[name].sort_by(key).equals(b[name].sort_by(key)), name
    assert one.as_dict()["resources"] == two.as_dict()["resources"]
    assert one.problems_by_kind == two.problems_by_kind
    assert sorted(p.as_dict().items() for p in one.problems) == sorted(
        p.as_dict().items() for p in two.problems
    )
    shutil.rmtree(tmp_path / "a")


def test_wrong_json_shapes_are_kept_raw_not_fatal(tmp_path: Path) -> None:
    lines = [
        {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1970-01-01"},
        {  # hospitalization must be an object
            "resourceType": "Encounter",
            "id": "e1",
            "class": {"code": "IMP"},
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "2020-01-01"},
            "hospitalization": "oops",
        },
        {  # second component has a malformed LOINC code: nothing of it is half-kept
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2020-01-01",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "component": [
                {
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                    "valueQuantity": {"value": 120},
                },
                {
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8462-5"}]},
                    "valueQuantity": {"value": 80},
                },
            ],
        },
        {  # a numeric id and a numeric display
            "resourceType": "Condition",
            "id": 7,
            "subject": {"reference": "Patient/p1"},
            "code": {
                "coding": [{"system": "http://snomed.info/sct", "code": "38341003", "display": 5}]
            },
            "onsetDateTime": "2020-01-01",
        },
        {
            "resourceType": "Condition",
            "id": "c2",
            "subject": {"reference": "Patient/p1"},
            "code": {
                "coding": [{"system": "http://snomed.info/sct", "code": "38341003", "display": 5}]
            },
            "onsetDateTime": "2020-01-01",
        },
    ]
    src = tmp_path / "in.ndjson"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "ds"
    report = import_fhir([src], out)
    data = check_dataset(out)
    assert counts(data) == {"people": 1, "primary_care_events": 1, "raw_resources": 3}
    assert data["primary_care_events"].column("term").to_pylist() == ["5"]
    raw = {r["id"]: r["reason"] for r in data["raw_resources"].to_pylist()}
    assert raw["Encounter/e1"].startswith("malformed resource")
    assert raw["Observation/o1"].startswith("malformed observation component code")
    assert raw[f"{src}#4"] == "missing id"
    assert report.problems_by_kind["malformed_resource"] == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_adds_up_to_the_input_size(tmp_path: Path, workers: int) -> None:
    seen: list[int] = []
    paths = [SYNTHEA / "fhir", EDGE / "fhir"]
    import_fhir(paths, tmp_path / "ds", progress=seen.append, workers=workers)
    total = sum(p.stat().st_size for p in reading.expand_paths(paths))
    assert sum(seen) == total and all(n > 0 for n in seen)
