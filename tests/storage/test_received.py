"""Updates kept in PostgreSQL until handled, and people's turns (`bot.storage.received`).

Two `ReceivedUpdates` on one database play two bot processes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.storage import Database
from bot.storage.received import Kept, ReceivedUpdates
from tests.databases import empty_tables

from .conftest import T0

pytestmark = pytest.mark.postgres

NOW = timedelta(0)  # forsaken at once: the tests do not wait for an update to age


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    db = Database.connect(postgres_url)
    try:
        await empty_tables(db)
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def processes(database: Database) -> AsyncIterator[list[ReceivedUpdates]]:
    both = [ReceivedUpdates(database, turns_at_once=2, key_prefix="telegram:") for _ in "ab"]
    try:
        yield both
    finally:
        for process in both:
            await process.dispose()


def payload(update_id: int) -> str:
    return json.dumps({"update_id": update_id, "message": {"text": f"answer {update_id}"}})


async def test_a_second_delivery_is_not_kept_while_waiting_nor_once_handled(
    database: Database, processes: list[ReceivedUpdates]
) -> None:
    a, b = processes
    assert await a.keep(7, 1, payload(7))
    assert not await b.keep(7, 1, payload(7))  # still waiting
    async with database.transaction() as uow:
        await uow.updates.claim("telegram:7", T0)  # handled: its key is on record
    assert await a.in_turn(1, _nothing)
    assert not await b.keep(7, 1, payload(7))


async def test_a_turn_handles_its_updates_oldest_first_and_deletes_them(
    database: Database, processes: list[ReceivedUpdates]
) -> None:
    a, b = processes
    for update_id in (12, 10, 11):
        assert await (a if update_id % 2 else b).keep(update_id, 5, payload(update_id))
    assert await b.keep(20, 6, payload(20))  # another person's turn
    async with database.transaction() as uow:
        await uow.updates.claim("telegram:11", T0)  # stored, not deleted: its process died
    handled: list[Kept] = []

    async def handle(kept: Kept) -> None:
        handled.append(kept)

    assert await a.in_turn(5, handle)
    assert [(k.update_id, k.again) for k in handled] == [(10, False), (11, True), (12, False)]
    assert json.loads(handled[0].payload or "")["message"]["text"] == "answer 10"
    # Turn 5's are gone; the other person's is still waiting.
    assert await a.forsaken(NOW) == []
    assert [f.update_id for f in await b.forsaken(NOW)] == [20]


async def test_a_held_turn_is_waited_for_or_not_taken(
    database: Database, processes: list[ReceivedUpdates]
) -> None:
    a, b = processes
    await a.keep(30, 9, payload(30))
    holding, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def slow(kept: Kept) -> None:
        order.append(f"a {kept.update_id}")
        holding.set()
        await release.wait()

    async def quick(kept: Kept) -> None:
        order.append(f"b {kept.update_id}")

    first = asyncio.create_task(a.in_turn(9, slow))
    await holding.wait()
    await b.keep(31, 9, payload(31))
    assert not await b.in_turn(9, quick, wait=False)  # taken: not waited for
    waiting = asyncio.create_task(b.in_turn(9, quick))
    await _until_a_lock_is_waited_for(database)
    assert order == ["a 30"]
    release.set()
    assert await first and await waiting
    assert order == ["a 30", "b 31"]


async def test_only_updates_of_a_process_gone_are_forsaken(
    database: Database, processes: list[ReceivedUpdates]
) -> None:
    a, b = processes
    await a.keep(40, 1, payload(40))
    await b.keep(41, 2, payload(41))
    # Each sees its own (it alone knows whether it still has them in hand), not the other's.
    assert [(f.update_id, f.own) for f in await a.forsaken(NOW)] == [(40, True)]
    assert [(f.update_id, f.own) for f in await b.forsaken(NOW)] == [(41, True)]
    assert await a.forsaken(timedelta(minutes=1)) == []  # not waiting that long yet

    await b.dispose()  # b's process dies: its connections, and its number, are gone
    assert [(f.update_id, f.turn, f.own) for f in await a.forsaken(NOW)] == [
        (40, 1, True),
        (41, 2, False),
    ]


async def _nothing(_kept: Kept) -> None:
    pass


async def _until_a_lock_is_waited_for(database: Database) -> None:
    query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    async with database.engine.connect() as connection:
        while not (await connection.exec_driver_sql(query)).scalar_one():
            assert loop.time() < deadline, "nobody waited for the turn"
            await connection.rollback()  # a new snapshot of pg_locks
