"""Commissioner pages: pseudonymised aggregates with small numbers suppressed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from careweave.measures.disclosure import THRESHOLD, count, share
from careweave.security import audit
from careweave.web import charts, population
from careweave.web import warehouse as wh
from careweave.web.pages.intelligence import measures_meta
from careweave.web.pages.patient import warehouse, warehouse_path
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")
LEVEL_NAMES = {
    4: "4 Case management",
    3: "3 High-risk management",
    2: "2 Population management",
    1: "1 Prevention",
    0: "Not scored",
}


def _audit(p: PageDep, what: str) -> None:
    audit.record(
        p.ctx.session,
        actor=p.user.username,
        action="read",
        resource="pseudonymised",
        detail=what,
        now=p.ctx.now,
    )


@router.get("/population", response_class=HTMLResponse)
def pyramid(
    p: PageDep, by: Annotated[str, Query(pattern="^(locality|cluster|practice)$")] = "locality"
) -> Response:
    p.ctx.require("pseudonymised", "read")
    groups = population.pyramid(p.ctx.session, by)
    totals = population.level_counts(p.ctx.session)
    whole = count(sum(totals.values()))
    overall = [
        (LEVEL_NAMES[lv], count(totals.get(lv, 0))) for lv in (4, 3, 2, 1, 0) if lv in totals or lv
    ]
    chart = charts.bars(
        "chart-pyramid",
        "People by CCM level, whole health board",
        [(name, float(c.value or 0), f"{c.text} ({share(c, whole)})") for name, c in overall],
    )
    table = [
        (g, count(g.total), [count(g.counts.get(lv, 0)) for lv in population.LEVELS])
        for g in groups
    ]
    _audit(p, f"pyramid by {by}")
    return p.render(
        "population.html",
        title="Population by CCM level",
        by=by,
        chart=chart,
        overall=overall,
        whole=whole,
        table=table,
        share=share,
        threshold=THRESHOLD,
        levels=population.LEVELS,
        # the pack is made from the persisted measures: no link to a page that would refuse
        has_measures=measures_meta(warehouse_path(p.request)) is not None,
    )


@router.get("/population/segments", response_class=HTMLResponse)
def segments(request: Request, p: PageDep) -> Response:
    p.ctx.require("pseudonymised", "read")
    counts = population.segment_counts(p.ctx.session)
    found: wh.SegmentSpend | None = None
    with warehouse(request) as con:
        if con is not None:
            found = wh.segment_spend(con)
    spend = found.by_segment if found is not None else None
    people_total = count(sum(counts.values()))
    spend_total = sum(spend.values()) if spend else 0.0
    rows = []
    for seg, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        c = count(n)
        s = spend.get(seg) if spend is not None else None
        rows.append(
            {
                "segment": seg,
                "people": c,
                "share_people": share(c, people_total),
                "share_spend": f"{100 * s / spend_total:.1f}%"
                if s is not None and spend_total and c.value is not None
                else "–",
                "per_head": f"£{s / n:,.0f}"
                if s is not None and n and c.value is not None
                else "–",
            }
        )
    _audit(p, "segments")
    return p.render(
        "segments.html",
        title="Segments: people and spend",
        rows=rows,
        people_total=people_total,
        has_spend=spend is not None,
        spend=found,
        threshold=THRESHOLD,
    )


@router.get("/population/movement", response_class=HTMLResponse)
def movement(request: Request, p: PageDep) -> Response:
    p.ctx.require("pseudonymised", "read")
    result = None
    with warehouse(request) as con:
        if con is not None:
            result = wh.movement(con)
    context: dict[str, Any] = {"title": "Movement between levels", "result": None}
    if result is not None:
        before, after, matrix = result
        cells = {k: count(v) for k, v in matrix.items()}
        moved_down = sum(v for (a, b), v in matrix.items() if b < a)
        total = sum(matrix.values())
        context.update(
            result=True,
            before=before,
            after=after,
            cells=cells,
            levels=population.LEVELS,
            moved_down=count(moved_down),
            total=count(total),
            share=share,
        )
    _audit(p, "movement")
    return p.render("movement.html", threshold=THRESHOLD, **context)
