"""Commissioner intelligence pages: the KPI dashboard (SPC) and funnel plots.

Both read the persisted measures (``population_measures``) through
:mod:`careweave.web.intelligence`, with disclosure control applied before any
statistic; analysts (commissioners) only, like every population page.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from careweave.care.wording import uk_date
from careweave.measures.catalogue import Kpi, load_catalogue
from careweave.measures.disclosure import SUPPRESSED, THRESHOLD
from careweave.security import audit
from careweave.security.errors import Invalid
from careweave.web import intelligence as intel
from careweave.web import statcharts
from careweave.web import warehouse as wh
from careweave.web.kpi_view import SPC_WORDS, area_name, fmt_for, spc_chart
from careweave.web.pages.patient import warehouse_path
from careweave.web.render import PageDep
from careweave.web.templating import Fragment, env

router = APIRouter(prefix="/app")
log = logging.getLogger(__name__)


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


def _period(start: str | None, end: str | None, months: list[dt.date]) -> tuple[dt.date, dt.date]:
    """The chosen months (``from`` and ``to``, each defaulting to the measured extreme)."""
    lo = _month(start, "from") or (months[0] if months else dt.date.min)
    hi = _month(end, "to") or (months[-1] if months else dt.date.max)
    if lo > hi:
        raise Invalid("from: the first month must not be after the last")
    return lo, hi


def _group(text: str, known: dict[str, list[str]]) -> tuple[str, str]:
    if text == "all":
        return "all", "all"
    by, _, value = text.partition(":")
    if by not in intel.GROUPS or value not in known.get(by, []):
        raise Invalid("area: choose the whole board, a locality or a practice from the list")
    return by, value


Meta = tuple[list[dt.date], dict[str, list[str]], dict[str, str]]


def _meta(path: Path | None) -> Meta | None:
    """The months, localities and practices measured and the warehouse's names."""
    with wh.connect(path) as con:
        if con is None or not intel.has_measures(con):
            return None
        return intel.months(con), intel.group_values(con), intel.org_names(con)


def measures_meta(path: Path | None) -> Meta | None:
    """:func:`_meta`, kept per warehouse version (None: no warehouse or no measures)."""
    return intel.cached(path, ("meta",), lambda: _meta(path)) if path is not None else None


WORDS: dict[str, Any] = {"shown": shown, "count_text": count_text, **SPC_WORDS}


