"""``careweave capacity`` and ``careweave unmet-need``: commissioners' planning figures
from the store (careweave.capacity; docs/capacity.md). Counts of people are
suppressed and rounded as on the pages (careweave.measures.disclosure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from careweave.cli.common import Db, now, open_store

if TYPE_CHECKING:
    from careweave.capacity.plan import AreaPlan


def register(app: typer.Typer) -> None:
    app.command("capacity")(capacity)
    app.command("unmet-need")(unmet_need)


def _wte(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f}"


def _area_lines(a: AreaPlan) -> list[str]:
    teams = (
        f"core teams {a.core_teams_min:.2f} to {a.core_teams_max or 0:.2f}"
        if a.core_teams_min is not None
        else "core teams not shown"
    )
    out = [f"{a.name} ({a.area}): {a.population.text} people; {teams}"]
    out.append(
        f"  {'staff group':<44}{'people':>8}{'per WTE':>9}{'needed':>9}{'in post':>9}{'gap':>8}"
    )
    for x in a.lines:
        levels = "+".join(str(lv) for lv in x.norm.levels)
        label = f"{x.norm.title} (level {levels})"
        gap = "–" if x.gap_wte is None else f"{x.gap_wte:+,.1f}"
        out.append(
            f"  {label:<44}{x.people.text:>8}{x.norm.people_per_wte:>9g}"
            f"{_wte(x.needed_wte):>9}{_wte(x.in_post_wte):>9}{gap:>8}"
        )
    return out


def capacity(
    db: Db = None,
    norms: Annotated[
        Path | None,
        typer.Option("--norms", help="Caseload norms TOML (default: the shipped norms)."),
    ] = None,
    staffing: Annotated[
        Path | None,
        typer.Option(
            "--staffing",
            help="Staffing CSV (locality, staff, wte[, organisation]) instead of the store's users.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Staff needed against staff in post, as WTE, per locality and for the board."""
    from careweave.capacity import norms as norms_mod
    from careweave.capacity import plan
    from careweave.capacity import staffing as staffing_mod
    from careweave.measures.disclosure import THRESHOLD
    from careweave.store.db import transaction

    n = norms_mod.load(norms)
    in_post_file = staffing_mod.from_csv(staffing, n) if staffing is not None else None
    with transaction(open_store(db)) as s:
        in_post = in_post_file if in_post_file is not None else staffing_mod.from_store(s, n)
        areas, board = plan.build(s, n, in_post)
    norms_name = str(norms) if norms is not None else "shipped"
    post_name = str(staffing) if staffing is not None else "store (1.0 WTE per active user)"
    if as_json:
        doc = {
            "norms": norms_name,
            "staff_in_post": post_name,
            "threshold": THRESHOLD,
            "core_team": n.core_team.model_dump(),
            "localities": [a.as_json() for a in areas],
            "board": board.as_json(),
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    typer.echo(
        f"Staff needed against staff in post (WTE). Norms: {norms_name}; in post: {post_name}."
    )
    typer.echo(
        f"People: 1-{THRESHOLD - 1} not shown (<{THRESHOLD}), others rounded to 5; "
        f"core team per {n.core_team.population_min:,}-{n.core_team.population_max:,} "
        f"people ({n.core_team.source})."
    )
    for a in [*areas, board]:
        typer.echo("")
        for line in _area_lines(a):
            typer.echo(line)


def unmet_need(
    db: Db = None,
    norms: Annotated[
        Path | None,
        typer.Option(
            "--norms", help="Norms TOML with the services' capacities (default: shipped)."
        ),
    ] = None,
    months: Annotated[
        int,
        typer.Option("--months", min=1, max=120, help="Declines received in the last N months."),
    ] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Referrals declined for unmet need, waiting past their standard, or at a full service."""
    from careweave.capacity import norms as norms_mod
    from careweave.capacity import unmet
    from careweave.store.db import transaction

    n = norms_mod.load(norms)
    with transaction(open_store(db)) as s:
        result = unmet.compute(s, n, now(), months)
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2))
        return
    typer.echo(
        f"Unmet need: declines received since {result.since:%d %b %Y}, waits now "
        f"(counts 1-7 shown as <8, others rounded to 5)."
    )
    for kind, words in unmet.KINDS.items():
        typer.echo(f"  {words}: {result.total('kind', kind).text}")
    for r in result.rows:
        svc = result.services.get(r.service_id)
        what = unmet.KINDS[r.kind] + (f" ({unmet.reason_words(r.reason)})" if r.reason else "")
        typer.echo(
            f"{svc.name if svc else r.service_id} | {result.localities.get(r.locality, r.locality)}"
            f" | level {r.level or 'not scored'} | {what}: {r.count.text}"
        )
    for sid, texts in result.reasons.items():
        svc = result.services.get(sid)
        typer.echo(f"\nWhat was needed, {svc.name if svc else sid} (de-identified):")
        for t in texts:
            typer.echo(f"  - {t}")
