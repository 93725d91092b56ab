"""CLI: sync from a DuckDB warehouse, events replay, users, breaches, db upgrade."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from care_world import MR_JONES, MRS_JONES
from sqlalchemy import func, select

from careweave.cli.main import main
from careweave.store.db import make_engine, session_factory
from careweave.store.models import Event, Notification, Person, Task


def warehouse(path: Path, level: int = 4, with_scores: bool = True) -> Path:
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE OR REPLACE TABLE organisations (org_id VARCHAR, org_type VARCHAR, name VARCHAR, parent_id VARCHAR)"
    )
    con.execute(
        "INSERT INTO organisations VALUES ('HB','health_board','Board',NULL),"
        "('L1','locality','North','HB'),('C1','cluster','Cluster 1','L1'),('P1','gp_practice','Riverside','C1')"
    )
    con.execute(
        """CREATE OR REPLACE TABLE people (nhs_number VARCHAR, date_of_birth DATE, sex VARCHAR,
        ethnic_group VARCHAR, small_area VARCHAR, deprivation_decile SMALLINT, practice_id VARCHAR,
        local_authority_id VARCHAR, registered_from DATE, registered_to DATE,
        care_home_resident BOOLEAN, date_of_death DATE, source_id VARCHAR)"""
    )
    con.execute(
        f"INSERT INTO people VALUES ('{MRS_JONES}','1941-05-01','female','white','E01000001',3,'P1',"
        f"'LA1','2000-01-01',NULL,false,NULL,NULL),('{MR_JONES}','1938-02-01','male','white',"
        "'E01000001',3,'P1','LA1','2000-01-01',NULL,false,NULL,NULL)"
    )
    if with_scores:
        con.execute(
            """CREATE OR REPLACE TABLE risk_scores (nhs_number VARCHAR, as_of DATE, probability DOUBLE,
            percentile DOUBLE, risk_band VARCHAR, ccm_level SMALLINT, segment VARCHAR,
            frailty_category VARCHAR, readmitter BOOLEAN, explanation VARCHAR[], model_version VARCHAR)"""
        )
        con.execute(
            f"INSERT INTO risk_scores VALUES ('{MRS_JONES}','2026-09-30',0.2,90,'high',3,'frail',"
            "'moderate',false,['age'],'m1'),"
            f"('{MRS_JONES}','2026-10-31',0.45,99.5,'very high',{level},'frail','severe',true,"
            "['2 emergency admissions','insulin-treated diabetes'],'m2')"
        )
    con.close()
    return path


def test_sync_reads_latest_score_and_resyncs_in_place(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = warehouse(tmp_path / "w.duckdb")
    assert main(["sync", "--warehouse", str(wh), "--db", store_url]) == 0
    assert "2 added, 0 updated, 1 with a risk score; 4 organisations" in capsys.readouterr().out
    engine = make_engine(store_url)
    with session_factory(engine)() as s:
        p = s.get(Person, MRS_JONES)
        assert p is not None
        assert (p.ccm_level, p.risk_band, p.locality_id, p.model_version) == (
            4,
            "very high",
            "L1",
            "m2",
        )
        assert p.risk_explanation == ["2 emergency admissions", "insulin-treated diabetes"]
        assert p.risk_as_of == dt.date(2026, 10, 31)
        q = s.get(Person, MR_JONES)
        assert q is not None and q.ccm_level is None
    with session_factory(engine)() as s, s.begin():
        q = s.get(Person, MR_JONES)
        assert q is not None
        q.date_of_death = dt.date(2026, 11, 3)  # as a death event would
    warehouse(wh, level=3)
    assert main(["sync", "--warehouse", str(wh), "--db", store_url]) == 0
    assert "0 added, 2 updated" in capsys.readouterr().out
    with session_factory(engine)() as s:
        assert s.execute(select(func.count()).select_from(Person)).scalar_one() == 2
        p = s.get(Person, MRS_JONES)
        assert p is not None and p.ccm_level == 3
        q = s.get(Person, MR_JONES)
        assert q is not None and q.date_of_death == dt.date(2026, 11, 3)
    engine.dispose()


def test_sync_bad_warehouse_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["sync", "--warehouse", str(tmp_path / "none.duckdb"), "--db", db]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "junk.duckdb").write_text("not a database")
    assert main(["sync", "--warehouse", str(tmp_path / "junk.duckdb"), "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "junk.duckdb" in err


def _team(db: str) -> None:
    """A GP and a care co-ordinator in Mrs Jones's team, made through the CLI and the store."""
    from careweave.security import auth
    from careweave.store.models import CareTeamMember

    engine = make_engine(db)
    with session_factory(engine)() as s, s.begin():
        now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        for name, role, team_role in (
            ("gp1", "clinician", "gp"),
            ("cc1", "care_coordinator", "care_coordinator"),
        ):
            u = auth.create_user(s, username=name, display_name=name, role=role, now=now)
            s.add(
                CareTeamMember(
                    nhs_number=MRS_JONES,
                    user_id=u.id,
                    team_role=team_role,
                    organisation="x",
                    added_by=u.id,
                    added_at=now,
                )
            )
    engine.dispose()


