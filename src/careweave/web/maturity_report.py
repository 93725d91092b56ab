"""A maturity self-assessment as a PDF (``careweave.pdf``): the grid the page shows, for a
board paper. Used by the page's download (``/app/maturity/ID/pdf``) and by
``careweave maturity export ID --pdf``.

It holds the assessment at one version: status and signatories, each element's stage with
the seed's text, the change since the last agreed assessment, narrative, evidence (links
written out, documents by name) and what the data says (suggested stage, its reason and
each fact's summary and source), with counts already under disclosure control. The
footer dates it and names the version.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from careweave import pdf
from careweave.care import maturity
from careweave.care.context import Ctx
from careweave.care.wording import uk_time
from careweave.maturity.matrices import Matrix
from careweave.security import audit
from careweave.store.models import MaturityAssessment
from careweave.web import maturity_evidence as ev
from careweave.web import maturity_view as view
from careweave.web.templating import env

REPORT_CSS = """
.cw-stage { font-weight: bold; }
.cw-up { color: #007f3b; font-weight: bold; }
.cw-down { color: #d5281b; font-weight: bold; }
td.cw-data { font-size: 7.5pt; color: #4c6272; }
"""


def build(
    ctx: Ctx,
    assessment_id: int,
    m: Matrix,
    con: Any,
    version: int | None = None,
    budget: Path | None = None,
) -> tuple[str, str, str]:
    """(file name, HTML, footer) of the assessment at ``version`` (default current); the
    export is audited. ``budget``: the budget file the schemes evidence reads (None: the
    shipped example), as on the pages."""
    a, v = maturity.get(ctx, assessment_id, version)
    before = maturity.previous(ctx, a)
    before_on = (
        ctx.session.get(MaturityAssessment, before.assessment_id).assessed_on  # type: ignore[union-attr]
        if before
        else None
    )
    scope, found = ev.for_assessment(ctx.session, con, a.matrix_id, a.org_id, ctx.now, budget)
    docs = maturity.documents(ctx, a.id)
    footer = (
        f"Careweave maturity self-assessment {a.id}, version {v.version} "
        f"({'agreed' if v.status == maturity.AGREED else 'draft'}); evidence from the data "
        f"for {scope.label}; produced {uk_time(ctx.now)}."
    )
    html = env.get_template("maturity_report.html").render(
        a=a,
        v=v,
        matrix=m,
        dims=view.grid(m, v, before, found),
        before_on=before_on,
        scope=scope,
        docs=docs,
        footer=footer,
        made=ctx.now.date(),
    )
    audit.record(
        ctx.session,
        actor=ctx.user.username,
        action="export",
        resource="maturity_assessment",
        resource_id=f"{a.id}v{v.version}",
        detail="pdf",
        now=ctx.now,
    )
    org = re.sub(r"[^A-Za-z0-9_-]", "_", a.org_id)
    name = f"careweave-maturity-{a.matrix_id}-{org}-{a.assessed_on.isoformat()}-v{v.version}.pdf"
    return name, html, footer


def title(m: Matrix, org_id: str, day: dt.date) -> str:
    return f"{m.title}: {org_id}, {day.strftime('%-d %B %Y')}"


def render(
    ctx: Ctx,
    assessment_id: int,
    m: Matrix,
    con: Any,
    version: int | None = None,
    budget: Path | None = None,
) -> tuple[str, bytes]:
    """(file name, PDF bytes)."""
    a, _ = maturity.get(ctx, assessment_id, version)
    name, html, footer = build(ctx, assessment_id, m, con, version, budget)
    return name, pdf.render_pdf(
        html, title=title(m, a.org_id, a.assessed_on), footer=footer, css=REPORT_CSS
    )
