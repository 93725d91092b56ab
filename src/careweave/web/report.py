"""The commissioner's PDF pack of an area: `careweave report` and the pages' downloads.

One pack for the whole board, a locality or a practice over a period of months,
rendered from the Jinja2 template ``report.html`` with the same SVG charts as the
pages and turned into A4 pages by :mod:`careweave.pdf` (WeasyPrint). It holds:

1. **the CCM pyramid** of the area (people at each level from the store's people
   index, as the population page counts them), when a store is given;
2. **the KPIs as SPC charts** (every catalogue KPI with data for the area, monthly
   over the period, as on the dashboard) with a summary table of the latest
   month, mean, process limits, variation and assurance;
3. **benchmarking** (a locality or practice): every KPI against the board's
   median and quartiles and the median of its peers of similar age and
   deprivation profile (web/benchmark.py);
4. **funnel position**: for a locality or practice, where it sits against its
   peers for every KPI a funnel can show (value, board value, 99.8% limits,
   inside / above / below) over the latest rolling 12 months ending in the
   period; for the board, the outlying practices and localities by KPI;
5. **capacity and unmet need** (board or locality, when a store is given): staff
   needed against staff in post as WTE (careweave.capacity.plan, the shipped norms)
   and referrals showing unmet need by service (careweave.capacity.unmet: counts
   only; the staff's notes stay on the page, not in the pack);
6. **finance** (when ``careweave finance spend`` / ``capitation`` have run): the
   latest 12 months' spend by setting and funder (the board's; a locality's or
   practice's total and by funder) and the capitated budget against actual spend
   of the area, with next year's budget (web/finance.py, the page's figures);
7. **health needs assessment** (when ``careweave needs`` has run): the area's
   recorded against expected prevalence per register with the gap in people and
   their 95% intervals, dated and sourced with the reference table
   (web/needs.py, docs/needs-assessment.md);
8. **the evaluation** of case management: the latest stored result
   (``careweave evaluate --store``), when a store is given and holds one: verdict,
   forest plot, effects beside the naive before/after, balance (web/evaluation_view.py).

Every figure is dated and sourced: each section says the months it covers and
the pack's footer names the warehouse file, when ``careweave measures`` computed
the measures (definition version and engine) and when the pack was made.
Small numbers are suppressed exactly as on the pages: every measure passes
:func:`careweave.measures.disclosure.safe_frame` before any statistic, and
pyramid counts pass :func:`careweave.measures.disclosure.count`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from careweave import pdf
from careweave.care.wording import uk_date, uk_time
from careweave.errors import CareweaveError
from careweave.measures.disclosure import THRESHOLD, Cell, count, share
from careweave.web import charts, kpi_view
from careweave.web import intelligence as intel
from careweave.web.kpi_view import fmt_for
from careweave.web.templating import env

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# The store's modules (SQLAlchemy models: the pyramid, capacity, the evaluation) are
# imported where a store is given, so `careweave report` without --db does not load them.

STATIC = Path(__file__).parent / "static"
LEVEL_NAMES = {
    4: "4 Case management",
    3: "3 High-risk management",
    2: "2 Population management",
    1: "1 Prevention",
    0: "Not scored",
}
POSITION_WORDS = {"above": "Above", "below": "Below", "inside": "Inside"}


def parse_area(text: str) -> tuple[str, str]:
    """``board``, ``locality:L`` or ``practice:P`` (also ``all``, and a space for the
    colon) as the measures' (group_by, group_value)."""
    t = text.strip()
    if t in ("board", "all"):
        return "all", "all"
    parts = re.split(r"[: ]+", t, maxsplit=1)
    by, value = [*parts, ""][:2]
    if by not in intel.GROUPS or not value:
        raise CareweaveError(f"--area: {text!r} is not board, locality CODE or practice CODE")
    return by, value


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """``YYYY-MM..YYYY-MM`` as the first day of each month."""
    start, sep, end = text.partition("..")
    try:
        if not sep:
            raise ValueError
        lo = dt.date.fromisoformat(f"{start.strip()}-01")
        hi = dt.date.fromisoformat(f"{end.strip()}-01")
    except ValueError:
        raise CareweaveError(f"--period: {text!r} is not FROM..TO as YYYY-MM..YYYY-MM") from None
    if lo > hi:
        raise CareweaveError(f"--period: {text!r} starts after it ends")
    return lo, hi


