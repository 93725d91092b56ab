"""Organisations and small areas: the health board, localities, clusters,
practices, areas with deprivation deciles, hospitals, providers and care homes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from careweave.synth import params as P
from careweave.synth.params import records as R

Arr = npt.NDArray[Any]


@dataclass
class Layout:
    practice_ids: list[str]
    practice_end: Arr  # cumulative list sizes: person g is in practice searchsorted(end, g, right)
    practice_locality: Arr
    lsoa_start: Arr
    lsoa_count: Arr
    lsoa_decile: Arr
    lsoa_ids: list[str]
    locality_hospital: Arr
    hospital_ids: list[str]
    care_home_ids: list[str]
    care_home_locality: Arr
    la_id: str = "SYNLA1"
    community_id: str = "SYNCOM1"
    mental_health_id: str = "SYNMH1"
    social_care_provider_id: str = "SYNSCP1"
    organisations: pa.Table = field(default_factory=lambda: pa.table({}))


def split_sizes(total: int, k: int, rng: np.random.Generator, lo: int, hi: int) -> list[int]:
    w = np.exp(rng.normal(0.0, P.PRACTICE_SIGMA, size=k))
    sizes = w / w.sum() * total
    for _ in range(20):
        sizes = np.clip(sizes, lo, hi)
        sizes = sizes / sizes.sum() * total
    out = [int(s) for s in np.floor(sizes)]
    out[int(np.argmin(out))] += total - sum(out)
    return out


def build_layout(people: int, seed: int) -> Layout:
    """The organisations and small areas for ``people`` people (deterministic for ``seed``)."""
    rng = np.random.default_rng([seed, 0x0E6])
    n_loc = max(1, round(people / P.LOCALITY_TARGET))
    loc_sizes = split_sizes(people, n_loc, rng, 1, people)
    loc_sizes = [people // n_loc + (1 if i < people % n_loc else 0) for i in range(n_loc)]
    practice_sizes: list[int] = []
    practice_locality: list[int] = []
    for li, size in enumerate(loc_sizes):
        k = max(1, round(size / P.PRACTICE_MEDIAN))
        lo = min(P.PRACTICE_MIN, size // k)
        hi = max(P.PRACTICE_MAX, -(-size // k))
        for s in split_sizes(size, k, rng, lo, hi):
            practice_sizes.append(s)
            practice_locality.append(li)
    n_prac = len(practice_sizes)
    # Small areas: each practice draws on its own areas, around a practice-level deprivation.
    lsoa_count = np.array([max(1, round(s / P.LSOA_SIZE)) for s in practice_sizes])
    lsoa_start = np.concatenate([[0], np.cumsum(lsoa_count)[:-1]])
    # deprivation: a practice-level centre plus area noise, ranked into national-style
    # deciles (each decile ~10% of areas) so practices differ but deciles stay even
    centre = rng.normal(0.0, 1.0, size=n_prac)
    score = np.repeat(centre, lsoa_count) + rng.normal(
        0.0, R.AREA_DEPRIVATION_SD, size=int(lsoa_count.sum())
    )
    rank = np.argsort(np.argsort(score, kind="stable"), kind="stable")
    lsoa_decile = (1 + rank * 10 // max(1, rank.shape[0])).astype(np.int64)
    lsoa_ids = [f"SYN{i + 1:07d}" for i in range(int(lsoa_count.sum()))]
    n_hosp = max(1, round(people / P.PEOPLE_PER_HOSPITAL))
    locality_hospital = np.arange(n_loc) % n_hosp
    ch_per_loc = [
        max(1, round(s * R.OLDER_SHARE * R.IN_CARE_HOME_SHARE / P.CARE_HOME_BEDS))
        for s in loc_sizes
    ]
    care_home_locality = np.repeat(np.arange(n_loc), ch_per_loc)

    rows: list[tuple[str, str, str, str | None]] = [
        ("SYNHB", "health_board", "Careweave Synthetic Health Board", None)
    ]
    loc_ids = [f"SYNL{i + 1:02d}" for i in range(n_loc)]
    rows += [(lid, "locality", f"Locality {i + 1}", "SYNHB") for i, lid in enumerate(loc_ids)]
    practice_ids = [f"SYNP{i + 1:05d}" for i in range(n_prac)]
    cluster_of: list[str] = []
    ci = 0
    for li in range(n_loc):
        members = [p for p in range(n_prac) if practice_locality[p] == li]
        for j in range(0, len(members), P.CLUSTER_PRACTICES):
            cid = f"SYNC{ci + 1:03d}"
            rows.append((cid, "cluster", f"Cluster {ci + 1} ({loc_ids[li]})", loc_ids[li]))
            cluster_of.extend([cid] * len(members[j : j + P.CLUSTER_PRACTICES]))
            ci += 1
    rows += [
        (pid, "gp_practice", f"Practice {i + 1}", cluster_of[i])
        for i, pid in enumerate(practice_ids)
    ]
    rows.append(("SYNLA1", "local_authority", "Synthetic County Council", None))
    hospital_ids = [f"SYNH{i + 1:02d}" for i in range(n_hosp)]
    rows += [(h, "hospital", f"General Hospital {i + 1}", None) for i, h in enumerate(hospital_ids)]
    rows.append(("SYNCOM1", "community_provider", "Community Health Services", None))
    rows.append(("SYNMH1", "mental_health_provider", "Mental Health Services", None))
    rows.append(("SYNSCP1", "social_care_provider", "Home Care Services", None))
    care_home_ids = [f"SYNCH{i + 1:04d}" for i in range(len(care_home_locality))]
    rows += [(c, "care_home", f"Care Home {i + 1}", None) for i, c in enumerate(care_home_ids)]
    orgs = pa.table(
        {
            "org_id": [r[0] for r in rows],
            "org_type": [r[1] for r in rows],
            "name": [r[2] for r in rows],
            "parent_id": [r[3] for r in rows],
        }
    )
    return Layout(
        practice_ids=practice_ids,
        practice_end=np.cumsum(practice_sizes),
        practice_locality=np.array(practice_locality),
        lsoa_start=lsoa_start,
        lsoa_count=lsoa_count,
        lsoa_decile=lsoa_decile,
        lsoa_ids=lsoa_ids,
        locality_hospital=locality_hospital,
        hospital_ids=hospital_ids,
        care_home_ids=care_home_ids,
        care_home_locality=care_home_locality,
        organisations=orgs,
    )
