"""audit refused index

An index on the audit log's action and sequence number, so the administrators'
"Refused access" page (the newest refused attempts first) stays one index range
however long the chain grows (10,000,000 entries and more).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_action_seq", "audit_log", ["action", "seq"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_seq", table_name="audit_log", if_exists=True)
