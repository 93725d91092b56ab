"""Who each synthetic person is: title, names matching sex and age, home address
and postcode, telephone, preferred language and interpreter need.

Deterministic for the seed: the chunk's people draw from a random stream of
their own (seed, chunk), so identity never shifts another column, and from
pools of towns and streets made with Faker en_GB once per seed (Faker is slow
per call; numpy picks from the pools are not). Every value is invented; the
telephone numbers are in Ofcom's ranges reserved for drama.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from careweave.synth.core import Arr, choose, take
from careweave.synth.params import identity as I

#: Sub-stream of the chunk's identity draws (seed, IDENTITY_STREAM, chunk).
IDENTITY_STREAM = 0x1D


@dataclass(frozen=True)
class Pools:
    """Names and places drawn once per seed."""

    towns: tuple[str, ...]
    districts: tuple[str, ...]
    streets: tuple[str, ...]
    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    surname_weights: tuple[float, ...]


@cache
def pools(seed: int) -> Pools:
    """Towns, districts and streets from Faker en_GB seeded with ``seed``, and its
    name lists (cached: built once per seed and process)."""
    from faker import Faker
    from faker.providers.person.en_GB import Provider as Names

    fake = Faker("en_GB")
    fake.seed_instance(seed)

    def unique(make: object, k: int) -> tuple[str, ...]:
        out: dict[str, None] = {}
        while len(out) < k:
            out[make()] = None  # type: ignore[operator]
        return tuple(out)

    towns = unique(fake.city, I.TOWNS)
    districts = unique(fake.city, I.TOWNS * 2)
    streets = unique(fake.street_name, I.STREETS)
    last = dict(Names.last_names)
    return Pools(
        towns=towns,
        districts=tuple(d for d in districts if d not in set(towns)),
        streets=streets,
        female=tuple(Names.first_names_female),
        male=tuple(Names.first_names_male),
        surnames=tuple(last),
        surname_weights=tuple(float(w) for w in last.values()),
    )


def identity_columns(
    seed: int, ci: int, dob: Arr, female: Arr, eth: Arr, lsoa: Arr, end: int
) -> dict[str, pa.Array]:
    """The identity columns of the chunk's people (canonical names of ``people``)."""
    rng = np.random.default_rng([seed, IDENTITY_STREAM, ci])
    pool = pools(seed)
    n = dob.shape[0]
    birth_year = dob.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    age_end = (end - dob) / 365.25
    given = _given_names(rng, pool, female, birth_year)
    family = _family_names(rng, pool, n)
    title = _titles(rng, female, age_end)
    line1, line2, town, postcode = _addresses(rng, seed, pool, lsoa)
    phone = _telephones(rng, age_end)
    language, interpreter = _languages(rng, eth)
    return {
        "title": title,
        "given_name": given,
        "family_name": family,
        "address_line_1": line1,
        "address_line_2": line2,
        "town": town,
        "postcode": postcode,
        "telephone": phone,
        "preferred_language": language,
        "interpreter_required": interpreter,
    }


def _given_names(rng: np.random.Generator, pool: Pools, female: Arr, birth_year: Arr) -> pa.Array:
    vocab: list[str] = []
    index: dict[str, int] = {}

    def ids(names: tuple[str, ...]) -> Arr:
        for x in names:
            if x not in index:
                index[x] = len(vocab)
                vocab.append(x)
        return np.array([index[x] for x in names], dtype=np.int64)

    cohort = np.searchsorted(np.array(I.COHORT_STARTS), birth_year, side="right") - 1
    out = np.zeros(female.shape[0], dtype=np.int64)
    for is_female, lists, general in (
        (True, I.FEMALE_NAMES, pool.female),
        (False, I.MALE_NAMES, pool.male),
    ):
        general_ids = ids(general)
        for c, names in enumerate(lists):
            who = np.flatnonzero((female == is_female) & (cohort == c))
            cohort_ids = ids(names)
            from_cohort = rng.random(who.shape[0]) < I.COHORT_NAME_SHARE
            pick_c = cohort_ids[rng.integers(0, cohort_ids.shape[0], who.shape[0])]
            pick_g = general_ids[rng.integers(0, general_ids.shape[0], who.shape[0])]
            out[who] = np.where(from_cohort, pick_c, pick_g)
    return take(vocab, out)


def _family_names(rng: np.random.Generator, pool: Pools, n: int) -> pa.Array:
    vocab = list(I.WELSH_SURNAMES) + [s for s in pool.surnames if s not in I.WELSH_SURNAMES]
    others = [(s, w) for s, w in zip(pool.surnames, pool.surname_weights, strict=True)]
    others = [(s, w) for s, w in others if s not in I.WELSH_SURNAMES]
    other = [vocab.index(s) for s, _ in others]
    weights = [w for _, w in others]
    welsh = rng.random(n) < I.WELSH_SURNAME_SHARE
    # Welsh surnames by rank (Jones commonest): weights 1/rank.
    w_rank = [1.0 / (k + 1) for k in range(len(I.WELSH_SURNAMES))]
    pick_w = choose(rng, n, w_rank)
    pick_o = np.array(other, dtype=np.int64)[choose(rng, n, weights)]
    return take(vocab, np.where(welsh, pick_w, pick_o))