def names_key(orgs: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The organisation names a kept page fragment was made with, as part of its key
    (the store's names can change between versions of the warehouse)."""
    return tuple(sorted(orgs.items()))


def _dashboard_body(
    path: Path,
    by: str,
    value: str,
    lo: dt.date,
    hi: dt.date,
    meta: Meta,
    orgs: dict[str, str],
) -> Fragment:
    """The dashboard's content for an area and months: the choices, the heading, the
    pack's link and the KPI cards (43 charts with their monthly tables, about a megabyte
    at 60 months), rendered once per version and kept as UTF-8 bytes."""
    months, known, _ = meta
    items = dashboard_items(path, by, value, lo, hi)
    area = "all" if by == "all" else f"{by}:{value}"
    html = env.get_template("_kpis_body.html").render(
        charts=items,
        months=months,
        known=known,
        area=area,
        area_name=area_name(by, value, orgs),
        start=lo,
        end=hi,
        org_names=orgs,
        threshold=THRESHOLD,
        **WORDS,
    )
    return Fragment(html)


def dashboard_body(
    path: Path,
    by: str,
    value: str,
    lo: dt.date,
    hi: dt.date,
    meta: Meta,
    orgs: dict[str, str],
) -> Fragment:
    """:func:`_dashboard_body`, kept per warehouse version, question and names."""
    return intel.cached(
        path,
        ("dashboard-body", by, value, lo, hi, names_key(orgs)),
        lambda: _dashboard_body(path, by, value, lo, hi, meta, orgs),
    )


def funnel_body(
    path: Path, kpi: Kpi, by: str, overdispersion: str, orgs: dict[str, str]
) -> Fragment:
    """:func:`_funnel_body`, kept per warehouse version, question and names."""
    return intel.cached(
        path,
        ("funnel-body", kpi.name, by, overdispersion, names_key(orgs)),
        lambda: _funnel_body(path, kpi, by, overdispersion, orgs, True),
    )


_WARMING = threading.local()  # the warmer's one connection, while it warms


@contextmanager
def _reading(path: Path) -> Iterator[Any]:
    """The warmer's connection when this thread is warming, else one of its own."""
    con = getattr(_WARMING, "con", None)
    if con is not None:
        yield con
        return
    with wh.connect(path) as own:
        yield own


def warm_pages(
    path: Path | None,
    store_names: dict[str, str],
    pause: Callable[[], object] | None = None,
) -> int:
    """Make and keep the first view of every whole-period dashboard (the board, each
    locality, each practice) and every funnel (each KPI by practice and by locality,
    with each choice of limits) of the warehouse's current version, as the pages would
    on their first request: what the server does at start and after each new
    ``careweave measures`` run (see :class:`PageWarmer`). ``store_names``: the store's
    organisation names (they win over the warehouse's, as on the pages). ``pause``, when
    given, is called before each view (the server's warmer waits there for a moment
    with no request in progress). Returns the number of views made or found kept; 0
    when there are no measures."""
    meta = measures_meta(path)
    if path is None or meta is None:
        return 0
    months, known, names = meta
    if not months:
        return 0
    orgs = {**names, **store_names}
    lo, hi = months[0], months[-1]
    done = 0
    with wh.connect(path) as con:  # one connection for every view (opening one: ~20 ms)
        _WARMING.con = con
        try:
            for by, value in [("all", "all"), *((b, v) for b in intel.GROUPS for v in known[b])]:
                if pause is not None:
                    pause()
                dashboard_body(path, by, value, lo, hi, meta, orgs)
                done += 1
            for kpi in intel.funnel_kpis():
                for by in intel.GROUPS:
                    for overdispersion in intel.OVERDISPERSION:
                        if pause is not None:
                            pause()
                        funnel_body(path, kpi, by, overdispersion, orgs)
                        done += 1
        finally:
            _WARMING.con = None
    return done


class PageWarmer:
    """A daemon thread of ``careweave serve`` that runs :func:`warm_pages` at start and
    again whenever the warehouse file's version changes (a new ``careweave measures``
    run), checking every ``every`` seconds. Each view is made under the per-version
    cache's single-flight lock, so a commissioner asking for one the warmer is making
    waits for it rather than making it twice. At 1,000,000 people warming one version
    costs about a minute of CPU (126 dashboards, 282 funnels) in that one thread; a
    failure is logged by its type only and tried again at the next version.

    ``pause`` is called before each view (:func:`warm_pages`): ``careweave serve`` passes
    one that waits for a moment with no request in progress (at most
    ``careweave.server.GIVE_WAY_SECONDS``), so the warming gives way to the pages people
    are waiting for. Run alongside them it held the interpreter most of the time for
    seconds after every start (at 120,000 people 298 views, about 8 s of CPU, mostly
    templates and charts in Python), and each request thread waited for its turn after
    every query it made: the patient page's p99 tail (docs/web.md)."""

    def __init__(
        self,
        path: Path,
        store_names: Callable[[], dict[str, str]],
        every: float = 10.0,
        pause: Callable[[], object] | None = None,
    ):
        self.path = path
        self.store_names = store_names
        self.every = every
        self.pause = pause
        self.rounds = 0  # versions warmed (or tried) so far
        self.views = 0  # views made or found kept in the latest round
        self.warmed = threading.Event()  # set after each round
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="careweave-warm-pages", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        warmed: tuple[int, int] | None = None
        while not self._stop.is_set():
            stamp = intel.version(self.path)
            if stamp is not None and stamp != warmed:
                try:
                    self.views = warm_pages(self.path, self.store_names(), self.pause)
                except Exception as e:  # warming is an optimisation only
                    log.warning("commissioner pages not warmed: %s", type(e).__name__)
                warmed = stamp
                self.rounds += 1
                self.warmed.set()
            self._stop.wait(self.every)


def dashboard_items(
    path: Path, by: str, value: str, lo: dt.date, hi: dt.date
) -> list[dict[str, Any]]:
    """The dashboard's charts with their SVGs and points by month."""
    with _reading(path) as con:
        charts = intel.dashboard(con, by, value, lo, hi) if con is not None else []
    items = []
    for i, c in enumerate(charts):
        svg = spc_chart(c, f"spc-{i}")
        spc_by_month = {pt.date: pt for pt in c.result.points} if c.result is not None else {}
        items.append({"chart": c, "svg": svg, "points": spc_by_month})
    return items


@router.get("/population/kpis", response_class=HTMLResponse)
def dashboard(
    p: PageDep,
    area: Annotated[str, Query(max_length=80)] = "all",
    start: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=7)] = None,
) -> Response:
    p.ctx.require("pseudonymised", "read")
    path = warehouse_path(p.request)
    meta = measures_meta(path)
    if path is not None and meta is not None:
        months, known, names = meta
        orgs = {**names, **store_names(p.ctx.session)}
        by, value = _group(area, known)
        lo, hi = _period(start, end, months)
        body = dashboard_body(path, by, value, lo, hi, meta, orgs)
    else:
        body = Fragment(
            env.get_template("_kpis_body.html").render(charts=None, threshold=THRESHOLD)
        )
    _audit(p, f"KPI dashboard {area}")
    return p.render("kpis.html", title="KPI dashboard", body=body)


