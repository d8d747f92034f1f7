"""The Alembic migrations: found from the installed package, idempotent, and equal to the models.

The bot migrates its database at every start, and the ORM models are what the code assumes;
if the two drift apart, a query fails in production on one backend only. These tests run the
migrations on a blank database on each backend and let Alembic's autogenerate compare the
result with the models.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Index, Integer, MetaData, inspect, text
from sqlalchemy.exc import DBAPIError

from bot.storage import Base, Database, Unavailable
from bot.storage.database import MIGRATIONS_DIR, _alembic_config, _sqlite_pragma

from .conftest import T0

HEAD = "0016"
TABLES = {
    "person",
    "case_file",
    "membership",
    "run",
    "answer",
    "score",
    "audit_event",
    "schedule",
    "flag",
    "invite",
    "processed_update",
    "outbox",
    "case_child",
    "run_child",
    "received_update",
    "web_link",
    "web_session",
}


def test_migration_files_ship_with_the_package() -> None:
    package = files("bot.storage") / "migrations"
    for name in (
        "env.py",
        "script.py.mako",
        "versions/0001_initial.py",
        "versions/0002_invites_consent_processed_updates.py",
        "versions/0003_flag_review_and_audit.py",
        "versions/0004_schedules.py",
        "versions/0005_case_risk_and_closure.py",
        "versions/0006_flag_tell_again.py",
        "versions/0007_outbox.py",
        "versions/0008_case_children.py",
    ):
        assert (package / name).is_file(), name
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    # One head: two would mean two migrations written in parallel that nobody merged.
    assert script.get_heads() == [HEAD]


async def test_upgrade_from_blank_and_again(blank_database_url: str) -> None:
    db = Database.connect(blank_database_url)
    try:
        assert await db.current_revision() is None
        await db.upgrade()
        assert await db.current_revision() == HEAD
        async with db.transaction() as uow:
            await uow.people.add("telegram", "1", "family")

        await db.upgrade()
        assert await db.current_revision() == HEAD
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
        assert await second.current_revision() == HEAD
    finally:
        await first.dispose()
        await second.dispose()


# Indexes on an expression (the review queue's): SQLite's reflection skips them, with a
# warning, and PostgreSQL gives back its own rewording of the expression, so Alembic cannot
# compare them. `test_expression_indexes_match_the_models` compares their definitions.
EXPRESSION_INDEXES = {
    index.name
    for table in Base.metadata.tables.values()
    for index in table.indexes
    if any(not isinstance(element, Column) for element in index.expressions)
}
SKIPPED_REFLECTION = "ignore:Skipped unsupported reflection of expression-based index"


def _compared(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def _differences(connection: Connection, metadata: MetaData) -> list[object]:
    compared = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        # An index the models make on one backend only (`ddl_if`) is compared there only.
        elsewhere = {
            index.name
            for index in Base.metadata.tables[table.name].indexes
            if index._ddl_if is not None
            and index._ddl_if.dialect not in (None, connection.dialect.name)
        }
        copy = table.to_metadata(compared)
        for index in [
            index for index in copy.indexes if index.name in EXPRESSION_INDEXES | elsewhere
        ]:
            copy.indexes.discard(index)
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": _compared,
        },
    )
    return list(compare_metadata(context, compared))


@pytest.mark.filterwarnings(SKIPPED_REFLECTION)
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


def _index_definitions(connection: Connection, names: set[str]) -> dict[str, str]:
    """How the database itself states each index (PostgreSQL normalises the expression)."""
    if connection.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    return {
        name: " ".join(definition.split())
        for name, definition in connection.execute(text(query))
        if name in names
    }


def _model_index_definitions(connection: Connection) -> dict[str, str]:
    """The expression indexes as the models would create them, made under another name in a
    transaction that is rolled back, and stated by the database like the migrated ones."""
    made = {}
    with connection.begin() as transaction:
        for table in Base.metadata.tables.values():
            # A copy of the set: the copies made below join the table's set for a moment, and
            # a set changed while iterated may give one of its indexes twice.
            for index in list(table.indexes):
                if index.name in EXPRESSION_INDEXES:
                    copy = Index(f"model_{index.name}", *index.expressions, **index.kwargs)
                    copy._set_parent(table)  # bound to the table, not added to the metadata
                    copy.create(connection)
                    table.indexes.discard(copy)
                    made[f"model_{index.name}"] = index.name
        found = _index_definitions(connection, set(made))
        transaction.rollback()
    return {made[name]: definition.replace(name, made[name]) for name, definition in found.items()}


async def test_expression_indexes_match_the_models(blank_database_url: str) -> None:
    db = Database.connect(blank_database_url)
    try:
        await db.upgrade()
        async with db.engine.connect() as conn:
            migrated = await conn.run_sync(_index_definitions, EXPRESSION_INDEXES)
        async with db.engine.connect() as conn:
            models = await conn.run_sync(_model_index_definitions)
        assert sorted(EXPRESSION_INDEXES) == [
            "ix_flag_review_queue",
            "ix_run_finished_flow_ended_at",
        ]
        assert migrated == models
        assert set(migrated) == EXPRESSION_INDEXES
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
        assert await db.current_revision() == HEAD
    finally:
        await db.dispose()


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    # As Database.upgrade() does: SQLite rebuilds a table to drop a column, and with foreign
    # keys on, dropping the old copy would cascade into the memberships that refer to it.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            step = command.downgrade if down else command.upgrade
            step(_alembic_config(connection), revision)
    finally:
        if sqlite:
            _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")


async def test_0002_keeps_the_data_of_0001_both_ways(blank_database_url: str) -> None:
    """A deployed bot upgrades with people, cases and memberships in place, and can step back."""
    db = Database.connect(blank_database_url)
    naive_t0 = T0.replace(tzinfo=None)  # raw SQL bypasses UTCDateTime: naive UTC, as stored
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_migrate, "0001")
        # Raw SQL: the models already describe 0002, which this schema does not have yet.
        async with db.engine.begin() as conn:
            for statement in (
                "INSERT INTO person (id, channel, external_id, role, status, created_at) "
                "VALUES (1, 'telegram', '42', 'family', 'active', :t)",
                "INSERT INTO case_file (id, code, programme, status, created_at) "
                "VALUES (1, 'K-0001', 'foster_care', 'open', :t)",
                "INSERT INTO membership (person_id, case_id, created_at) VALUES (1, 1, :t)",
            ):
                await conn.execute(text(statement), {"t": naive_t0})

        await db.upgrade()
        assert await db.current_revision() == HEAD
        async with db.transaction() as uow:
            person = await uow.people.get("telegram", "42")
            assert person is not None
            assert (person.consent, person.consent_at) == (None, None)
            assert [member.id for member in await uow.cases.members(1)] == [1]
            await uow.people.set_consent(person.id, "given", T0)

        async with db.engine.connect() as conn:
            await conn.run_sync(_migrate, "0001", down=True)
            columns = await conn.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns("person")}
            )
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            members = (await conn.execute(text("SELECT count(*) FROM membership"))).scalar_one()
        assert await db.current_revision() == "0001"
        assert "consent" not in columns and "external_id" in columns
        assert not {"invite", "processed_update"} & tables
        # On SQLite the downgrade rebuilt the person table; rows referring to it survive that.
        assert members == 1
        if db.dialect == "sqlite":
            async with db.engine.connect() as conn:
                assert (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all() == []
    finally:
        await db.dispose()


async def test_0003_keeps_the_flags_of_0002_and_backfills_them_both_ways(
    blank_database_url: str,
) -> None:
    """Flags raised before the review existed: kept, an open one told already and escalating
    from its due time, a closed one left alone; and back to 0002 without losing them."""
    db = Database.connect(blank_database_url)
    raised, due = T0.replace(tzinfo=None), T0.replace(tzinfo=None) + timedelta(hours=1)
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_migrate, "0002")
        async with db.engine.begin() as conn:
            for statement in (
                "INSERT INTO person (id, channel, external_id, role, status, created_at) "
                "VALUES (1, 'telegram', '42', 'family', 'active', :raised)",
                "INSERT INTO case_file (id, code, programme, status, created_at) "
                "VALUES (1, 'TST-0001', 'foster_care', 'open', :raised)",
                "INSERT INTO flag (id, case_id, run_id, flow_id, flow_version, rule, level, "
                "reason, evidence, status, raised_at, due_at) VALUES (1, 1, NULL, "
                "'family_checkin', 1, 'child_unsafe_at_home', 'urgent', 'Unsafe.', :evidence, "
                "'open', :raised, :due)",
                "INSERT INTO flag (id, case_id, run_id, flow_id, flow_version, rule, level, "
                "reason, evidence, status, raised_at, due_at) VALUES (2, 1, NULL, "
                "'family_checkin', 1, 'low_wellbeing', 'medium', 'Low.', :evidence, "
                "'resolved', :raised, :due)",
            ):
                await conn.execute(
                    text(statement),
                    {"raised": raised, "due": due, "evidence": '{"children.safe_at_home": "no"}'},
                )

        await db.upgrade()
        assert await db.current_revision() == HEAD
        async with db.transaction() as uow:
            still_open = await uow.flags.get(1)
            closed = await uow.flags.get(2)
            assert still_open is not None and closed is not None
            assert still_open.evidence == {"children.safe_at_home": "no"}
            assert (still_open.escalate_at, still_open.notified_at) == (T0 + timedelta(hours=1), T0)
            assert (still_open.escalations, still_open.assigned_to) == (0, None)
            assert (closed.escalate_at, closed.notified_at, closed.escalations) == (None, None, 0)
            # The old open flag is what the new duties find: told already, escalating when due.
            assert await uow.flags.to_notify(("urgent", "medium"), T0 + timedelta(days=9)) == []
            assert [f.id for f in await uow.flags.to_escalate(T0 + timedelta(hours=1))] == [1]
            await uow.flags.acknowledge(still_open, 1, T0 + timedelta(minutes=5))
            await uow.audit.record(
                at=T0, actor_id=1, actor_role="coordinator", action="acknowledged", flag_id=1
            )
        # The append-only guard is in place after an upgrade too, not only on a fresh database.
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(text("DELETE FROM audit_event"))

        async with db.engine.connect() as conn:
            await conn.run_sync(_migrate, "0002", down=True)
            columns = await conn.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns("flag")}
            )
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            rows = (await conn.execute(text("SELECT id, status, rule FROM flag ORDER BY id"))).all()
            if db.dialect == "postgresql":
                functions = (
                    await conn.execute(
                        text("SELECT count(*) FROM pg_proc WHERE proname = :name"),
                        {"name": "audit_event_append_only"},
                    )
                ).scalar_one()
                assert functions == 0
            else:
                assert (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all() == []
        assert await db.current_revision() == "0002"
        assert "audit_event" not in tables
        assert not {"escalate_at", "notified_at", "escalations", "assigned_to"} & columns
        assert {"due_at", "raised_at", "status", "evidence"} <= columns
        assert [tuple(row) for row in rows] == [
            (1, "open", "child_unsafe_at_home"),  # 0002 has no "acknowledged": open again
            (2, "resolved", "low_wellbeing"),
        ]

        await db.upgrade()  # and up again: the trigger and its function are made afresh
        assert await db.current_revision() == HEAD
        async with db.reading() as uow:
            assert await uow.audit.events() == []
    finally:
        await db.dispose()


async def test_0008_adds_children_to_the_cases_of_0007_and_steps_back(
    blank_database_url: str,
) -> None:
    """Cases and runs of 0007 stay as they are; children can be added to them; a step back
    drops the children's tables and nothing else."""
    db = Database.connect(blank_database_url)
    naive_t0 = T0.replace(tzinfo=None)
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_migrate, "0007")
        async with db.engine.begin() as conn:
            for statement in (
                "INSERT INTO person (id, channel, external_id, role, status, created_at) "
                "VALUES (1, 'telegram', '42', 'caseworker', 'active', :t)",
                "INSERT INTO case_file (id, code, programme, status, created_at) "
                "VALUES (1, 'K-0001', 'simba_family_care', 'open', :t)",
                "INSERT INTO run (id, flow_id, flow_version, person_id, case_id, step, status, "
                "state, started_at, updated_at) "
                "VALUES (1, 'home_visit', 1, 1, 1, 'done', 'completed', '{}', :t, :t)",
            ):
                await conn.execute(text(statement), {"t": naive_t0})

        await db.upgrade()
        assert await db.current_revision() == HEAD
        async with db.transaction() as uow:
            child = await uow.children.add(1, now=T0, sibling_group="A", with_siblings=True)
            await uow.children.link_run(1, child.id)
        async with db.reading() as uow:
            assert [c.number for c in await uow.children.of_case(1)] == [1]
            assert await uow.children.of_run(1) is not None

        async with db.engine.connect() as conn:
            await conn.run_sync(_migrate, "0007", down=True)
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            runs = (await conn.execute(text("SELECT count(*) FROM run"))).scalar_one()
        assert await db.current_revision() == "0007"
        assert not {"case_child", "run_child"} & tables
        assert runs == 1
        await db.upgrade()
        assert await db.current_revision() == HEAD
    finally:
        await db.dispose()