def test_events_replay_is_atomic_and_idempotent(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["sync", "--warehouse", str(warehouse(tmp_path / "w.duckdb")), "--db", store_url]) == 0
    )
    _team(store_url)
    lines = [
        {
            "nhs_number": MRS_JONES,
            "type": "admission",
            "occurred_at": "2026-11-01T10:00:00Z",
            "external_id": "a1",
        },
        {
            "nhs_number": MRS_JONES,
            "type": "discharge",
            "occurred_at": "2026-11-05T10:00:00Z",
            "external_id": "d1",
        },
    ]
    good = tmp_path / "events.jsonl"
    good.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**lines[0], "external_id": "a2"}) + "\n" + '{"nhs_number": "1"}\n')
    capsys.readouterr()
    assert main(["events", "replay", str(bad), "--db", store_url]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:2:" in err
    engine = make_engine(store_url)
    with session_factory(engine)() as s:
        assert s.execute(select(func.count()).select_from(Event)).scalar_one() == 0
    assert main(["events", "replay", str(good), "--db", store_url]) == 0
    # tasks: the admission's two discharge-planning tasks (social worker, home care), the
    # discharge's follow-up, and the package decision a discharge without one asks for
    assert "2 new, 0 already seen; 4 notifications, 4 tasks" in capsys.readouterr().out
    assert main(["events", "replay", str(good), "--db", store_url]) == 0
    assert "0 new, 2 already seen" in capsys.readouterr().out
    with session_factory(engine)() as s:
        assert s.execute(select(func.count()).select_from(Notification)).scalar_one() == 4
        tasks = s.execute(select(Task)).scalars().all()
        assert len(tasks) == 4
        # the discharge's follow-up, 48 hours after it
        assert dt.datetime(2026, 11, 7, 10, tzinfo=dt.UTC) in {t.due_at for t in tasks}
    engine.dispose()
    assert main(["audit", "verify", "--db", store_url]) == 0


def test_users_tokens_breaches_and_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["db", "upgrade", "--db", db]) == 0
    assert "10 services seeded" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", db]) == 0
    assert "0 services seeded" in capsys.readouterr().out
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a very good password\n"))
    args = [
        "users",
        "add",
        "boss",
        "--role",
        "administrator",
        "--name",
        "Boss",
        "--password-stdin",
        "--db",
        db,
    ]
    assert main(args) == 0
    assert main([*args[:3], "--role", "wizard", "--name", "W", "--no-password", "--db", db]) == 2
    assert "role: 'wizard'" in capsys.readouterr().err
    assert main(["users", "token", "boss", "--db", db]) == 0
    assert capsys.readouterr().out.startswith("cw_")
    assert main(["users", "unlock", "boss", "--db", db]) == 0
    assert main(["referrals", "check-breaches", "--at", "2026-11-01T00:00:00Z", "--db", db]) == 0
    assert "0 referral(s) newly in breach" in capsys.readouterr().out
    assert main(["referrals", "check-breaches", "--at", "yesterday", "--db", db]) == 2
    assert main(["care-config"]) == 0


def test_sync_copies_identity_when_the_warehouse_has_it(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A warehouse with CONTRACT.md's identity columns fills the people index's names,
    address and search keys; one without them (above) leaves them empty."""
    wh = warehouse(tmp_path / "w.duckdb")
    con = duckdb.connect(str(wh))
    for col, typ in (
        ("title", "VARCHAR"),
        ("given_name", "VARCHAR"),
        ("family_name", "VARCHAR"),
        ("address_line_1", "VARCHAR"),
        ("town", "VARCHAR"),
        ("postcode", "VARCHAR"),
        ("telephone", "VARCHAR"),
        ("preferred_language", "VARCHAR"),
        ("interpreter_required", "BOOLEAN"),
    ):
        con.execute(f"ALTER TABLE people ADD COLUMN {col} {typ}")
    con.execute(
        "UPDATE people SET title='Mrs', given_name='Margaret', family_name='O''Brien-Jones', "
        "address_line_1='1 Mill Lane', town='Exeter', postcode='EX1 1AA', "
        "telephone='01392 000000', preferred_language='cy', interpreter_required=true "
        f"WHERE nhs_number='{MRS_JONES}'"
    )
    con.close()
    assert main(["sync", "--warehouse", str(wh), "--db", store_url]) == 0
    capsys.readouterr()
    engine = make_engine(store_url)
    with session_factory(engine)() as s:
        p = s.get(Person, MRS_JONES)
        assert p is not None
        assert (p.title, p.given_name, p.family_name, p.postcode) == (
            "Mrs",
            "Margaret",
            "O'Brien-Jones",
            "EX1 1AA",
        )
        assert (p.given_key, p.family_key) == ("margaret", "obrienjones")
        assert p.preferred_language == "cy" and p.interpreter_required is True
        assert p.address_line_2 is None
        assert p.display_name == "O'BRIEN-JONES, Margaret (Mrs)"
        q = s.get(Person, MR_JONES)
        assert q is not None and q.family_name is None and q.display_name is None
    engine.dispose()
