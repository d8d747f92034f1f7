"""A case's children (a pseudonymous number and label, year of birth, placement, sibling
group), and which child a run is about: the Child Status Index rates each child (issue #14).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_child",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("placement", sa.String(length=32), nullable=True),
        sa.Column("sibling_group", sa.String(length=16), nullable=True),
        sa.Column("with_siblings", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
            name=op.f("fk_case_child_case_id_case_file"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_child")),
        sa.UniqueConstraint("case_id", "number", name=op.f("uq_case_child_case_id_number")),
    )
    op.create_table(
        "run_child",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["run.id"], name=op.f("fk_run_child_run_id_run"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["case_child.id"],
            name=op.f("fk_run_child_child_id_case_child"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_child")),
    )
    op.create_index(op.f("ix_run_child_child_id"), "run_child", ["child_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_run_child_child_id"), table_name="run_child")
    op.drop_table("run_child")
    op.drop_table("case_child")
