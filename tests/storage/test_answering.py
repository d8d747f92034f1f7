"""The answer's transaction on the driver (`Database.answering`, bot/storage/answering.py), on
SQLite and PostgreSQL: it reads what the repositories read, writes what they write (sealed,
in UTC), stores an update once, and leaves nothing behind when it fails or is left."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import text

from bot.storage import Database, Unavailable
from bot.storage.answering import AnsweredRow
from bot.storage.uow import Written

from .conftest import T0, Seed


async def _stored(database: Database, run_id: int) -> tuple[dict[str, object], str, object, int]:
    async with database.reading() as uow:
        answers = await uow.answers.of_run(run_id)
        run = await uow.runs.get(run_id)
        assert run is not None
        claimed = (
            await uow.updates._session.execute(text("SELECT count(*) FROM processed_update"))
        ).scalar_one()
        return answers, run.step, run.state, claimed


async def test_reads_the_person_and_run_as_the_repositories_do(
    database: Database, seed: Callable[..., Awaitable[Seed]]
) -> None:
    made = await seed(external_id="4242", step="who5_cheerful")
    async with database.transaction() as uow:
        expected = await uow.people.writing("telegram", "4242")
    async with database.answering("telegram", "4242", made.run_id) as tx:
        assert tx.person == expected
        assert tx.run is not None
        assert (tx.run.id, tx.run.person_id, tx.run.case_id) == (
            made.run_id,
            made.person_id,
            made.case_id,
        )
        assert (tx.run.flow_id, tx.run.flow_version, tx.run.step, tx.run.status) == (
            "family_checkin",
            1,
            "who5_cheerful",
            "active",
        )
        assert tx.run.state == {"n": 0}  # opened from its sealed form
    other = await seed(external_id="4343", step="who5_cheerful")
    for channel_id, run_id in (("nobody", made.run_id), ("4242", made.run_id + 99)):
        async with database.answering("telegram", channel_id, run_id) as tx:
            assert tx.person is None and tx.run is None
    async with database.answering("telegram", "4242", other.run_id) as tx:
        assert tx.person is None and tx.run is None  # another's run: neither read nor locked


async def test_stores_once_sealed_and_counted(
    database: Database, seed: Callable[..., Awaitable[Seed]]
) -> None:
    made = await seed(external_id="77", step="who5_cheerful")
    counted: list[Written] = []
    database.on_committed.append(counted.append)
    answer = AnsweredRow("who5.cheerful", 3, "who5_cheerful")
    later = T0 + timedelta(minutes=5)
    async with database.answering("telegram", "77", made.run_id) as tx:
        assert await tx.store("telegram:1", [answer], "who5_calm", {"n": 1}, later)
    assert await _stored(database, made.run_id) == (
        {"who5.cheerful": 3},
        "who5_calm",
        {"n": 1},
        1,
    )
    assert [written.answers for written in counted] == [1]
    async with database.reading() as uow:
        run = await uow.runs.get(made.run_id)
        assert run is not None and run.updated_at == later  # aware UTC, as written
        raw = (await uow.updates._session.execute(text("SELECT value FROM answer"))).scalar_one()
        assert "wz1:" in str(raw)  # sealed, as the repositories seal it
    # The same update again: nothing written, and it says so.
    again = AnsweredRow("who5.cheerful", 0, "who5_cheerful")
    async with database.answering("telegram", "77", made.run_id) as tx:
        assert not await tx.store("telegram:1", [again], "who5_happy", {"n": 9}, later)
    assert await _stored(database, made.run_id) == (
        {"who5.cheerful": 3},
        "who5_calm",
        {"n": 1},
        1,
    )
    assert len(counted) == 1


async def test_several_answers_at_once(
    database: Database, seed: Callable[..., Awaitable[Seed]]
) -> None:
    made = await seed(external_id="88", step="list")
    items = [AnsweredRow("list.a", "done", "list"), AnsweredRow("list.a.note", "x", "list")]
    async with database.answering("telegram", "88", made.run_id) as tx:
        assert await tx.store("telegram:5", items, "list", {"n": 2}, T0)
    assert await _stored(database, made.run_id) == (
        {"list.a": "done", "list.a.note": "x"},
        "list",
        {"n": 2},
        1,
    )
    async with database.answering("telegram", "88", made.run_id) as tx:
        assert not await tx.store("telegram:5", items[:1], "other", {"n": 3}, T0)
    async with database.answering("telegram", "88", made.run_id) as tx:
        assert not await tx.store("telegram:5", items, "other", {"n": 3}, T0)
    assert (await _stored(database, made.run_id))[1:] == ("list", {"n": 2}, 1)


async def test_a_failure_or_leaving_without_storing_leaves_nothing(
    database: Database, seed: Callable[..., Awaitable[Seed]], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await seed(external_id="55", step="who5_cheerful")
    answer = AnsweredRow("who5.cheerful", 3, "who5_cheerful")
    async with database.answering("telegram", "55", made.run_id) as tx:
        pass  # left without storing: rolled back
    statements = tx._statements
    # The run's update fails after the claim and the answer were written (in one statement on
    # PostgreSQL: its last part).
    for name in ("update_run", "write_one"):
        if getattr(statements, name) is not None:
            broken = getattr(statements, name).replace("SET step =", "SET no_such_column =")
            monkeypatch.setattr(statements, name, broken)
    with pytest.raises(Exception, match="no_such_column"):
        async with database.answering("telegram", "55", made.run_id) as tx:
            await tx.store("telegram:2", [answer], "who5_calm", {"n": 1}, T0)
    monkeypatch.undo()
    assert await _stored(database, made.run_id) == ({}, "who5_cheerful", {"n": 0}, 0)
    # The connection went back to the pool clean: the next transactions work.
    async with database.answering("telegram", "55", made.run_id) as tx:
        assert await tx.store("telegram:2", [answer], "who5_calm", {"n": 1}, T0)
    assert await _stored(database, made.run_id) == (
        {"who5.cheerful": 3},
        "who5_calm",
        {"n": 1},
        1,
    )
    async with database.transaction() as uow:
        assert await uow.updates.claim("telegram:3", T0)


async def test_a_locked_sqlite_database_is_unavailable(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.storage import database as module

    pragmas = tuple(
        "PRAGMA busy_timeout=50" if p.startswith("PRAGMA busy_timeout") else p
        for p in module.SQLITE_PRAGMAS
    )
    monkeypatch.setattr(module, "SQLITE_PRAGMAS", pragmas)
    database = Database.connect(sqlite_url)
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process writing
        with pytest.raises(Unavailable):
            async with database.answering("telegram", "1", 1):
                pass
        holder.rollback()
        async with database.answering("telegram", "1", 1) as tx:  # and then it works
            assert tx.person is None
    finally:
        holder.close()
        await database.dispose()


async def test_an_answer_cancelled_while_waiting_for_sqlite_s_lock_leaves_no_lock_behind(
    sqlite_url: str,
) -> None:
    """Another process holds SQLite's write lock; an answer waits for it (its BEGIN IMMEDIATE
    in aiosqlite's thread) and is cancelled (the bot stopping). The connection must not go
    back to the pool: once the lock is free its thread would take it, and hold it idle."""
    database = Database.connect(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    try:
        async with database.transaction() as uow:
            person = await uow.people.add("telegram", "4242", "family")
            run = await uow.runs.start(person.id, None, "family_checkin", 1, "s", {"n": 0}, T0)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")

        async def press() -> None:
            async with database.answering("telegram", "4242", run.id) as tx:
                await tx.store("telegram:1", [AnsweredRow("k", 1, "s")], "t", {"n": 1}, T0)

        task = asyncio.create_task(press())
        done, _ = await asyncio.wait({task}, timeout=0.3)
        assert not done  # waiting for the lock
        task.cancel()
        # Let go before waiting for the task: its connection is closed in its thread, after
        # the BEGIN IMMEDIATE waiting there (which gets the lock, then the connection goes).
        holder.rollback()
        holder.close()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Another process writes (waiting up to 5 s for the lock, as a second process would)…
        other = sqlite3.connect(path, isolation_level=None, timeout=5)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
        finally:
            other.close()
        # …and so does this one.
        async with database.transaction() as uow:
            await uow.updates.claim("telegram:2", T0)
    finally:
        await database.dispose()


NOWAIT = "FOR UPDATE NOWAIT"


async def test_on_postgresql_the_answer_is_one_transaction_holding_the_person_and_run(
    database: Database, seed: Callable[..., Awaitable[Seed]], request: pytest.FixtureRequest
) -> None:
    """BEGIN is sent (with the pool's check) and the person's and run's rows stay locked
    until the answer commits: two presses of one person queue, and no statement of the
    answer commits on its own."""
    if database.dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite's writer lock: test_storage_concurrency)")
    made = await seed(external_id="5151", step="who5_cheerful")
    other = await asyncpg.connect(request.getfixturevalue("postgres_url"))
    try:
        async with database.answering("telegram", "5151", made.run_id) as tx:
            for table, row in (("person", made.person_id), ("run", made.run_id)):
                with pytest.raises(asyncpg.LockNotAvailableError):
                    await other.execute(
                        f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE NOWAIT", row
                    )
            answer = AnsweredRow("who5.cheerful", 3, "who5_cheerful")
            assert await tx.store("telegram:1", [answer], "who5_calm", {"n": 1}, T0)
        for table, row in (("person", made.person_id), ("run", made.run_id)):
            await other.execute(f"SELECT 1 FROM {table} WHERE id = $1 {NOWAIT}", row)
    finally:
        await other.close()
