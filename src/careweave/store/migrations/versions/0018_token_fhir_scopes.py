"""token FHIR scopes

API tokens gain SMART-style scopes for the FHIR endpoint (user/Patient.read,
system/*.read, ...; careweave.security.scopes). Optional: a token without them
keeps its account's whole permission, as before.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("scope_fhir", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("scope_fhir")
