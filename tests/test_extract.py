"""`careweave extract`: the store's episodes and care plans -> dataset directory -> `careweave
load` -> the care co-ordination measures reflect them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from sqlalchemy.orm import Session

from careweave.cli.main import main
from careweave.dataset import tables as T
from careweave.dataset.derived import RISK_SCORES
from careweave.dataset.io import Manifest, read_manifest, write_manifest, write_table
from careweave.dataset.nhs_number import synthetic_numbers
from careweave.ingest import load_dataset
from careweave.measures.catalogue import select
from careweave.measures.results import run
from careweave.store.db import make_engine, session_factory, upgrade
from careweave.store.models import (
    CarePlan,
    CarePlanVersion,
    CareTeamMember,
    Episode,
    Person,
    User,
)

D = dt.date
T0 = dt.datetime(2023, 1, 1, 9, 0, tzinfo=dt.UTC)
NHS = synthetic_numbers(4)
KPIS = (
    "case_managed_share_levels_3_4",
    "lead_professional_share_levels_3_4",
    "care_plan_share_levels_3_4",
)


def _warehouse(tmp_path: Path) -> Path:
    """Four people, loaded, all in CCM level 3 or 4 from 2023-01-01."""
    ds = tmp_path / "gp"
    for t in T.TABLES:
        if t.required and t is not T.PEOPLE:
            write_table(ds, t, t.arrow_schema.empty_table())
    people = [
        {"nhs_number": n, "date_of_birth": D(1940, 1, 1), "sex": "female", "ethnic_group": "white"}
        for n in NHS
    ]
    cols = {c.name: [p.get(c.name) for p in people] for c in T.PEOPLE.columns}
    cols["care_home_resident"] = [False] * 4
    write_table(ds, T.PEOPLE, pa.table(cols, schema=T.PEOPLE.arrow_schema))
    write_manifest(ds, Manifest("test", D(2023, 1, 1), D(2023, 12, 31)))
    wh = tmp_path / "w.duckdb"
    load_dataset(ds, wh)
    scores = [
        {
            "nhs_number": n,
            "as_of": D(2023, 1, 1),
            "probability": 0.5,
            "percentile": 99.0,
            "risk_band": "very high",
            "ccm_level": 3 + i % 2,
            "segment": "older people",
            "frailty_category": "moderate",
            "readmitter": False,
            "explanation": [],
            "model_version": "test",
        }
        for i, n in enumerate(NHS)
    ]
    con = duckdb.connect(str(wh))
    con.register("s", pa.Table.from_pylist(scores, schema=RISK_SCORES.arrow_schema))
    con.execute("CREATE TABLE risk_scores AS SELECT * FROM s")
    con.close()
    return wh


def _store(tmp_path: Path) -> str:
    """P0 case-managed from March (a case manager leads; plan written in April); P1 case-managed
    June to September by a GP; P2 has a plan and no episode; P3 is enrolled after the as-of
    date."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as s, s.begin():
        for n in NHS:
            s.add(
                Person(
                    nhs_number=n,
                    date_of_birth=D(1940, 1, 1),
                    sex="female",
                    ethnic_group="white",
                    synced_at=T0,
                )
            )
        cm = User(username="cm", display_name="CM", role="case_manager", created_at=T0)
        gp = User(username="gp", display_name="GP", role="clinician", created_at=T0)
        s.add_all([cm, gp])
        s.flush()
        s.add(_episode(NHS[0], D(2023, 3, 1), None, cm, "worklist"))
        s.add(_episode(NHS[1], D(2023, 6, 1), D(2023, 9, 30), gp, "patient page"))
        s.add(_episode(NHS[3], D(2024, 2, 1), None, cm, "worklist"))
        s.add(
            CareTeamMember(
                nhs_number=NHS[1],
                user_id=gp.id,
                team_role="gp",
                organisation="P1",
                added_by=gp.id,
                added_at=T0,
            )
        )
        _plan(s, NHS[0], dt.datetime(2023, 4, 1, 10, tzinfo=dt.UTC), cm)
        _plan(s, NHS[2], dt.datetime(2023, 2, 1, 10, tzinfo=dt.UTC), gp)
    engine.dispose()
    return url