async def test_0011_dates_the_leaving_of_people_who_had_left_already(
    blank_database_url: str,
) -> None:
    """Someone who left before 0011 gets the upgrade's moment as `left_at`, so the contact
    term runs for them too; someone still active gets none."""
    db = Database.connect(blank_database_url)
    naive_t0 = T0.replace(tzinfo=None)
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_migrate, "0010")
        async with db.engine.begin() as conn:
            for person_id, status in ((1, "left"), (2, "active"), (3, "unreachable")):
                await conn.execute(
                    text(
                        "INSERT INTO person (id, channel, external_id, external_key, role, "
                        "status, created_at) VALUES (:id, 'telegram', :ext, :key, 'family', "
                        ":status, :t)"
                    ),
                    {
                        "id": person_id,
                        "ext": f"x{person_id}",
                        "key": f"k{person_id}",
                        "status": status,
                        "t": naive_t0,
                    },
                )

        before = datetime.now(UTC)
        await db.upgrade()
        after = datetime.now(UTC)
        assert await db.current_revision() == HEAD
        async with db.reading() as uow:
            people = {i: await uow.people.get_by_id(i) for i in (1, 2, 3)}
        assert all(person is not None for person in people.values())
        left_at = people[1].left_at  # type: ignore[union-attr]
        assert left_at is not None and before - timedelta(seconds=1) <= left_at <= after
        assert people[2].left_at is None and people[3].left_at is None  # type: ignore[union-attr]
    finally:
        await db.dispose()


