"""The evaluation page: the latest stored result of an intervention against matched
controls (``careweave evaluate --store``; web/evaluation_view.py), for commissioners
and analysts, aggregates only, counts through disclosure control."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from careweave.care import evaluations
from careweave.measures.disclosure import THRESHOLD
from careweave.security import audit
from careweave.security.errors import Invalid
from careweave.web import evaluation_view as ev
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")


@router.get("/population/evaluation", response_class=HTMLResponse)
def evaluation_page(
    p: PageDep,
    intervention: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    p.ctx.require("pseudonymised", "read")
    s = p.ctx.session
    choices = evaluations.interventions(s)
    if intervention is not None and intervention not in choices:
        raise Invalid("intervention: choose one of the evaluated interventions from the list")
    chosen = intervention or ("case_management" if "case_management" in choices else None)
    row = evaluations.latest(s, chosen)
    v = ev.view(row) if row is not None else None
    audit.record(
        s,
        actor=p.user.username,
        action="read",
        resource="pseudonymised",
        detail=f"evaluation {v.intervention if v else 'none'}",
        now=p.ctx.now,
    )
    return p.render(
        "evaluation.html",
        title=f"Evaluation: {v.title.lower()}" if v else "Evaluation",
        v=v,
        choices=choices,
        words=ev.intervention_words,
        pct=ev.pct,
        target=ev.SMD_TARGET,
        threshold=THRESHOLD,
    )
