"""Evidence from the data for the maturity matrices (careweave.web.maturity_evidence): each
fact and suggested stage against a small warehouse and store where the answer is known."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from careweave.cli.main import main
from careweave.measures.results import RUNS_TABLE, write
from careweave.security import auth
from careweave.store.db import make_engine, session_factory, transaction, upgrade
from careweave.store.models import (
    Assessment,
    AuditEntry,
    BreakGlass,
    Objection,
    Organisation,
    Person,
)
from careweave.web import maturity_evidence as ev

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
RUNS = (dt.date(2026, 6, 1), dt.date(2026, 11, 1))
MONTHS = [dt.date(2025 + (m // 12), m % 12 + 1, 1) for m in range(20)]
# Twelve flat months, then eight each higher than the last: special cause, improving.
LOWER = [0.90, 0.91, 0.89, 0.90, 0.91, 0.90, 0.89, 0.90, 0.91, 0.90, 0.89, 0.90]
LOWER += [0.905, 0.91, 0.915, 0.92, 0.925, 0.93, 0.935, 0.94]
NEEDS = ("dementia", "serious mental illness", "learning disability", "frail", "end of life")
# (nhs, practice, level at the latest run, need)
PEOPLE: list[tuple[str, str, int, str]] = (
    [(f"90000000{i:02d}", "GP1", 1, "mostly healthy") for i in range(10)]
    + [(f"90000001{i:02d}", "GP1", 2, "one long-term condition") for i in range(3)]
    + [(f"90000002{i:02d}", "GP1", 3, "2+ long-term conditions") for i in range(2)]
    + [(f"90000003{i:02d}", "GP1", 4, NEEDS[i]) for i in range(5)]
    + [(f"90000004{i:02d}", "GP2", 1, "mostly healthy") for i in range(4)]
)


def _month_end(d: dt.date) -> dt.date:
    return dt.date(d.year + d.month // 12, d.month % 12 + 1, 1) - dt.timedelta(days=1)


def _row(measure: str, d: dt.date, by: str, value: str, num: float, den: float) -> dict[str, Any]:
    return {
        "measure": measure,
        "interval": "month",
        "interval_start": d,
        "interval_end": _month_end(d),
        "group_by": by,
        "group_value": value,
        "numerator": float(num),
        "denominator": float(den),
        "value": num / den,
        "ci_lower": None,
        "ci_upper": None,
        "unit": "fraction",
        "engine": "duckdb",
        "definition_version": "test",
        "computed_at": pd.Timestamp("2026-10-01"),
    }


def make_warehouse(path: Path, locality: str = "LOC1") -> Path:
    """The planted warehouse (its first locality called ``locality``)."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE organisations (org_id VARCHAR, org_type VARCHAR, name VARCHAR, parent_id VARCHAR)"
    )
    con.execute(
        f"INSERT INTO organisations VALUES ('{locality}', 'locality', 'North', NULL), "
        f"('CL1', 'cluster', 'North cluster', '{locality}'), ('GP1', 'gp_practice', 'One', 'CL1'), "
        "('LOC2', 'locality', 'South', NULL), ('CL2', 'cluster', 'South cluster', 'LOC2'), "
        "('GP2', 'gp_practice', 'Two', 'CL2')"
    )
    con.execute("CREATE TABLE people (nhs_number VARCHAR, practice_id VARCHAR)")
    con.executemany("INSERT INTO people VALUES (?, ?)", [(n, p) for n, p, _, _ in PEOPLE])
    con.execute(
        "CREATE TABLE risk_scores (nhs_number VARCHAR, as_of DATE, ccm_level SMALLINT, segment VARCHAR)"
    )
    for n, _, level, need in PEOPLE:
        con.execute(
            "INSERT INTO risk_scores VALUES (?, ?, 1, '65-74 / mostly healthy')", [n, RUNS[0]]
        )
        con.execute(
            "INSERT INTO risk_scores VALUES (?, ?, ?, ?)", [n, RUNS[1], level, f"65-74 / {need}"]
        )
    con.execute("CREATE TABLE hospital_spells (nhs_number VARCHAR)")
    con.execute("INSERT INTO hospital_spells VALUES ('9000000000')")
    con.execute("CREATE TABLE primary_care_contacts (nhs_number VARCHAR)")
    con.execute("INSERT INTO primary_care_contacts VALUES ('9000000000')")
    con.execute("CREATE TABLE medications (nhs_number VARCHAR)")  # present, no rows
    con.close()
    rows = [
        _row("lower_levels_share", d, "all", "all", v * 1000, 1000)
        for d, v in zip(MONTHS, LOWER, strict=True)
    ]
    rows += [_row("case_managed_share_level_4", MONTHS[-1], "all", "all", 45, 50)]
    # The locality's level 4: 3 of 4, a count below 8, so suppressed.
    rows += [_row("case_managed_share_level_4", MONTHS[-1], "locality", locality, 3, 4)]
    frame = pd.DataFrame(rows)
    write(path, frame, ["lower_levels_share", "case_managed_share_level_4"], ("all", "locality"))
    # A second run 30 days later (the run log keeps both).
    frame["computed_at"] = pd.Timestamp("2026-10-31")
    write(path, frame, ["lower_levels_share", "case_managed_share_level_4"], ("all", "locality"))
    return path


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, sessionmaker[Session], Path]]:
    tmp = tmp_path_factory.mktemp("evidence")
    url = f"sqlite:///{tmp / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        nurse = auth.create_user(
            s, username="nurse", display_name="N", role="case_manager", now=NOW
        )
        s.add(Organisation(org_id="LOC1", org_type="locality", name="North", parent_id=None))
        for n, practice, level, _ in PEOPLE:
            s.add(
                Person(
                    nhs_number=n,
                    date_of_birth=dt.date(1950, 1, 1),
                    sex="female",
                    ethnic_group="A",
                    practice_id=practice,
                    locality_id="LOC1" if practice == "GP1" else "LOC2",
                    ccm_level=level,
                    synced_at=NOW,
                )
            )
        s.flush()
        # Unified assessments this year: one person at each level in LOC1; LOC2 none.
        for n in ("9000000000", "9000000100", "9000000200", "9000000300"):
            s.add(
                Assessment(
                    nhs_number=n,
                    template_id="health",
                    template_version=1,
                    answers={},
                    recorded_by=nurse.id,
                    recorded_at=NOW - dt.timedelta(days=30),
                )
            )
        # ...and one two years ago, which does not count.
        s.add(
            Assessment(
                nhs_number="9000000400",
                template_id="health",
                template_version=1,
                answers={},
                recorded_by=nurse.id,
                recorded_at=NOW - dt.timedelta(days=700),
            )
        )
        s.add(
            Objection(
                nhs_number="9000000001", kind="sharing", recorded_by=nurse.id, recorded_at=NOW
            )
        )
        s.add(
            Objection(
                nhs_number="9000000002",
                kind="secondary_use",
                recorded_by=nurse.id,
                recorded_at=NOW,
                withdrawn_at=NOW,
            )
        )
        s.add(
            BreakGlass(
                user_id=nurse.id,
                nhs_number="9000000003",
                reason="collapsed at home",
                granted_at=NOW - dt.timedelta(days=3),
                expires_at=NOW,
            )
        )
    assert main(["audit", "verify", "--db", url, "--record"]) == 0
    warehouse = make_warehouse(tmp / "warehouse.duckdb")
    yield url, sessions, warehouse
    engine.dispose()


