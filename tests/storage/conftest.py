"""Fixtures that run every storage contract test on SQLite and on PostgreSQL.

The bot promises the same behaviour on both backends, so each test that takes `database`
runs twice. PostgreSQL comes from TEST_DATABASE_URL; the tests never touch the contents of
that database but create throwaway `wegwijzer_<random>` databases next to it on the same
server and drop them at the end. Without the variable, or without a reachable server, the
PostgreSQL half is skipped with the reason in the report, and the SQLite half still runs.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest
from sqlalchemy import make_url

from bot.storage import Base, Database

PG_ENV = "TEST_DATABASE_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

T = TypeVar("T")


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
        # asyncpg takes a libpq URL, without the "+driver" SQLAlchemy URLs may carry.
        return make_url(self.url).set(drivername="postgresql").render_as_string(False)

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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL contract tests skipped")
    server = PostgresServer(url)
    try:
        server.check()
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        pytest.skip(f"PostgreSQL at {shown} unreachable ({exc}): PostgreSQL contract tests skipped")
    yield server
    server.drop_created()


@pytest.fixture(scope="session")
def postgres_shared_url(postgres_server: PostgresServer) -> str:
    # One database for the whole session, emptied before each test: creating a database per
    # test would dominate the run time.
    return postgres_server.create_database()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wegwijzer.db'}"
    return request.getfixturevalue("postgres_shared_url")


@pytest.fixture(params=BACKENDS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database nothing has been done to yet, for tests of the migrations themselves."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'blank.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """An upgraded, empty database on each backend."""
    db = Database.connect(database_url)
    try:
        await db.upgrade()
        if db.dialect == "postgresql":
            await empty_tables(db)
        yield db
    finally:
        await db.dispose()


async def empty_tables(db: Database) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        # RESTART IDENTITY as well: tests may rely on a fresh database's ids starting at 1.
        await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@dataclass(frozen=True)
class Seed:
    person_id: int
    case_id: int
    run_id: int


@pytest.fixture
def seed(database: Database) -> Callable[..., Awaitable[Seed]]:
    """Make a family member with a case and a started run; returns their ids."""
    counter = iter(range(1, 10_000))

    async def make(
        *,
        external_id: str | None = None,
        flow_id: str = "family_checkin",
        step: str = "start",
        now: datetime = T0,
    ) -> Seed:
        n = next(counter)
        async with database.transaction() as uow:
            person = await uow.people.add("telegram", external_id or f"1000{n}", "family")
            case = await uow.cases.add(f"C-{n:04d}", "family_strengthening")
            await uow.cases.add_member(case.id, person.id)
            started = await uow.runs.start(person.id, case.id, flow_id, 1, step, {"n": 0}, now)
            return Seed(person.id, case.id, started.id)

    return make