def _episode(nhs: str, start: D, end: D | None, lead: User, source: str) -> Episode:
    return Episode(
        nhs_number=nhs,
        start_date=start,
        end_date=end,
        reason="complex needs",
        lead_professional_id=lead.id,
        source=source,
        created_by=lead.id,
        created_at=T0,
    )


def _plan(s: Session, nhs: str, at: dt.datetime, by: User) -> None:
    plan = CarePlan(nhs_number=nhs, current_version=2)
    s.add(plan)
    s.flush()
    for v in (1, 2):
        s.add(
            CarePlanVersion(
                care_plan_id=plan.id,
                version=v,
                content={"goals": []},
                changed_by=by.id,
                changed_at=at + dt.timedelta(days=30 * (v - 1)),
            )
        )


def test_extract_then_load_feeds_the_care_coordination_measures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh, url = _warehouse(tmp_path), _store(tmp_path)
    out = tmp_path / "store-extract"
    argv = ["extract", "--db", url, "--out", str(out), "--as-of", "2023-12-31"]
    assert main(argv) == 0
    assert "2 case-management episodes, 2 care plans" in capsys.readouterr().out
    m = read_manifest(out)
    assert m is not None and (m.source, m.span_start, m.span_end) == (
        "careweave-store",
        D(2023, 2, 1),
        D(2023, 12, 31),
    )
    report = load_dataset(out, wh)
    assert report.rows_quarantined == 0
    con = duckdb.connect(str(wh), read_only=True)
    eps = con.execute(
        "SELECT nhs_number, start_date, end_date, lead_professional_role, care_plan_date, "
        "enrolment_reason FROM case_management_episodes ORDER BY start_date"
    ).fetchall()
    con.close()
    assert eps == [
        (NHS[0], D(2023, 3, 1), None, "case_manager", D(2023, 4, 1), "risk_stratification"),
        (NHS[1], D(2023, 6, 1), D(2023, 9, 30), "gp", None, "clinical_judgement"),
    ]
    summary, frame = run(wh, select(list(KPIS)), ())
    k = summary["kpis"]
    # on 31 December: P0 case-managed with a lead and a plan; P2's plan; all four in levels 3-4
    assert (
        k["case_managed_share_levels_3_4"]["numerator"],
        k["case_managed_share_levels_3_4"]["denominator"],
    ) == (1, 4)
    assert k["lead_professional_share_levels_3_4"]["numerator"] == 1
    assert k["care_plan_share_levels_3_4"]["numerator"] == 2
    july = frame[(frame["interval"] == "month") & (frame["interval_end"] == "2023-07-31")]
    by = dict(zip(july["measure"], july["numerator"], strict=True))
    assert by == {
        "case_managed_share_levels_3_4": 2,
        "lead_professional_share_levels_3_4": 2,
        "care_plan_share_levels_3_4": 2,
    }
    # P0's episode closed since: a re-extract is a correction of the same key
    engine = make_engine(url)
    with session_factory(engine)() as s, s.begin():
        ep = s.query(Episode).filter(Episode.nhs_number == NHS[0]).one()
        ep.end_date = D(2023, 11, 30)
    engine.dispose()
    again = tmp_path / "store-extract-2"
    assert main([*argv[:4], str(again), "--as-of", "2023-12-31"]) == 0
    assert load_dataset(again, wh, apply_corrections=True).rows_quarantined == 0
    summary, _ = run(wh, select(list(KPIS)), ())
    assert summary["kpis"]["case_managed_share_levels_3_4"]["numerator"] == 0


def test_extract_usage_errors_name_the_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["extract", "--db", url, "--out", str(tmp_path / "x"), "--as-of", "soon"]) == 2
    assert "--as-of" in capsys.readouterr().err
    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("x")
    assert main(["extract", "--db", url, "--out", str(full)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["extract", "--db", url]) == 2
    assert "--out" in capsys.readouterr().err