def _facts(world: Any, org_id: str = "board") -> tuple[ev.Scope, ev.Facts]:
    _, sessions, warehouse = world
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        with sessions() as s:
            return ev.gather(s, con, org_id, NOW)
    finally:
        con.close()


def test_stratification_at_all_four_levels_and_when_it_ran(world: Any) -> None:
    scope, f = _facts(world)
    s = f["stratification"]
    assert scope.locality is None
    assert s.available and s.data["all_levels"]
    assert s.data["runs"] == list(RUNS) and s.data["age_days"] == 29
    assert s.data["levels"] == {1: 14, 2: 3, 3: 2, 4: 5}
    shown = dict(s.figures)
    assert shown["Level 1"] == "15" and shown["Level 4"] == "<8"  # disclosure control
    assert "as of 1 Nov 2026" in shown["Latest run"]


def test_locality_scope_counts_only_its_people(world: Any) -> None:
    scope, f = _facts(world, "LOC1")
    assert scope.locality == "LOC1"
    assert f["stratification"].data["levels"] == {1: 10, 2: 3, 3: 2, 4: 5}
    assert f["unified-assessment"].data["levels"] == [1, 2, 3, 4]
    # LOC2 is not a locality the store knows: everyone
    assert _facts(world, "LOC2")[0].locality is None


