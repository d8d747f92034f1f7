"""Schedules: when each case's family is reminded of their check-in, and where that stands;
and the caseworker's home visits, planned by the case's reintegration stage.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_file") as batch:
        batch.add_column(sa.Column("stage_since", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("returned_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("visit_due_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("last_visit_at", sa.DateTime(), nullable=True))
        batch.create_index(batch.f("ix_case_file_visit_due_at"), ["visit_due_at"])

    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(64), nullable=False),
        sa.Column("cadence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), server_default="active", nullable=False),
        sa.Column("paused_by", sa.String(16), nullable=True),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("next_due_at", sa.DateTime(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("follow_up_at", sa.DateTime(), nullable=True),
        sa.Column("missed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deferred_since", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            name=op.f("fk_schedule_case_id_case_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule")),
        sa.UniqueConstraint("case_id", "flow_id", name=op.f("uq_schedule_case_id_flow_id")),
    )
    op.create_index(op.f("ix_schedule_next_due_at"), "schedule", ["next_due_at"])
    op.create_index(op.f("ix_schedule_follow_up_at"), "schedule", ["follow_up_at"])


def downgrade() -> None:
    op.drop_table("schedule")
    with op.batch_alter_table("case_file") as batch:
        batch.drop_index(batch.f("ix_case_file_visit_due_at"))
        for column in ("last_visit_at", "visit_due_at", "returned_at", "stage_since"):
            batch.drop_column(column)
