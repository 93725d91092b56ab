"""Entry point: builds the Typer app from every command module and runs it.

User errors (:class:`careweave.errors.CareweaveError`) become one line on
stderr and their exit code; usage errors (unknown command or option, bad
value) print the usage message and exit 2; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

import careweave.cli
from careweave import __version__
from careweave.errors import CareweaveError


def _version(value: bool) -> None:
    if value:
        typer.echo(f"careweave {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="careweave",
        help="Careweave: linked health and social care records, risk stratification "
        "and care co-ordination.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ) -> None:
        """Careweave command line."""

    for info in sorted(pkgutil.iter_modules(careweave.cli.__path__), key=lambda m: m.name):
        if info.name == "main":
            continue
        module = importlib.import_module(f"careweave.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    Typer runs in its standalone mode, so it handles its own usage errors: an
    unknown command or option, or a bad value, prints the usage message and the
    error on stderr and exits 2. (This module used to run with
    ``standalone_mode=False`` and recognise usage errors as
    ``click.ClickException``; Typer 0.29 vendors its own Click as
    ``typer._click``, whose exceptions are not that class, so every usage error
    escaped as a traceback with exit 1.) Only :class:`CareweaveError` passes
    through Typer and is turned into one line here.
    """
    app = build_app()
    try:
        app(args=argv, prog_name="careweave", standalone_mode=True)
    except CareweaveError as e:
        typer.echo(f"careweave: error: {e}", err=True)
        return e.exit_code
    except SystemExit as e:
        return _exit_code(e.code)
    return 0


def _exit_code(code: object) -> int:
    """``SystemExit.code`` as an exit status (None is success; a message is failure)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    typer.echo(str(code), err=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