def test_lower_levels_trend_has_its_spc_verdict(world: Any) -> None:
    lower = _facts(world)[1]["lower-levels"]
    assert lower.available and lower.data["months"] == 20
    assert lower.data["improving"] and lower.data["variation"] == "special_cause_improving_high"
    assert "94.0% in levels 1-2 in August 2026" in lower.summary


def test_level_4_case_managed_share_and_its_suppression(world: Any) -> None:
    cm = _facts(world)[1]["level-4-case-managed"]
    assert cm.available and cm.data["share"] == pytest.approx(0.9)
    local = _facts(world, "LOC1")[1]["level-4-case-managed"]
    assert not local.available and "a count below 8" in local.summary


def test_unified_assessment_by_level_in_the_last_year(world: Any) -> None:
    u = _facts(world)[1]["unified-assessment"]
    assert u.data["assessed"] == {1: 1, 2: 1, 3: 1, 4: 1}  # the old one left out
    assert dict(u.figures)["Level 1"] == "<8 of 15"


def test_information_governance(world: Any) -> None:
    ig = _facts(world)[1]["information-governance"]
    shown = dict(ig.figures)
    assert ig.data["intact"] is True
    assert shown["Audit chain"].startswith("Intact when verified on")
    assert shown["Break-glass in the last 12 months"] == "1 (1 not yet reviewed)"
    assert shown["Objections honoured"] == "sharing <8"  # the withdrawn one is not counted


def test_measures_refresh_from_the_run_log(world: Any) -> None:
    m = _facts(world)[1]["measures-refresh"]
    assert m.data["runs"] == 2 and m.data["median_days"] == pytest.approx(30.0)
    assert RUNS_TABLE in m.source


def test_settings_segments_and_the_not_yet_available(world: Any) -> None:
    f = _facts(world)[1]
    assert f["settings"].data["present"] == ["acute", "primary care"]  # medications: no rows
    assert f["segments"].data["severe"] == list(NEEDS)
    for key, words in (
        ("needs-report", "Not available"),
        ("evaluation", "No evaluation result stored"),
    ):
        assert not f[key].available and words in f[key].summary


def test_suggested_stages(world: Any) -> None:
    ccm = ev.suggestions("ccm-wales", _facts(world)[1])
    assert ccm["needs-assessment"].stage == "c"
    assert ccm["basis-for-model"].stage == "b"
    assert ccm["evaluation-outcomes"].stage is None  # the seed gives no stage texts
    nine = ev.suggestions("integration-nine-areas", _facts(world)[1])
    assert nine["population-addressed"].stage == "embedded"
    assert nine["spend-included"].stage == "implementing"  # two of six settings
    assert nine["information-governance"].stage == "well-developed"
    assert nine["performance"].stage == "well-developed"  # every 30 days
    assert nine["degree-of-impact"].stage is None and nine["payment"].stage is None
    # The locality's level 4 share is suppressed, so c is not suggested, and it says why.
    local = ev.suggestions("ccm-wales", _facts(world, "LOC1")[1])["needs-assessment"]
    assert local.stage == "b" and "80% of level 4 case-managed" in local.reason


