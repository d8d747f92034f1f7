"""Updates received by webhook, kept in the database until handled, so that several bot
processes on one PostgreSQL database handle each person's updates in turn (issue #16).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "received_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("receiver", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_received_update")),
    )
    op.create_index(
        op.f("ix_received_update_turn_update_id"), "received_update", ["turn", "update_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_received_update_turn_update_id"), table_name="received_update")
    op.drop_table("received_update")
