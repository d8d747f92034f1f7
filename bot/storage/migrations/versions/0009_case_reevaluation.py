"""A case's Meldcode re-evaluation: when the caseworker is to weigh again whether the help
leads to lasting safety (afwegingskader, question 5), and when they were last reminded of it
(issue #14).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("reevaluation_due_at", sa.DateTime()),
    ("reevaluation_reminded_at", sa.DateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("case_file") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.create_index(batch.f("ix_case_file_reevaluation_due_at"), ["reevaluation_due_at"])


def downgrade() -> None:
    with op.batch_alter_table("case_file") as batch:
        batch.drop_index(batch.f("ix_case_file_reevaluation_due_at"))
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
