"""The SQLite adapter's one trip per statement (`bot/storage/sqlite_driver.py`): it behaves as
SQLAlchemy's own adapter did — rows, RETURNING, row counts, ids, errors, rollback — and each
statement is one call into aiosqlite's thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.storage import Database


@pytest.fixture
async def sqlite(sqlite_url: str) -> AsyncIterator[Database]:
    db = Database.connect(sqlite_url)  # migrated
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    try:
        yield db
    finally:
        await db.dispose()


async def test_rows_returning_counts_and_ids_as_before(sqlite: Database) -> None:
    async with sqlite.engine.begin() as conn:
        inserted = await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert inserted.lastrowid == 1
        assert inserted.rowcount == 1
        returned = await conn.execute(text("INSERT INTO t (v) VALUES ('b') RETURNING id, v"))
        assert returned.all() == [(2, "b")]
        many = await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "c"}, {"v": "d"}])
        assert many.rowcount == 2
        changed = await conn.execute(text("UPDATE t SET v = v || '!' WHERE id > 2"))
        assert changed.rowcount == 2
        assert (await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all() == [
            "a",
            "b",
            "c!",
            "d!",
        ]
        assert (await conn.execute(text("SELECT v FROM t WHERE id = 99"))).first() is None
        one = await conn.execute(text("SELECT id FROM t ORDER BY id"))
        assert one.fetchone() == (1,)
        assert one.fetchmany(2) == [(2,), (3,)]


async def test_errors_and_rollback_as_before(sqlite: Database) -> None:
    with pytest.raises(IntegrityError):
        async with sqlite.engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
            await conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
    with pytest.raises(OperationalError):
        async with sqlite.engine.begin() as conn:
            await conn.execute(text("SELECT nothing FROM nowhere"))
    async with sqlite.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_streaming_still_streams(sqlite: Database) -> None:
    async with sqlite.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": str(n)} for n in range(5)])
    async with sqlite.engine.connect() as conn:
        result = await conn.stream(text("SELECT v FROM t ORDER BY id"))
        assert [row[0] async for row in result] == ["0", "1", "2", "3", "4"]


async def test_one_trip_per_statement(sqlite: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(
        self: aiosqlite.Connection, fn: object, *args: object, **kw: object
    ) -> object:
        trips.append(getattr(fn, "__name__", "?"))
        return await original(self, fn, *args, **kw)

    async with sqlite.transaction() as uow:  # warm: the connection opened and set up
        await uow.updates.claim("telegram:0", _now())
    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with sqlite.transaction() as uow:
        assert await uow.updates.claim("telegram:1", _now())
        assert not await uow.updates.claim("telegram:1", _now())
    # BEGIN IMMEDIATE with the first statement, the second, COMMIT; none for the pool's
    # rollback (SQLAlchemy's adapter took twelve trips).
    assert trips == ["_execute", "_execute", "commit"], trips


def _now() -> datetime:
    return datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
