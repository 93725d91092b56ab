"""worklist indexes

The indexes the web workbench needs at 1,000,000 people. Until this revision
``careweave.web`` created them itself with ``CREATE INDEX IF NOT EXISTS`` when
it was installed, so a store that has served the workbench may already have
them under these names: the revision creates each only if it is missing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 13:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = (
    (
        "ix_web_people_locality_cover",
        "people",
        ["locality_id", "ccm_level", "date_of_death", "nhs_number", "risk_probability"],
    ),
    (
        "ix_web_people_practice_cover",
        "people",
        ["practice_id", "ccm_level", "date_of_death", "nhs_number", "risk_probability"],
    ),
    ("ix_web_episodes_open", "episodes", ["nhs_number", "end_date"]),
    ("ix_web_notifications_person_kind", "notifications", ["nhs_number", "kind", "created_at"]),
    ("ix_web_referrals_breach", "referrals", ["breached_at", "status"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, if_not_exists=True)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)
