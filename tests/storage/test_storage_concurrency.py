"""Concurrent handlers: nothing lost, nothing locked, one person's updates strictly in turn.

Telegram delivers updates concurrently, two presses of the same button can arrive at once, and
several bot processes may share a database (design: principle 4, Telegram facts). On SQLite
this rests on write transactions opening with BEGIN IMMEDIATE; on PostgreSQL on the row locks
`runs.current()` and `runs.get()` take, and on conditional writes (claiming an invite, recording
a processed update) that only one of two racing transactions can win. The tests race real
transactions against each other and check that each read-then-write sees the previous one's
result.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.util import await_

from bot.storage import Database

from .conftest import T0, Seed

SeedFn = Callable[..., Awaitable[Seed]]


async def increment(db: Database, run_id: int) -> None:
    """A read-then-write transaction, like every update the bot handles."""
    async with db.transaction() as uow:
        run = await uow.runs.get(run_id)
        assert run is not None
        await asyncio.sleep(0)  # let the other writers in between the read and the write
        await uow.runs.update(
            run, step=run.step, state={"n": run.state["n"] + 1}, status="active", now=T0
        )


async def counter(db: Database, run_id: int) -> int:
    async with db.reading() as uow:
        run = await uow.runs.get(run_id)
    assert run is not None
    return run.state["n"]


async def test_sqlite_two_processes_write_concurrently(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    # Two Database objects stand for two bot processes: separate engines and pools.
    first, second = Database.connect(url), Database.connect(url)
    try:
        await first.upgrade()
        async with first.transaction() as uow:
            person = await uow.people.add("telegram", "1", "family")
            run = await uow.runs.start(person.id, None, "counter", 1, "s", {"n": 0}, T0)

        iterations, workers_per_db = 60, 3

        async def worker(db: Database) -> None:
            for _ in range(iterations):
                await increment(db, run.id)

        await asyncio.gather(*(worker(db) for db in (first, second) for _ in range(workers_per_db)))
        assert await counter(second, run.id) == 2 * workers_per_db * iterations
    finally:
        await first.dispose()
        await second.dispose()


async def test_sqlite_write_transactions_begin_immediate(tmp_path: Path) -> None:
    database = Database.connect(f"sqlite:///{tmp_path / 'wegwijzer.db'}")
    await database.upgrade()
    begins: list[str] = []

    def watch(statement: str) -> None:  # in the connection's thread
        if statement.upper().startswith("BEGIN"):
            begins.append(statement)

    # What SQLite itself runs: the BEGIN goes in the trip of the transaction's first
    # statement (bot/storage/sqlite_driver.py), past SQLAlchemy's cursor events.
    def trace(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        raw = dbapi_connection.driver_connection
        await_(raw._execute(raw._conn.set_trace_callback, watch))

    await database.engine.dispose()  # connections made from now on are traced
    event.listen(database.engine.sync_engine, "connect", trace)
    try:
        async with database.transaction() as uow:
            await uow.people.get("telegram", "1")
        assert begins == ["BEGIN IMMEDIATE"]
        async with database.reading() as uow:
            await uow.people.get("telegram", "1")
        assert begins == ["BEGIN IMMEDIATE", "BEGIN"]
        [row async for row in database.answer_rows()]
        assert begins == ["BEGIN IMMEDIATE", "BEGIN", "BEGIN"]
    finally:
        event.remove(database.engine.sync_engine, "connect", trace)
        await database.dispose()


async def test_sqlite_connection_settings(tmp_path: Path) -> None:
    database = Database.connect(f"sqlite:///{tmp_path / 'wegwijzer.db'}")
    try:
        await database.upgrade()
        async with database.engine.connect() as conn:
            settings = {
                pragma: (await conn.exec_driver_sql(f"PRAGMA {pragma}")).scalar()
                for pragma in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
        # synchronous: 1 is NORMAL.
        assert settings == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": 30000,
            "synchronous": 1,
        }
    finally:
        await database.dispose()


def test_sqlite_plain_begin_fails_on_read_then_write(tmp_path: Path) -> None:
    """Why BEGIN IMMEDIATE: with a deferred BEGIN the same interleaving fails at once."""
    path = tmp_path / "plain.db"
    a = sqlite3.connect(path, isolation_level=None, timeout=5)
    b = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        a.execute("PRAGMA journal_mode=WAL")
        a.execute("CREATE TABLE counter (n INTEGER)")
        a.execute("INSERT INTO counter VALUES (0)")
        a.execute("BEGIN")
        b.execute("BEGIN")
        a.execute("SELECT n FROM counter").fetchone()
        b.execute("SELECT n FROM counter").fetchone()
        a.execute("UPDATE counter SET n = n + 1")
        a.execute("COMMIT")
        # b read before a's commit; SQLite cannot let it write, and waiting would not help,
        # so the busy timeout is ignored and the error comes immediately.
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            b.execute("UPDATE counter SET n = n + 1")
        b.execute("ROLLBACK")
    finally:
        a.close()
        b.close()


async def test_sqlite_begin_immediate_makes_that_interleaving_wait(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Database.connect(url), Database.connect(url)
    try:
        await first.upgrade()
        async with first.transaction() as uow:
            person = await uow.people.add("telegram", "1", "family")
            run = await uow.runs.start(person.id, None, "counter", 1, "s", {"n": 0}, T0)
        a_has_read = asyncio.Event()

        async def a() -> None:
            async with first.transaction() as uow:
                mine = await uow.runs.get(run.id)
                assert mine is not None
                a_has_read.set()
                await asyncio.sleep(0.2)  # b is now trying to begin
                await uow.runs.update(mine, step="s", state={"n": 1}, status="active", now=T0)

        async def b() -> None:
            await a_has_read.wait()
            await increment(second, run.id)

        await asyncio.gather(a(), b())
        assert await counter(first, run.id) == 2
    finally:
        await first.dispose()
        await second.dispose()


async def test_one_persons_updates_are_handled_in_turn(database: Database, seed: SeedFn) -> None:
    """Two updates of one person at once: the second sees the first's result (both backends)."""
    s = await seed()
    order: list[str] = []
    first_has_run = asyncio.Event()

    async def first() -> None:
        async with database.transaction() as uow:
            run = await uow.runs.current(s.person_id)
            assert run is not None
            first_has_run.set()
            await asyncio.sleep(0.3)  # the second handler arrives meanwhile
            await uow.runs.update(run, step="q2", state={"n": 1}, status="active", now=T0)
            order.append("first done")

    async def second() -> str:
        await first_has_run.wait()
        async with database.transaction() as uow:
            run = await uow.runs.current(s.person_id)
            assert run is not None
            order.append("second has run")
            return run.step

    _, step = await asyncio.gather(first(), second())
    assert order == ["first done", "second has run"]
    assert step == "q2"


