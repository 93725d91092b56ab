"""``careweave maturity``: the maturity matrices and partnerships' self-assessments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from careweave.cli.common import Db

if TYPE_CHECKING:
    from careweave.care.context import Ctx
    from careweave.care.maturity import AssessmentFile
    from careweave.maturity.matrices import Matrix

maturity_app = typer.Typer(
    help="Maturity matrices (CCM service improvement, nine-area integration) and self-assessments.",
    no_args_is_help=True,
)

#: ``--matrix-dir``: local matrices beside the shipped ones (default $CAREWEAVE_MATRIX_DIR).
MatrixDir = Annotated[
    Path | None,
    typer.Option(
        "--matrix-dir",
        help="Directory of local matrix files (TOML); default $CAREWEAVE_MATRIX_DIR.",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(maturity_app, name="maturity")


def matrix_dir(flag: Path | None) -> Path | None:
    """``--matrix-dir`` if given, else the settings' (``$CAREWEAVE_MATRIX_DIR``)."""
    from careweave.settings import Settings

    return Settings.load(matrix_dir=flag).matrix_dir


@maturity_app.command("matrices")
def matrices(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    matrix_dir_flag: MatrixDir = None,
) -> None:
    """List the matrices: shipped ones, then any local ones (--matrix-dir)."""
    import orjson

    from careweave.maturity.matrices import DATA, load_matrices

    found = load_matrices(matrix_dir(matrix_dir_flag))
    shipped = {p.stem for p in DATA.glob("*.toml")}
    if as_json:
        payload = [m.as_json() for m in found.values()]
        typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
        return
    for m in found.values():
        elements = sum(len(d.elements) for d in m.dimensions)
        where = "shipped" if m.id in shipped else "local"
        typer.echo(
            f"{m.id}: {m.title} ({len(m.dimensions)} dimensions, {elements} elements, "
            f"stages {', '.join(s.label for s in m.stages)}; {where}; source {m.source.seed})"
        )


#: ``--as``: the user the command acts as (their role decides what it may do).
ActAs = Annotated[
    str, typer.Option("--as", help="Username to act as (commissioners and administrators edit).")
]


@contextmanager
def _acting(db: str | None, username: str) -> Iterator[Ctx]:
    """One unit of work on the store as ``username``."""
    from careweave.care import config
    from careweave.care.context import Ctx
    from careweave.cli.common import config_dir, now, open_store, user_named
    from careweave.store.db import transaction

    cfg = config.load(config_dir())
    with transaction(open_store(db)) as s:
        yield Ctx(session=s, user=user_named(s, username), now=now(), config=cfg)


def read_file(path: Path, matrices: dict[str, Matrix]) -> tuple[Matrix, AssessmentFile]:
    """An assessment file, checked against its matrix; InputError naming file and field."""
    import orjson
    from pydantic import ValidationError

    from careweave.care.maturity import AssessmentFile, check_ratings
    from careweave.errors import InputError
    from careweave.security.errors import Invalid

    try:
        data = orjson.loads(path.read_bytes())
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from e
    except orjson.JSONDecodeError as e:
        raise InputError(f"{path}: not JSON ({e})") from e
    try:
        doc = AssessmentFile.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise InputError(f"{path}: {where}: {msg}") from None
    if doc.matrix not in matrices:
        raise InputError(
            f"{path}: matrix: no matrix {doc.matrix!r} (there are: {', '.join(sorted(matrices))})"
        )
    m = matrices[doc.matrix]
    try:
        check_ratings(m, doc.ratings)
    except Invalid as e:
        raise InputError(f"{path}: {e}") from None
    return m, doc


@maturity_app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="Assessment file (JSON, the export format).")],
    as_user: ActAs,
    db: Db = None,
    matrix_dir_flag: MatrixDir = None,
) -> None:
    """Bring an assessment in (e.g. a paper one): new, or a new version of its draft."""
    from careweave.care.maturity import from_file
    from careweave.maturity.matrices import load_matrices

    m, doc = read_file(path, load_matrices(matrix_dir(matrix_dir_flag)))
    with _acting(db, as_user) as ctx:
        v = from_file(ctx, m, doc)
        line = (
            f"assessment {v.assessment_id} ({doc.matrix}, {doc.org_id}, {doc.assessed_on}): "
            f"version {v.version}, {v.status}; {len(v.ratings)} element(s) rated"
        )
    typer.echo(line)


@maturity_app.command("export")
def export_cmd(
    assessment_id: Annotated[int, typer.Argument(help="Assessment id.")],
    as_user: ActAs,
    version: Annotated[
        int | None, typer.Option("--version", help="Version (default current).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default stdout).")
    ] = None,
    as_pdf: Annotated[
        bool,
        typer.Option(
            "--pdf",
            help="Write the assessment as a PDF (the grid with the evidence from the data); "
            "needs --output.",
        ),
    ] = False,
    warehouse: Annotated[
        Path | None,
        typer.Option(
            "--warehouse", help="With --pdf: DuckDB warehouse (default $CAREWEAVE_WAREHOUSE)."
        ),
    ] = None,
    db: Db = None,
    matrix_dir_flag: MatrixDir = None,
) -> None:
    """Write an assessment in the file format `import` reads, or as a PDF (audited)."""
    import orjson

    from careweave.care.maturity import to_file

    if as_pdf:
        _export_pdf(assessment_id, as_user, version, output, warehouse, db, matrix_dir_flag)
        return
    with _acting(db, as_user) as ctx:
        doc = to_file(ctx, assessment_id, version)
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"assessment {assessment_id} version {doc['version']} written to {output}")


