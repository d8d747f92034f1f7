"""The Alembic migrations: found from the installed package, idempotent, and equal to the models.

The bot migrates its database at every start, and the ORM models are what the code assumes;
if the two drift apart, a query fails in production on one backend only. These tests run the
migrations on a blank database on each backend and let Alembic's autogenerate compare the
result with the models.
"""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Integer, MetaData, inspect

from bot.storage import Base, Database
from bot.storage.database import MIGRATIONS_DIR, _alembic_config

TABLES = {"person", "case_file", "membership", "run", "answer", "score", "flag"}


def test_migration_files_ship_with_the_package() -> None:
    package = files("bot.storage") / "migrations"
    for name in ("env.py", "script.py.mako", "versions/0001_initial.py"):
        assert (package / name).is_file(), name
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    # One head: two would mean two migrations written in parallel that nobody merged.
    assert script.get_heads() == ["0001"]


async def test_upgrade_from_blank_and_again(blank_database_url: str) -> None:
    db = Database.connect(blank_database_url)
    try:
        assert await db.current_revision() is None
        await db.upgrade()
        assert await db.current_revision() == "0001"
        async with db.transaction() as uow:
            await uow.people.add("telegram", "1", "family")

        await db.upgrade()
        assert await db.current_revision() == "0001"
        async with db.reading() as uow:
            assert await uow.people.get("telegram", "1") is not None

        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables == TABLES | {"alembic_version"}
    finally:
        await db.dispose()


async def test_upgrade_from_a_second_database_object(blank_database_url: str) -> None:
    # Two bot processes starting against the same database.
    first, second = Database.connect(blank_database_url), Database.connect(blank_database_url)
    try:
        await first.upgrade()
        await second.upgrade()
        assert await second.current_revision() == "0001"
    finally:
        await first.dispose()
        await second.dispose()


def _differences(connection: Connection, metadata: MetaData) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_models(blank_database_url: str) -> None:
    db = Database.connect(blank_database_url)
    try:
        await db.upgrade()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_differences, Base.metadata) == []

            # The comparison is not vacuous: a column the migration lacks is noticed.
            drifted = MetaData(naming_convention=Base.metadata.naming_convention)
            for table in Base.metadata.tables.values():
                table.to_metadata(drifted)
            drifted.tables["answer"].append_column(Column("confidence", Integer))
            differences = await conn.run_sync(_differences, drifted)
        assert [d[0] for d in differences] == ["add_column"]  # type: ignore[index]
    finally:
        await db.dispose()


async def test_downgrade_to_nothing_and_up_again(blank_database_url: str) -> None:
    db = Database.connect(blank_database_url)
    try:
        await db.upgrade()

        def downgrade(connection: Connection) -> None:
            with connection.begin():
                command.downgrade(_alembic_config(connection), "base")

        async with db.engine.connect() as conn:
            await conn.run_sync(downgrade)
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables <= {"alembic_version"}
        assert await db.current_revision() is None

        await db.upgrade()
        assert await db.current_revision() == "0001"
    finally:
        await db.dispose()
