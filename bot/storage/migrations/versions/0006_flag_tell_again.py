"""When an urgent or high flag is to be told again: a repeated alarm within a few minutes of
the last notice waits for the end of that window and is told once, with a count.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("flag") as batch:
        batch.add_column(sa.Column("tell_again_at", sa.DateTime(), nullable=True))
        batch.create_index(batch.f("ix_flag_tell_again_at"), ["tell_again_at"])


def downgrade() -> None:
    with op.batch_alter_table("flag") as batch:
        batch.drop_index(batch.f("ix_flag_tell_again_at"))
        batch.drop_column("tell_again_at")
