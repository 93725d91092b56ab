"""Maturity matrices: shipped in ``data/*.toml``, a deployment may add its own.

A matrix has an ``id``, a ``title``, a ``source`` (seed file, document, section), an
ordered list of ``stages`` (id and label, lowest first) and ``dimensions``; each
dimension has ``elements``, and each element a table ``stages`` giving every stage's
text. An element's stage text may be empty only where the source gives none; the
element's ``notes`` must then say so (the element stays assessable: a stage can still
be chosen). Element ids are unique within a matrix, so an assessment names an element
by its id alone.

A local matrix is a TOML file of the same shape in a directory passed in
(``--matrix-dir`` or ``CAREWEAVE_MATRIX_DIR``); its id must not repeat a shipped one.
Every file is validated on load; a problem raises ``InputError`` naming the file and
the field, on one line.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from careweave.errors import InputError

DATA = Path(__file__).parent / "data"
_ID = r"^[a-z0-9][a-z0-9.\-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    seed: str = Field(min_length=1)
    document: str = ""
    section: str = Field(min_length=1)


class StageDef(_Strict):
    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1)


class Element(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    description: str = ""
    source: str = ""
    notes: str = ""
    stages: dict[str, str]


class Dimension(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    source: str = ""
    notes: str = ""
    #: The source's own column headings for this dimension, where they differ.
    stage_headings: dict[str, str] = {}
    elements: list[Element] = Field(min_length=1)


class Matrix(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    notes: str = ""
    source: Source
    stages: list[StageDef] = Field(min_length=2)
    dimensions: list[Dimension] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Matrix:
        ids = [s.id for s in self.stages]
        _unique(ids, "stages", "stage")
        _unique([d.id for d in self.dimensions], "dimensions", "dimension")
        names = ", ".join(ids)
        seen: dict[str, str] = {}
        for i, d in enumerate(self.dimensions):
            for key in d.stage_headings:
                if key not in ids:
                    raise ValueError(
                        f"dimensions[{i}] ({d.id}).stage_headings: unknown stage {key!r} "
                        f"(the matrix's stages are {names})"
                    )
            for j, e in enumerate(d.elements):
                where = f"dimensions[{i}].elements[{j}] ({e.id})"
                if e.id in seen:
                    raise ValueError(
                        f"{where}.id: {e.id!r} is already an element of dimension {seen[e.id]}"
                    )
                seen[e.id] = d.id
                for key in e.stages:
                    if key not in ids:
                        raise ValueError(
                            f"{where}.stages: unknown stage {key!r} (the matrix's stages are {names})"
                        )
                missing = [s for s in ids if s not in e.stages]
                if missing:
                    raise ValueError(
                        f"{where}.stages: missing stage {missing[0]!r} "
                        "(give it, empty with a note if the source has no text)"
                    )
                if any(not e.stages[s].strip() for s in ids) and not e.notes.strip():
                    raise ValueError(
                        f"{where}.notes: an element with an empty stage text must say why in notes"
                    )
        return self

    def element(self, element_id: str) -> Element | None:
        for d in self.dimensions:
            for e in d.elements:
                if e.id == element_id:
                    return e
        return None

    def element_ids(self) -> list[str]:
        return [e.id for d in self.dimensions for e in d.elements]

    def stage_ids(self) -> list[str]:
        return [s.id for s in self.stages]

    def as_json(self) -> dict[str, Any]:
        """The matrix for ``careweave maturity matrices --json``: stages in order, with text."""
        labels = {s.id: s.label for s in self.stages}
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source.model_dump(),
            "notes": self.notes,
            "stages": [s.model_dump() for s in self.stages],
            "dimensions": [
                {
                    "id": d.id,
                    "title": d.title,
                    "source": d.source,
                    "notes": d.notes,
                    "stage_headings": dict(d.stage_headings),
                    "elements": [
                        {
                            "id": e.id,
                            "title": e.title,
                            "description": e.description,
                            "source": e.source,
                            "notes": e.notes,
                            "stages": [
                                {"id": s, "label": labels[s], "text": e.stages[s]}
                                for s in self.stage_ids()
                            ],
                        }
                        for e in d.elements
                    ],
                }
                for d in self.dimensions
            ],
        }


def _unique(ids: list[str], field: str, what: str) -> None:
    seen: set[str] = set()
    for i, v in enumerate(ids):
        if v in seen:
            raise ValueError(f"{field}[{i}].id: {what} {v!r} is given twice")
        seen.add(v)


def load_file(path: Path) -> Matrix:
    """One matrix file, validated; InputError naming the file and field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{path}: cannot read as TOML ({e})") from e
    try:
        return Matrix.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "value_error" and not err["loc"]:
            raise InputError(f"{path}: {msg}") from None
        where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]).replace(
            ".[", "["
        )
        raise InputError(f"{path}: {where or '(top level)'}: {msg}") from None


def load_matrices(matrix_dir: Path | str | None = None) -> dict[str, Matrix]:
    """The shipped matrices, then every ``*.toml`` in ``matrix_dir``, by id (in that order)."""
    files = sorted(DATA.glob("*.toml"))
    if matrix_dir is not None:
        extra = Path(matrix_dir)
        if not extra.is_dir():
            raise InputError(f"{extra}: matrix directory does not exist")
        files += sorted(extra.glob("*.toml"))
    found: dict[str, Matrix] = {}
    origin: dict[str, Path] = {}
    for path in files:
        m = load_file(path)
        if m.id in found:
            raise InputError(f"{path}: id: matrix {m.id!r} is already defined by {origin[m.id]}")
        found[m.id] = m
        origin[m.id] = path
    return found


def get_matrix(matrix_id: str, matrix_dir: Path | str | None = None) -> Matrix:
    """The matrix called ``matrix_id``, or InputError listing the ones there are."""
    matrices = load_matrices(matrix_dir)
    if matrix_id not in matrices:
        raise InputError(
            f"matrix: no matrix {matrix_id!r} (there are: {', '.join(sorted(matrices))})"
        )
    return matrices[matrix_id]
