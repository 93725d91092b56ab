"""The finance page for commissioners and analysts: spend by setting, funder and group, and
capitated budgets against actual (docs/finance.md). Pseudonymised aggregates only, every figure
through the disclosure rule (careweave.web.finance)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from careweave.measures.disclosure import THRESHOLD
from careweave.security import audit
from careweave.web import charts
from careweave.web import finance as fin
from careweave.web.finance import money
from careweave.web.intelligence import org_names
from careweave.web.pages.patient import warehouse
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")
BY_LABELS = {
    "segment": "Segment",
    "ccm_level": "CCM level",
    "locality": "Locality",
    "practice": "Practice",
}


def pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _spend_chart(chart_id: str, title: str, rows: list[fin.SpendRow]) -> Any:
    return charts.bars(
        chart_id,
        title,
        [(r.label, r.per_head or 0.0, money(r.per_head)) for r in rows],
    )


def _ratio_chart(chart_id: str, title: str, rows: list[dict[str, Any]]) -> Any:
    items = []
    for r in rows:
        ok = r["capitated"] and r["actual"] is not None
        ratio = r["actual"] / r["capitated"] if ok else None
        items.append((r["name"], 100 * ratio if ratio else 0.0, pct(ratio) if ok else "<8"))
    return charts.bars(chart_id, title, items)


@router.get("/population/finance", response_class=HTMLResponse)
def finance(
    request: Request,
    p: PageDep,
    by: Annotated[str, Query(pattern="^(segment|ccm_level|locality|practice)$")] = "segment",
) -> Response:
    p.ctx.require("pseudonymised", "read")
    spend = None
    groups: list[fin.GroupSpend] = []
    cap = None
    names: dict[str, str] = {}
    with warehouse(request) as con:
        if con is not None:
            names = org_names(con)
            spend = fin.board_spend(con)
            if spend is not None:
                groups = fin.spend_by(con, by)
            cap = fin.capitation(con)
    context: dict[str, Any] = {"spend": spend, "cap": cap, "by": by, "by_labels": BY_LABELS}
    if spend is not None:
        context["setting_chart"] = _spend_chart(
            "chart-setting", "Spend per head a year by setting, whole board", spend.settings
        )
        context["funder_chart"] = _spend_chart(
            "chart-funder", "Spend per head a year by who pays, whole board", spend.funders
        )
        context["groups"] = [
            {
                "name": names.get(g.value, g.value) if by in ("locality", "practice") else g.value,
                "g": g,
            }
            for g in groups
        ]
    if cap is not None:

        def rows(frame: Any, level: str) -> list[dict[str, Any]]:
            part = frame[frame.level == level]
            return [{**r, "name": names.get(r["unit"], r["unit"])} for r in part.to_dict("records")]

        context["val_board"] = rows(cap.validation, "board")
        context["val_localities"] = rows(cap.validation, "locality")
        context["val_practices"] = rows(cap.validation, "practice")
        context["bud_board"] = rows(cap.budget, "board")
        context["bud_localities"] = rows(cap.budget, "locality")
        context["bud_practices"] = rows(cap.budget, "practice")
        context["overall"] = next((r for r in cap.card if r["group_by"] == "all"), None)
        level = "locality" if len(context["val_localities"]) > 1 else "practice"
        context["ratio_chart"] = _ratio_chart(
            "chart-capitation",
            f"Actual spend as a percentage of the capitated budget, by {level}",
            context["val_localities"] if level == "locality" else context["val_practices"],
        )
    audit.record(
        p.ctx.session,
        actor=p.user.username,
        action="read",
        resource="pseudonymised",
        detail=f"finance by {by}",
        now=p.ctx.now,
    )
    return p.render(
        "finance.html",
        title="Finance: spend and capitated budgets",
        money=money,
        pct=pct,
        threshold=THRESHOLD,
        **context,
    )
