"""Maturity self-assessments: a partnership or locality rates itself on a matrix.

An assessment is one organisation (partnership or locality, by id) on one matrix
(:mod:`careweave.maturity.matrices`) at one date. Each element gets a stage (or none
yet), a narrative, evidence (text and links) and who assessed it. Every save writes a
new version holding every element's rating, whole; nothing is overwritten, and a save
that names some elements keeps the others' ratings from the version before (so no
rating is ever lost, in the history or in the current version).

Workflow: ``draft`` until agreed, with at least one signatory, which writes a version
with status ``agreed``. An agreed assessment is final: the next assessment is a new
one at a later date (so history compares agreed assessments, like seed 000's annual
self-assessment). Commissioners (the ``analyst`` role) and administrators edit and
agree; care-team roles read (``security/roles.py``). Every save, agreement and export
is in the audit chain; refusals are audited by ``access.require``.

The file format of ``careweave maturity export|import`` is :class:`AssessmentFile`.

Attached documents (decision): kept **in the store** as a blob (``maturity_documents``),
not in a directory, so they are in the same backups, transactions and access checks as
the assessment that cites them, and a deployment has no second place to secure. Limits:
at most 5 MB each (``MAX_DOCUMENT_BYTES``); only the types in ``DOCUMENT_TYPES`` (PDF,
Word, Excel, PowerPoint, OpenDocument, PNG, JPEG, CSV, plain text), recognised by the
file's extension *and* its first bytes (a renamed executable is refused). A document is
never changed or deleted; it is cited from a rating's evidence by id, so earlier
versions keep their documents. Uploads and downloads are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from careweave.care.context import Ctx
from careweave.maturity.matrices import Matrix
from careweave.security import audit
from careweave.security.errors import Conflict, Invalid, NotFound
from careweave.store.models import (
    MaturityAssessment,
    MaturityAssessmentVersion,
    MaturityDocument,
    User,
)

FORMAT: Final = "careweave-maturity-assessment/1"
DRAFT: Final = "draft"
AGREED: Final = "agreed"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Evidence(_M):
    """A piece of evidence: what it shows, where it is (an http(s) link) and/or an attached
    document (its id in ``maturity_documents``, see :func:`attach`)."""

    text: str = Field(default="", max_length=5000)
    link: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    document: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _something(self) -> Evidence:
        if not self.text.strip() and not self.link and self.document is None:
            raise ValueError("give the evidence's text, a link or a document")
        return self


class Rating(_M):
    """One element's rating; ``stage`` None: not rated yet."""

    stage: str | None = None
    narrative: str = Field(default="", max_length=20000)
    evidence: list[Evidence] = Field(default=[], max_length=100)
    assessed_by: str = Field(default="", max_length=200)


class Signatory(_M):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)
    signed_on: dt.date


class AssessmentFile(_M):
    """An assessment as a file: what ``export`` writes and ``import`` reads.

    ``id``, ``version``, ``saved_by`` and ``saved_at`` are written by export and ignored
    by import (the store gives its own)."""

    format: Literal["careweave-maturity-assessment/1"]
    matrix: str = Field(min_length=1, max_length=64)
    org_id: str = Field(min_length=1, max_length=64)
    assessed_on: dt.date
    status: Literal["draft", "agreed"] = DRAFT
    ratings: dict[str, Rating] = {}
    signatories: list[Signatory] = Field(default=[], max_length=50)
    id: int | None = None
    version: int | None = None
    saved_by: str | None = None
    saved_at: dt.datetime | None = None

    @model_validator(mode="after")
    def _signed(self) -> AssessmentFile:
        if self.status == AGREED and not self.signatories:
            raise ValueError("signatories: an agreed assessment needs at least one signatory")
        return self


def check_ratings(matrix: Matrix, ratings: dict[str, Rating]) -> None:
    """Invalid naming the field unless every element and stage is the matrix's."""
    stages = matrix.stage_ids()
    for element_id, r in ratings.items():
        if matrix.element(element_id) is None:
            raise Invalid(f"ratings.{element_id}: not an element of matrix {matrix.id}")
        if r.stage is not None and r.stage not in stages:
            raise Invalid(
                f"ratings.{element_id}.stage: {r.stage!r} is not a stage of {matrix.id} "
                f"({', '.join(stages)})"
            )