def _titles(rng: np.random.Generator, female: Arr, age: Arr) -> pa.Array:
    vocab = ["Mr", "Mrs", "Ms", "Miss", "Dr", "Rev"]
    out = np.full(female.shape[0], -1, dtype=np.int64)
    adult = age >= I.ADULT_AGE
    for sel, mix in (
        (adult & ~female, I.MALE_TITLES),
        (adult & female & (age < 30), I.FEMALE_TITLES_YOUNG),
        (adult & female & (age >= 30), I.FEMALE_TITLES_OLDER),
    ):
        who = np.flatnonzero(sel)
        codes = np.array([vocab.index(t) for t, _ in mix])
        out[who] = codes[choose(rng, who.shape[0], [w for _, w in mix])]
    return pa.array(
        take(vocab, np.maximum(out, 0)).to_numpy(zero_copy_only=False), pa.string(), mask=out < 0
    )


def _addresses(
    rng: np.random.Generator, seed: int, pool: Pools, lsoa: Arr
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """Address lines, town and postcode: small areas grouped into towns (the same for
    the seed, whatever the chunk), streets of the town, a postcode sector per area."""
    n = lsoa.shape[0]
    n_groups = int(lsoa.max()) // I.AREAS_PER_TOWN + 1 if n else 1
    town_rng = np.random.default_rng([seed, IDENTITY_STREAM])
    town_of_group = town_rng.integers(0, len(pool.towns), max(n_groups, 1))
    town = town_of_group[lsoa // I.AREAS_PER_TOWN]
    street = (town * 37 + rng.integers(0, 40, n)) % len(pool.streets)
    number = np.asarray(rng.integers(1, 200, n))
    numbers = [str(k) for k in range(200)]
    line1 = pc.binary_join_element_wise(take(numbers, number), take(pool.streets, street), " ")
    has_line2 = rng.random(n) < I.SECOND_LINE_SHARE
    district = (town * 3 + rng.integers(0, 3, n)) % len(pool.districts)
    line2 = pa.array(
        take(pool.districts, district).to_numpy(zero_copy_only=False), pa.string(), mask=~has_line2
    )
    # postcode: area and district by town, sector by small area, unit by person
    n_area = int(lsoa.max()) + 1 if n else 1
    areas = np.arange(n_area)
    t = town_of_group[areas // I.AREAS_PER_TOWN]
    sectors = [
        f"{I.POSTCODE_AREAS[ti % len(I.POSTCODE_AREAS)]}{1 + ti % 40} {a % 10}"
        for ti, a in zip(t.tolist(), areas.tolist(), strict=True)
    ]
    letters = I.POSTCODE_UNIT_LETTERS
    units = [a + b for a in letters for b in letters]
    unit = np.asarray(rng.integers(0, len(units), n))
    postcode = pc.binary_join_element_wise(take(sectors, lsoa), take(units, unit), "")
    return line1, line2, take(pool.towns, town), postcode


def _telephones(rng: np.random.Generator, age: Arr) -> pa.Array:
    n = age.shape[0]
    has = rng.random(n) < I.TELEPHONE_SHARE
    mobile_share = np.where(age >= 65, I.MOBILE_SHARE_65_PLUS, I.MOBILE_SHARE_UNDER_65)
    mobile = rng.random(n) < mobile_share
    suffix = [f"{k:03d}" for k in range(1000)]
    prefix = take([I.LANDLINE_PREFIX, I.MOBILE_PREFIX], mobile.astype(np.int64))
    number = pc.binary_join_element_wise(
        prefix, take(suffix, np.asarray(rng.integers(0, 1000, n))), ""
    )
    return pa.array(number.to_numpy(zero_copy_only=False), pa.string(), mask=~has)


def _languages(rng: np.random.Generator, eth: Arr) -> tuple[pa.Array, pa.Array]:
    n = eth.shape[0]
    vocab = ["en", "cy"]
    lang = np.zeros(n, dtype=np.int64)
    welsh = rng.random(n) < I.WELSH_SHARE
    u = rng.random(n)
    for g, options in enumerate(I.OTHER_LANGUAGES):
        cum = 0.0
        for code, share in options:
            if code not in vocab:
                vocab.append(code)
            sel = (eth == g) & (u >= cum) & (u < cum + share)
            lang = np.where(sel, vocab.index(code), lang)
            cum += share
    lang = np.where(welsh & (lang == 0), 1, lang)
    other = lang >= 2
    need = rng.random(n) < np.where(
        other, I.INTERPRETER_SHARE_OTHER_LANGUAGE, I.INTERPRETER_SHARE_OTHERS
    )
    unrecorded = rng.random(n) < I.LANGUAGE_UNRECORDED_SHARE
    language = pa.array(
        take(vocab, lang).to_numpy(zero_copy_only=False), pa.string(), mask=unrecorded
    )
    interpreter = pa.array(need, pa.bool_(), mask=unrecorded)
    return language, interpreter
