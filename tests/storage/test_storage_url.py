"""`Database.connect` takes the URLs people write and maps them to the async drivers.

DATABASE_URL comes from a deployment's environment, written by hand or handed out by a hosting
provider (`postgres://...?sslmode=require`), while the storage layer needs aiosqlite or
asyncpg. These tests need no server: making a `Database` must not connect to anything.
"""

from __future__ import annotations

import pytest

from bot.storage import Database
from bot.storage.database import async_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///wegwijzer.db", "sqlite+aiosqlite:///wegwijzer.db"),
        ("sqlite:////var/lib/wegwijzer/bot.db", "sqlite+aiosqlite:////var/lib/wegwijzer/bot.db"),
        ("sqlite+pysqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://user@host:5432/db", "postgresql+asyncpg://user@host:5432/db"),
        ("postgres://user@host:5432/db", "postgresql+asyncpg://user@host:5432/db"),
        ("postgresql+psycopg2://user@host/db", "postgresql+asyncpg://user@host/db"),
        ("postgresql+asyncpg://user@host/db", "postgresql+asyncpg://user@host/db"),
        (
            "postgres://user@host/db?sslmode=require",
            "postgresql+asyncpg://user@host/db?ssl=require",
        ),
    ],
)
def test_async_url(given: str, expected: str) -> None:
    assert async_url(given).render_as_string(hide_password=False) == expected


def test_other_databases_are_refused_without_showing_the_password() -> None:
    with pytest.raises(ValueError, match="unsupported database URL") as info:
        async_url("mysql://bot:s3cret@db/wegwijzer")
    assert "s3cret" not in str(info.value)


async def test_connect_opens_no_connection() -> None:
    # Nothing listens on port 1: connecting would fail, so this proves nothing was tried.
    db = Database.connect("postgresql://nobody:s3cret@127.0.0.1:1/nothing")
    try:
        assert db.dialect == "postgresql"
        assert db.engine.url.drivername == "postgresql+asyncpg"
        assert "s3cret" not in repr(db)
    finally:
        await db.dispose()


async def test_sqlite_dialect(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database.connect(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert db.dialect == "sqlite"
        assert not (tmp_path / "x.db").exists()  # created by the first transaction, not before
    finally:
        await db.dispose()
