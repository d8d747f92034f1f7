"""Indexes for the coordinators' overview (bot/web `/overview`, issue #17), each chosen from
a query plan on the `wegwijzer bench --scale` set (100,000 cases, 50,000 flags, 338,000
audit entries), where the page's figures were scans of whole tables:

- `ix_case_file_open_caseworker`: the open cases per caseworker (was a lookup of every case
  through `ix_case_file_caseworker_id`, 330 ms on SQLite);
- `ix_case_file_open_programme`: the open cases by programme, stage and risk level (a scan
  of every case); both partial, of the open cases only, spelled with constants as the
  queries spell them (`models.open_case`);
- (`ix_run_finished_flow_ended_at`, the finished runs by flow and time, which the overview's
  families gone silent read too, is the case list's migration 0015);
- `ix_flag_raised_at`: the flags raised in a period (their response times), and
  `ix_case_file_closed_at`: the cases closed in a period; both partial, on a condition
  spelled with constants that only the overview's queries spell (`models.any_flag_status`,
  `models.closed_case`): as plain indexes, SQLite without statistics took the first for the
  flags still to tell (`raised_at < now`: every flag read, 13 ms instead of 0.1);
- `ix_audit_event_action_at`: the escalations of a period (a scan of the whole audit log,
  which grows fastest of all tables).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_CASE = "status = 'open' AND erased_at IS NULL"
ANY_FLAG_STATUS = "status IN ('open', 'acknowledged', 'resolved')"
CLOSED_CASE = "status = 'closed'"


def upgrade() -> None:
    op.create_index(
        "ix_case_file_open_caseworker",
        "case_file",
        ["caseworker_id"],
        postgresql_where=sa.text(OPEN_CASE),
        sqlite_where=sa.text(OPEN_CASE),
    )
    op.create_index(
        "ix_case_file_open_programme",
        "case_file",
        ["programme", "stage", "risk_level"],
        postgresql_where=sa.text(OPEN_CASE),
        sqlite_where=sa.text(OPEN_CASE),
    )
    op.create_index(
        "ix_flag_raised_at",
        "flag",
        ["raised_at"],
        postgresql_where=sa.text(ANY_FLAG_STATUS),
        sqlite_where=sa.text(ANY_FLAG_STATUS),
    )
    op.create_index(
        "ix_case_file_closed_at",
        "case_file",
        ["closed_at"],
        postgresql_where=sa.text(CLOSED_CASE),
        sqlite_where=sa.text(CLOSED_CASE),
    )
    op.create_index("ix_audit_event_action_at", "audit_event", ["action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_action_at", table_name="audit_event")
    op.drop_index("ix_case_file_closed_at", table_name="case_file")
    op.drop_index("ix_flag_raised_at", table_name="flag")
    op.drop_index("ix_case_file_open_programme", table_name="case_file")
    op.drop_index("ix_case_file_open_caseworker", table_name="case_file")