def test_no_warehouse_says_so_and_suggests_nothing_from_it(world: Any) -> None:
    _, sessions, _ = world
    with sessions() as s:
        _, out = ev.for_assessment(s, None, "integration-nine-areas", "board", NOW)
        _, ccm = ev.for_assessment(s, None, "ccm-wales", "board", NOW)
    assert out["spend-included"].stage is None
    assert not out["spend-included"].facts[0].available
    assert ccm["needs-assessment"].stage is None
    assert ccm["basis-for-model"].stage == "b"  # from the store alone


def test_an_empty_warehouse_suggests_the_first_stage(tmp_path: Path, world: Any) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    _, sessions, _ = world
    con = duckdb.connect(str(path), read_only=True)
    try:
        with sessions() as s:
            _, ccm = ev.for_assessment(s, con, "ccm-wales", "board", NOW)
            _, nine = ev.for_assessment(s, con, "integration-nine-areas", "board", NOW)
    finally:
        con.close()
    assert ccm["needs-assessment"].stage == "a"
    assert nine["performance"].stage == "small-start"
    assert nine["spend-included"].stage is None


def test_the_grid_page_and_the_cli_show_the_evidence(
    world: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The assessment page's "From the data" column and `careweave maturity evidence`."""
    import json

    from fastapi.testclient import TestClient
    from web_helpers import sign_in

    from careweave.care import config, maturity
    from careweave.care.context import Ctx
    from careweave.maturity.matrices import get_matrix
    from careweave.server import build_app
    from careweave.settings import Settings

    url, sessions, warehouse = world
    with transaction(sessions) as s:
        user = auth.create_user(
            s, username="comm", display_name="C", role="analyst", now=NOW, password="Pa55word-long!"
        )
        ctx = Ctx(session=s, user=user, now=NOW, config=config.load())
        rating = maturity.Rating(stage="b", narrative="Monthly stratification")
        v = maturity.save(
            ctx, get_matrix("ccm-wales"), "LOC1", NOW.date(), {"needs-assessment": rating}, None
        )
        aid = v.assessment_id
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="e" * 32)
    )
    client = TestClient(app)
    sign_in(client, "comm", "Pa55word-long!")
    page = client.get(f"/app/maturity/{aid}").text
    row = page[page.index(">Needs assessment<") : page.index(">Baseline review of local services<")]
    assert "Suggests <strong>Progress in development</strong>" in row
    assert "at least 80% of level 4 case-managed" in row  # the locality's share is suppressed
    assert "For North (LOC1)" in page
    assert (
        main(
            [
                "maturity",
                "evidence",
                str(aid),
                "--as",
                "comm",
                "--db",
                url,
                "--warehouse",
                str(warehouse),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["elements"]["needs-assessment"]["suggested_stage"] == "b"
    assert out["elements"]["needs-assessment"]["rated_stage"] == "b"
    assert out["scope"] == "North (LOC1)"


def test_the_assessment_as_a_pdf(world: Any, tmp_path: Path) -> None:
    """The page's PDF download and `careweave maturity export --pdf`, read back as text: the
    stage chosen, the change, the evidence and the data's figures (suppressed as on the page)."""
    import io

    import pypdf
    from fastapi.testclient import TestClient
    from web_helpers import sign_in

    from careweave.care import config, maturity
    from careweave.care.context import Ctx
    from careweave.maturity.matrices import get_matrix
    from careweave.server import build_app
    from careweave.settings import Settings
    from careweave.store.models import User

    url, sessions, warehouse = world
    nine = get_matrix("integration-nine-areas")
    with transaction(sessions) as s:
        user = auth.create_user(
            s,
            username="pdfcomm",
            display_name="P",
            role="analyst",
            now=NOW,
            password="Pa55word-long!",
        )
        ctx = Ctx(session=s, user=user, now=NOW, config=config.load())
        first = maturity.Rating(stage="small-start")
        v = maturity.save(ctx, nine, "LOC1", dt.date(2025, 11, 1), {"spend-included": first}, None)
        maturity.agree(
            ctx,
            v.assessment_id,
            [maturity.Signatory(name="Chair", role="Board", signed_on=dt.date(2025, 11, 2))],
            v.version,
        )
        now = maturity.Rating(
            stage="implementing",
            narrative="Acute and primary care linked",
            evidence=[
                maturity.Evidence(text="Data sharing agreement", link="https://example.org/dsa")
            ],
        )
        aid = maturity.save(
            ctx, nine, "LOC1", NOW.date(), {"spend-included": now}, None
        ).assessment_id
    app = build_app(
        Settings(db=url, warehouse=warehouse, insecure_cookies=True, pseudonym_key="p" * 32)
    )
    client = TestClient(app)
    sign_in(client, "pdfcomm", "Pa55word-long!")
    r = client.get(f"/app/maturity/{aid}/pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert (
        f"careweave-maturity-integration-nine-areas-LOC1-{NOW.date()}-v1.pdf"
        in r.headers["content-disposition"]
    )
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    flat = " ".join(text.split())
    assert "LOC1: maturity self-assessment" in flat
    assert "Draft (version 1)" in flat and "agreed assessment of 1 November 2025" in flat
    assert "Up from Small start" in flat and "Acute and primary care linked" in flat
    # the link may break across lines in the narrow column
    assert "Data sharing agreement https://" in flat and "example.org/dsa" in flat
    assert (
        "Suggests Implementing" in flat and "2 of the six settings are in the linked data" in flat
    )
    assert "Page 1 of" in flat and f"self-assessment {aid}, version 1 (draft)" in flat
    out = tmp_path / "a.pdf"
    assert (
        main(
            [
                "maturity",
                "export",
                str(aid),
                "--as",
                "pdfcomm",
                "--db",
                url,
                "--pdf",
                "-o",
                str(out),
                "--warehouse",
                str(warehouse),
            ]
        )
        == 0
    )
    cli_text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(out).pages).split())
    assert "Suggests Implementing" in cli_text and "Up from Small start" in cli_text
    assert main(["maturity", "export", str(aid), "--as", "pdfcomm", "--db", url, "--pdf"]) == 2
    with sessions() as s:
        exports = s.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "export", AuditEntry.detail == "pdf")
        ).scalar_one()
        assert exports == 2
        assert s.execute(select(User).where(User.username == "pdfcomm")).scalar_one()


