"""Commissioner intelligence pages: the KPI dashboard (SPC) and funnel plots.

Both read the persisted measures (``population_measures``) through
:mod:`careweave.web.intelligence`, with disclosure control applied before any
statistic; analysts (commissioners) only, like every population page.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from careweave.measures.catalogue import Kpi, load_catalogue
from careweave.measures.disclosure import SUPPRESSED, THRESHOLD
from careweave.security import audit
from careweave.security.errors import Invalid
from careweave.web import intelligence as intel
from careweave.web import statcharts
from careweave.web import warehouse as wh
from careweave.web.pages.patient import warehouse_path
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")


def fmt_for(kpi: Kpi) -> str:
    if kpi.kind == "proportion":
        return "{:.1%}"
    if kpi.kind == "count":
        return "{:,.0f}"
    return "{:,.1f}"


def shown(value: float | None, kpi: Kpi) -> str:
    return "–" if value is None else fmt_for(kpi).format(value)


def count_text(value: float | None, suppressed: bool) -> str:
    if value is None:
        return SUPPRESSED if suppressed else "–"
    return f"{value:,.0f}"


def _audit(p: PageDep, what: str) -> None:
    audit.record(
        p.ctx.session,
        actor=p.user.username,
        action="read",
        resource="pseudonymised",
        detail=what,
        now=p.ctx.now,
    )


def _month(text: str | None, field: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise Invalid(f"{field}: choose a month like 2026-03") from None


def _group(text: str, known: dict[str, list[str]]) -> tuple[str, str]:
    if text == "all":
        return "all", "all"
    by, _, value = text.partition(":")
    if by not in intel.GROUPS or value not in known.get(by, []):
        raise Invalid("area: choose the whole board, a locality or a practice from the list")
    return by, value


@router.get("/population/kpis", response_class=HTMLResponse)
def dashboard(
    p: PageDep,
    area: Annotated[str, Query(max_length=80)] = "all",
    start: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=7)] = None,
) -> Response:
    p.ctx.require("pseudonymised", "read")
    context: dict[str, Any] = {"title": "KPI dashboard", "charts": None, "threshold": THRESHOLD}
    path = warehouse_path(p.request)
    with wh.connect(path) as con:
        if con is not None and intel.has_measures(con):
            months, known, names = intel.cached(
                path,
                ("meta",),
                lambda: (intel.months(con), intel.group_values(con), intel.org_names(con)),
            )
            orgs = {**names, **{k: v.name for k, v in _orgs(p).items()}}
            by, value = _group(area, known)
            lo = _month(start, "from") or (months[0] if months else dt.date.min)
            hi = _month(end, "to") or (months[-1] if months else dt.date.max)
            if lo > hi:
                raise Invalid("from: the first month must not be after the last")
            charts = intel.cached(
                path,
                ("dashboard", by, value, lo, hi),
                lambda: intel.dashboard(con, by, value, lo, hi),
            )
            items = []
            for i, c in enumerate(charts):
                svg = (
                    statcharts.spc_chart(
                        f"spc-{i}",
                        f"{c.kpi.title}: monthly, {c.kpi.unit}",
                        c.result,
                        fmt_for(c.kpi),
                    )
                    if c.result is not None and c.result.points
                    else None
                )
                spc_by_month = (
                    {pt.date: pt for pt in c.result.points} if c.result is not None else {}
                )
                items.append({"chart": c, "svg": svg, "points": spc_by_month})
            context.update(
                charts=items,
                months=months,
                known=known,
                area=area,
                area_name=_area_name(by, value, orgs),
                start=lo,
                end=hi,
                org_names=orgs,
            )
    _audit(p, f"KPI dashboard {area}")
    return p.render(
        "kpis.html",
        shown=shown,
        count_text=count_text,
        variation_words=statcharts.VARIATION_WORDS,
        assurance_words=statcharts.ASSURANCE_WORDS,
        point_words=statcharts.POINT_WORDS,
        rule_words=statcharts.RULE_WORDS,
        variation_tag=statcharts.variation_tag,
        assurance_tag=statcharts.assurance_tag,
        **context,
    )


def _orgs(p: PageDep) -> dict[str, Any]:
    from careweave.web.worklist_query import organisations

    return organisations(p.ctx.session)


def _area_name(by: str, value: str, orgs: dict[str, str]) -> str:
    if by == "all":
        return "Whole health board"
    return f"{orgs.get(value, value)} ({by})"


@router.get("/population/funnel", response_class=HTMLResponse)
def funnel_page(
    p: PageDep,
    kpi: Annotated[str | None, Query(max_length=80)] = None,
    by: Annotated[str, Query(pattern="^(locality|practice)$")] = "practice",
) -> Response:
    p.ctx.require("pseudonymised", "read")
    choices = intel.funnel_kpis()
    chosen = choices[0] if kpi is None else load_catalogue().kpis.get(kpi)
    if chosen is None or chosen not in choices:
        raise Invalid("kpi: choose a measure from the list")
    orgs = {k: v.name for k, v in _orgs(p).items()}
    found = None
    path = warehouse_path(p.request)
    with wh.connect(path) as con:
        if con is not None and intel.has_measures(con):
            found = intel.cached(
                path, ("funnel", chosen.name, by), lambda: intel.funnel_of(con, chosen, by)
            )
            orgs = {**intel.cached(path, ("names",), lambda: intel.org_names(con)), **orgs}
    svg = None
    if found is not None and found.result is not None:
        result, end = found.result, found.end
        svg = intel.cached(
            path,
            ("funnel-svg", chosen.name, by),
            lambda: statcharts.funnel_chart(
                "funnel",
                f"{chosen.title} by {by}, 12 months to {end:%-d %b %Y}",
                result,
                orgs,
                fmt_for(chosen),
                chosen.per if chosen.kind == "rate" else 1.0,
            ),
        )
    _audit(p, f"funnel {chosen.name} by {by}")
    return p.render(
        "funnel.html",
        title="Funnel plot",
        choices=choices,
        kpi=chosen,
        by=by,
        found=found,
        svg=svg,
        org_names=orgs,
        shown=shown,
        threshold=THRESHOLD,
    )
