"""Indexes for the web view's list of cases (issue #17), from query plans of `wegwijzer bench
--scale` (100,000 cases):

- `ix_case_file_code_pattern` (PostgreSQL only): the search by the start of a code is a
  `LIKE 'AB%'`, which the unique index on the code cannot serve in a collation other than
  "C" (the default of most servers, `C.UTF-8` or a language's); `text_pattern_ops` can.
  SQLite compares a range of codes on its unique index instead.
- `ix_run_finished_flow_ended_at`: the cases silent for some weeks, as the check-ins
  finished since a day (a range of this index) left out of all cases; without it, each
  case's runs were probed, a hundred thousand times. On an expression (the flow of a
  finished run, `models.finished_flow`) that no other query spells: SQLite, without
  statistics, took a plain or partial index on (flow_id, ended_at) for a case's own runs as
  well, and read every case's check-ins to find one case's last (300 ms instead of 0.1).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

Written by hand to match `bot.storage.models` (a contract test compares them on both backends).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In parentheses: PostgreSQL takes an expression in an index only so.
FINISHED_FLOW = "(CASE WHEN (status = 'completed') THEN flow_id END)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_case_file_code_pattern",
            "case_file",
            ["code"],
            postgresql_ops={"code": "text_pattern_ops"},
        )
    op.create_index(
        "ix_run_finished_flow_ended_at", "run", [sa.text(FINISHED_FLOW), "ended_at", "case_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_run_finished_flow_ended_at", table_name="run")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_case_file_code_pattern", table_name="case_file")
