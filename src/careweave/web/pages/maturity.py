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
from careweave.maturity.matrices import Matrix
from careweave.security.errors import NotFound
from careweave.security.roles import allowed
from careweave.store.models import MaturityAssessment
from careweave.web import maturity_evidence as ev
from careweave.web import maturity_view as view
from careweave.web import warehouse as wh
from careweave.web.pages.patient import warehouse_path
from careweave.web.pages.schemes import budget_path
from careweave.web.render import PageDep

router = APIRouter(prefix="/app")
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/maturity", response_class=HTMLResponse)
def assessments(p: PageDep) -> Response:
    rows = maturity.listing(p.ctx)
    matrices = state(p.request).matrices
    titles = {k: m.title for k, m in matrices.items()}
    return p.render(
        "maturity_list.html",
        title="Maturity self-assessments",
        rows=rows,
        titles=titles,
        can_edit=allowed(p.user.role, "maturity", "write"),
    )


def _matrix(p: PageDep, matrix_id: str) -> Matrix:
    m = state(p.request).matrices.get(matrix_id)
    if m is None:
        raise NotFound(f"matrix: {matrix_id!r} is not configured on this server")
    return m


def assessment_view(
    p: PageDep,
    assessment_id: int,
    errors: list[tuple[str, str]] | None = None,
    status: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    """The grid page (also re-shown by a refused agreement, with its errors)."""
    a, v = maturity.get(p.ctx, assessment_id)
    m = _matrix(p, a.matrix_id)
    before = maturity.previous(p.ctx, a)
    with wh.connect(warehouse_path(p.request)) as con:
        scope, found = ev.for_assessment(
            p.ctx.session, con, a.matrix_id, a.org_id, p.ctx.now, budget_path(p.request)
        )
    saved = p.request.query_params.get("saved", "")
    element = m.element(saved) if saved else None
    return p.render(
        "maturity_assessment.html",
        status=status,
        title=f"{m.title}: {a.org_id}",
        a=a,
        v=v,
        matrix=m,
        dims=view.grid(m, v, before, found),
        scope=scope,
        before=before,
        before_on=(
            p.ctx.session.get(MaturityAssessment, before.assessment_id).assessed_on  # type: ignore[union-attr]
            if before
            else None
        ),
        can_edit=allowed(p.user.role, "maturity", "write") and a.status != maturity.AGREED,
        docs=maturity.documents(p.ctx, a.id),
        saved="agreed" if saved == "agreed" else (element.title if element else ""),
        errors=errors or [],
        form=form or {},
    )


@router.get("/maturity/{assessment_id}", response_class=HTMLResponse)
def assessment(p: PageDep, assessment_id: PathId) -> Response:
    return assessment_view(p, assessment_id)


@router.get("/maturity/{assessment_id}/history", response_class=HTMLResponse)
def history(p: PageDep, assessment_id: PathId) -> Response:
    """The organisation's assessments on the matrix over time, and this one's versions."""
    a, _ = maturity.get(p.ctx, assessment_id)
    m = _matrix(p, a.matrix_id)
    columns = view.history(p.ctx, a)
    versions = maturity.versions(p.ctx, a.id)
    return p.render(
        "maturity_history.html",
        title=f"History: {m.title}, {a.org_id}",
        a=a,
        matrix=m,
        columns=columns,
        dims=view.table(m, columns),
        versions=versions,
        savers=view.savers(p.ctx, versions),
    )


@router.get("/maturity/compare/{matrix_id}", response_class=HTMLResponse)
def compare(
    p: PageDep, matrix_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9.\-]{0,63}$")]
) -> Response:
    """Each organisation's latest agreed assessment on the matrix, side by side."""
    p.ctx.require("maturity", "read")
    m = _matrix(p, matrix_id)
    columns = view.comparison(p.ctx, m.id)
    return p.render(
        "maturity_compare.html",
        title=f"Compare: {m.title}",
        matrix=m,
        columns=columns,
        dims=view.table(m, columns),
    )


@router.get("/maturity/{assessment_id}/pdf")
def assessment_pdf(p: PageDep, assessment_id: PathId) -> Response:
    """The assessment as a PDF download (web/maturity_report.py; the export is audited)."""
    from careweave.web import maturity_report

    a, _ = maturity.get(p.ctx, assessment_id)
    m = _matrix(p, a.matrix_id)
    with wh.connect(warehouse_path(p.request)) as con:
        name, data = maturity_report.render(
            p.ctx, assessment_id, m, con, budget=budget_path(p.request)
        )
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
