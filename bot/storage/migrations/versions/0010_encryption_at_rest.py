"""Encryption at rest (issue #15): a person is found by a keyed hash of their channel id,
which itself is stored sealed; a child's label may hold a sealed value; the audit log's note
may be re-sealed (key rotation) or blanked (erasure, retention), nothing else of it changes.

Existing people get their hash and sealed id here, with the key ring the bot runs with; other
sealed columns keep reading their plain values until `wegwijzer keys rotate` seals them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY = "audit_event is append-only"
# Everything but `note`: an UPDATE naming any of these is refused.
_FIXED = "id, at, actor_id, actor_role, action, case_id, flag_id, detail"


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("external_key", sa.String(64), nullable=True))
        batch.alter_column("external_id", type_=sa.Text(), existing_type=sa.String(64))
    _seal_people()
    with op.batch_alter_table("person") as batch:
        batch.alter_column("external_key", nullable=False, existing_type=sa.String(64))
        batch.drop_constraint("uq_person_channel_external_id", type_="unique")
        batch.create_unique_constraint(
            batch.f("uq_person_channel_external_key"), ["channel", "external_key"]
        )
    with op.batch_alter_table("case_child") as batch:
        batch.alter_column("label", type_=sa.Text(), existing_type=sa.String(32))
    _audit_note_may_change(True)


def downgrade() -> None:
    # Everything sealed is opened first (0009 reads plain values only), while the audit
    # note may still change.
    _open_everything()
    _audit_note_may_change(False)
    with op.batch_alter_table("case_child") as batch:
        batch.alter_column("label", type_=sa.String(32), existing_type=sa.Text())
    with op.batch_alter_table("person") as batch:
        batch.drop_constraint("uq_person_channel_external_key", type_="unique")
        batch.drop_column("external_key")
        batch.alter_column("external_id", type_=sa.String(64), existing_type=sa.Text())
        batch.create_unique_constraint(
            batch.f("uq_person_channel_external_id"), ["channel", "external_id"]
        )


def _seal_people() -> None:
    from bot.storage import crypto

    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, channel, external_id FROM person")).all()
    if not rows:
        return
    keyring = crypto.active()
    for person_id, channel, external_id in rows:
        sealed = (
            external_id
            if external_id.startswith(crypto.PREFIX)
            else keyring.seal(external_id.encode(), "person.external_id")
        )
        plain = keyring.open(sealed, "person.external_id").decode()
        connection.execute(
            sa.text("UPDATE person SET external_id = :sealed, external_key = :key WHERE id = :id"),
            {"sealed": sealed, "key": keyring.lookup_key(channel, plain), "id": person_id},
        )


# The columns this revision's code seals: (table, column, JSON or text).
_SEALED = (
    ("person", "external_id", False),
    ("run", "state", True),
    ("answer", "value", True),
    ("flag", "evidence", True),
    ("flag", "resolution", False),
    ("audit_event", "note", False),
    ("outbox", "body", True),
    ("case_child", "label", False),
)


def _open_everything() -> None:
    """Put every sealed value back in plain, as 0009 stored it; an erased person (whose id
    was removed) gets a unique placeholder id, a label is cut to 0009's 32 characters."""
    import json

    from bot.storage import crypto

    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    for table, column, is_json in _SEALED:
        rows = connection.execute(sa.text(f"SELECT id, {column} FROM {table}")).all()
        for row_id, stored in rows:
            value = stored
            if is_json and isinstance(value, str) and value.startswith('"'):
                value = json.loads(value)  # SQLite hands the JSON text over as it is
            if not (isinstance(value, str) and value.startswith(crypto.PREFIX)):
                continue
            plain = crypto.open_sealed(value, f"{table}.{column}").decode()
            if table == "case_child":
                plain = plain[:32]
            target = "CAST(:plain AS JSON)" if is_json and postgres else ":plain"
            connection.execute(
                sa.text(f"UPDATE {table} SET {column} = {target} WHERE id = :id"),
                {"plain": plain, "id": row_id},
            )
    connection.execute(
        sa.text("UPDATE person SET external_id = 'erased:' || id WHERE external_id = ''")
    )


def _audit_note_may_change(may: bool) -> None:
    """Refuse every UPDATE of the audit log (0003), or only those that change more than the
    note (this revision). DELETE stays refused either way."""
    refuse_update = f"BEFORE UPDATE OF {_FIXED}" if may else "BEFORE UPDATE"
    if op.get_bind().dialect.name == "postgresql":
        run = "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        if may:
            op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
            op.execute(f"CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event {run}")
            op.execute(f"CREATE TRIGGER audit_event_no_update {refuse_update} ON audit_event {run}")
        else:
            op.execute("DROP TRIGGER audit_event_no_delete ON audit_event")
            op.execute("DROP TRIGGER audit_event_no_update ON audit_event")
            op.execute(
                "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                + run
            )
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute(
            f"CREATE TRIGGER audit_event_no_update {refuse_update} ON audit_event "
            f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
        )
