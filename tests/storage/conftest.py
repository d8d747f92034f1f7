"""Fixtures that run every storage contract test on SQLite and on PostgreSQL.

The bot promises the same behaviour on both backends, so each test that takes `database`
runs twice: on a copy of the migrated SQLite template, and on this worker's migrated
PostgreSQL database, emptied first (`tests/conftest.py`). Without TEST_DATABASE_URL, or
without a reachable server, the PostgreSQL half is skipped with the reason in the report,
and the SQLite half still runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage import Database
from tests.databases import PostgresServer, empty_tables

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(params=BACKENDS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database nothing has been done to yet, for tests of the migrations themselves."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'blank.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database on each backend."""
    db = Database.connect(database_url)
    try:
        if db.dialect == "postgresql":
            await empty_tables(db)
        yield db
    finally:
        await db.dispose()


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
