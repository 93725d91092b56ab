"""Maturity self-assessments: the list, and one assessment as a grid of its matrix's
elements with each stage, the change since the last agreed assessment and the evidence
from the data (``careweave.web.maturity_evidence``: figures and a suggested stage; the
assessor decides)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from careweave.api.deps import state
from careweave.care import maturity
from careweave.security.errors import NotFound
from careweave.store.models import MaturityAssessment
from careweave.web import maturity_evidence as ev
from careweave.web import warehouse as wh
from careweave.web.pages.patient import warehouse_path
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/maturity", response_class=HTMLResponse)
def assessments(p: PageDep) -> Response:
    rows = maturity.listing(p.ctx)
    matrices = state(p.request).matrices
    titles = {k: m.title for k, m in matrices.items()}
    return p.render(
        "maturity_list.html", title="Maturity self-assessments", rows=rows, titles=titles
    )


@router.get("/maturity/{assessment_id}", response_class=HTMLResponse)
def assessment(p: PageDep, assessment_id: PathId) -> Response:
    a, v = maturity.get(p.ctx, assessment_id)
    m = state(p.request).matrices.get(a.matrix_id)
    if m is None:
        raise NotFound(f"matrix: {a.matrix_id!r} is not configured on this server")
    before = maturity.previous(p.ctx, a)
    with wh.connect(warehouse_path(p.request)) as con:
        scope, found = ev.for_assessment(p.ctx.session, con, a.matrix_id, a.org_id, p.ctx.now)
    labels = {s.id: s.label for s in m.stages}
    order = {s.id: i for i, s in enumerate(m.stages)}
    dims: list[dict[str, Any]] = []
    for d in m.dimensions:
        rows = []
        for e in d.elements:
            now = (v.ratings.get(e.id) or {}).get("stage")
            then = (before.ratings.get(e.id) or {}).get("stage") if before else None
            if now and then and now != then:
                change = "up" if order[now] > order[then] else "down"
                change_text = f"{'Up' if change == 'up' else 'Down'} from {labels[then]}"
            elif now and then:
                change, change_text = "same", "No change"
            else:
                change, change_text = "none", "Not assessed before" if now else ""
            rating = v.ratings.get(e.id) or {}
            sug = found.get(e.id)
            rows.append(
                {
                    "title": e.title,
                    "stage": labels.get(now, "") if now else "Not rated",
                    "stage_text": e.stages.get(now, "") if now else "",
                    "change": change,
                    "change_text": change_text,
                    "narrative": rating.get("narrative", ""),
                    "evidence": rating.get("evidence", []),
                    "data": sug,
                    "suggested": labels.get(sug.stage, "") if sug and sug.stage else "",
                }
            )
        dims.append({"id": d.id, "title": d.title, "rows": rows})
    return p.render(
        "maturity_assessment.html",
        title=f"{m.title}: {a.org_id}",
        a=a,
        v=v,
        matrix=m,
        dims=dims,
        scope=scope,
        before=before,
        before_on=(
            p.ctx.session.get(MaturityAssessment, before.assessment_id).assessed_on  # type: ignore[union-attr]
            if before
            else None
        ),
    )
