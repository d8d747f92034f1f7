"""PostgreSQL connections killed under the bot: the next unit of work still succeeds, once.

The pool keeps connections open between updates, so a server restart or an administrator
(or an idle timeout) ending them leaves the pool holding dead ones. The check on checkout
must notice and replace them before a transaction runs on one; these tests hold that check
to it, whatever it costs (issue #16).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import text

from bot.storage import Database
from tests.databases import empty_tables, libpq_dsn, run_isolated

pytestmark = pytest.mark.postgres

POOL = 3  # connections the pool holds when the server kills them
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


async def _fill_pool(db: Database, count: int) -> set[int]:
    """Make the pool open `count` connections (all in use at once) and give them back; their
    backend pids."""
    inside = asyncio.Barrier(count)

    async def hold() -> int:
        async with db.engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await inside.wait()  # every connection is out of the pool at this moment
            return int(pid)

    return set(await asyncio.gather(*(hold() for _ in range(count))))


async def _kill_every_connection(url: str, *, unseen: bool) -> int:
    """End every other backend of the database from outside the bot, as a server restart or
    an administrator would; returns after they are gone (the timeout waits for each).

    `unseen`: kill them from another thread while this event loop is blocked, so the bot's
    connections have not read the end of their sockets when the next checkout looks at them
    (asyncpg's `is_closed()` still says False), as when a server goes away just before an
    update comes in. Otherwise the loop runs meanwhile and sees them closed.
    """
    if unseen:

        async def elsewhere() -> int:
            return await _kill_every_connection(url, unseen=False)

        return int(run_isolated(elsewhere))
    admin = await asyncpg.connect(libpq_dsn(url), timeout=5)
    try:
        # Chosen first, killed after: in one statement the planner may call
        # pg_terminate_backend before the filter that spares this connection.
        pids = await admin.fetchval(
            "SELECT array_agg(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        killed = await admin.fetchval(
            "SELECT count(*) FROM unnest($1::int[]) AS pid WHERE pg_terminate_backend(pid, 5000)",
            pids or [],
        )
    finally:
        await admin.close()
    return int(killed)


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    db = Database.connect(postgres_url, pool_size=POOL)
    await empty_tables(db)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.mark.parametrize("unseen", [False, True], ids=["seen", "unseen"])
async def test_writes_succeed_once_after_every_pooled_connection_was_killed(
    database: Database, postgres_url: str, unseen: bool
) -> None:
    before = await _fill_pool(database, POOL)
    assert len(before) == POOL
    assert await _kill_every_connection(postgres_url, unseen=unseen) >= POOL

    async def write(n: int) -> None:
        async with database.transaction() as uow:
            await uow.people.add("telegram", f"555{n}", "family")

    # As many at once as the pool held, so each dead connection is checked out by one of them.
    await asyncio.gather(*(write(n) for n in range(POOL)))

    async with database.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM person"))).scalar_one()
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    assert stored == POOL  # each write once, none doubled
    assert pid not in before  # the pool replaced the dead connections


@pytest.mark.parametrize("unseen", [False, True], ids=["seen", "unseen"])
async def test_an_answer_is_recorded_once_after_the_connections_were_killed(
    database: Database, postgres_url: str, unseen: bool
) -> None:
    async with database.transaction() as uow:
        person = await uow.people.add("telegram", "5550", "family")
        case = await uow.cases.add("C-0001", "family_strengthening")
        await uow.cases.add_member(case.id, person.id)
        run = await uow.runs.start(person.id, case.id, "family_checkin", 1, "start", {}, T0)
    await _fill_pool(database, POOL)
    assert await _kill_every_connection(postgres_url, unseen=unseen) >= POOL

    async with database.transaction() as uow:
        await uow.answers.record(run.id, "mood", "good", "start", T0)

    async with database.reading() as uow:
        assert await uow.answers.of_run(run.id) == {"mood": "good"}
    async with database.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM answer"))).scalar_one()
    assert rows == 1


@pytest.mark.parametrize("unseen", [False, True], ids=["seen", "unseen"])
async def test_an_answer_on_the_driver_is_recorded_once_after_the_connections_were_killed(
    database: Database, postgres_url: str, unseen: bool
) -> None:
    """`Database.answering`: its BEGIN is the check on checkout, and finds them dead too."""
    from bot.storage.answering import AnsweredRow

    async with database.transaction() as uow:
        people = [await uow.people.add("telegram", f"556{n}", "family") for n in range(POOL)]
        runs = [
            await uow.runs.start(person.id, None, "family_checkin", 1, "start", {}, T0)
            for person in people
        ]
    await _fill_pool(database, POOL)
    assert await _kill_every_connection(postgres_url, unseen=unseen) >= POOL

    async def answer(n: int) -> None:
        async with database.answering("telegram", f"556{n}", runs[n].id) as tx:
            assert tx.run is not None
            answered = [AnsweredRow("mood", "good", "start")]
            assert await tx.store(f"telegram:{n}", answered, "next", {}, T0)

    # As many at once as the pool held, so each dead connection is checked out by one of them.
    await asyncio.gather(*(answer(n) for n in range(POOL)))
    async with database.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM answer"))).scalar_one()
        in_transaction = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
                    " AND datname = current_database()"
                )
            )
        ).scalar_one()
    assert rows == POOL
    assert in_transaction == 0  # every connection went back to the pool out of its transaction


async def test_a_connection_given_back_in_a_transaction_is_rolled_back_on_checkout(
    database: Database,
) -> None:
    """What an answer cut short while its BEGIN (the check on checkout) was on the way would
    leave: the next user of the connection gets it out of that transaction."""
    async with database.engine.connect() as conn:  # the pool's only connection
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("BEGIN")
        await raw.execute("INSERT INTO processed_update VALUES ('left:1', now())")
    async with database.transaction() as uow:
        await uow.people.add("telegram", "5570", "family")
    async with database.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM person"))).scalar_one()
        left = (await conn.execute(text("SELECT count(*) FROM processed_update"))).scalar_one()
    assert (stored, left) == (1, 0)