def test_the_cli_reads_the_configured_budget_file(
    world: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`careweave maturity evidence` (and the PDF) read the settings' budget file, as the
    pages do, not always the shipped example."""
    from careweave.care import config, maturity
    from careweave.care.context import Ctx
    from careweave.maturity.matrices import get_matrix

    url, sessions, warehouse = world
    with transaction(sessions) as s:
        user = auth.create_user(
            s,
            username="budgeter",
            display_name="B",
            role="analyst",
            now=NOW,
            password="Pa55word-long!",
        )
        ctx = Ctx(session=s, user=user, now=NOW, config=config.load())
        v = maturity.save(
            ctx, get_matrix("integration-nine-areas"), "LOC1", dt.date(2024, 6, 1), {}, None
        )
        aid = v.assessment_id
    broken = tmp_path / "our-budget.toml"
    broken.write_text("[[partners]]\nname = 3\n")
    args = ["maturity", "evidence", str(aid), "--as", "budgeter", "--db", url]
    args += ["--warehouse", str(warehouse)]
    monkeypatch.setenv("CAREWEAVE_BUDGET_FILE", str(broken))
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "The budget file does not validate" in out and "our-budget.toml" in out
    monkeypatch.delenv("CAREWEAVE_BUDGET_FILE")
    assert main(args) == 0
    assert "The budget file does not validate" not in capsys.readouterr().out