async def test_two_first_messages_start_one_run(database: Database) -> None:
    """With no run yet there is no run row to lock; the person row serialises instead."""
    async with database.transaction() as uow:
        person = await uow.people.add("telegram", "1", "family")

    async def handle() -> str:
        async with database.transaction() as uow:
            if await uow.runs.current(person.id) is not None:
                return "resumed"
            await asyncio.sleep(0.2)  # widen the window in which a second start could slip in
            await uow.runs.start(person.id, None, "family_checkin", 1, "start", {}, T0)
            return "started"

    assert sorted(await asyncio.gather(handle(), handle())) == ["resumed", "started"]


async def test_two_presses_of_one_button_are_handled_in_turn(
    database: Database, seed: SeedFn
) -> None:
    """A button names its run by id: `runs.get()` must serialise like `current()` does."""
    s = await seed()
    order: list[str] = []
    first_has_run = asyncio.Event()

    async def press(name: str, wait_for: asyncio.Event | None) -> None:
        if wait_for is not None:
            await wait_for.wait()
        async with database.transaction() as uow:
            run = await uow.runs.get(s.run_id)
            assert run is not None
            order.append(f"{name} has run at {run.step}")
            if wait_for is None:
                first_has_run.set()
                await asyncio.sleep(0.3)  # the second press arrives meanwhile
            await uow.runs.update(
                run, step=f"after_{name}", state={"n": 1}, status="active", now=T0
            )

    await asyncio.gather(press("first", None), press("second", first_has_run))
    # Without the lock the second press would read the run before the first one's answer,
    # handle the same question again and overwrite the first one's step.
    assert order == ["first has run at start", "second has run at after_first"]


