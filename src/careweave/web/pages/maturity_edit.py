"""Editing self-assessments on the web: start one, rate an element (stage, narrative,
evidence text, links and attached documents), agree it with its signatories, and
download an attached document.

Commissioners and administrators edit (``maturity:write``); care-team roles read, and
get the NHS.UK 403 page on an edit URL. Every save is a new version through
:func:`careweave.care.maturity.save` (so it is audited and never overwrites): the form
carries the version it was made against, and a save against an older one is refused with
409 and the form kept as entered, saying to reload. Problems with what was entered are
422 with the NHS.UK error summary, each linking to its field. A document is stored only
once the form is otherwise valid and the version is current.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from careweave.api.deps import state
from careweave.care import maturity
from careweave.care.wording import uk_date
from careweave.maturity.matrices import Matrix
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.store.models import MaturityAssessment, MaturityAssessmentVersion
from careweave.web import maturity_evidence as ev
from careweave.web import warehouse as wh
from careweave.web.pages.patient import warehouse_path
from careweave.web.pages.schemes import budget_path
from careweave.web.render import Form_, PageDep

router = APIRouter(prefix="/app")
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ElementId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9.\-]{0,63}$")]
EVIDENCE_ROWS = 2  # empty evidence rows offered beyond the ones there are
FieldErrors = list[tuple[str, str]]


def _s(form: Any, key: str) -> str:
    v = form.get(key)
    return v.strip() if isinstance(v, str) else ""


def _matrix(p: PageDep, matrix_id: str) -> Matrix:
    m = state(p.request).matrices.get(matrix_id)
    if m is None:
        raise NotFound(f"matrix: {matrix_id!r} is not configured on this server")
    return m


def _element_page(
    p: PageDep,
    a: MaturityAssessment,
    v: MaturityAssessmentVersion,
    m: Matrix,
    element_id: str,
    rating: dict[str, Any],
    errors: FieldErrors,
    status: int,
) -> Response:
    e = m.element(element_id)
    if e is None:
        raise NotFound(f"element: {element_id!r} is not an element of {m.title}")
    with wh.connect(warehouse_path(p.request)) as con:
        _, found = ev.for_assessment(
            p.ctx.session, con, a.matrix_id, a.org_id, p.ctx.now, budget_path(p.request)
        )
    evidence = list(rating.get("evidence") or [])
    rows = [*evidence, *([{}] * EVIDENCE_ROWS)]
    return p.render(
        "maturity_element_edit.html",
        status=status,
        title=f"Rate {e.title}",
        a=a,
        v=v,
        matrix=m,
        element=e,
        rating=rating,
        rows=rows,
        docs=maturity.documents(p.ctx, a.id),
        data=found.get(element_id),
        labels={s.id: s.label for s in m.stages},
        errors=errors,
    )


@router.get("/maturity/{assessment_id}/elements/{element_id}", response_class=HTMLResponse)
def edit_element(p: PageDep, assessment_id: PathId, element_id: ElementId) -> Response:
    p.ctx.require("maturity", "write")
    a, v = maturity.get(p.ctx, assessment_id)
    if a.status == maturity.AGREED:
        raise Conflict(f"assessment {a.id}: agreed, so final; assess again at a new date instead")
    m = _matrix(p, a.matrix_id)
    return _element_page(p, a, v, m, element_id, dict(v.ratings.get(element_id) or {}), [], 200)


def rating_from_form(form: Any, stages: list[str]) -> tuple[dict[str, Any], FieldErrors]:
    """The rating as entered and the problems with it, each naming its field as labelled.
    Empty evidence rows are dropped; a row with only a bad link is an error, not dropped."""
    errors: FieldErrors = []
    stage = _s(form, "stage") or None
    if stage is not None and stage not in stages:
        errors.append(("stage-" + stages[0], "Choose a stage from the list"))
    evidence: list[dict[str, Any]] = []
    for i in range(200):
        if f"ev_text_{i}" not in form:
            break
        text, link = _s(form, f"ev_text_{i}"), _s(form, f"ev_link_{i}")
        raw_doc = _s(form, f"ev_doc_{i}")
        document = int(raw_doc) if raw_doc.isdigit() else None
        if not text and not link and document is None:
            continue
        if (link and not link.startswith(("https://", "http://"))) or " " in link:
            errors.append(
                (f"ev_link_{i}", f"Evidence {i + 1} link must be a web address starting https://")
            )
        item: dict[str, Any] = {"text": text, "link": link or None}
        if document is not None:
            item["document"] = document
        evidence.append(item)
    rating = {
        "stage": stage,
        "narrative": _s(form, "narrative"),
        "evidence": evidence,
        "assessed_by": _s(form, "assessed_by"),
    }
    return rating, errors


_LIMITS = {
    "narrative": ("narrative", "Narrative must be 20,000 characters or fewer"),
    "assessed_by": ("assessed_by", "Assessed by must be 200 characters or fewer"),
}


def _model_errors(e: ValidationError) -> FieldErrors:
    out: FieldErrors = []
    for err in e.errors():
        loc = [str(x) for x in err["loc"]]
        if loc[0] in _LIMITS:
            out.append(_LIMITS[loc[0]])
        elif loc[0] == "evidence" and len(loc) > 2 and loc[1].isdigit():
            i = int(loc[1])
            field = {"text": "ev_text", "link": "ev_link"}.get(loc[2], "ev_text")
            out.append((f"{field}_{i}", f"Evidence {i + 1} {loc[2]} is too long"))
        else:
            out.append(("", f"{' '.join(loc)}: {err['msg']}"))
    return out


@router.post("/maturity/{assessment_id}/elements/{element_id}")
def save_element(p: PageDep, assessment_id: PathId, element_id: ElementId, form: Form_) -> Response:
    p.ctx.require("maturity", "write")
    a, v = maturity.get(p.ctx, assessment_id)
    m = _matrix(p, a.matrix_id)
    if m.element(element_id) is None:
        raise NotFound(f"element: {element_id!r} is not an element of {m.title}")
    raw_base = _s(form, "base_version")
    base = int(raw_base) if raw_base.isdigit() else None
    data, errors = rating_from_form(form, m.stage_ids())
    upload = form.get("document")
    has_file = isinstance(upload, UploadFile) and bool(upload.filename)
    doc_text = _s(form, "document_text")
    if doc_text and not has_file:
        errors.append(("document", "Choose the file to attach, or clear its description"))
    rating: maturity.Rating | None = None
    if not errors:
        try:
            rating = maturity.Rating.model_validate(data)
        except ValidationError as e:
            errors = _model_errors(e)
    if errors or rating is None:
        return _element_page(p, a, v, m, element_id, data, errors, 422)
    if base != a.current_version or a.status == maturity.AGREED:
        conflict = (
            f"This assessment was changed (it is now at version {a.current_version}, you "
            f"started from version {base}). Reload it to see the change, then apply yours again."
            if a.status != maturity.AGREED
            else "This assessment has been agreed, so it is final: assess again at a new date."
        )
        return _element_page(p, a, v, m, element_id, data, [("", conflict)], 409)
    if has_file:
        assert isinstance(upload, UploadFile)
        content = upload.file.read(maturity.MAX_DOCUMENT_BYTES + 1)
        try:
            doc = maturity.attach(p.ctx, a.id, element_id, m, upload.filename or "", content)
        except Invalid as e:
            words = str(e).removeprefix("document: ")
            return _element_page(
                p, a, v, m, element_id, data, [("document", words[:1].upper() + words[1:])], 422
            )
        data["evidence"].append({"text": doc_text or doc.filename, "document": doc.id})
        rating = maturity.Rating.model_validate(data)
    try:
        maturity.save(p.ctx, m, a.org_id, a.assessed_on, {element_id: rating}, base)
    except Conflict as e:
        return _element_page(p, a, v, m, element_id, data, [("", str(e))], 409)
    except Invalid as e:
        return _element_page(p, a, v, m, element_id, data, [("", str(e))], 422)
    return RedirectResponse(
        f"/app/maturity/{a.id}?saved={element_id}#{element_id}", status_code=303
    )


# ------------------------------------------------------------------ new assessment, agree


@router.get("/maturity/new", response_class=HTMLResponse)
def new_assessment(p: PageDep) -> Response:
    p.ctx.require("maturity", "write")
    return _new_page(p, {"assessed_on": uk_date(p.ctx.now).isoformat()}, [], 200)


def _new_page(p: PageDep, values: dict[str, str], errors: FieldErrors, status: int) -> Response:
    matrices = state(p.request).matrices
    return p.render(
        "maturity_new.html",
        status=status,
        title="Start a self-assessment",
        values=values,
        matrices=[(k, m.title) for k, m in matrices.items()],
        errors=errors,
    )


@router.post("/maturity/new")
def create_assessment(p: PageDep, form: Form_) -> Response:
    p.ctx.require("maturity", "write")
    values = {k: _s(form, k) for k in ("matrix", "org_id", "assessed_on")}
    errors: FieldErrors = []
    matrices = state(p.request).matrices
    if values["matrix"] not in matrices:
        errors.append(("matrix", "Choose the matrix"))
    if not values["org_id"]:
        errors.append(("org_id", "Enter the partnership's or locality's code"))
    elif len(values["org_id"]) > 64:
        errors.append(
            ("org_id", "The partnership's or locality's code must be 64 characters or fewer")
        )
    day: dt.date | None = None
    try:
        day = dt.date.fromisoformat(values["assessed_on"])
    except ValueError:
        errors.append(
            ("assessed_on", "Date of the assessment must be a real date, like 30 11 2026")
        )
    if errors or day is None:
        return _new_page(p, values, errors, 422)
    try:
        v = maturity.save(p.ctx, matrices[values["matrix"]], values["org_id"], day, {}, None)
    except Conflict:
        return _new_page(
            p,
            values,
            [
                (
                    "assessed_on",
                    "There is already an assessment for this matrix, partnership and date",
                )
            ],
            409,
        )
    return RedirectResponse(f"/app/maturity/{v.assessment_id}", status_code=303)


@router.post("/maturity/{assessment_id}/agree")
def agree(p: PageDep, assessment_id: PathId, form: Form_) -> Response:
    p.ctx.require("maturity", "write")
    raw_base = _s(form, "base_version")
    base = int(raw_base) if raw_base.isdigit() else 0
    errors: FieldErrors = []
    signed: list[maturity.Signatory] = []
    for i in range(3):
        name, role, on = (_s(form, f"sig_{k}_{i}") for k in ("name", "role", "date"))
        if not (name or role):
            continue
        if not name:
            errors.append((f"sig_name_{i}", f"Signatory {i + 1}: enter their name"))
        if not role:
            errors.append((f"sig_role_{i}", f"Signatory {i + 1}: enter their role"))
        try:
            day = dt.date.fromisoformat(on) if on else uk_date(p.ctx.now)
        except ValueError:
            errors.append((f"sig_date_{i}", f"Signatory {i + 1}: date signed must be a real date"))
            continue
        if name and role:
            signed.append(maturity.Signatory(name=name[:200], role=role[:200], signed_on=day))
    if not signed and not errors:
        errors.append(("sig_name_0", "Enter at least one signatory to agree the assessment"))
    from careweave.web.pages.maturity import assessment_view

    if errors:
        return assessment_view(p, assessment_id, errors=errors, status=422, form=dict(form))
    try:
        maturity.agree(p.ctx, assessment_id, signed, base)
    except Conflict as e:
        return assessment_view(p, assessment_id, errors=[("", str(e))], status=409, form=dict(form))
    return RedirectResponse(f"/app/maturity/{assessment_id}?saved=agreed", status_code=303)


@router.get("/maturity/documents/{document_id}")
def download(p: PageDep, document_id: PathId) -> Response:
    doc = maturity.document(p.ctx, document_id)
    safe = doc.filename.replace('"', "")
    return Response(
        content=doc.data,
        media_type=doc.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