def _stored(r: Rating) -> dict[str, Any]:
    """A rating as a version keeps it (evidence without a document has no document key, as
    before documents could be attached, so unchanged evidence compares equal)."""
    out = r.model_dump(mode="json")
    out["evidence"] = [
        {k: v for k, v in e.items() if k != "document" or v is not None} for e in out["evidence"]
    ]
    return out


def _find(ctx: Ctx, matrix_id: str, org_id: str, assessed_on: dt.date) -> MaturityAssessment | None:
    return ctx.session.execute(
        select(MaturityAssessment).where(
            MaturityAssessment.matrix_id == matrix_id,
            MaturityAssessment.org_id == org_id,
            MaturityAssessment.assessed_on == assessed_on,
        )
    ).scalar_one_or_none()


def _version(ctx: Ctx, a: MaturityAssessment, version: int) -> MaturityAssessmentVersion:
    v = ctx.session.execute(
        select(MaturityAssessmentVersion).where(
            MaturityAssessmentVersion.assessment_id == a.id,
            MaturityAssessmentVersion.version == version,
        )
    ).scalar_one_or_none()
    if v is None:
        raise NotFound(f"version: assessment {a.id} has no version {version}")
    return v


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for element_id in sorted(set(old) | set(new)):
        before, after = old.get(element_id), new.get(element_id)
        if before == after:
            continue
        if before is None:
            out.append(f"{element_id}: rated {after['stage'] if after else None}")
            continue
        assert after is not None
        if before.get("stage") != after.get("stage"):
            out.append(f"{element_id}: stage {before.get('stage')} -> {after.get('stage')}")
        for field in ("narrative", "evidence", "assessed_by"):
            if before.get(field) != after.get(field):
                out.append(f"{element_id}: {field} changed")
    return out


def _write_version(
    ctx: Ctx,
    a: MaturityAssessment,
    ratings: dict[str, Any],
    status: str,
    signatories: list[Any],
    changes: list[str],
    action: str,
) -> MaturityAssessmentVersion:
    version = a.current_version + 1 if a.current_version else 1
    a.current_version = version
    a.status = status
    v = MaturityAssessmentVersion(
        assessment_id=a.id,
        version=version,
        status=status,
        ratings=ratings,
        signatories=signatories,
        changes=changes,
        saved_by=ctx.user.id,
        saved_at=ctx.now,
    )
    ctx.session.add(v)
    ctx.session.flush()
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action=action,
        resource="maturity_assessment",
        resource_id=f"{a.id}v{version}",
        detail=f"{a.matrix_id} {a.org_id} {a.assessed_on.isoformat()}: {len(changes)} change(s)",
        now=ctx.now,
    )
    return v


def save(
    ctx: Ctx,
    matrix: Matrix,
    org_id: str,
    assessed_on: dt.date,
    ratings: dict[str, Rating],
    base_version: int | None,
) -> MaturityAssessmentVersion:
    """A new version with ``ratings`` over the current one's (other elements kept).

    ``base_version`` must be the current version (None to start the assessment)."""
    ctx.require("maturity", "write")
    if not org_id.strip() or len(org_id) > 64:
        raise Invalid("org_id: give the partnership's or locality's id (1-64 characters)")
    check_ratings(matrix, ratings)
    a = _find(ctx, matrix.id, org_id, assessed_on)
    current = a.current_version if a is not None else None
    if base_version != current:
        raise Conflict(
            f"base_version: the assessment is at version {current}, not {base_version}; "
            "reload it and apply your change again"
        )
    if a is not None and a.status == AGREED:
        raise Conflict(f"assessment {a.id}: agreed, so final; assess again at a new date instead")
    given = {k: _stored(r) for k, r in ratings.items()}
    for element_id, r in ratings.items():
        for i, e in enumerate(r.evidence):
            doc = None if e.document is None else ctx.session.get(MaturityDocument, e.document)
            if e.document is not None and (doc is None or a is None or doc.assessment_id != a.id):
                raise Invalid(
                    f"ratings.{element_id}.evidence[{i}].document: no document {e.document} "
                    "attached to this assessment"
                )
    if a is None:
        a = MaturityAssessment(
            matrix_id=matrix.id,
            org_id=org_id,
            assessed_on=assessed_on,
            status=DRAFT,
            current_version=0,
            created_by=ctx.user.id,
            created_at=ctx.now,
        )
        ctx.session.add(a)
        ctx.session.flush()
        old: dict[str, Any] = {}
    else:
        old = dict(_version(ctx, a, a.current_version).ratings)
    merged = {**old, **given}
    changes = _changes(old, merged) if old or given else []
    if a.current_version and not changes:
        raise Conflict("ratings: no change from the current version")
    return _write_version(ctx, a, merged, DRAFT, [], changes or ["created"], "write")


