"""Shared test switches and builders: what is expensive is made once per test session.

The flows, catalogs and danger lists (`Assets`) are parsed and checked once and handed to every
`bootstrap`. A SQLite file migrated to the newest revision is made once and copied for each test
that needs a database; on PostgreSQL each pytest worker migrates one database of its own, which
the tests using it empty first. Without a reachable PostgreSQL server those tests are skipped,
with the reason in the report.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url

from bot.app import Assets
from bot.config import Settings
from bot.storage.crypto import Keyring, install
from tests.databases import PG_ENV, PostgresServer, migrate

# The real app on a fresh database, a clock the test moves, and an invented organisation.
pytest_plugins = ["tests.world"]

# python-telegram-bot 22 warns (an error here) each time it builds a RetryAfter unless told to
# use timedelta values, which is what v23 will do anyway; the rate-limit tests need RetryAfter.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# One invented key ring for the session: installed for the apps the tests build from settings
# made in code, and in the environment for the command-line tests (Settings.from_env).
TEST_KEYRING = Keyring.generate("test1")
install(TEST_KEYRING)
os.environ["ENCRYPTION_KEYS"] = TEST_KEYRING.to_json()


@pytest.fixture(autouse=True)
def _the_session_keyring() -> Iterator[None]:
    """Every test ends with the session's ring installed again: a bench or a test that opened
    its database with a ring of its own (a key file, ENCRYPTION_KEYS) must not leave it to the
    next test, whose bot subprocesses read ENCRYPTION_KEYS."""
    yield
    install(TEST_KEYRING)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite golden transcripts from the current behaviour (review the diff!)",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@functools.cache
def shipped_assets() -> Assets:
    """The shipped flows, catalogs and danger lists, loaded and checked once per process."""
    return Assets.load(Settings())


@pytest.fixture(scope="session")
def assets() -> Assets:
    return shipped_assets()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to the newest revision; tests start from a copy of it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(migrated_sqlite: Path, tmp_path: Path) -> str:
    """A migrated, empty SQLite database of the test's own."""
    path = tmp_path / "wegwijzer.db"
    shutil.copy(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    server = PostgresServer(url)
    try:
        server.check()
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        pytest.skip(f"PostgreSQL at {shown} unreachable ({exc}): PostgreSQL tests skipped")
    yield server
    server.drop_created()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """This worker's PostgreSQL database, migrated once; tests empty it before use (creating a
    database per test would dominate the run time)."""
    url = postgres_server.create_database()
    migrate(url)
    return url
