"""Alembic environment: runs the migrations on the connection `Database.upgrade()` hands over.

The bot migrates its own database at start-up, from code, with the same async engine it uses
for everything else, so there is no alembic.ini and no second way to connect. `Database`
opens the transaction and passes its connection in `config.attributes["connection"]`; this
file only configures Alembic on it. Batch mode is on for SQLite because SQLite can only alter
a table by rebuilding it.
"""

from __future__ import annotations

from alembic import context

from bot.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Wegwijzer migrations run through bot.storage.Database.upgrade(), "
        "which passes its connection in config.attributes['connection']"
    )
if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