def agree(
    ctx: Ctx, assessment_id: int, signatories: list[Signatory], base_version: int
) -> MaturityAssessmentVersion:
    """Agree the current version: a new version, status ``agreed``, with its signatories."""
    ctx.require("maturity", "write")
    a = _assessment(ctx, assessment_id)
    if a.status == AGREED:
        raise Conflict(f"assessment {a.id}: already agreed")
    if base_version != a.current_version:
        raise Conflict(
            f"base_version: the assessment is at version {a.current_version}, not "
            f"{base_version}; agree what you have read"
        )
    if not signatories:
        raise Invalid("signatories: an assessment is agreed by at least one signatory")
    ratings = dict(_version(ctx, a, a.current_version).ratings)
    signed = [s.model_dump(mode="json") for s in signatories]
    names = ", ".join(s.name for s in signatories)
    return _write_version(ctx, a, ratings, AGREED, signed, [f"agreed by {names}"], "agree")


def _assessment(ctx: Ctx, assessment_id: int) -> MaturityAssessment:
    a = ctx.session.get(MaturityAssessment, assessment_id)
    if a is None:
        raise NotFound(f"assessment_id: no maturity assessment {assessment_id}")
    return a


def get(
    ctx: Ctx, assessment_id: int, version: int | None = None
) -> tuple[MaturityAssessment, MaturityAssessmentVersion]:
    ctx.require("maturity", "read")
    a = _assessment(ctx, assessment_id)
    return a, _version(ctx, a, version or a.current_version)


def versions(ctx: Ctx, assessment_id: int) -> list[MaturityAssessmentVersion]:
    ctx.require("maturity", "read")
    a = _assessment(ctx, assessment_id)
    return list(
        ctx.session.execute(
            select(MaturityAssessmentVersion)
            .where(MaturityAssessmentVersion.assessment_id == a.id)
            .order_by(MaturityAssessmentVersion.version)
        ).scalars()
    )


def listing(ctx: Ctx, org_id: str | None = None) -> list[MaturityAssessment]:
    """Assessments (of one organisation, if given), oldest first."""
    ctx.require("maturity", "read")
    q = select(MaturityAssessment).order_by(
        MaturityAssessment.org_id, MaturityAssessment.matrix_id, MaturityAssessment.assessed_on
    )
    if org_id is not None:
        q = q.where(MaturityAssessment.org_id == org_id)
    return list(ctx.session.execute(q).scalars())


