"""The health needs assessment page (/app/population/needs), for commissioners and analysts.

Reads the tables ``careweave needs`` writes through :mod:`careweave.web.needs`
(disclosure control first); pseudonymised aggregates only, like every population page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from careweave.measures.disclosure import THRESHOLD
from careweave.security.errors import Invalid
from careweave.web import charts, statcharts
from careweave.web import intelligence as intel
from careweave.web import needs as nd
from careweave.web import warehouse as wh
from careweave.web.kpi_view import area_name
from careweave.web.pages.intelligence import _audit, store_names
from careweave.web.pages.patient import warehouse_path
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")


def _view(path: Path) -> dict[str, Any] | None:
    """Everything the page can show of the latest run (cached per warehouse version)."""
    with wh.connect(path) as con:
        if con is None:
            return None
        run = nd.latest_run(con)
        if run is None:
            return None
        return {
            "run": run,
            "units": nd.units(con),
            "registers": nd.registers(con),
            "levels": nd.levels(con),
            "names": intel.org_names(con),
        }


def _area(text: str, units: dict[str, list[str]]) -> tuple[str, str]:
    if text == "all":
        return "all", "all"
    by, _, value = text.partition(":")
    if by not in ("locality", "practice") or value not in units.get(by, []):
        raise Invalid("area: choose the whole board, a locality or a practice from the list")
    return by, value


def _fmt_int(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _ci(value: str, lo: str, hi: str) -> Markup:
    """A figure with its interval on a line of its own that does not break."""
    return Markup('{} <span class="cw-ci">({} to {})</span>').format(value, lo, hi)


def _ratio(r: dict[str, Any]) -> Markup | str:
    if r["ratio"] is None:
        return "–"
    return _ci(f"{r['ratio']:.2f}", f"{r['ratio_lower']:.2f}", f"{r['ratio_upper']:.2f}")


def _gap(r: dict[str, Any]) -> Markup | str:
    if r["gap"] is None:
        return "–"
    return _ci(f"{r['gap']:,.0f}", f"{r['gap_lower']:,.0f}", f"{r['gap_upper']:,.0f}")


def _level_charts(levels: nd.Levels) -> tuple[Any, Any]:
    order = [lv for lv in (4, 3, 2, 1, 0) if lv in levels.items]
    people = []
    spend = []
    for lv in order:
        it = levels.items[lv]
        p = it["people"]
        people.append(
            (
                nd.LEVEL_NAMES[lv],
                float(p["value"] or 0),
                "<8" if p["suppressed"] else _fmt_int(p["value"]),
            )
        )
        s = it["spend_per_head"]["value"]
        spend.append((nd.LEVEL_NAMES[lv], float(s or 0), "–" if s is None else f"£{s:,.0f}"))
    return (
        charts.bars("needs-people", "People at each CCM level", people),
        charts.bars("needs-spend", "Spend per person-year at each CCM level", spend),
    )


@router.get("/population/needs", response_class=HTMLResponse)
def needs_page(
    p: PageDep,
    area: Annotated[str, Query(max_length=80)] = "all",
    register: Annotated[str | None, Query(max_length=60)] = None,
    by: Annotated[str, Query(pattern="^(practice|locality)$")] = "practice",
) -> Response:
    """Recorded against expected prevalence for an area, one register across practices or
    localities, and needs at each CCM level."""
    p.ctx.require("pseudonymised", "read")
    path = warehouse_path(p.request)
    view = intel.cached(path, ("needs-view",), lambda: _view(path)) if path is not None else None
    context: dict[str, Any] = {"view": view}
    if view is not None and path is not None:
        orgs = {**view["names"], **store_names(p.ctx.session)}
        a_by, a_value = _area(area, view["units"])
        with_ref = [r for r, _, has in view["registers"] if has]
        chosen = register or (with_ref[0] if with_ref else None)
        if register is not None and register not in with_ref:
            raise Invalid("register: choose a register from the list")
        label_of = {r: label for r, label, _ in view["registers"]}

        def build() -> dict[str, Any]:
            with wh.connect(path) as con:
                rows = nd.area_registers(con, a_by, a_value)
                across = nd.register_units(con, chosen, by) if chosen else []
            name = area_name(a_by, a_value, orgs)
            shown = [r for r in rows if r["ratio"] is not None]
            svg = (
                statcharts.ratio_chart(
                    "needs-ratio",
                    f"Recorded against expected prevalence, {name}",
                    [(r["label"], r["ratio"], r["ratio_lower"], r["ratio_upper"]) for r in shown],
                    f"{len(shown)} registers: the ratio of people recorded to people expected with "
                    "its 95% interval; below 1 means fewer recorded than expected. "
                    + "; ".join(f"{r['label']} {r['ratio']:.2f}" for r in shown),
                )
                if shown
                else None
            )
            unit_shown = [r for r in across if r["ratio"] is not None]
            unit_svg = (
                statcharts.ratio_chart(
                    "needs-units",
                    f"{label_of.get(chosen or '', chosen)}: recorded against expected by {by}",
                    [
                        (
                            orgs.get(r["group_value"], r["group_value"]),
                            r["ratio"],
                            r["ratio_lower"],
                            r["ratio_upper"],
                        )
                        for r in unit_shown
                    ],
                    f"{len(unit_shown)} {by}s, lowest ratio first: "
                    + "; ".join(
                        f"{orgs.get(r['group_value'], r['group_value'])} {r['ratio']:.2f}"
                        for r in unit_shown
                    ),
                )
                if unit_shown
                else None
            )
            return {
                "rows": rows,
                "svg": svg,
                "across": across,
                "unit_svg": unit_svg,
                "area_name": name,
            }

        built = intel.cached(path, ("needs-page", a_by, a_value, chosen, by), build)
        level_svgs = _level_charts(view["levels"]) if view["levels"] is not None else (None, None)
        context.update(
            built,
            area=area,
            register=chosen,
            register_names=label_of,
            with_ref=with_ref,
            by=by,
            org_names=orgs,
            levels=view["levels"],
            level_svgs=level_svgs,
        )
    _audit(p, f"needs assessment {area} {register or ''} by {by}")
    return p.render(
        "needs.html",
        title="Health needs assessment",
        threshold=THRESHOLD,
        fmt_int=_fmt_int,
        pct=_pct,
        ratio_text=_ratio,
        gap_text=_gap,
        level_names=nd.LEVEL_NAMES,
        **context,
    )
