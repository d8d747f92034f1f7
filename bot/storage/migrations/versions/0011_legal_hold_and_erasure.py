"""Privacy (issue #15): a case's legal hold and the tombstones of erasure — when a case's
content or a person's data was removed — and when a person left, from which the contact
retention term runs.

People who had left before this revision get the upgrade's moment as the day they left: without
it the contact term (`left_at < cutoff`) would never come for them, and `wegwijzer person leave`
does nothing for someone already left, so their contact data would be kept for ever. The
upgrade is the earliest moment known for sure; the term runs a little late, never early.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "case_file": (
        ("legal_hold_at", sa.DateTime()),
        ("legal_hold_reason", sa.Text()),
        ("erased_at", sa.DateTime()),
    ),
    "person": (
        ("left_at", sa.DateTime()),
        ("erased_at", sa.DateTime()),
    ),
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for name, kind in columns:
                batch.add_column(sa.Column(name, kind, nullable=True))
    # Naive UTC, as the column stores it (UTCDateTime strips the zone on the way in).
    now = datetime.now(UTC).replace(tzinfo=None)
    op.get_bind().execute(
        sa.text("UPDATE person SET left_at = :now WHERE status = 'left' AND left_at IS NULL"),
        {"now": now},
    )


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(columns):
                batch.drop_column(name)
