"""A case's risk level and its next review (set by the risk screening), and its closure:
proposed by the caseworker, approved (closed) or returned by a coordinator, reopened.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("risk_level", sa.String(16)),
    ("risk_set_at", sa.DateTime()),
    ("review_due_at", sa.DateTime()),
    ("review_reminded_at", sa.DateTime()),
    ("closure_proposed_at", sa.DateTime()),
    ("closure_proposed_by", sa.Integer()),
    ("closed_at", sa.DateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("case_file") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.create_foreign_key(
            batch.f("fk_case_file_closure_proposed_by_person"),
            "person",
            ["closure_proposed_by"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(batch.f("ix_case_file_review_due_at"), ["review_due_at"])


def downgrade() -> None:
    with op.batch_alter_table("case_file") as batch:
        batch.drop_index(batch.f("ix_case_file_review_due_at"))
        batch.drop_constraint(
            batch.f("fk_case_file_closure_proposed_by_person"), type_="foreignkey"
        )
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