def month_end(d: dt.date) -> dt.date:
    nxt = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def chart_css() -> str:
    """careweave.css's chart rules (outside any @media), for inside the PDF's inline SVG."""
    css = (STATIC / "careweave.css").read_text(encoding="utf-8")
    css = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", css)
    rules = re.findall(r"(\.cw-chart[^{]*\{[^}]*\})", css)
    return "".join(r for r in rules if "--narrow" not in r)


REPORT_CSS = """
.cw-chart--narrow { display: none; }
/* Two charts a row as inline blocks: WeasyPrint's flex layout costs seconds here. */
.cw-pdf-card { display: inline-block; vertical-align: top; width: 84mm; margin: 0 3mm 3mm 0;
               break-inside: avoid; }
.cw-pdf-card h3 { font-size: 9.5pt; margin: 0 0 1mm; }
.cw-pdf-card p { font-size: 8pt; margin: 0 0 1mm; }
.cw-pdf-card svg, .cw-pdf-card img { width: 84mm; height: 47mm; }
.cw-pdf-lede { font-size: 11pt; }
/* The three long tables (a row per KPI) have set column widths: WeasyPrint's automatic
   table layout measures every cell's text twice over first, a tenth of the pack's time. */
#kpi-summary, #benchmark, #positions { table-layout: fixed; }
#kpi-summary th:nth-child(1) { width: 25%; }
#kpi-summary th:nth-child(2) { width: 8%; }
#kpi-summary th:nth-child(3), #kpi-summary th:nth-child(4) { width: 7%; }
#kpi-summary th:nth-child(5) { width: 11%; }
#kpi-summary th:nth-child(6) { width: 15%; }
#benchmark th:nth-child(1) { width: 30%; }
#benchmark th:nth-child(2), #benchmark th:nth-child(3) { width: 8%; }
#benchmark th:nth-child(4) { width: 16%; }
#benchmark th:nth-child(5) { width: 18%; }
#positions th:nth-child(1) { width: 45%; }
#positions th:nth-child(4) { width: 18%; }
"""


@dataclass(frozen=True)
class Pack:
    """Everything the template needs: kept apart from rendering so tests can read it."""

    area_by: str
    area_value: str
    area_name: str
    start: dt.date
    end: dt.date
    generated: dt.datetime
    source: str
    provenance: intel.Provenance
    pyramid: list[tuple[str, Cell]] | None
    pyramid_total: Cell | None
    pyramid_chart: Markup | None
    kpis: list[dict[str, Any]]
    positions: list[dict[str, Any]]  # locality/practice: this unit per funnel KPI
    outliers: list[dict[str, Any]]  # board: outlying units per funnel KPI
    funnel_end: dt.date | None
    benchmark: list[Any] = field(default_factory=list)  # benchmark.ProfileRow per KPI
    peers: list[str] = field(default_factory=list)
    capacity: Any = None  # capacity.plan.AreaPlan (board or locality, with a store)
    unmet: list[tuple[str, Cell]] | None = None  # (service name, referrals) with a store
    unmet_kinds: list[tuple[str, Cell]] = field(default_factory=list)
    finance: dict[str, Any] | None = None  # _finance: spend and capitation of the area
    needs: dict[str, Any] | None = None  # {"run": needs.Run, "rows": shown registers}
    schemes: Any = None  # careweave.budgets.report.BudgetReport: the area's schemes
    scheme_error: str | None = None  # the budget file's error, when it does not validate
    evaluation: Any = None  # evaluation_view.View of the latest stored case-management result


def _pyramid(session: Session, by: str, value: str) -> tuple[list[tuple[str, Cell]], Cell] | None:
    from careweave.web import population

    if by == "all":
        totals = population.level_counts(session)
    else:
        group = next((g for g in population.pyramid(session, by) if g.org_id == value), None)
        if group is None:
            return None
        totals = group.counts
    levels = [
        (LEVEL_NAMES[lv], count(totals.get(lv, 0))) for lv in (4, 3, 2, 1, 0) if lv or totals.get(0)
    ]
    return levels, count(sum(totals.values()))


