"""Commissioner pages for capacity planning and unmet need (docs/capacity.md).

``/app/population/capacity``: staff needed against staff in post (WTE) for the board
or a locality, from the people per CCM level in the store's people index and the
caseload norms; ``/app/population/unmet-need``: referrals declined for unmet need,
waiting past their standard or waiting at a service at capacity, by service,
locality and CCM level, with the staff's notes de-identified (careweave.capacity.unmet).
Analysts (commissioners) only; counts suppressed and rounded before any arithmetic.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from careweave.capacity import norms as norms_mod
from careweave.capacity import plan, staffing, unmet
from careweave.measures.disclosure import THRESHOLD, Cell
from careweave.security import audit
from careweave.web import charts
from careweave.web.render import PageDep, render_error

router = APIRouter(prefix="/app")
LEVEL_WORDS = {
    0: "Not scored",
    1: "1 Prevention",
    2: "2 Population management",
    3: "3 High-risk management",
    4: "4 Case management",
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


def wte(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f}"


def gap_text(v: float | None) -> str:
    if v is None:
        return "–"
    if abs(v) < 0.05:
        return "0.0"
    return f"{v:+,.1f}".replace("-", "−")


def capacity_chart(area: plan.AreaPlan, chart_id: str) -> Any:
    items = [
        (
            x.norm.title,
            x.needed_wte,
            x.in_post_wte,
            f"needed {wte(x.needed_wte)}" if x.needed_wte is not None else "needed: not shown",
            f"in post {wte(x.in_post_wte)}",
        )
        for x in area.lines
    ]
    short = [x.norm.title for x in area.lines if x.gap_wte is not None and x.gap_wte < -0.05]
    desc = f"Whole-time equivalents needed and in post for each staff group, {area.name}. " + (
        f"Short of staff: {', '.join(short)}." if short else "No group is short of staff."
    )
    return charts.paired_bars(chart_id, f"Staff needed and in post (WTE), {area.name}", desc, items)


@router.get("/population/capacity", response_class=HTMLResponse)
def capacity(p: PageDep, area: Annotated[str, Query(max_length=32)] = plan.BOARD) -> Response:
    p.ctx.require("pseudonymised", "read")
    config_dir = getattr(p.request.app.state, "careweave_config_dir", None)
    norms, norms_name = norms_mod.for_config_dir(config_dir)
    s = p.ctx.session
    areas, board = plan.build(s, norms, staffing.from_store(s, norms))
    chosen = board if area == plan.BOARD else next((a for a in areas if a.area == area), None)
    if chosen is None:  # an edited address: explained, with the way back to the plain page
        return render_error(
            p.request,
            422,
            "Area: choose the whole board or a locality from the list",
            None,
            "/app/population/capacity",
        )
    shortfalls = [
        (a, [x for x in a.lines if x.gap_wte is not None and x.gap_wte < -0.05]) for a in areas
    ]
    _audit(p, f"capacity {area}")
    return p.render(
        "capacity.html",
        title="Capacity: staff needed and in post",
        areas=areas,
        board=board,
        chosen=chosen,
        chart=capacity_chart(chosen, "chart-capacity"),
        shortfalls=shortfalls,
        norms=norms,
        norms_name=norms_name,
        level_words=LEVEL_WORDS,
        wte=wte,
        gap_text=gap_text,
        threshold=THRESHOLD,
    )


def unmet_chart(result: unmet.UnmetNeed, chart_id: str) -> Any:
    items = []
    for sid, svc in result.services.items():
        c = result.total("service", sid)
        if result.totals.get(("service", sid)):
            items.append((svc.name, float(c.value or 0), c.text))
    items.sort(key=lambda t: -t[1])
    return items, charts.bars(
        chart_id, "Referrals showing unmet need, by service", items
    ) if items else None


@router.get("/population/unmet-need", response_class=HTMLResponse)
def unmet_need(p: PageDep, months: Annotated[int, Query(ge=1, le=120)] = 12) -> Response:
    p.ctx.require("pseudonymised", "read")
    config_dir = getattr(p.request.app.state, "careweave_config_dir", None)
    norms, _ = norms_mod.for_config_dir(config_dir)
    result = unmet.compute(p.ctx.session, norms, p.ctx.now, months)
    items, chart = unmet_chart(result, "chart-unmet")
    by_locality = sorted(
        ((name, result.total("locality", loc)) for loc, name in result.localities.items()),
        key=lambda t: t[0],
    )
    by_level = [
        (LEVEL_WORDS[lv], result.total("level", lv))
        for lv in (4, 3, 2, 1, 0)
        if result.totals.get(("level", lv))
    ]
    kinds = [(words, result.total("kind", k)) for k, words in unmet.KINDS.items()]
    reasons = [
        (unmet.reason_words(r), result.total("reason", r))
        for r in ("no_capacity", "out_of_area", "not_eligible")
    ]
    _audit(p, f"unmet need {months} months")
    return p.render(
        "unmet_need.html",
        title="Unmet need",
        result=result,
        chart=chart,
        chart_items=items,
        kinds=kinds,
        reasons=reasons,
        by_locality=by_locality,
        by_level=by_level,
        months=months,
        all_total=result.total("all"),
        kind_words=unmet.KINDS,
        reason_words=unmet.reason_words,
        level_words=LEVEL_WORDS,
        threshold=THRESHOLD,
        empty=Cell(0),
    )