def store_names(session: Any) -> dict[str, str]:
    """The store's organisation names by code (they win over the warehouse's)."""
    from careweave.web.worklist_query import organisations

    return {k: v.name for k, v in organisations(session).items()}


def _funnel_view(
    path: Path, kpi: Kpi, by: str, overdispersion: str, orgs: dict[str, str]
) -> tuple[intel.Funnel | None, Markup | None]:
    """The funnel and its chart (cached by the caller)."""
    with _reading(path) as con:
        found = intel.funnel_of(con, kpi, by, overdispersion) if con is not None else None
    if found is None or found.result is None:
        return found, None
    svg = statcharts.funnel_chart(
        "funnel",
        f"{kpi.title} by {by}, 12 months to {found.end:%-d %b %Y}",
        found.result,
        orgs,
        fmt_for(kpi),
    )
    return found, svg


@router.get("/population/funnel", response_class=HTMLResponse)
def funnel_page(
    p: PageDep,
    kpi: Annotated[str | None, Query(max_length=80)] = None,
    by: Annotated[str, Query(pattern="^(locality|practice)$")] = "practice",
    overdispersion: Annotated[str, Query(max_length=20)] = "none",
) -> Response:
    p.ctx.require("pseudonymised", "read")
    choices = intel.funnel_kpis()
    chosen = choices[0] if kpi is None else load_catalogue().kpis.get(kpi)
    if chosen is None or chosen not in choices:
        raise Invalid("kpi: choose a measure from the list")
    if overdispersion not in intel.OVERDISPERSION:
        raise Invalid("overdispersion: choose none, additive or multiplicative")
    orgs = store_names(p.ctx.session)
    path = warehouse_path(p.request)
    meta = measures_meta(path)
    if path is not None and meta is not None:
        orgs = {**meta[2], **orgs}
        body = funnel_body(path, chosen, by, overdispersion, orgs)
    else:
        body = _funnel_body(None, chosen, by, overdispersion, orgs, False)
    _audit(p, f"funnel {chosen.name} by {by}")
    return p.render("funnel.html", title="Funnel plot", body=body)


def _funnel_body(
    path: Path | None,
    kpi: Kpi,
    by: str,
    overdispersion: str,
    orgs: dict[str, str],
    has_measures: bool,
) -> Fragment:
    """The funnel page's content (kept per version and question by the caller)."""
    found, svg = (
        _funnel_view(path, kpi, by, overdispersion, orgs) if path is not None else (None, None)
    )
    html = env.get_template("_funnel_body.html").render(
        choices=intel.funnel_kpis(),
        kpi=kpi,
        by=by,
        overdispersion=overdispersion,
        found=found,
        svg=svg,
        org_names=orgs,
        shown=shown,
        threshold=THRESHOLD,
        has_measures=has_measures,
    )
    return Fragment(html)


def _pack_pdf(
    path: Path,
    session: Any,
    by: str,
    value: str,
    lo: dt.date,
    hi: dt.date,
    budget: Path | None = None,
) -> tuple[str, bytes]:
    """The area's PDF pack and its download name (cached by the caller)."""
    from careweave.web import report

    with wh.connect(path) as con:
        if con is None:
            raise Invalid("There is no warehouse to report on")
        names = {**intel.org_names(con), **store_names(session)}
        pack = report.build(
            con,
            area=(by, value),
            period=(lo, hi),
            names=names,
            source=path.name,
            session=session,
            budget=budget,
        )
    return report.filename(pack), report.render(pack, names)


