"""Staff needed against staff in post, as whole-time equivalents, per locality.

People per CCM level come from the store's people index (latest risk score per
person), counted as the population page counts them: alive, not objecting to
secondary use, placed in a locality through their practice (practice -> cluster ->
locality). Before any arithmetic every count passes
:func:`careweave.measures.disclosure.count` (0; 1-7 suppressed; else rounded to 5),
so no figure shown can give back a suppressed count.

For each staff group of the norms: **needed WTE** = the (shown) people at the
group's levels / ``people_per_wte``; **gap** = in post - needed (negative: short).
When a level's count is suppressed the group's need is not shown (fewer than 8
people, under 0.2 WTE at the shipped norms). **Core teams**: the locality's people
(every level, and those not scored) / ``population_max`` to / ``population_min``
(seed 000 §6.5: one core team per 30,000-50,000 people). The board line sums the
localities' shown counts and the WTE in post everywhere, "not known" included.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careweave.capacity.norms import LEVELS, Norms, StaffNorm
from careweave.capacity.staffing import UNKNOWN, InPost, locality_of
from careweave.measures.disclosure import Cell, count
from careweave.store.models import Objection, Organisation, Person

BOARD = "board"


@dataclass(frozen=True)
class StaffLine:
    norm: StaffNorm
    people: Cell  # people at the group's levels (shown)
    needed_wte: float | None  # None: a count it rests on is suppressed
    in_post_wte: float

    @property
    def gap_wte(self) -> float | None:
        return None if self.needed_wte is None else self.in_post_wte - self.needed_wte

    def as_json(self) -> dict[str, Any]:
        return {
            "staff": self.norm.id,
            "title": self.norm.title,
            "levels": list(self.norm.levels),
            "people": self.people.value,
            "people_per_wte": self.norm.people_per_wte,
            "needed_wte": _r(self.needed_wte),
            "in_post_wte": _r(self.in_post_wte),
            "gap_wte": _r(self.gap_wte),
            "source": self.norm.source,
        }


@dataclass(frozen=True)
class AreaPlan:
    area: str  # locality code, "unknown" or "board"
    name: str
    levels: dict[int, Cell]  # 0 (not scored), 1..4 -> shown count
    population: Cell
    core_teams_min: float | None
    core_teams_max: float | None
    lines: list[StaffLine] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "name": self.name,
            "people": {str(k): c.value for k, c in sorted(self.levels.items())},
            "population": self.population.value,
            "core_teams": {"min": _r(self.core_teams_min), "max": _r(self.core_teams_max)},
            "staff": [x.as_json() for x in self.lines],
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def needed_wte(people: int | None, people_per_wte: float) -> float | None:
    """Pure arithmetic: WTE needed for ``people`` (None when suppressed)."""
    return None if people is None else people / people_per_wte


def core_teams(population: int | None, norms: Norms) -> tuple[float | None, float | None]:
    """Core teams for ``population``: fewest (largest teams) to most (smallest)."""
    if population is None:
        return None, None
    ct = norms.core_team
    return population / ct.population_max, population / ct.population_min


def people_by_locality(session: Session) -> dict[str, dict[int, int]]:
    """True counts per CCM level (0 = not scored) by locality code ("unknown": no practice
    in a locality), as the population page counts them."""
    objectors = select(Objection.nhs_number).where(
        Objection.kind == "secondary_use", Objection.withdrawn_at.is_(None)
    )
    rows = session.execute(
        select(Person.practice_id, Person.ccm_level, func.count())
        .where(Person.date_of_death.is_(None), Person.nhs_number.not_in(objectors))
        .group_by(Person.practice_id, Person.ccm_level)
    ).tuples()
    org_loc = locality_of(session)
    out: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for practice, level, n in rows:
        loc = org_loc.get(practice, UNKNOWN) if practice else UNKNOWN
        out[loc][int(level) if level in LEVELS else 0] += int(n)
    return {k: dict(v) for k, v in out.items()}


def area_plan(
    area: str, name: str, true_counts: dict[int, int], in_post: InPost, norms: Norms
) -> AreaPlan:
    """One area's plan from its true counts per level (suppressed here) and WTE in post."""
    levels = {lv: count(true_counts.get(lv, 0)) for lv in (0, *LEVELS)}
    population = count(sum(true_counts.values()))
    return _plan(area, name, levels, population, in_post, norms, area)


def _plan(
    area: str,
    name: str,
    levels: dict[int, Cell],
    population: Cell,
    in_post: InPost,
    norms: Norms,
    post_key: str | None,
) -> AreaPlan:
    lo, hi = core_teams(population.value, norms)
    lines = []
    for n in norms.staff:
        cells = [levels[lv].value for lv in n.levels]
        people = Cell(None if None in cells else sum(v or 0 for v in cells))
        post = sum(w for (loc, g), w in in_post.items() if g == n.id and (post_key in (None, loc)))
        lines.append(StaffLine(n, people, needed_wte(people.value, n.people_per_wte), post))
    return AreaPlan(area, name, levels, population, lo, hi, lines)


def build(session: Session, norms: Norms, in_post: InPost) -> tuple[list[AreaPlan], AreaPlan]:
    """Every locality's plan (by name; "not known" last) and the board's."""
    counts = people_by_locality(session)
    names = {
        o.org_id: o.name
        for o in session.execute(
            select(Organisation).where(Organisation.org_type == "locality")
        ).scalars()
    }
    areas = set(counts) | {loc for loc, _ in in_post} | set(names)
    order = sorted(areas, key=lambda a: (a == UNKNOWN, names.get(a, a)))
    plans = [
        area_plan(
            a, names.get(a, "Not known" if a == UNKNOWN else a), counts.get(a, {}), in_post, norms
        )
        for a in order
    ]
    # The board from its true totals, rounded once (as the population page's board line).
    totals: dict[int, int] = defaultdict(int)
    for per_level in counts.values():
        for lv, n in per_level.items():
            totals[lv] += n
    board_levels = {lv: count(totals.get(lv, 0)) for lv in (0, *LEVELS)}
    whole = count(sum(totals.values()))
    board = _plan(BOARD, "Whole health board", board_levels, whole, in_post, norms, None)
    return plans, board