def build(
    con: Any,
    *,
    area: tuple[str, str],
    period: tuple[dt.date, dt.date],
    names: dict[str, str],
    source: str,
    session: Session | None = None,
    now: dt.datetime | None = None,
    budget: Path | None = None,
) -> Pack:
    """The pack's figures for ``area`` over ``period`` from the warehouse connection
    (``budget``: the pooled budget file for the schemes section; None: the shipped example)."""
    by, value = area
    lo, hi = period
    if not intel.has_measures(con):
        raise CareweaveError(
            f"{source}: no population_measures table; run careweave measures --warehouse W first"
        )
    known = intel.group_values(con)
    if by != "all" and value not in known.get(by, []):
        raise CareweaveError(f"--area: no measures for {by} {value!r} in {source}")
    area_name = kpi_view.area_name(by, value, names)
    pyramid = _pyramid(session, by, value) if session is not None else None
    pyramid_chart = None
    if pyramid is not None:
        levels, whole = pyramid
        pyramid_chart = charts.bars(
            "pdf-pyramid",
            f"People by CCM level, {area_name}",
            [(n, float(c.value or 0), f"{c.text} ({share(c, whole)})") for n, c in levels],
        )
    kpis: list[dict[str, Any]] = []
    for i, c in enumerate(intel.dashboard(con, by, value, lo, hi)):
        svg = kpi_view.spc_chart(c, f"pdf-spc-{i}")
        last = c.result.points[-1] if c.result is not None and c.result.points else None
        kpis.append({"chart": c, "svg": svg, "last": last, "fmt": fmt_for(c.kpi)})
    positions: list[dict[str, Any]] = []
    outliers: list[dict[str, Any]] = []
    funnel_end = None
    choices = intel.funnel_kpis()
    if by == "all":
        for group in intel.GROUPS:
            for f in intel.funnels(con, choices, group, until=month_end(hi)).values():
                if f.result is None:
                    continue
                funnel_end = funnel_end or f.end
                out = [u for u in f.result.units if u.position != "inside"]
                if out:
                    outliers.append({"funnel": f, "units": out, "fmt": fmt_for(f.kpi)})
    else:
        for f in intel.funnels(con, choices, by, until=month_end(hi)).values():
            funnel_end = funnel_end or f.end
            unit = None
            if f.result is not None:
                unit = next((u for u in f.result.units if u.unit == value), None)
            positions.append(
                {
                    "funnel": f,
                    "unit": unit,
                    "suppressed": value in f.suppressed,
                    "fmt": fmt_for(f.kpi),
                }
            )
    bench_rows: list[Any] = []
    peer_units: list[str] = []
    if by != "all":
        from careweave.web import benchmark

        today = uk_date(now or dt.datetime.now(dt.UTC))
        peer_units = benchmark.peers(benchmark.profiles(con, by, today), value)
        bench_rows = benchmark.unit_profile(
            benchmark.benches(con, by, until=month_end(hi)), value, peer_units
        )
    from careweave.web import needs as nd

    run = nd.latest_run(con)
    needs = {"run": run, "rows": nd.area_registers(con, by, value)} if run is not None else None
    capacity, unmet_rows, unmet_kinds = (
        _capacity(session, by, value, now) if session is not None else (None, None, [])
    )
    schemes, scheme_error = _schemes(con, by, value, budget)
    evaluation = None
    if session is not None:
        from careweave.care import evaluations
        from careweave.web import evaluation_view

        stored = evaluations.latest(session, "case_management")
        evaluation = evaluation_view.view(stored, "pdf-forest") if stored is not None else None
    return Pack(
        needs=needs,
        schemes=schemes,
        scheme_error=scheme_error,
        capacity=capacity,
        unmet=unmet_rows,
        unmet_kinds=unmet_kinds,
        finance=_finance(con, by, value),
        evaluation=evaluation,
        benchmark=bench_rows,
        peers=peer_units,
        area_by=by,
        area_value=value,
        area_name=area_name,
        start=lo,
        end=hi,
        generated=now or dt.datetime.now(dt.UTC),
        source=source,
        provenance=intel.provenance(con),
        pyramid=pyramid[0] if pyramid else None,
        pyramid_total=pyramid[1] if pyramid else None,
        pyramid_chart=pyramid_chart,
        kpis=kpis,
        positions=positions,
        outliers=outliers,
        funnel_end=funnel_end,
    )