def _export_pdf(
    assessment_id: int,
    as_user: str,
    version: int | None,
    output: Path | None,
    warehouse: Path | None,
    db: str | None,
    matrix_dir_flag: Path | None,
) -> None:
    from careweave import pdf
    from careweave.care import maturity
    from careweave.errors import InputError
    from careweave.maturity.matrices import get_matrix
    from careweave.settings import Settings
    from careweave.web import maturity_report
    from careweave.web import warehouse as wh

    if output is None:
        raise InputError("--output: give the PDF file to write (a PDF is not printed)")
    settings = Settings.load(warehouse=warehouse)
    path = settings.warehouse
    with _acting(db, as_user) as ctx:
        a, v = maturity.get(ctx, assessment_id, version)
        m = get_matrix(a.matrix_id, matrix_dir(matrix_dir_flag))
        with wh.connect(path) as con:
            _, html, footer = maturity_report.build(
                ctx, assessment_id, m, con, version, settings.budget_file
            )
        title = maturity_report.title(m, a.org_id, a.assessed_on)
        number = v.version
    pdf.write_pdf(html, output, title=title, footer=footer, css=maturity_report.REPORT_CSS)
    typer.echo(f"assessment {assessment_id} version {number} written to {output} (PDF)")


@maturity_app.command("show")
def show_cmd(
    assessment_id: Annotated[int, typer.Argument(help="Assessment id.")],
    as_user: ActAs,
    version: Annotated[
        int | None, typer.Option("--version", help="Version (default current).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: Db = None,
    matrix_dir_flag: MatrixDir = None,
) -> None:
    """An assessment element by element: stage, change since the last agreed assessment."""
    import orjson

    from careweave.care import maturity
    from careweave.maturity.matrices import get_matrix

    with _acting(db, as_user) as ctx:
        a, v = maturity.get(ctx, assessment_id, version)
        doc = maturity.describe(ctx, a, v)
        before = maturity.previous(ctx, a)
        history = [
            {"version": h.version, "status": h.status, "changes": h.changes}
            for h in maturity.versions(ctx, assessment_id)
        ]
    m = get_matrix(a.matrix_id, matrix_dir(matrix_dir_flag))
    labels = {s.id: s.label for s in m.stages}
    rows = []
    for d in m.dimensions:
        for e in d.elements:
            now_stage = (doc["ratings"].get(e.id) or {}).get("stage")
            then = (before.ratings.get(e.id) or {}).get("stage") if before else None
            rows.append(
                {
                    "dimension": d.id,
                    "element": e.id,
                    "title": e.title,
                    "stage": now_stage,
                    "previous_stage": then,
                }
            )
    if as_json:
        out = {
            **doc,
            "elements": rows,
            "history": history,
            "previous_assessment": before.assessment_id if before else None,
        }
        typer.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
        return
    typer.echo(
        f"assessment {a.id}: {m.title}, {a.org_id}, {a.assessed_on} "
        f"(version {v.version}, {v.status})"
    )
    for r in rows:
        stage = labels.get(r["stage"], "not rated") if r["stage"] else "not rated"
        was = (
            f" (was {labels[r['previous_stage']]})"
            if r["previous_stage"] and r["previous_stage"] != r["stage"]
            else ""
        )
        typer.echo(f"  {r['dimension']} {r['title']}: {stage}{was}")


@maturity_app.command("evidence")
def evidence_cmd(
    assessment_id: Annotated[int, typer.Argument(help="Assessment id.")],
    as_user: ActAs,
    warehouse: Annotated[
        Path | None,
        typer.Option("--warehouse", help="DuckDB warehouse (default $CAREWEAVE_WAREHOUSE)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: Db = None,
) -> None:
    """What the data says for each element it can speak to, and the stage it suggests
    (the assessor decides; nothing is saved)."""
    import orjson

    from careweave.care import maturity
    from careweave.settings import Settings
    from careweave.web import maturity_evidence as ev
    from careweave.web import warehouse as wh

    settings = Settings.load(warehouse=warehouse)
    path = settings.warehouse
    with _acting(db, as_user) as ctx:
        a, v = maturity.get(ctx, assessment_id)
        with wh.connect(path) as con:
            scope, found = ev.for_assessment(
                ctx.session, con, a.matrix_id, a.org_id, ctx.now, settings.budget_file
            )
        chosen = {k: (r or {}).get("stage") for k, r in v.ratings.items()}
    if as_json:
        out = ev.to_json(scope, found)
        for k, item in out["elements"].items():
            item["rated_stage"] = chosen.get(k)
        typer.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
        return
    typer.echo(f"assessment {a.id}: evidence for {scope.label}")
    for k, sug in found.items():
        typer.echo(
            f"  {k}: suggested {sug.stage or 'none'} (rated {chosen.get(k) or 'not rated'}); "
            f"{sug.reason}"
        )
        for f in sug.facts:
            typer.echo(f"    - {f.title}: {f.summary}")
