"""Capacity planning: the WTE arithmetic against hand-worked examples, staff in post from
the store and from a staffing file, norms errors naming file and field, suppression,
and ``careweave capacity``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from careweave.capacity import norms, plan, staffing
from careweave.cli.main import main
from careweave.errors import InputError
from careweave.store.models import CareTeamMember, Objection

from .store_fixtures import NOW, orgs, people, store, user

SHIPPED = norms.load()


def _store(tmp_path: Path, url: str | None = None):  # type: ignore[no-untyped-def]
    """North: 100 people at level 4, 203 at 3, 500 at 2, 1,200 at 1, 3 not scored (and
    one who died, one who objects, both left out). South: 5 at level 4, 40 at 3."""
    ctx = store(tmp_path, url)
    url, s = ctx.__enter__()
    orgs(s)
    people(s, "P-N1", 4, 100)
    people(s, "P-N1", 3, 203)
    people(s, "P-N1", 2, 500)
    people(s, "P-N1", 1, 1200)
    people(s, "P-N1", None, 3)
    import datetime as dt

    people(s, "P-N1", 4, 1, date_of_death=dt.date(2026, 1, 1))
    objector = people(s, "P-N1", 4, 1)[0]
    people(s, "P-S1", 4, 5)
    south3 = people(s, "P-S1", 3, 40)
    admin = user(s, "admin", "administrator")
    s.add(
        Objection(nhs_number=objector, kind="secondary_use", recorded_by=admin.id, recorded_at=NOW)
    )
    user(s, "cm1", "case_manager", loc="LOC-N")
    user(s, "cc1", "care_coordinator", org="P-N1")
    gone = user(s, "cm-gone", "case_manager", loc="LOC-N")
    gone.active = False
    dn = user(s, "dn1", "clinician")
    sw = user(s, "sw1", "social_worker", loc="LOC-N")
    north = s.query(plan.Person).filter_by(practice_id="P-N1").first()
    assert north is not None
    for u, role, who in ((dn, "district_nurse", north.nhs_number), (sw, "case_manager", south3[0])):
        s.add(
            CareTeamMember(
                nhs_number=who,
                user_id=u.id,
                team_role=role,
                organisation="x",
                added_by=admin.id,
                added_at=NOW,
            )
        )
    s.commit()
    return ctx, url, s


def test_wte_needed_against_a_hand_worked_locality(tmp_path: Path, db_url: str) -> None:
    ctx, _, s = _store(tmp_path, db_url)
    try:
        areas, board = plan.build(s, SHIPPED, staffing.from_store(s, SHIPPED))
    finally:
        ctx.__exit__(None, None, None)
    north = next(a for a in areas if a.area == "LOC-N")
    assert north.name == "North"
    # shown counts: 203 rounds to 205; 3 not scored is suppressed; 2,006 people -> 2,005
    assert {lv: c.value for lv, c in north.levels.items()} == {
        0: None,
        1: 1200,
        2: 500,
        3: 205,
        4: 100,
    }
    assert north.population.value == 2005
    # one core team per 30,000-50,000 people: 2,005 / 50,000 to 2,005 / 30,000
    assert north.core_teams_min == pytest.approx(0.0401)
    assert north.core_teams_max == pytest.approx(2005 / 30000)
    lines = {x.norm.id: x for x in north.lines}
    # case managers: 100 at level 4 / 50 = 2.0 needed; in post cm1 (1.0) and half of sw1,
    # who is a social worker and a case manager in one care team (1.0 split over two)
    assert lines["case_manager"].needed_wte == pytest.approx(2.0)
    assert lines["case_manager"].in_post_wte == pytest.approx(1.5)
    assert lines["case_manager"].gap_wte == pytest.approx(-0.5)
    # care co-ordinators: (205 + 100) / 150; cc1's locality is her practice's
    assert lines["care_coordinator"].people.value == 305
    assert lines["care_coordinator"].needed_wte == pytest.approx(305 / 150)
    assert lines["care_coordinator"].in_post_wte == pytest.approx(1.0)
    # district nurses: (205 + 100) / 100; dn1 has no locality: that of her care team's person
    assert lines["district_nurse"].needed_wte == pytest.approx(3.05)
    assert lines["district_nurse"].in_post_wte == pytest.approx(1.0)
    # social workers: 100 / 35; community matrons: none in the store (a staffing file's)
    assert lines["social_worker"].needed_wte == pytest.approx(100 / 35)
    assert lines["social_worker"].in_post_wte == pytest.approx(0.5)
    assert lines["community_matron"].in_post_wte == 0.0
    south = next(a for a in areas if a.area == "LOC-S")
    south_lines = {x.norm.id: x for x in south.lines}
    # 5 people at level 4: suppressed, so nothing resting on them is worked out
    assert south.levels[4].value is None
    assert south_lines["case_manager"].needed_wte is None
    assert south_lines["case_manager"].gap_wte is None
    assert south_lines["care_coordinator"].needed_wte is None
    # the board: true totals rounded once (105 at level 4), all staff in post
    assert board.levels[4].value == 105
    assert {x.norm.id: x for x in board.lines}["case_manager"].needed_wte == pytest.approx(2.1)
    assert {x.norm.id: x for x in board.lines}["case_manager"].in_post_wte == pytest.approx(1.5)


def test_split_keeps_each_person_to_one_wte() -> None:
    got = staffing.split(
        [(1, "A", "x"), (1, "A", "y"), (1, "A", "z"), (2, "B", "x"), (2, "B", "x")]
    )
    assert got == {
        ("A", "x"): pytest.approx(1 / 3),
        ("A", "y"): pytest.approx(1 / 3),
        ("A", "z"): pytest.approx(1 / 3),
        ("B", "x"): 1.0,
    }
    assert plan.needed_wte(125, 50) == 2.5
    assert plan.needed_wte(None, 50) is None


def test_staffing_file_replaces_the_store(tmp_path: Path) -> None:
    f = tmp_path / "staff.csv"
    f.write_text(
        "locality,staff,wte,organisation\n"
        "LOC-N,community_matron,1.6,Health board\n"
        "LOC-N,community_matron,0.4,Hospice\n"
        "LOC-N,case_manager,2.5,Health board\n"
        ",,,\n",
        encoding="utf-8",
    )
    in_post = staffing.from_csv(f, SHIPPED)
    assert in_post == {
        ("LOC-N", "community_matron"): pytest.approx(2.0),
        ("LOC-N", "case_manager"): 2.5,
    }
    ctx, _, s = _store(tmp_path)
    try:
        areas, _ = plan.build(s, SHIPPED, in_post)
    finally:
        ctx.__exit__(None, None, None)
    north = {x.norm.id: x for x in next(a for a in areas if a.area == "LOC-N").lines}
    assert north["community_matron"].gap_wte == pytest.approx(0.0)  # 2.0 needed, 2.0 in post
    assert north["case_manager"].gap_wte == pytest.approx(0.5)
    assert north["care_coordinator"].in_post_wte == 0.0  # the file, not the store


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("locality,wte\nLOC-N,1\n", "staff.csv: missing column 'staff'"),
        (
            "locality,staff,wte\nLOC-N,matron,1\n",
            "staff.csv:2: staff: 'matron' is not a staff group",
        ),
        (
            "locality,staff,wte\nLOC-N,case_manager,1\nLOC-N,case_manager,lots\n",
            "staff.csv:3: wte: 'lots' is not a number",
        ),
        (
            "locality,staff,wte\nLOC-N,case_manager,-1\n",
            "staff.csv:2: wte: must be a number from 0",
        ),
        (
            "locality,staff,wte\n,case_manager,1\n",
            "staff.csv:2: locality: give the locality's code",
        ),
    ],
)
def test_staffing_file_errors_name_file_line_and_field(
    tmp_path: Path, text: str, problem: str
) -> None:
    f = tmp_path / "staff.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        staffing.from_csv(f, SHIPPED)
    assert problem in str(e.value)
    assert str(f) in str(e.value)


def test_shipped_norms_cite_their_sources() -> None:
    assert SHIPPED.core_team.population_min == 30000
    assert SHIPPED.core_team.population_max == 50000
    assert "seed 000 §6.5" in SHIPPED.core_team.source
    assert {s.id for s in SHIPPED.staff} >= {"case_manager", "community_matron", "care_coordinator"}
    for s in SHIPPED.staff:
        assert s.source.startswith("local assumption"), s.id


GOOD = norms.SHIPPED.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            ("people_per_wte = 50\n", "people_per_wte = 0\n"),
            "staff.0.people_per_wte: Input should be greater than 0",
        ),
        (("levels = [4]\n", "levels = [5]\n"), "staff.0: levels: 5 is not a CCM level"),
        (
            ('user_roles = ["case_manager"]', 'user_roles = ["matron"]'),
            "staff.0: user_roles: 'matron' is not a user role",
        ),
        (
            ('team_roles = ["case_manager"]', 'team_roles = ["matron"]'),
            "staff.0: team_roles: 'matron' is not a team role",
        ),
        (
            ("population_min = 30000", "population_min = 60000"),
            "core_team: population_min must not be more than population_max",
        ),
        (
            ('id = "community_matron"', 'id = "case_manager"'),
            "staff: id 'case_manager' is given twice",
        ),
        (
            ("people_per_wte = 50\n", "people_per_wte = 50\nwte = 1\n"),
            "staff.0.wte: Extra inputs are not permitted",
        ),
        (
            ("capacity = {}", 'capacity = { "district-nursing" = 0 }'),
            "services: capacity.district-nursing: must be a whole number above 0",
        ),
        (("[core_team]", "[core_team"), "not valid TOML"),
    ],
)
def test_norms_errors_name_file_and_field(
    tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    f = tmp_path / "norms.toml"
    assert change[0] in GOOD
    f.write_text(GOOD.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(InputError) as e:
        norms.load(f)
    assert str(e.value).startswith(f"{f}: ")
    assert problem in str(e.value)


def test_missing_norms_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the norms file"):
        norms.load(tmp_path / "nope.toml")


def test_cli_capacity_json_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ctx, url, _ = _store(tmp_path)
    ctx.__exit__(None, None, None)
    assert main(["capacity", "--db", url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    north = next(a for a in doc["localities"] if a["area"] == "LOC-N")
    cm = next(x for x in north["staff"] if x["staff"] == "case_manager")
    assert (cm["people"], cm["needed_wte"], cm["in_post_wte"], cm["gap_wte"]) == (
        100,
        2.0,
        1.5,
        -0.5,
    )
    assert north["people"]["0"] is None  # suppressed, never the true 3
    assert doc["board"]["core_teams"] == {"min": 0.04, "max": 0.07}
    assert main(["capacity", "--db", url]) == 0
    text = capsys.readouterr().out
    assert "North (LOC-N): 2,005 people" in text
    assert "Case managers (level 4)" in text
    bad = tmp_path / "bad.toml"
    bad.write_text(
        GOOD.replace("people_per_wte = 50\n", "people_per_wte = -1\n", 1), encoding="utf-8"
    )
    assert main(["capacity", "--db", url, "--norms", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}: staff.0.people_per_wte" in err