def _capacity(
    session: Session, by: str, value: str, now: dt.datetime | None
) -> tuple[Any, list[tuple[str, Cell]] | None, list[tuple[str, Cell]]]:
    """The area's capacity plan and unmet need by service (board or locality only)."""
    from careweave.capacity import norms, plan, staffing, unmet

    if by not in ("all", "locality"):
        return None, None, []
    n = norms.load()
    areas, board = plan.build(session, n, staffing.from_store(session, n))
    area = board if by == "all" else next((a for a in areas if a.area == value), None)
    need = unmet.compute(session, n, now or dt.datetime.now(dt.UTC))
    rows: list[tuple[str, Cell]] = []
    for sid, svc in need.services.items():
        key = ("service", sid) if by == "all" else ("service_locality", (sid, value))
        if need.totals.get(key):
            rows.append((svc.name, count(need.totals[key])))
    kinds = [
        (
            words,
            need.total("kind", k) if by == "all" else need.total("locality_kind", (value, k)),
        )
        for k, words in unmet.KINDS.items()
    ]
    return area, rows, kinds


def finance_money() -> Any:
    from careweave.web.finance import money

    return money


def _finance(con: Any, by: str, value: str) -> dict[str, Any] | None:
    """The finance section's figures (the finance page's, for the area), None when neither
    spend nor capitation has been run."""
    from careweave.web import finance as fin

    spend = fin.board_spend(con)
    unit = None
    if spend is not None and by != "all":
        unit = next((g for g in fin.spend_by(con, by) if g.value == value), None)
    cap = fin.capitation(con)
    level, name = ("board", "all") if by == "all" else (by, value)
    val = bud = None
    if cap is not None:
        v, b = cap.validation, cap.budget
        val = next(iter(v[(v.level == level) & (v.unit == name)].to_dict("records")), None)
        bud = next(iter(b[(b.level == level) & (b.unit == name)].to_dict("records")), None)
    if spend is None and cap is None:
        return None
    return {"spend": spend, "unit": unit, "cap": cap, "validation": val, "budget": bud}


def _schemes(con: Any, by: str, value: str, budget: Path | None) -> tuple[Any, str | None]:
    """The budget report of the schemes covering the area (the board: every scheme; a
    locality or practice: those reported on it), or the budget file's error."""
    from careweave.budgets.file import load_budget
    from careweave.budgets.report import report

    try:
        b = load_budget(budget)
    except CareweaveError as e:
        return None, str(e)
    r = report(con, b, (budget.name if budget else "the shipped example"))
    if by != "all":
        r = dataclasses.replace(
            r, schemes=[s for s in r.schemes if (s.group_by, s.group_value) == (by, value)]
        )
    return r, None


def footer(pack: Pack) -> str:
    """The line at the foot of every page: where the figures come from and when (UK time)."""
    p = pack.provenance
    computed = uk_time(p.computed_at) if p.computed_at else "unknown date"
    return (
        f"Source: population_measures in {pack.source} (careweave measures, "
        f"definition {p.definition_version}, {p.engine}, computed {computed}). "
        f"Made {uk_time(pack.generated)}. Counts 1-{THRESHOLD - 1} suppressed, "
        "others rounded to 5."
    )


def _pct(v: float | None) -> str:
    from careweave.web.evaluation_view import pct

    return pct(v)


def html(pack: Pack, names: dict[str, str]) -> str:
    return env.get_template("report.html").render(
        pack=pack,
        names=names,
        threshold=THRESHOLD,
        footer=footer(pack),
        made_day=uk_time(uk_date(pack.generated)),
        **kpi_view.SPC_WORDS,
        position_words=POSITION_WORDS,
        share=share,
        show=lambda v, fmt: "–" if v is None else fmt.format(v),
        money=finance_money(),
        pct=_pct,
    )


def title(pack: Pack) -> str:
    return f"{pack.area_name}: commissioner pack, {pack.start:%b %Y} to {pack.end:%b %Y}"


def render(pack: Pack, names: dict[str, str]) -> bytes:
    """The pack as PDF bytes."""
    return pdf.render_pdf(
        html(pack, names),
        title=title(pack),
        footer=footer(pack),
        css=REPORT_CSS,
        svg_css=chart_css(),
    )


def filename(pack: Pack) -> str:
    """A download name: careweave-pack-<area>-<from>-<to>.pdf (codes, never names)."""
    area = "board" if pack.area_by == "all" else f"{pack.area_by}-{pack.area_value}"
    area = re.sub(r"[^A-Za-z0-9_-]", "_", area)
    return f"careweave-pack-{area}-{pack.start:%Y-%m}-{pack.end:%Y-%m}.pdf"
