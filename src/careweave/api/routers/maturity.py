"""Maturity self-assessments (careweave.care.maturity): read, save a version, agree."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from careweave.api.deps import Context, state
from careweave.api.routers.people import PathId
from careweave.care import maturity
from careweave.security.errors import NotFound

router = APIRouter()


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matrix: str = Field(min_length=1, max_length=64)
    org_id: str = Field(min_length=1, max_length=64)
    assessed_on: dt.date
    ratings: dict[str, maturity.Rating]
    base_version: int | None = None


class AgreeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signatories: list[maturity.Signatory] = Field(min_length=1, max_length=50)
    base_version: int


def _matrix(request: Request, matrix_id: str) -> Any:
    found = state(request).matrices.get(matrix_id)
    if found is None:
        raise NotFound(f"matrix: no matrix {matrix_id!r}")
    return found


@router.get("/maturity/assessments/{assessment_id}", tags=["maturity"])
def get_assessment(
    assessment_id: PathId,
    ctx: Context,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """An assessment at its current (or the given) version, in the export file format."""
    a, v = maturity.get(ctx, assessment_id, version)
    return maturity.describe(ctx, a, v)


@router.post("/maturity/assessments", status_code=201, tags=["maturity"])
def save_assessment(body: AssessmentIn, request: Request, ctx: Context) -> dict[str, Any]:
    """Save a new version (the ratings given over the current version's)."""
    ctx.require("maturity", "write")
    m = _matrix(request, body.matrix)
    v = maturity.save(ctx, m, body.org_id, body.assessed_on, body.ratings, body.base_version)
    a, v = maturity.get(ctx, v.assessment_id, v.version)
    return maturity.describe(ctx, a, v)


@router.post("/maturity/assessments/{assessment_id}/agree", tags=["maturity"])
def agree_assessment(assessment_id: PathId, body: AgreeIn, ctx: Context) -> dict[str, Any]:
    """Agree the current version with its signatories (final from then on)."""
    v = maturity.agree(ctx, assessment_id, body.signatories, body.base_version)
    a, v = maturity.get(ctx, v.assessment_id, v.version)
    return maturity.describe(ctx, a, v)
