"""Maturity self-assessments (careweave.care.maturity, careweave maturity import|export|show):
versions never lose a rating, the draft -> agreed workflow, role checks, audit, and
import errors that name the file and the field."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from careweave.care import config, maturity
from careweave.care.context import Ctx
from careweave.cli.main import main
from careweave.maturity.matrices import Matrix, get_matrix
from careweave.security import audit, auth
from careweave.security.errors import Conflict, Forbidden, Invalid
from careweave.security.roles import ROLES
from careweave.store.db import make_engine, session_factory, transaction, upgrade
from careweave.store.models import (
    AuditEntry,
    MaturityAssessment,
    MaturityAssessmentVersion,
    User,
)

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 30)
CFG = config.load()
CCM = get_matrix("ccm-wales")
EDITORS = {"analyst", "administrator"}
READERS = {"clinician", "care_coordinator", "case_manager", "social_worker", "care_provider"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        for role in ROLES:
            auth.create_user(
                s, username=role.replace("_", "-"), display_name=role, role=role, now=NOW
            )
    yield url, sessions
    engine.dispose()


def _ctx(s: Session, role: str) -> Ctx:
    user = s.execute(select(User).where(User.role == role)).scalar_one()
    return Ctx(session=s, user=user, now=NOW, config=CFG)


def _r(stage: str | None, narrative: str = "", **kw: Any) -> maturity.Rating:
    return maturity.Rating(stage=stage, narrative=narrative, **kw)


def _save(
    sessions: sessionmaker[Session],
    ratings: dict[str, maturity.Rating],
    base: int | None,
    role: str = "analyst",
    matrix: Matrix = CCM,
    day: dt.date = DAY,
) -> int:
    with transaction(sessions) as s:
        return maturity.save(_ctx(s, role), matrix, "L1", day, ratings, base).version


def _versions(sessions: sessionmaker[Session]) -> dict[int, dict[str, Any]]:
    with sessions() as s:
        rows = s.execute(
            select(MaturityAssessmentVersion).order_by(MaturityAssessmentVersion.version)
        ).scalars()
        return {v.version: v.ratings for v in rows}


def test_every_save_is_a_new_version_and_no_rating_is_lost(store: Any) -> None:
    _, sessions = store
    assert _save(sessions, {"needs-assessment": _r("a", "extrapolated")}, None) == 1
    assert _save(sessions, {"needs-assessment": _r("b"), "shared-vision": _r("c")}, 1) == 2
    # A save naming one element keeps every other element's rating.
    assert _save(sessions, {"shared-vision": _r("c", "now in the LA plan")}, 2) == 3
    v = _versions(sessions)
    assert v[1] == {
        "needs-assessment": {
            "stage": "a",
            "narrative": "extrapolated",
            "evidence": [],
            "assessed_by": "",
        }
    }
    assert v[2]["needs-assessment"]["stage"] == "b"
    assert v[2]["shared-vision"]["stage"] == "c"
    assert v[3]["needs-assessment"]["stage"] == "b"
    assert v[3]["shared-vision"]["narrative"] == "now in the LA plan"
    with sessions() as s:
        a = s.execute(select(MaturityAssessment)).scalar_one()
        assert (a.current_version, a.status) == (3, "draft")
        changes = {
            x.version: x.changes for x in s.execute(select(MaturityAssessmentVersion)).scalars()
        }
    # An element given is replaced whole (here its narrative too); the others are kept.
    assert changes[2] == [
        "needs-assessment: stage a -> b",
        "needs-assessment: narrative changed",
        "shared-vision: rated c",
    ]
    assert changes[3] == ["shared-vision: narrative changed"]


def test_a_stale_or_empty_save_is_refused_and_writes_nothing(store: Any) -> None:
    _, sessions = store
    _save(sessions, {"needs-assessment": _r("a")}, None)
    _save(sessions, {"needs-assessment": _r("b")}, 1)
    with pytest.raises(Conflict, match="at version 2, not 1"):
        _save(sessions, {"needs-assessment": _r("c")}, 1)
    with pytest.raises(Conflict, match="no change"):
        _save(sessions, {"needs-assessment": _r("b")}, 2)
    assert sorted(_versions(sessions)) == [1, 2]
    assert _versions(sessions)[1]["needs-assessment"]["stage"] == "a"


def test_unknown_elements_and_stages_are_named(store: Any) -> None:
    _, sessions = store
    with pytest.raises(Invalid, match=r"ratings\.no-such: not an element of matrix ccm-wales"):
        _save(sessions, {"no-such": _r("a")}, None)
    with pytest.raises(Invalid, match=r"ratings\.shared-vision\.stage: 'd' is not a stage"):
        _save(sessions, {"shared-vision": _r("d")}, None)
    assert _versions(sessions) == {}


def test_names_only_elements_are_assessable(store: Any) -> None:
    """9.4 and 9.5 have no stage texts in seed 000; they can still be rated."""
    _, sessions = store
    _save(sessions, {"clinical-leadership": _r("b", "GP leads named"), "monitoring": _r("a")}, None)
    assert _versions(sessions)[1]["clinical-leadership"]["stage"] == "b"


def test_agreement_with_signatories_is_final(store: Any) -> None:
    _, sessions = store
    _save(sessions, {"needs-assessment": _r("a")}, None)
    signed = [maturity.Signatory(name="J Jones", role="Director of Planning", signed_on=DAY)]
    with transaction(sessions) as s, pytest.raises(Invalid, match="at least one signatory"):
        maturity.agree(_ctx(s, "analyst"), 1, [], 1)
    with transaction(sessions) as s:
        v = maturity.agree(_ctx(s, "administrator"), 1, signed, 1)
        assert (v.version, v.status) == (2, "agreed")
        assert v.signatories == [
            {"name": "J Jones", "role": "Director of Planning", "signed_on": "2026-11-30"}
        ]
    with pytest.raises(Conflict, match="agreed, so final"):
        _save(sessions, {"needs-assessment": _r("b")}, 2)
    with transaction(sessions) as s, pytest.raises(Conflict, match="already agreed"):
        maturity.agree(_ctx(s, "analyst"), 1, signed, 2)
    v = _versions(sessions)
    assert v[1] == v[2]
    assert v[2]["needs-assessment"]["stage"] == "a"


def test_change_since_the_last_agreed_assessment(store: Any) -> None:
    _, sessions = store
    _save(sessions, {"needs-assessment": _r("a")}, None, day=dt.date(2025, 11, 30))
    signed = [maturity.Signatory(name="J Jones", role="Chair", signed_on=dt.date(2025, 12, 1))]
    with transaction(sessions) as s:
        maturity.agree(_ctx(s, "analyst"), 1, signed, 1)
    _save(sessions, {"needs-assessment": _r("b")}, None)
    with sessions() as s:
        ctx = _ctx(s, "clinician")
        a, _ = maturity.get(ctx, 2)
        before = maturity.previous(ctx, a)
        assert before is not None
        assert before.ratings["needs-assessment"]["stage"] == "a"
        first, _ = maturity.get(ctx, 1)
        assert maturity.previous(ctx, first) is None


@pytest.mark.parametrize("role", ROLES)
def test_roles_commissioners_and_administrators_edit_care_team_roles_read(
    store: Any, role: str
) -> None:
    _, sessions = store
    _save(sessions, {"needs-assessment": _r("a")}, None)
    with sessions() as s:
        before_audit = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    if role in EDITORS:
        assert _save(sessions, {"needs-assessment": _r("b")}, 1, role=role) == 2
    else:
        with pytest.raises(Forbidden, match=f"role '{role}' may not write"):
            _save(sessions, {"needs-assessment": _r("b")}, 1, role=role)
        assert sorted(_versions(sessions)) == [1]
        with sessions() as s:
            refused = (
                s.execute(
                    select(AuditEntry)
                    .where(AuditEntry.action == "refused")
                    .order_by(AuditEntry.seq)
                )
                .scalars()
                .all()
            )
            assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == (
                before_audit + 1
            )
        assert refused[-1].resource == "maturity"
        assert refused[-1].actor == role.replace("_", "-")
    with sessions() as s:
        if role in EDITORS | READERS:
            a, _ = maturity.get(_ctx(s, role), 1)
            assert a.matrix_id == "ccm-wales"
        else:
            with pytest.raises(Forbidden):
                maturity.get(_ctx(s, role), 1)


def test_saves_agreements_and_exports_are_audited(store: Any) -> None:
    _, sessions = store
    _save(sessions, {"needs-assessment": _r("a")}, None)
    signed = [maturity.Signatory(name="J Jones", role="Chair", signed_on=DAY)]
    with transaction(sessions) as s:
        maturity.agree(_ctx(s, "analyst"), 1, signed, 1)
    with transaction(sessions) as s:
        doc = maturity.to_file(_ctx(s, "clinician"), 1)
    assert doc["status"] == "agreed" and doc["version"] == 2
    with sessions() as s:
        rows = s.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.resource_id)
            .where(AuditEntry.resource == "maturity_assessment")
            .order_by(AuditEntry.seq)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("analyst", "write", "1v1"),
            ("analyst", "agree", "1v2"),
            ("clinician", "export", "1v2"),
        ]
        assert audit.verify(s).intact


PAPER: dict[str, Any] = {
    "format": "careweave-maturity-assessment/1",
    "matrix": "ccm-wales",
    "org_id": "cwm-partnership",
    "assessed_on": "2025-11-30",
    "status": "agreed",
    "signatories": [{"name": "J Jones", "role": "Director of Planning", "signed_on": "2025-12-05"}],
    "ratings": {
        "needs-assessment": {
            "stage": "a",
            "narrative": "From the WAO report",
            "assessed_by": "Planning",
        },
        "clinical-leadership": {
            "stage": "b",
            "evidence": [{"text": "Board paper", "link": "https://example.org/board.pdf"}],
        },
    },
}


def _write(tmp_path: Path, doc: Any, name: str = "paper.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_import_export_show_round_trip(
    store: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = store
    path = _write(tmp_path, PAPER)
    assert main(["maturity", "import", str(path), "--as", "analyst", "--db", url]) == 0
    assert "assessment 1 (ccm-wales, cwm-partnership, 2025-11-30): version 2, agreed" in (
        capsys.readouterr().out
    )
    later = {**PAPER, "assessed_on": "2026-11-30", "status": "draft", "signatories": []}
    later["ratings"] = {"needs-assessment": {"stage": "b"}}
    assert (
        main(
            [
                "maturity",
                "import",
                str(_write(tmp_path, later, "p2.json")),
                "--as",
                "administrator",
                "--db",
                url,
            ]
        )
        == 0
    )
    capsys.readouterr()
    out = tmp_path / "out.json"
    assert main(["maturity", "export", "1", "--as", "clinician", "--db", url, "-o", str(out)]) == 0
    exported = json.loads(out.read_text())
    assert exported["ratings"]["clinical-leadership"]["evidence"] == [
        {"text": "Board paper", "link": "https://example.org/board.pdf"}
    ]
    assert exported["signatories"] == PAPER["signatories"]
    assert (exported["id"], exported["version"], exported["saved_by"]) == (1, 2, "analyst")
    capsys.readouterr()
    assert main(["maturity", "show", "2", "--as", "care-provider", "--db", url]) == 0
    shown = capsys.readouterr().out
    assert "9.1 Needs assessment: Progress in development (was Initial development)" in shown
    assert "9.4 Clinical leadership: not rated" in shown
    assert main(["maturity", "show", "2", "--json", "--as", "clinician", "--db", url]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["previous_assessment"] == 1
    needs = next(e for e in doc["elements"] if e["element"] == "needs-assessment")
    assert (needs["stage"], needs["previous_stage"]) == ("b", "a")
    assert len(doc["elements"]) == 27


BAD_FILES = [
    ("{not json", "not JSON"),
    ({**PAPER, "format": "v2"}, "format: Input should be 'careweave-maturity-assessment/1'"),
    ({k: v for k, v in PAPER.items() if k != "org_id"}, "org_id: Field required"),
    ({**PAPER, "assessed_on": "30/11/2025"}, "assessed_on: Input should be a valid date"),
    (
        {**PAPER, "matrix": "nope"},
        "matrix: no matrix 'nope' (there are: ccm-wales, integration-nine-areas)",
    ),
    (
        {**PAPER, "ratings": {"nope": {"stage": "a"}}},
        "ratings.nope: not an element of matrix ccm-wales",
    ),
    (
        {**PAPER, "ratings": {"shared-vision": {"stage": "z"}}},
        "ratings.shared-vision.stage: 'z' is not a stage of ccm-wales (a, b, c)",
    ),
    (
        {**PAPER, "ratings": {"shared-vision": {"stage": "a", "colour": "red"}}},
        "ratings.shared-vision.colour: Extra inputs are not permitted",
    ),
    (
        {**PAPER, "ratings": {"shared-vision": {"evidence": [{"link": "javascript:alert(1)"}]}}},
        "ratings.shared-vision.evidence.0.link: String should match pattern",
    ),
    (
        {**PAPER, "ratings": {"shared-vision": {"evidence": [{}]}}},
        "ratings.shared-vision.evidence.0: give the evidence's text, a link or a document",
    ),
    (
        {**PAPER, "signatories": []},
        "(top level): signatories: an agreed assessment needs at least one signatory",
    ),
]


@pytest.mark.parametrize(("doc", "message"), BAD_FILES)
def test_import_errors_name_the_file_and_field(
    store: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: Any, message: str
) -> None:
    url, sessions = store
    path = _write(tmp_path, doc)
    assert main(["maturity", "import", str(path), "--as", "analyst", "--db", url]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith(f"careweave: error: {path}: "), err
    assert message in err, err
    assert _versions(sessions) == {}


def test_import_as_a_reader_is_refused(
    store: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, sessions = store
    path = _write(tmp_path, PAPER)
    assert main(["maturity", "import", str(path), "--as", "clinician", "--db", url]) == 2
    assert "maturity: role 'clinician' may not write" in capsys.readouterr().err
    assert _versions(sessions) == {}
