"""What the maturity pages and the PDF show, built once: the grid of one assessment
(stage, its text, change since the last agreed assessment, narrative, evidence and the
data's suggestion), an organisation's history on a matrix, and the comparison of
organisations (like seed 001's ratings of seven localities).

Decisions: the **history** is every assessment of the organisation on the matrix,
oldest first, each at its current version (a draft is marked as such), plus the
versions of the one being viewed; the **comparison** takes each organisation's latest
*agreed* assessment on the matrix (a draft is not yet the partnership's view), so the
columns are comparable positions, each dated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from careweave.care import maturity
from careweave.care.context import Ctx
from careweave.maturity.matrices import Matrix
from careweave.store.models import MaturityAssessment, MaturityAssessmentVersion, User
from careweave.web.maturity_evidence import Suggestion


def change(m: Matrix, now: str | None, then: str | None) -> tuple[str, str]:
    """("up" | "down" | "same" | "none", words) from the earlier stage to this one."""
    labels = {s.id: s.label for s in m.stages}
    order = {s.id: i for i, s in enumerate(m.stages)}
    if now and then and now != then and now in order and then in order:
        up = order[now] > order[then]
        return ("up" if up else "down"), f"{'Up' if up else 'Down'} from {labels[then]}"
    if now and then:
        return "same", "No change"
    return "none", ("Not assessed before" if now else "")


def grid(
    m: Matrix,
    v: MaturityAssessmentVersion,
    before: MaturityAssessmentVersion | None,
    found: dict[str, Suggestion],
) -> list[dict[str, Any]]:
    """The matrix's dimensions, each with a row per element."""
    labels = {s.id: s.label for s in m.stages}
    dims: list[dict[str, Any]] = []
    for d in m.dimensions:
        rows = []
        for e in d.elements:
            rating = v.ratings.get(e.id) or {}
            now = rating.get("stage")
            then = (before.ratings.get(e.id) or {}).get("stage") if before else None
            kind, words = change(m, now, then)
            sug = found.get(e.id)
            rows.append(
                {
                    "id": e.id,
                    "title": e.title,
                    "stage_id": now,
                    "stage": labels.get(now, now) if now else "Not rated",
                    "stage_text": e.stages.get(now, "") if now else "",
                    "change": kind,
                    "change_text": words,
                    "narrative": rating.get("narrative", ""),
                    "evidence": rating.get("evidence", []),
                    "assessed_by": rating.get("assessed_by", ""),
                    "data": sug,
                    "suggested": labels.get(sug.stage, "") if sug and sug.stage else "",
                }
            )
        dims.append({"id": d.id, "title": d.title, "rows": rows})
    return dims


@dataclass(frozen=True)
class Column:
    assessment: MaturityAssessment
    version: MaturityAssessmentVersion


def _current(ctx: Ctx, a: MaturityAssessment) -> MaturityAssessmentVersion:
    return maturity.get(ctx, a.id)[1]


def history(ctx: Ctx, a: MaturityAssessment) -> list[Column]:
    """Every assessment of the organisation on the matrix, oldest first, at its current
    version."""
    rows = ctx.session.execute(
        select(MaturityAssessment)
        .where(
            MaturityAssessment.org_id == a.org_id,
            MaturityAssessment.matrix_id == a.matrix_id,
        )
        .order_by(MaturityAssessment.assessed_on)
    ).scalars()
    return [Column(x, _current(ctx, x)) for x in rows]


def comparison(ctx: Ctx, matrix_id: str) -> list[Column]:
    """Each organisation's latest agreed assessment on the matrix, by organisation."""
    rows = ctx.session.execute(
        select(MaturityAssessment)
        .where(
            MaturityAssessment.matrix_id == matrix_id,
            MaturityAssessment.status == maturity.AGREED,
        )
        .order_by(MaturityAssessment.org_id, MaturityAssessment.assessed_on)
    ).scalars()
    latest: dict[str, MaturityAssessment] = {}
    for x in rows:
        latest[x.org_id] = x
    return [Column(x, _current(ctx, x)) for x in latest.values()]


def table(m: Matrix, columns: list[Column]) -> list[dict[str, Any]]:
    """Dimensions with a row per element and each column's stage label ('' if not rated)."""
    labels = {s.id: s.label for s in m.stages}
    out = []
    for d in m.dimensions:
        rows = []
        for e in d.elements:
            cells = []
            for c in columns:
                stage = (c.version.ratings.get(e.id) or {}).get("stage")
                cells.append(labels.get(stage, stage) if stage else "")
            rows.append({"title": e.title, "cells": cells})
        out.append({"id": d.id, "title": d.title, "rows": rows})
    return out


def savers(ctx: Ctx, versions: list[MaturityAssessmentVersion]) -> dict[int, str]:
    """Display names of the users who saved the versions."""
    ids = {v.saved_by for v in versions}
    if not ids:
        return {}
    return {
        u.id: u.display_name
        for u in ctx.session.execute(select(User).where(User.id.in_(ids))).scalars()
    }
