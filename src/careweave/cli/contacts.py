"""``careweave contacts import``: contacts who are not users, from FHIR RelatedPerson."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from careweave.cli.common import Db, now, open_store
from careweave.errors import InputError

contacts_app = typer.Typer(
    help="Contacts who are not users (family, neighbours) in the care store.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(contacts_app, name="contacts")


@contacts_app.command("import")
def import_contacts(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="FHIR R4 Bundle JSON / Bulk Data NDJSON files or directories (.gz too)."
        ),
    ],
    db: Db = None,
) -> None:
    """Create or update the people's contacts from the RelatedPerson resources in FILES
    that are not people of the population (docs/care.md, "Contacts from FHIR").

    One transaction: a file that cannot be read stops it with FILE:ENTRY: problem (exit 2)
    and nothing is written. Consent is not imported: staff record it on the contact's page.
    """
    from careweave.care import contact_import
    from careweave.care.context import system_user
    from careweave.importers.fhir.reading import expand_paths, iter_file
    from careweave.importers.report import ImportReport
    from careweave.store.db import transaction

    files = expand_paths(paths)
    report = ImportReport(source="contacts")
    # Streamed: only the Patients' NHS numbers and the RelatedPersons are kept.
    resources = ((res, full) for f in files for _, res, full in iter_file(f, str(f), report))
    related = list(contact_import.related_people(resources))
    if report.problems:
        first = report.problems[0]
        where = f"{first.file}:{first.entry}" if first.entry is not None else first.file
        raise InputError(f"{where}: {first.message} (no contact was written)")
    with transaction(open_store(db)) as s:
        at = now()
        counts = contact_import.apply(s, system_user(s, at), at, related)
    typer.echo(
        f"contacts: {counts.added} added, {counts.updated} updated, {counts.unchanged} "
        f"unchanged, {counts.ended} ended (from {len(related)} RelatedPerson resources)"
    )
    for reason, n in sorted(counts.skipped.items()):
        typer.echo(f"  not a contact: {n} {reason}")
