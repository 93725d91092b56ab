"""Generator invariants: determinism, valid identifiers and codes, dates, references."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from careweave.dataset import tables as T
from careweave.dataset.codes import is_icd10, is_loinc, is_snomed
from careweave.dataset.io import read_manifest, table_path
from careweave.dataset.nhs_number import is_valid
from careweave.dataset.schema import Table
from careweave.errors import InputError
from careweave.synth import generate
from careweave.synth.generator import build_layout

START = dt.date(2020, 1, 1)
END = dt.date(2022, 12, 31)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "ds"
    generate(4000, 11, START, END, out)
    return out


def _read(directory: Path, table: Table) -> pa.Table:
    path = table_path(directory, table)
    assert path is not None, f"{table.name} missing"
    return pq.read_table(path)


def test_every_required_table_and_manifest(small: Path) -> None:
    for t in T.TABLES:
        if t.required:
            data = _read(small, t)
            assert data.schema.names == list(t.column_names)
    manifest = read_manifest(small)
    assert manifest is not None
    assert manifest.source == "synth"
    assert (manifest.span_start, manifest.span_end) == (START, END)
    assert manifest.parameters["people"] == 4000
    assert manifest.parameters["seed"] == 11
    assert _read(small, T.PEOPLE).num_rows == 4000
    # every activity table has rows at this size
    for t in (
        T.HOSPITAL_SPELLS,
        T.AE_ATTENDANCES,
        T.OUTPATIENT_APPOINTMENTS,
        T.MEDICATIONS,
        T.OBSERVATIONS,
        T.PRIMARY_CARE_CONTACTS,
        T.COMMUNITY_CONTACTS,
        T.MENTAL_HEALTH_CONTACTS,
        T.SOCIAL_CARE_ASSESSMENTS,
        T.SOCIAL_CARE_SERVICES,
        T.CARE_PLACEMENTS,
        T.REABLEMENT_EPISODES,
        T.TELEHEALTH_READINGS,
    ):
        assert _read(small, t).num_rows > 0, t.name


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    generate(1500, 5, START, END, tmp_path / "a")
    generate(1500, 5, START, END, tmp_path / "b")
    generate(1500, 6, START, END, tmp_path / "c")
    for t in T.TABLES:
        if not t.required:
            continue
        a = pq.read_table(tmp_path / "a" / f"{t.name}.parquet")
        b = pq.read_table(tmp_path / "b" / f"{t.name}.parquet")
        assert a.equals(b), t.name
    spells_a = pq.read_table(tmp_path / "a" / "hospital_spells.parquet")
    spells_c = pq.read_table(tmp_path / "c" / "hospital_spells.parquet")
    assert not spells_a.equals(spells_c)


def test_parallel_chunks_give_the_same_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from careweave.synth import generator

    monkeypatch.setattr(generator, "CHUNK", 700)
    generate(2000, 3, START, END, tmp_path / "serial", workers=1)
    generate(2000, 3, START, END, tmp_path / "parallel", workers=2)
    for name in ("people", "hospital_spells", "medications", "reablement_episodes"):
        a = pq.read_table(tmp_path / "serial" / f"{name}.parquet")
        b = pq.read_table(tmp_path / "parallel" / f"{name}.parquet")
        assert a.equals(b), name


def test_nhs_numbers_valid_and_ids_unique(small: Path) -> None:
    people = _read(small, T.PEOPLE)
    numbers = people.column("nhs_number").to_pylist()
    assert all(is_valid(n) and n.startswith("999") for n in numbers)
    assert len(set(numbers)) == len(numbers)
    for t in T.TABLES:
        if t.required:
            keys = _read(small, t).column(t.key)
            assert pc.count_distinct(keys).as_py() == len(keys), t.name


def test_codes_are_well_formed(small: Path) -> None:
    events = _read(small, T.PRIMARY_CARE_EVENTS)
    assert set(events.column("code_system").to_pylist()) == {"snomed"}
    assert all(is_snomed(c) for c in set(events.column("code").to_pylist()))
    meds = _read(small, T.MEDICATIONS)
    assert all(is_snomed(c) for c in set(meds.column("code").to_pylist()))
    obs = _read(small, T.OBSERVATIONS)
    assert all(is_loinc(c) for c in set(obs.column("code").to_pylist()))
    assert set(obs.column("measure").to_pylist()) >= {"systolic_bp", "hba1c", "bmi", "egfr"}
    spells = _read(small, T.HOSPITAL_SPELLS)
    primary = set(spells.column("primary_diagnosis").to_pylist())
    secondary = set(pc.list_flatten(spells.column("secondary_diagnoses")).to_pylist())
    assert all(is_icd10(c) for c in primary | secondary)
    # HFRS codes appear among secondary diagnoses (three-character categories)
    cats = {c[:3] for c in secondary}
    assert {"W19", "R29", "N39"} <= cats


def test_no_event_before_birth_after_death_or_after_span(small: Path) -> None:
    people = _read(small, T.PEOPLE).to_pandas().set_index("nhs_number")
    dob = people["date_of_birth"]
    dod = people["date_of_death"]
    assert (dob <= END).all()
    assert dod.dropna().between(START, END).all()
    for t in T.TABLES:
        if not t.required or t.person_column is None or t.name == "people":
            continue
        df = _read(small, t).to_pandas()
        for col in t.date_columns:
            values = df[col]
            if t.name == "telehealth_readings":
                values = values.dt.date
            born = dob.loc[df["nhs_number"]].to_numpy()
            died = dod.loc[df["nhs_number"]].to_numpy()
            v = values.to_numpy()
            before_birth = np.array(
                [x is not None and x == x and x < b for x, b in zip(v, born, strict=True)]
            )
            after_death = np.array(
                [
                    x is not None and x == x and d is not None and d == d and x > d
                    for x, d in zip(v, died, strict=True)
                ]
            )
            after_end = np.array([x is not None and x == x and x > END for x in v])
            assert not before_birth.any(), (t.name, col)
            assert not after_death.any(), (t.name, col)
            assert not after_end.any(), (t.name, col)


def test_references_resolve(small: Path) -> None:
    people = set(_read(small, T.PEOPLE).column("nhs_number").to_pylist())
    orgs = set(_read(small, T.ORGANISATIONS).column("org_id").to_pylist())
    spells = set(_read(small, T.HOSPITAL_SPELLS).column("id").to_pylist())
    for t in T.TABLES:
        if not t.required:
            continue
        data = _read(small, t)
        for col in t.columns:
            if col.references is None:
                continue
            values = {v for v in data.column(col.name).to_pylist() if v is not None}
            target = {"people": people, "organisations": orgs, "hospital_spells": spells}[
                col.references.table
            ]
            assert values <= target, (t.name, col.name)


def test_reablement_follows_a_discharge(small: Path) -> None:
    reab = _read(small, T.REABLEMENT_EPISODES).to_pandas()
    spells = _read(small, T.HOSPITAL_SPELLS).to_pandas().set_index("id")
    assert len(reab) > 0
    linked = spells.loc[reab["spell_id"]]
    assert (linked["nhs_number"].to_numpy() == reab["nhs_number"].to_numpy()).all()
    assert (linked["discharge_date"].to_numpy() == reab["start_date"].to_numpy()).all()
    assert (linked["admission_method"] == "emergency").all()


def test_organisation_sizes() -> None:
    layout = build_layout(120_000, 1)
    sizes = np.diff(np.concatenate([[0], layout.practice_end]))
    assert sizes.min() >= 3000 and sizes.max() <= 15000
    loc_sizes = np.bincount(layout.practice_locality, weights=sizes)
    assert len(loc_sizes) == 3
    assert loc_sizes.min() >= 30000 and loc_sizes.max() <= 50000
    orgs = layout.organisations.to_pylist()
    types = {o["org_type"] for o in orgs}
    assert {
        "health_board",
        "locality",
        "cluster",
        "gp_practice",
        "local_authority",
        "hospital",
        "community_provider",
        "mental_health_provider",
        "care_home",
    } <= types
    by_id = {o["org_id"]: o for o in orgs}
    for o in orgs:
        if o["org_type"] == "gp_practice":
            cluster = by_id[o["parent_id"]]
            assert cluster["org_type"] == "cluster"
            assert by_id[cluster["parent_id"]]["org_type"] == "locality"


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--people"):
        generate(0, 1, START, END, tmp_path / "x")
    with pytest.raises(InputError, match="--end"):
        generate(10, 1, END, START, tmp_path / "x")


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from careweave.cli.main import main

    out = tmp_path / "cli"
    args = ["synth", "--people", "300", "--seed", "4", "--start", "2021-01-01"]
    assert main([*args, "--end", "2021-12-31", "--out", str(out), "--no-progress"]) == 0
    assert "wrote 300 people" in capsys.readouterr().out
    assert read_manifest(out) is not None
    assert main([*args, "--end", "2021-13-01", "--out", str(out)]) == 2
    assert "--end" in capsys.readouterr().err
    assert main(["synth", "--people", "20000000", "--out", str(out)]) == 2
    assert "at most" in capsys.readouterr().err


def test_no_overlapping_spells(small: Path) -> None:
    spells = _read(small, T.HOSPITAL_SPELLS).to_pandas()
    spells["dis"] = spells["discharge_date"].fillna(END)
    spells = spells.sort_values(["nhs_number", "admission_date", "dis"])
    prev_dis = spells.groupby("nhs_number")["dis"].shift()
    overlapping = spells["admission_date"] < prev_dis
    assert not overlapping.any(), spells[overlapping].head()


def test_a_death_during_a_stay_ends_the_spell() -> None:
    from careweave.synth.generator import _DEST, NEVER, end_stays_at_death

    adm = np.array([10, 10, 10, 10])
    dis = np.array([20, 20, 20, 20])
    dest = np.array([0, 0, 0, 0])
    death = np.array([15, 25, NEVER, 5])  # during, after, never, before admission
    new_dis, new_dest = end_stays_at_death(adm, dis, dest, death)
    assert new_dis.tolist() == [15, 20, 20, 20]
    assert [_DEST[d] for d in new_dest] == ["died", "home", "home", "home"]


def test_no_reablement_after_a_death_that_ended_the_stay() -> None:
    from careweave.synth.generator import NEVER, reablement_after_discharge

    start = np.array([20, 20, 20, 20])  # the discharge day as first simulated
    planned = np.array([40, 40, 40, 40])
    death = np.array([15, 20, 30, NEVER])  # in hospital, that day, during it, never
    happens, end = reablement_after_discharge(start, planned, death)
    assert happens.tolist() == [False, False, True, True]
    assert end[happens].tolist() == [30, 40]
