"""``careweave maturity``: the maturity matrices and partnerships' self-assessments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
