"""``careweave contacts import``: FHIR RelatedPersons who are not people of the population
become (or update) contacts in the care store; consent is never imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from careweave.care.contact_import import relationship_of
from careweave.cli.main import main
from careweave.dataset.nhs_number import synthetic_numbers
from careweave.store.db import make_engine, session_factory
from careweave.store.models import AuditEntry, Contact
from careweave.web import demo_setup

MRS, MR = "9990000018", "9990000026"
NHS = "https://fhir.nhs.uk/Id/nhs-number"


def related(rid: str, patient: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resourceType": "RelatedPerson", "id": rid, "patient": patient, **extra}


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r} for r in resources
        ],
    }


def son(phone: str, *, active: bool = True, ref: str = "Patient/p-mrs") -> dict[str, Any]:
    return related(
        "rp-son",
        {"reference": ref},
        active=active,
        name=[{"use": "usual", "given": ["Gareth"], "family": "Jones"}],
        relationship=[{"coding": [{"system": "v3-RoleCode", "code": "SON"}]}],
        telecom=[
            {"system": "phone", "value": "01558 123456"},  # a landline: not kept
            {"system": "phone", "value": phone},
            {"system": "email", "value": "gareth@example.org"},
        ],
    )


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    demo_setup(url, tmp_path / "none.duckdb")
    return url


def contacts(url: str) -> dict[str, Contact]:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        rows = {
            c.name: c for c in s.execute(select(Contact).where(Contact.nhs_number == MRS)).scalars()
        }
        s.expunge_all()
    engine.dispose()
    return rows


def test_related_people_outside_the_population_become_contacts(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outsider = next(n for n in synthetic_numbers(50) if n not in (MRS, MR))
    patient = {
        "resourceType": "Patient",
        "id": "p-mrs",
        "identifier": [{"system": NHS, "value": MRS}],
    }
    first = tmp_path / "first.json"
    first.write_text(
        json.dumps(
            bundle(
                son("07700 900456", ref="urn:uuid:Patient-p-mrs"),  # the Bundle's fullUrl
                patient,  # after the RelatedPerson that refers to it: read first anyway
                # The daughter staff already typed in: adopted, not duplicated.
                related(
                    "rp-daughter",
                    {"identifier": {"system": NHS, "value": MRS}},
                    name=[{"text": "Siân Jones (daughter, Bristol)"}],
                    relationship=[{"text": "Daughter"}],
                    telecom=[{"system": "phone", "value": "+44 7700 900123"}],
                ),
                # Mr Jones is in the population: a person link, not a contact.
                related(
                    "rp-mr",
                    {"reference": "Patient/p-mrs"},
                    identifier=[{"system": NHS, "value": MR}],
                    name=[{"text": "Thomas Jones"}],
                ),
                related("rp-noname", {"reference": "Patient/p-mrs"}),
                related(
                    "rp-elsewhere",
                    {"identifier": {"system": NHS, "value": outsider}},
                    name=[{"text": "Someone Else"}],
                ),
            )
        )
    )
    capsys.readouterr()
    assert main(["contacts", "import", str(first), "--db", store]) == 0
    out = capsys.readouterr().out
    assert "contacts: 1 added, 1 updated, 0 unchanged, 0 ended (from 5" in out
    assert "1 a person of the population" in out
    assert "1 no name" in out
    assert "1 patient not in the care store" in out
    got = contacts(store)
    assert set(got) == {"Siân Jones (daughter, Bristol)", "Gareth Jones"}
    gareth = got["Gareth Jones"]
    assert (gareth.relationship, gareth.phone, gareth.email) == (
        "son",
        "+447700900456",
        "gareth@example.org",
    )
    # No consent from FHIR: nothing is sent to him until staff record what he agreed to.
    assert (gareth.by_email, gareth.by_sms, gareth.topics) == (False, False, [])
    assert gareth.source_ref == "RelatedPerson/rp-son"
    sian = got["Siân Jones (daughter, Bristol)"]
    assert sian.source_ref == "RelatedPerson/rp-daughter"
    assert sian.by_sms and sian.topics  # the consent staff recorded is kept
    assert sian.relationship == "daughter"

    # Re-import: unchanged is unchanged; a new number updates him; inactive ends him.
    assert main(["contacts", "import", str(first), "--db", store]) == 0
    assert "0 added, 0 updated, 2 unchanged" in capsys.readouterr().out
    second = tmp_path / "second.ndjson"
    second.write_text(json.dumps(patient) + "\n" + json.dumps(son("07700 900789")) + "\n")
    assert main(["contacts", "import", str(second), "--db", store]) == 0
    assert "0 added, 1 updated" in capsys.readouterr().out
    assert contacts(store)["Gareth Jones"].phone == "+447700900789"
    third = tmp_path / "third.ndjson"
    third.write_text(json.dumps(patient) + "\n" + json.dumps(son("07700 900789", active=False)))
    assert main(["contacts", "import", str(third), "--db", store]) == 0
    assert "1 ended" in capsys.readouterr().out
    assert contacts(store)["Gareth Jones"].ended_at is not None
    assert main(["contacts", "import", str(second), "--db", store]) == 0  # left ended
    assert "1 ended in Careweave: left ended" in capsys.readouterr().out
    engine = make_engine(store)
    with session_factory(engine)() as s:
        details = (
            s.execute(
                select(AuditEntry.detail).where(
                    AuditEntry.resource == "contact", AuditEntry.actor == "system"
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert any("imported from RelatedPerson/rp-son" in (d or "") for d in details)


def test_a_bad_file_is_one_line_and_writes_nothing(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.ndjson"
    patient = {
        "resourceType": "Patient",
        "id": "p-mrs",
        "identifier": [{"system": NHS, "value": MRS}],
    }
    bad.write_text(json.dumps(patient) + "\n" + json.dumps(son("07700 900456")) + "\n{not json\n")
    before = len(contacts(store))
    capsys.readouterr()
    assert main(["contacts", "import", str(bad), "--db", store]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.ndjson:3" in err and "no contact was written" in err
    assert len(contacts(store)) == before
    assert main(["contacts", "import", str(tmp_path / "missing.json"), "--db", store]) == 2
    assert "missing.json: no such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("codings", "expected"),
    [
        ([{"coding": [{"code": "DAU"}]}], "daughter"),
        ([{"coding": [{"code": "GRNDSON"}]}], "grandchild"),
        ([{"coding": [{"code": "NBOR"}]}], "neighbour"),
        (
            [{"coding": [{"code": "C", "display": "Emergency contact"}]}, {"text": "Sister"}],
            "sibling",
        ),
        ([{"text": "Granddaughter"}], "grandchild"),
        ([{"coding": [{"code": "ZZZ"}]}], "other"),
        (None, "other"),
    ],
)
def test_relationship_codes_and_words(codings: Any, expected: str) -> None:
    assert relationship_of(codings) == expected