async def test_a_button_press_waits_for_a_typed_answer(database: Database, seed: SeedFn) -> None:
    """`get()` and `current()` take the same lock, in the same order: person, then run."""
    s = await seed()
    typed = asyncio.Event()

    async def type_answer() -> None:
        async with database.transaction() as uow:
            run = await uow.runs.current(s.person_id)
            assert run is not None
            typed.set()
            await asyncio.sleep(0.3)
            await uow.runs.update(run, step="typed", state={"n": 1}, status="active", now=T0)

    async def press_button() -> str:
        await typed.wait()
        async with database.transaction() as uow:
            run = await uow.runs.get(s.run_id)
            assert run is not None
            seen = run.step
            await uow.runs.update(run, step="pressed", state={"n": 2}, status="active", now=T0)
            return seen

    _, seen = await asyncio.gather(type_answer(), press_button())
    assert seen == "typed"
    assert await counter(database, s.run_id) == 2


async def test_two_people_using_one_invite_at_once(database: Database) -> None:
    """The conditional UPDATE lets exactly one win, though both saw the invite unused."""
    code_hash = hashlib.sha256(b"one-code").hexdigest()
    async with database.transaction() as uow:
        case = await uow.cases.add("K-0001", "foster_care")
        await uow.invites.add(
            code_hash=code_hash,
            role="family",
            case_id=case.id,
            created_by=None,
            created_at=T0,
            expires_at=T0 + timedelta(days=1),
        )
    first_has_claimed = asyncio.Event()
    second_saw: list[object] = []

    async def join(external_id: str, wait_for: asyncio.Event | None) -> bool:
        if wait_for is not None:
            await wait_for.wait()
        async with database.transaction() as uow:
            invite = await uow.invites.find(code_hash)
            assert invite is not None
            if wait_for is not None:
                second_saw.append(invite.used_at)
            person = await uow.people.add("telegram", external_id, invite.role)
            won = await uow.invites.claim(invite.id, person.id, T0 + timedelta(hours=1))
            if wait_for is None:
                first_has_claimed.set()
                await asyncio.sleep(0.3)  # still uncommitted while the second one claims
            return won

    results = await asyncio.gather(join("1", None), join("2", first_has_claimed))
    assert results == [True, False]
    if database.dialect == "postgresql":
        # Not serialised by the BEGIN as on SQLite: the second read the invite unused, and only
        # the UPDATE's WHERE, re-checked after the first commit, turned it away.
        assert second_saw == [None]

    # And a crowd at once, with no choreography: still exactly one.
    async with database.transaction() as uow:
        await uow.invites.add(
            code_hash=hashlib.sha256(b"crowd").hexdigest(),
            role="family",
            case_id=case.id,
            created_by=None,
            created_at=T0,
            expires_at=T0 + timedelta(days=1),
        )

    async def crowd(n: int) -> bool:
        async with database.transaction() as uow:
            invite = await uow.invites.find(hashlib.sha256(b"crowd").hexdigest())
            assert invite is not None
            person = await uow.people.add("telegram", f"crowd{n}", "family")
            return await uow.invites.claim(invite.id, person.id, T0 + timedelta(hours=1))

    assert sorted(await asyncio.gather(*(crowd(n) for n in range(6)))) == [False] * 5 + [True]


async def test_one_update_delivered_twice_at_once(database: Database) -> None:
    """Both deliveries insert the same key; the second waits for the first and finds it."""
    first_has_claimed = asyncio.Event()

    async def handle(wait_for: asyncio.Event | None) -> bool:
        if wait_for is not None:
            await wait_for.wait()
        async with database.transaction() as uow:
            claimed = await uow.updates.claim("telegram:77", T0)
            if wait_for is None:
                first_has_claimed.set()
                await asyncio.sleep(0.3)
            return claimed

    assert await asyncio.gather(handle(None), handle(first_has_claimed)) == [True, False]

    async def crowd() -> bool:
        async with database.transaction() as uow:
            return await uow.updates.claim("telegram:78", T0)

    assert sorted(await asyncio.gather(*(crowd() for _ in range(6)))) == [False] * 5 + [True]