@router.get("/population/report.pdf")
def report_pdf(
    p: PageDep,
    area: Annotated[str, Query(max_length=80)] = "all",
    start: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=7)] = None,
) -> Response:
    """The commissioner pack of an area and months as a PDF download (see web/report.py).

    Kept per warehouse version, area, months and hour (the pack says when it was
    made and its CCM pyramid comes from the store, so neither is more than an hour
    old); made in the server's worker thread, about two seconds of CPU."""
    p.ctx.require("pseudonymised", "read")
    path = warehouse_path(p.request)
    meta = measures_meta(path)
    if path is None or meta is None:
        raise Invalid("There are no population measures to report on yet")
    months, known, _ = meta
    by, value = _group(area, known)
    lo, hi = _period(start, end, months)
    hour = p.ctx.now.strftime("%Y-%m-%dT%H")
    budget: Path | None = getattr(p.request.app.state, "careweave_budget", None)
    name, data = intel.cached(
        path,
        ("pack", by, value, lo, hi, hour),
        lambda: _pack_pdf(path, p.ctx.session, by, value, lo, hi, budget),
    )
    _audit(p, f"PDF pack {area} {lo:%Y-%m}..{hi:%Y-%m}")
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _bench_view(path: Path, by: str, today: dt.date) -> dict[str, Any]:
    """Every benchmarked KPI across ``by``'s units and their profiles (cached by the caller)."""
    from careweave.web import benchmark

    with wh.connect(path) as con:
        if con is None:
            return {"benches": {}, "profiles": {}, "known": []}
        return {
            "benches": benchmark.benches(con, by),
            "profiles": benchmark.profiles(con, by, today),
            "known": intel.group_values(con, intel.BENCH_GROUPS)[by],
        }


@router.get("/population/benchmark", response_class=HTMLResponse)
def benchmark_page(
    p: PageDep,
    kpi: Annotated[str | None, Query(max_length=80)] = None,
    by: Annotated[str, Query(pattern="^(practice|cluster|locality)$")] = "practice",
    unit: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    """Benchmarking (web/benchmark.py): a KPI across units as ranked bars with the board's
    median and quartiles; with a unit, its every KPI against the board and its peers."""
    from careweave.web import benchmark

    p.ctx.require("pseudonymised", "read")
    choices = benchmark.benchmark_kpis()
    chosen = choices[0] if not kpi else load_catalogue().kpis.get(kpi)
    if chosen is None or chosen not in choices:
        raise Invalid("kpi: choose a measure from the list")
    orgs = store_names(p.ctx.session)
    path = warehouse_path(p.request)
    meta = measures_meta(path)
    context: dict[str, Any] = {"view": None}
    if path is not None and meta is not None:
        orgs = {**meta[2], **orgs}
        today = uk_date(p.ctx.now)
        view = intel.cached(path, ("bench", by, today), lambda: _bench_view(path, by, today))
        if unit and unit not in view["known"]:
            raise Invalid(f"unit: choose a {by} from the list")
        peers = benchmark.peers(view["profiles"], unit) if unit else []
        bench = view["benches"].get(chosen.name)
        svg = None
        peer_median = benchmark.peer_median(bench, peers) if bench is not None else None
        if bench is not None and bench.median is not None:
            svg = statcharts.bench_chart(
                "bench",
                f"{chosen.title} by {by}, 12 months to {bench.end:%-d %b %Y}",
                [(u.unit, u.value) for u in bench.units],
                bench.median,
                bench.q1 or 0.0,
                bench.q3 or 0.0,
                orgs,
                fmt_for(chosen),
                highlight=unit,
                peers=frozenset(peers),
                peer_median=peer_median,
            )
        context.update(
            peer_median=peer_median,
            view=view,
            bench=bench,
            svg=svg,
            peers=peers,
            profile=benchmark.unit_profile(view["benches"], unit, peers) if unit else None,
            quarter=benchmark.quarter,
        )
    _audit(p, f"benchmark {chosen.name} by {by}" + (f" {unit}" if unit else ""))
    return p.render(
        "benchmark.html",
        title="Benchmarking",
        choices=choices,
        kpi=chosen,
        by=by,
        unit=unit,
        org_names=orgs,
        shown=shown,
        fmt_for=fmt_for,
        threshold=THRESHOLD,
        **context,
    )