async def test_a_schema_behind_the_code_is_an_error_not_an_outage(
    blank_database_url: str,
) -> None:
    """A database without the tables (never migrated) must fail loudly, not be taken for a
    database that is down (which the emergency route would wait out)."""
    db = Database.connect(blank_database_url)
    try:
        with pytest.raises(DBAPIError) as raised:
            async with db.reading() as uow:
                await uow.people.get("telegram", "1")
        assert not isinstance(raised.value, Unavailable)
    finally:
        await db.dispose()


async def test_a_database_nobody_listens_for_is_unavailable() -> None:
    db = Database.connect("postgresql://postgres@127.0.0.1:9/test")  # the discard port
    try:
        with pytest.raises(Unavailable):
            async with db.reading() as uow:
                await uow.people.get("telegram", "1")
        with pytest.raises(Unavailable):
            await db.upgrade()
    finally:
        await db.dispose()


async def test_0010_steps_back_with_every_sealed_value_opened(blank_database_url: str) -> None:
    """Stepping back to 0009 puts sealed values back in plain (0009 reads only those), gives
    erased people a placeholder id each, and up again seals them anew."""
    db = Database.connect(blank_database_url)
    try:
        await db.upgrade()
        async with db.transaction() as uow:
            family = await uow.people.add("telegram", "7000000123", "family")
            gone = [await uow.people.add("telegram", str(n), "family") for n in (111, 222)]
            for person in gone:
                await uow.erasure.forget_contact(person.id, T0)
            case = await uow.cases.add("K-0001", "foster_care")
            await uow.children.add(case.id, now=T0, label="the eldest of the three of them")
            run = await uow.runs.start(family.id, case.id, "family_checkin", 1, "s", {"a": 1}, T0)
            await uow.answers.record(run.id, "note", "MARKER words", "s", T0)
            await uow.audit.record(
                at=T0, actor_id=None, actor_role="operator", action="noted", note="MARKER note"
            )
        async with db.engine.connect() as conn:
            await conn.run_sync(_migrate, "0009", down=True)
        async with db.engine.connect() as conn:
            ids = (await conn.execute(text("SELECT external_id FROM person ORDER BY id"))).all()
            label = (await conn.execute(text("SELECT label FROM case_child"))).scalar_one()
            value = (await conn.execute(text("SELECT value FROM answer"))).scalar_one()
            note = (await conn.execute(text("SELECT note FROM audit_event"))).scalar_one()
        assert [row[0] for row in ids] == [
            "7000000123",
            f"erased:{gone[0].id}",
            f"erased:{gone[1].id}",
        ]
        assert label == "the eldest of the three of them"[:32]
        assert "MARKER words" in str(value) and note == "MARKER note"
        await db.upgrade()
        async with db.reading() as uow:
            found = await uow.people.get("telegram", "7000000123")
            assert found is not None and found.id == family.id
            assert await uow.answers.of_run(run.id) == {"note": "MARKER words"}
    finally:
        await db.dispose()
