"""Databases for the tests: a private event loop for session set-up, and the PostgreSQL server.

PostgreSQL comes from TEST_DATABASE_URL. The tests never touch the contents of that database:
they create throwaway `wegwijzer_<random>` databases next to it on the same server (each pytest
worker its own) and drop them at the end.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import asyncpg
from sqlalchemy import make_url

from bot.storage import Base, Database

PG_ENV = "TEST_DATABASE_URL"

T = TypeVar("T")


def libpq_dsn(url: str) -> str:
    """The URL as asyncpg takes it: libpq's form, without the "+driver" SQLAlchemy URLs may
    carry."""
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def run_isolated(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a private event loop in its own thread.

    Session-scoped set-up and tear-down happen outside the per-test loops of pytest-asyncio;
    a thread of their own keeps them from creating or closing anybody else's loop.
    """

    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


@dataclass
class PostgresServer:
    """The server behind TEST_DATABASE_URL, on which the tests create their own databases."""

    url: str
    created: list[str] = field(default_factory=list)

    @property
    def admin_dsn(self) -> str:
        return libpq_dsn(self.url)

    def check(self) -> None:
        async def ping() -> None:
            conn = await asyncpg.connect(self.admin_dsn, timeout=5)
            try:
                await conn.execute("SELECT 1")
            finally:
                await conn.close()

        run_isolated(ping)

    def create_database(self) -> str:
        name = f"wegwijzer_{secrets.token_hex(6)}"

        async def create() -> None:
            conn = await asyncpg.connect(self.admin_dsn, timeout=5)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        run_isolated(create)
        self.created.append(name)
        return make_url(self.url).set(database=name).render_as_string(False)

    def drop_created(self) -> None:
        async def drop() -> None:
            conn = await asyncpg.connect(self.admin_dsn, timeout=5)
            try:
                for name in self.created:
                    # FORCE: a test that failed half-way may have left a connection open.
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        if self.created:
            run_isolated(drop)
            self.created.clear()


async def empty_tables(db: Database) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        # RESTART IDENTITY as well: tests may rely on a fresh database's ids starting at 1.
        await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def migrate(url: str) -> None:
    """Bring a database to the newest revision (from session set-up, on a private loop)."""

    async def upgrade() -> None:
        database = Database.connect(url)
        try:
            await database.upgrade()
        finally:
            await database.dispose()

    run_isolated(upgrade)
