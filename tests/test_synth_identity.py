"""Synthetic identities: names by sex and age, titles, addresses, drama-range
telephones, preferred language and interpreter need; deterministic per seed."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from careweave.dataset import tables as T
from careweave.synth import generate
from careweave.synth.identity import pools
from careweave.synth.params import identity as I

START, END = dt.date(2020, 1, 1), dt.date(2024, 12, 31)


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    out = tmp_path_factory.mktemp("synth-id") / "ds"
    generate(8000, 21, START, END, out)
    return pq.read_table(out / "people.parquet")


def test_every_identity_column_is_written(people: pa.Table) -> None:
    for col in dict(T.IDENTIFYING_COLUMNS)["people"] + ("preferred_language",):
        assert people.column(col).null_count < people.num_rows, col
    for col in ("given_name", "family_name", "address_line_1", "town", "postcode"):
        assert people.column(col).null_count == 0, col


def test_given_names_match_sex_and_birth_cohort(people: pa.Table) -> None:
    pool = pools(21)
    female_ok = set(pool.female).union(*I.FEMALE_NAMES)
    male_ok = set(pool.male).union(*I.MALE_NAMES)
    rows = people.select(["sex", "given_name", "date_of_birth"]).to_pylist()
    for r in rows:
        assert r["given_name"] in (female_ok if r["sex"] == "female" else male_ok)
    old_women = [r for r in rows if r["sex"] == "female" and r["date_of_birth"].year < 1940]
    assert len(old_women) > 50
    cohort = sum(r["given_name"] in I.FEMALE_NAMES[0] for r in old_women) / len(old_women)
    assert cohort > 0.6  # mostly the names of their generation
    young = [r for r in rows if r["sex"] == "female" and r["date_of_birth"].year >= 2000]
    assert sum(r["given_name"] in I.FEMALE_NAMES[0] for r in young) / len(young) < 0.2


def test_titles_follow_sex_and_age(people: pa.Table) -> None:
    for r in people.select(["sex", "title", "date_of_birth"]).to_pylist():
        age = (END - r["date_of_birth"]).days / 365.25
        if age < I.ADULT_AGE:
            assert r["title"] is None
        elif r["sex"] == "male":
            assert r["title"] in ("Mr", "Dr", "Rev")
        else:
            assert r["title"] in ("Mrs", "Ms", "Miss", "Dr")


def test_telephones_are_only_in_the_drama_ranges(people: pa.Table) -> None:
    phones = [p for p in people.column("telephone").to_pylist() if p is not None]
    assert phones
    assert all(re.fullmatch(r"(07700 900|01632 960)\d{3}", p) for p in phones)
    share = len(phones) / people.num_rows
    assert 0.88 < share < 0.97


def test_postcodes_are_well_formed_and_shared_within_a_small_area(people: pa.Table) -> None:
    rows = people.select(["small_area", "postcode", "town"]).to_pylist()
    pattern = re.compile(r"[A-Z]{2}\d{1,2} \d[ABD-HJLNP-UW-Z]{2}")
    assert all(pattern.fullmatch(r["postcode"]) for r in rows)
    by_area: dict[str, set[tuple[str, str]]] = {}
    for r in rows:
        if r["small_area"] is not None:
            by_area.setdefault(r["small_area"], set()).add((r["postcode"][:-2], r["town"]))
    assert all(len(v) == 1 for v in by_area.values())  # one sector and town per area


def test_languages_and_interpreters_at_plausible_rates(people: pa.Table) -> None:
    lang = people.column("preferred_language").to_pylist()
    recorded = [x for x in lang if x is not None]
    assert 0.9 < len(recorded) / len(lang) < 0.98
    welsh = recorded.count("cy") / len(recorded)
    assert 0.02 < welsh < 0.06
    assert recorded.count("en") / len(recorded) > 0.85
    need = [x for x in people.column("interpreter_required").to_pylist() if x is not None]
    assert 0.003 < sum(need) / len(need) < 0.03


def test_identity_is_deterministic_for_the_seed(tmp_path: Path) -> None:
    cols = ["given_name", "family_name", "address_line_1", "postcode", "telephone"]
    a = pq.read_table(_gen(tmp_path / "a", 7) / "people.parquet").select(cols)
    b = pq.read_table(_gen(tmp_path / "b", 7) / "people.parquet").select(cols)
    c = pq.read_table(_gen(tmp_path / "c", 8) / "people.parquet").select(cols)
    assert a.equals(b)
    assert not a.equals(c)


def _gen(out: Path, seed: int) -> Path:
    generate(300, seed, START, END, out)
    return out
