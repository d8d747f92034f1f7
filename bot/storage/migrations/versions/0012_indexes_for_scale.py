"""Indexes for a deployment of 100,000 families (issue #16), each chosen from a query plan of
`wegwijzer bench --scale` (2,000,000 answers, 50,000 flags of which 10,000 open):

- `ix_flag_review_queue`: the review queue (/flags) in its own order, most serious level
  first, then by due time, of the unresolved flags only (partial). The first page of a
  coordinator's queue reads five entries of it instead of sorting every unresolved flag.
  It replaces `ix_flag_status_level_due_at`, which no query needs any more and which SQLite,
  without statistics, would take for the queue instead (and then sort ten thousand rows).
- `ix_flag_assigned_to`: a caseworker's /flags includes the flags assigned to them.
- `ix_flag_notified_at`: the flags still to tell (the digest's and the alarms' query) among
  the thousands already told.
- `ix_person_role_status_created_at`: the coordinators, looked up for every flag a digest
  or escalation tells of; it was a scan of every person.

The queue's index is on an expression and has a condition, written with constants: a query
uses it only when it spells both the same way (`models.level_rank`, `models.unresolved`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In parentheses: PostgreSQL takes an expression in an index only so.
LEVEL_RANK = (
    "(CASE WHEN (level = 'urgent') THEN 0 WHEN (level = 'high') THEN 1 "
    "WHEN (level = 'medium') THEN 2 WHEN (level = 'low') THEN 3 ELSE 4 END)"
)
UNRESOLVED = "status IN ('open', 'acknowledged')"


def upgrade() -> None:
    op.drop_index("ix_flag_status_level_due_at", table_name="flag")
    op.create_index(
        "ix_flag_review_queue",
        "flag",
        [sa.text(LEVEL_RANK), "due_at", "raised_at", "id"],
        postgresql_where=sa.text(UNRESOLVED),
        sqlite_where=sa.text(UNRESOLVED),
    )
    op.create_index("ix_flag_assigned_to", "flag", ["assigned_to"])
    op.create_index("ix_flag_notified_at", "flag", ["notified_at"])
    op.create_index("ix_person_role_status_created_at", "person", ["role", "status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_person_role_status_created_at", table_name="person")
    op.drop_index("ix_flag_notified_at", table_name="flag")
    op.drop_index("ix_flag_assigned_to", table_name="flag")
    op.drop_index("ix_flag_review_queue", table_name="flag")
    op.create_index("ix_flag_status_level_due_at", "flag", ["status", "level", "due_at"])
