"""contacts: the source record a contact was imported from (FHIR RelatedPerson)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 15:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("source_ref", sa.String(length=200), nullable=True))
        batch.create_index("ix_contacts_source_ref", ["nhs_number", "source_ref"])


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_source_ref")
        batch.drop_column("source_ref")
