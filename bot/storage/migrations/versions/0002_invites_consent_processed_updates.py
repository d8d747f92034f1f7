"""Invites, consent and status of people, and processed updates for handling each update once.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-04

Written by hand to match `bot.storage.models` (a contract test compares them on both backends),
without importing the models. The person columns are added in batch mode: SQLite can add a
column in place, but dropping one again on downgrade means rebuilding the table, which must run
with foreign keys off (as `Database.upgrade()` runs migrations), or dropping the old copy of
`person` would cascade into every membership.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: people who joined before this revision have not been asked yet.
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("consent", sa.String(16), nullable=True))
        batch.add_column(sa.Column("consent_at", sa.DateTime(), nullable=True))

    op.create_table(
        "invite",
        sa.Column("id", sa.Integer(), nullable=False),
        # SHA-256 hex of the code; the code itself is never stored.
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            name=op.f("fk_invite_case_id_case_file"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["person.id"],
            name=op.f("fk_invite_created_by_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["used_by"],
            ["person.id"],
            name=op.f("fk_invite_used_by_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invite_code_hash")),
    )

    op.create_table(
        "processed_update",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_processed_update")),
    )
    op.create_index(op.f("ix_processed_update_processed_at"), "processed_update", ["processed_at"])


def downgrade() -> None:
    op.drop_table("processed_update")
    op.drop_table("invite")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("consent_at")
        batch.drop_column("consent")