def previous(ctx: Ctx, a: MaturityAssessment) -> MaturityAssessmentVersion | None:
    """The agreed version of the same organisation's latest earlier assessment on the
    same matrix: what "change since the last assessment" compares with."""
    earlier = ctx.session.execute(
        select(MaturityAssessment)
        .where(
            MaturityAssessment.matrix_id == a.matrix_id,
            MaturityAssessment.org_id == a.org_id,
            MaturityAssessment.assessed_on < a.assessed_on,
            MaturityAssessment.status == AGREED,
        )
        .order_by(MaturityAssessment.assessed_on.desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if earlier is None else _version(ctx, earlier, earlier.current_version)


def describe(ctx: Ctx, a: MaturityAssessment, v: MaturityAssessmentVersion) -> dict[str, Any]:
    """A version as an :class:`AssessmentFile` (JSON-ready)."""
    saver = ctx.session.get(User, v.saved_by)
    doc = AssessmentFile(
        format=FORMAT,
        matrix=a.matrix_id,
        org_id=a.org_id,
        assessed_on=a.assessed_on,
        status=DRAFT if v.status == DRAFT else AGREED,
        ratings={k: Rating.model_validate(r) for k, r in v.ratings.items()},
        signatories=[Signatory.model_validate(s) for s in v.signatories],
        id=a.id,
        version=v.version,
        saved_by=saver.username if saver is not None else None,
        saved_at=v.saved_at,
    )
    out = doc.model_dump(mode="json")
    for r in out["ratings"].values():
        r["evidence"] = [
            {k: x for k, x in e.items() if k != "document" or x is not None} for e in r["evidence"]
        ]
    return out


def to_file(ctx: Ctx, assessment_id: int, version: int | None = None) -> dict[str, Any]:
    """The assessment (current or given version) for export; the export is audited."""
    a, v = get(ctx, assessment_id, version)
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="export",
        resource="maturity_assessment",
        resource_id=f"{a.id}v{v.version}",
        now=ctx.now,
    )
    return describe(ctx, a, v)


def from_file(ctx: Ctx, matrix: Matrix, doc: AssessmentFile) -> MaturityAssessmentVersion:
    """Bring a (paper) assessment in: a new assessment, or a new version of the draft for
    the same matrix, organisation and date; agreed too if the file says so."""
    a = _find(ctx, matrix.id, doc.org_id, doc.assessed_on)
    v = save(
        ctx,
        matrix,
        doc.org_id,
        doc.assessed_on,
        doc.ratings,
        a.current_version if a is not None else None,
    )
    if doc.status == AGREED:
        v = agree(ctx, v.assessment_id, doc.signatories, v.version)
    return v


MAX_DOCUMENT_BYTES: Final = 5 * 1024 * 1024
_ZIP = b"PK\x03\x04"
#: extension -> (content type, what the first bytes must be; None: UTF-8 text)
DOCUMENT_TYPES: Final[dict[str, tuple[str, bytes | None]]] = {
    "pdf": ("application/pdf", b"%PDF-"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP),
    "odt": ("application/vnd.oasis.opendocument.text", _ZIP),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", _ZIP),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    "csv": ("text/csv", None),
    "txt": ("text/plain", None),
}


def check_document(filename: str, data: bytes) -> tuple[str, str]:
    """(clean file name, content type), or Invalid saying what is wrong in words."""
    import re

    name = re.sub(r"[^A-Za-z0-9._ ()-]", "_", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = name.strip(" .")[:200]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not name or ext not in DOCUMENT_TYPES:
        kinds = ", ".join(sorted(DOCUMENT_TYPES))
        raise Invalid(f"document: the file must be one of these types: {kinds}")
    if not data:
        raise Invalid("document: the file is empty")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise Invalid("document: the file must be smaller than 5 MB")
    content_type, magic = DOCUMENT_TYPES[ext]
    if magic is not None and not data.startswith(magic):
        raise Invalid(f"document: the file is not a real .{ext} file")
    if magic is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid(f"document: a .{ext} file must be UTF-8 text") from None
    return name, content_type


def attach(
    ctx: Ctx, assessment_id: int, element_id: str, matrix: Matrix, filename: str, data: bytes
) -> MaturityDocument:
    """Keep a document for an element of a draft assessment; audited. Cite it from a
    rating's evidence (``Evidence(document=doc.id)``) in the next :func:`save`."""
    import hashlib

    ctx.require("maturity", "write")
    a = _assessment(ctx, assessment_id)
    if a.status == AGREED:
        raise Conflict(f"assessment {a.id}: agreed, so final; assess again at a new date instead")
    if matrix.element(element_id) is None:
        raise Invalid(f"element: not an element of matrix {matrix.id}")
    name, content_type = check_document(filename, data)
    doc = MaturityDocument(
        assessment_id=a.id,
        element_id=element_id,
        filename=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=ctx.user.id,
        uploaded_at=ctx.now,
    )
    ctx.session.add(doc)
    ctx.session.flush()
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="write",
        resource="maturity_document",
        resource_id=doc.id,
        detail=f"assessment {a.id} {element_id}: {name} ({len(data)} bytes)",
        now=ctx.now,
    )
    return doc


def document(ctx: Ctx, document_id: int) -> MaturityDocument:
    """An attached document, to read (audited)."""
    ctx.require("maturity", "read")
    doc = ctx.session.get(MaturityDocument, document_id)
    if doc is None:
        raise NotFound(f"document: no maturity document {document_id}")
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="read",
        resource="maturity_document",
        resource_id=doc.id,
        now=ctx.now,
    )
    return doc


def documents(ctx: Ctx, assessment_id: int) -> dict[int, MaturityDocument]:
    """The assessment's documents by id (without reading their bytes into the page)."""
    ctx.require("maturity", "read")
    rows = ctx.session.execute(
        select(MaturityDocument).where(MaturityDocument.assessment_id == assessment_id)
    ).scalars()
    return {d.id: d for d in rows}
