"""The schemes page: a pooled budget's schemes, spend against allocation, KPIs against trajectory.

``/app/population/schemes`` for commissioners and analysts (``pseudonymised:read``,
like every population page). The budget file is the one the settings name
(``CAREWEAVE_BUDGET_FILE``, handed to :func:`careweave.web.install`), else the
shipped example (docs/budgets.md records the decision). The figures come from
:func:`careweave.budgets.report.report`, which reads the persisted
``population_measures`` and applies disclosure control before any statistic;
nothing here is person-level. A budget file that fails validation is shown as
its one-line error in the NHS.UK error summary (422), not a crash.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from careweave.budgets.file import Budget, example_path, load_budget
from careweave.budgets.report import BudgetReport, SchemeReport, report
from careweave.errors import InputError
from careweave.measures.disclosure import THRESHOLD
from careweave.web import charts, statcharts
from careweave.web import intelligence as intel
from careweave.web import warehouse as wh
from careweave.web.kpi_view import fmt_for
from careweave.web.pages.intelligence import WORDS, _audit, store_names
from careweave.web.pages.patient import warehouse_path
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")

ASSURANCE_WORDS = {
    "consistently_passes": "Consistently passes the target",
    "consistently_fails": "Consistently fails the target",
    "hit_and_miss": "Hit and miss against the target",
}


def budget_path(request: Request) -> Path:
    """The budget file the app was given, else the shipped example."""
    p: Path | None = getattr(request.app.state, "careweave_budget", None)
    return p if p is not None else example_path()


def money(x: float | None) -> str:
    return "–" if x is None else f"£{x:,.0f}"


def _spend_chart(i: int, s: SchemeReport) -> Any:
    f = s.spend_forecast
    items = [
        ("Allocation", s.scheme.allocation, money(s.scheme.allocation)),
        (
            f"Spent so far ({s.months_spent} months)",
            s.spend_to_date or 0.0,
            money(s.spend_to_date),
        ),
        ("Forecast for the year", f.value or 0.0, money(f.value)),
    ]
    return charts.bars(f"scheme-{i}-spend", f"{s.scheme.name}: allocation and spend", items)


def view(r: BudgetReport) -> list[dict[str, Any]]:
    """Each scheme with its charts (SVG) for the template."""
    out = []
    for i, s in enumerate(r.schemes):
        kpis = []
        for j, k in enumerate(s.kpis):
            planned = {m.month: m.trajectory for m in k.year_rows if m.trajectory is not None}
            svg = (
                statcharts.spc_chart(
                    f"scheme-{i}-kpi-{j}",
                    f"{k.kpi.title}: monthly, {k.kpi.unit}, with the scheme's trajectory",
                    k.spc,
                    fmt_for(k.kpi),
                    trajectory=planned,
                )
                if k.spc is not None and k.spc.points
                else None
            )
            points = {p.date: p for p in k.spc.points} if k.spc is not None else {}
            kpis.append({"k": k, "svg": svg, "points": points})
        out.append({"s": s, "spend_svg": _spend_chart(i, s), "kpis": kpis})
    return out


def _report(path: Path, budget: Budget, source: str) -> tuple[BudgetReport, list[dict[str, Any]]]:
    with wh.connect(path) as con:
        r = report(con, budget, source) if con is not None else None
    if r is None:
        raise InputError(f"{path}: cannot open the warehouse")
    return r, view(r)


@router.get("/population/schemes", response_class=HTMLResponse)
def schemes_page(p: PageDep) -> Response:
    p.ctx.require("pseudonymised", "read")
    source = budget_path(p.request)
    context: dict[str, Any] = {
        "title": "Schemes and pooled budget",
        "threshold": THRESHOLD,
        "money": money,
        "scheme_assurance_words": ASSURANCE_WORDS,
        "budget_name": source.name,
        **WORDS,
    }
    try:
        budget = load_budget(source)
    except InputError as e:
        _audit(p, "schemes: budget file invalid")
        return p.render("schemes.html", status=422, errors=[str(e)], rep=None, **context)
    path = warehouse_path(p.request)
    rep: BudgetReport | None = None
    items: list[dict[str, Any]] = []
    if path is not None and intel.version(path) is not None:
        stamp = os.stat(source).st_mtime_ns
        rep, items = intel.cached(
            path, ("schemes", str(source), stamp), lambda: _report(path, budget, source.name)
        )
    orgs = store_names(p.ctx.session)
    _audit(p, f"schemes {source.name}")
    return p.render(
        "schemes.html",
        budget=budget,
        rep=rep,
        items=items,
        org_names=orgs,
        **context,
    )
