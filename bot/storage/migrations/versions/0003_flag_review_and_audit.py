"""Reviewing flags (acknowledge, assign, resolve, escalate, notify), the audit log, a case's
stage, and what a person's next message is awaited for.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
The audit log is append-only in the database itself: triggers refuse UPDATE and DELETE, so not
even a bug in the bot can rewrite what happened.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY = "audit log is append-only"


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("awaiting", sa.JSON(), nullable=True))

    with op.batch_alter_table("case_file") as batch:
        batch.add_column(sa.Column("stage", sa.String(32), nullable=True))

    with op.batch_alter_table("flag") as batch:
        batch.add_column(sa.Column("notified_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("escalate_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("escalations", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("assigned_to", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("acknowledged_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resolved_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch.create_index(batch.f("ix_flag_escalate_at"), ["escalate_at"])
        for column in ("assigned_to", "acknowledged_by", "resolved_by"):
            batch.create_foreign_key(
                batch.f(f"fk_flag_{column}_person"),
                "person",
                [column],
                ["id"],
                ondelete="SET NULL",
            )

    # Flags raised before this revision: unacknowledged ones escalate from their due time,
    # and count as told (they were, at once or not at all: there was no digest yet).
    op.execute(
        "UPDATE flag SET escalate_at = due_at, notified_at = raised_at WHERE status = 'open'"
    )

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("flag_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(op.f("ix_audit_event_case_id_at"), "audit_event", ["case_id", "at"])
    op.create_index(op.f("ix_audit_event_flag_id_at"), "audit_event", ["flag_id", "at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{event.lower()} BEFORE {event} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
    op.drop_table("audit_event")  # SQLite drops a table's triggers with it
    # 0002 knows no "acknowledged": such a flag is open again there, not hidden.
    op.execute("UPDATE flag SET status = 'open' WHERE status = 'acknowledged'")
    with op.batch_alter_table("flag") as batch:
        for column in ("resolved_by", "acknowledged_by", "assigned_to"):
            batch.drop_constraint(batch.f(f"fk_flag_{column}_person"), type_="foreignkey")
        batch.drop_index(batch.f("ix_flag_escalate_at"))
        for column in (
            "resolution",
            "resolved_by",
            "resolved_at",
            "acknowledged_by",
            "acknowledged_at",
            "assigned_to",
            "escalations",
            "escalate_at",
            "notified_at",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("case_file") as batch:
        batch.drop_column("stage")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("awaiting")
