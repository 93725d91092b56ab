"""Entry point: builds the Typer app from every command module and runs it.

User errors (:class:`careweave.errors.CareweaveError`) become one line on
stderr and their exit code; anything else is a bug and keeps its traceback.
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
    """Run the CLI; returns the exit code."""
    app = build_app()
    try:
        app(args=argv, standalone_mode=False)
    except CareweaveError as e:
        typer.echo(f"careweave: error: {e}", err=True)
        return e.exit_code
    except typer.Exit as e:
        return int(e.exit_code or 0)
    except typer.Abort:
        typer.echo("careweave: aborted", err=True)
        return 130
    except Exception as e:  # click usage errors carry their own exit code
        import click

        if isinstance(e, click.ClickException):
            e.show()
            return e.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
