"""The `Database`: one object that owns the engine and hands out transactions.

Everything about talking to SQLite or PostgreSQL that the rest of the bot should not have to
know lives here: turning the user-facing `DATABASE_URL` into an async driver URL, the SQLite
settings without which concurrent bot handlers fail ("database is locked"), the difference
between write transactions (`BEGIN IMMEDIATE`, row locks on PostgreSQL) and read-only ones,
and running the Alembic migrations from code so a deployment needs no alembic.ini. Creating a
`Database` opens no connection; the first transaction does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Protocol

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, Connection, event, make_url, text
from sqlalchemy.engine.interfaces import AdaptedConnection, DBAPICursor
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_

from .answering import Answering, PostgresDriver, SQLiteDriver, Statements
from .crypto import stored_json
from .export import AnswerBatch, ExportRow, answer_batches, export_answer_rows
from .sqlite_driver import one_trip_dbapi
from .uow import UnitOfWork, Written

__all__ = ["Database", "Unavailable", "async_url"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

log = logging.getLogger(__name__)

# Execution option marking the read-only view of the engine; the SQLite "begin" hook reads it.
_READ_ONLY = "wegwijzer_read_only"

# Order matters: the busy timeout must be in place before switching to WAL, which briefly needs
# an exclusive lock when another process opens the same new file at the same moment.
SQLITE_PRAGMAS = (
    # Other processes sharing the file wait this long (ms) for the write lock.
    "PRAGMA busy_timeout=30000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    # Safe with WAL (a power cut may lose the last commits, never corrupt) and much faster.
    "PRAGMA synchronous=NORMAL",
)

# Any constant works; it only has to be the same in every bot process sharing the database.
_MIGRATION_LOCK_KEY = 0x57656777  # "Wegw"


def async_url(url: str | URL) -> URL:
    """Map a user-facing database URL to the async driver Wegwijzer uses for it.

    `sqlite:///file.db` becomes `sqlite+aiosqlite:///file.db`, `postgresql://` and the
    `postgres://` spelling of hosting providers become `postgresql+asyncpg://`; URLs that
    already name those drivers pass through. Other drivers are refused: the transaction
    handling in this module is written and tested for these two.
    """
    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite", "aiosqlite"):
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg2", "asyncpg"):
        query = dict(parsed.query)
        if "sslmode" in query:
            # libpq spells it sslmode; asyncpg takes the same values as `ssl`.
            query["ssl"] = query.pop("sslmode")
        return parsed.set(drivername="postgresql+asyncpg", query=query)
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///path/to/file.db or postgresql://user@host:port/database"
    )


class Unavailable(Exception):
    """The database could not take the transaction: the server refused or dropped the
    connection, or SQLite stayed locked by another writer past the busy timeout. Nothing of
    the transaction was stored; the caller decides what must not be lost meanwhile."""


# What the drivers raise when the database, not the statement, is the problem (asyncpg
# lets a refused connection through as the socket's own error).
_CONNECTION = (InterfaceError, ConnectionError, socket.gaierror, TimeoutError)
# SQLite reports a schema older than the code as an OperationalError too ("no such table"):
# that is a broken deployment, not an outage, and must fail loudly.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


@contextmanager
def _unavailable_as_such() -> Iterator[None]:
    """Raise `Unavailable` for what the database rather than the statement is at fault."""
    try:
        yield
    except (OperationalError, *_CONNECTION) as failed:
        if isinstance(failed, OperationalError) and isinstance(failed.orig, sqlite3.Error):
            message = str(failed.orig).lower()
            if not any(reason in message for reason in _SQLITE_UNAVAILABLE):
                raise
        raise Unavailable(type(failed).__name__) from failed


# What the drivers themselves raise, used straight (`Database.answering`), when the database
# rather than the statement is at fault: asyncpg's connection errors, SQLite's locked file.
_DRIVER_GONE = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.ConnectionDoesNotExistError)


@contextmanager
def _driver_unavailable_as_such() -> Iterator[None]:
    try:
        yield
    except _DRIVER_GONE as failed:
        raise Unavailable(type(failed).__name__) from failed
    except sqlite3.OperationalError as failed:
        message = str(failed).lower()
        if not any(reason in message for reason in _SQLITE_UNAVAILABLE):
            raise
        raise Unavailable(type(failed).__name__) from failed


async def _rolled_back(driver: PostgresDriver | SQLiteDriver) -> bool:
    """A rollback after a failure (or of an answer left unstored); False when it failed
    itself: the failure before it is what the caller hears about."""
    try:
        await driver.rollback()
    except (*_DRIVER_GONE, sqlite3.Error, asyncpg.PostgresError):
        log.warning("rollback failed", extra={"event": "rollback"})
        return False
    return True


class Database:
    """The bot's database. Make one with `Database.connect(url)` and `dispose()` it at the end."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        read_options: dict[str, bool] = {_READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            # A read-only transaction turns an accidental write in `reading()` into an error.
            read_options["postgresql_readonly"] = True
        # A second view of the same engine: it shares the pool, only its transactions differ.
        self._read_engine = engine.execution_options(**read_options)
        # expire_on_commit=False: objects returned by a transaction stay readable after commit,
        # where reloading them would need I/O that asyncio cannot do implicitly.
        self._writer = async_sessionmaker(engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self._read_engine, expire_on_commit=False)
        # SQLite has one writer at a time. Its busy handler lets waiting connections retry in
        # no particular order, so under load one of them can starve past the busy timeout
        # ("database is locked") and its update would fail. Within this process writers queue
        # here instead, first come first served; the busy timeout is left for other processes.
        self._sqlite_writers = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._sqlite_writer_task: asyncio.Task[object] | None = None
        # The answer's statements, for this engine's dialect (made on first use).
        self._answering: Statements | None = None
        # Called after a transaction that queued notices commits: the senders wake at once
        # instead of at their next look (see `bot.storage.outbox`).
        self.on_notices_queued: list[Callable[[], None]] = []
        # Called after every write transaction commits with what it wrote (the operations
        # metrics count answers, alarms and notices here, at no cost to the transaction).
        self.on_committed: list[Callable[[Written], None]] = []

    @classmethod
    def connect(cls, url: str | URL, *, echo: bool = False, pool_size: int = 5) -> Database:
        """`pool_size`: PostgreSQL's connections kept open, and how many more a peak may open
        (kept open too)."""
        target = async_url(url)
        if target.get_backend_name() == "sqlite":
            # One trip to aiosqlite's thread per statement, not three or four (sqlite_driver.py).
            engine = create_async_engine(
                target, echo=echo, json_deserializer=stored_json, module=one_trip_dbapi()
            )
            _configure_sqlite(engine, target.database)
        else:
            # A long-running bot outlives server restarts and idle-connection timeouts.
            # As many connections as before at a peak (twice `pool_size`), but kept once
            # opened: as an overflow, each was closed again as soon as it was given back and
            # opened anew for the next update, a peak's most costly statement on both sides.
            engine = create_async_engine(
                target,
                echo=echo,
                json_deserializer=stored_json,
                pool_size=2 * pool_size,
                max_overflow=0,
            )
            _check_on_checkout(engine)
        return cls(engine)

    def __repr__(self) -> str:
        return f"Database({self._engine.url.render_as_string(hide_password=True)!r})"

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine, for tests and tools; the bot itself goes through transactions."""
        return self._engine

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration; does nothing when it is already there.
        Raises `Unavailable` when the database cannot be reached."""
        with _unavailable_as_such():
            async with self._engine.connect() as conn:
                await conn.run_sync(_upgrade)

    async def current_revision(self) -> str | None:
        """The migration the schema is at, or None for an empty database."""
        async with self._read_engine.connect() as conn:
            return await conn.run_sync(
                lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """A write transaction: commits when the block ends, rolls back if it raises.

        Do not open a second transaction inside one in the same task: on SQLite that raises
        RuntimeError (it would wait for the write lock the first one holds).
        """
        with _unavailable_as_such():
            async with self._write_transaction() as uow:
                yield uow
        if uow.outbox.queued:
            for wake in self.on_notices_queued:
                wake()
        for observe in self.on_committed:
            observe(uow.written)

    @asynccontextmanager
    async def _write_transaction(self) -> AsyncIterator[UnitOfWork]:
        async with self._sqlite_writer(), self._writer() as session, session.begin():
            yield UnitOfWork(session, read_only=False, lock_rows=self._sqlite_writers is None)

    @asynccontextmanager
    async def _sqlite_writer(self) -> AsyncIterator[None]:
        """This process's turn to write, on SQLite (nothing to wait for on PostgreSQL)."""
        if self._sqlite_writers is None:
            yield
            return
        task = asyncio.current_task()
        if self._sqlite_writer_task is task:
            # Waiting for our own lock would hang for ever: fail loudly instead.
            raise RuntimeError("a write transaction inside a write transaction of the same task")
        async with self._sqlite_writers:
            self._sqlite_writer_task = task
            try:
                yield
            finally:
                self._sqlite_writer_task = None

    @asynccontextmanager
    async def answering(
        self, channel: str, external_id: str, run_id: int
    ) -> AsyncIterator[Answering]:
        """The transaction of a question's button pressed, on the driver itself (see
        `answering.py`): who pressed it and the run read and locked on entry, `store` to
        write and commit; rolled back when left without it. A write transaction like
        `transaction()`: on SQLite this process's writers queue for it, and the database's
        failures are `Unavailable`."""
        if self._answering is None:
            self._answering = Statements(self._engine.dialect)
        postgres = self._sqlite_writers is None
        with _unavailable_as_such(), _driver_unavailable_as_such():
            async with self._sqlite_writer(), contextlib.AsyncExitStack() as stack:
                # On PostgreSQL the check on checkout is the transaction's BEGIN.
                begin = _BEGIN_ON_CHECKOUT.set(postgres)
                try:
                    conn = await stack.enter_async_context(self._engine.connect())
                finally:
                    _BEGIN_ON_CHECKOUT.reset(begin)
                pooled = await conn.get_raw_connection()
                driver_connection = pooled.driver_connection
                assert driver_connection is not None
                driver: PostgresDriver | SQLiteDriver = (
                    PostgresDriver(driver_connection, begun=True)
                    if postgres
                    else SQLiteDriver(driver_connection)
                )
                answering = Answering(self._answering, driver)
                try:
                    await answering.read(channel, external_id, run_id)
                    yield answering
                except (*_DRIVER_GONE, asyncio.CancelledError):
                    # Not given back to the pool as it is: the pool opens another. Cancelled,
                    # a trip may still wait in aiosqlite's queue (its BEGIN IMMEDIATE not run
                    # yet, so the connection does not look in a transaction) or a statement
                    # on the server: given back, it would hold SQLite's write lock, idle.
                    await conn.invalidate()
                    raise
                finally:
                    if (
                        not answering.committed
                        and not conn.invalidated
                        and not await _rolled_back(driver)
                    ):
                        # Never back to the pool with a transaction perhaps still open.
                        await conn.invalidate()
        if answering.committed:
            written = Written(answers=answering.stored)
            for observe in self.on_committed:
                observe(written)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[UnitOfWork]:
        """A read-only transaction that never takes SQLite's write lock; always rolled back."""
        # Closing the session rolls the transaction back; an explicit rollback() would also
        # expire every object read, making them useless to the caller after the block.
        with _unavailable_as_such():
            async with self._reader() as session:
                yield UnitOfWork(session, read_only=True, lock_rows=False)

    async def ping(self) -> None:
        """One trivial query, without SQLite's write lock (another writer holding it does
        not keep the bot from reading); raises `Unavailable` when the database does not
        answer."""
        with _unavailable_as_such():
            async with self._read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

    def answer_rows(self, since: datetime | None = None) -> AsyncIterator[ExportRow]:
        """Stream every answer, answered at or after `since`, with its run's scores and flags.

        Rows come in answered_at, run id, key order. Wrap in `contextlib.aclosing` when you
        may stop before the end, so the connection is released at once.
        """
        return export_answer_rows(self._read_engine, since)

    def answer_batches(self, since: datetime | None = None) -> AsyncGenerator[AnswerBatch, None]:
        """The same answers in batches, each with the facts of its runs (flow, case, child,
        scores, flags) once per run: what an export of millions reads."""
        return answer_batches(self._read_engine, since)

    async def dispose(self) -> None:
        await self._engine.dispose()


# Set on a connection just opened: it needs no check on its first checkout.
_FRESH = "wegwijzer_fresh"
# Set while `Database.answering` checks a connection out: the check is its transaction's
# BEGIN, which tells as well as SELECT 1 whether the server is still there (one round trip
# for both), and is sent on a connection just opened too.
_BEGIN_ON_CHECKOUT: ContextVar[bool] = ContextVar("wegwijzer_begin_on_checkout", default=False)


def _check_on_checkout(engine: AsyncEngine) -> None:
    """Replace a pooled PostgreSQL connection the server has ended (restart, idle timeout,
    an administrator) before a transaction runs on it, in one round trip.

    SQLAlchemy's `pool_pre_ping` does the same in three: its asyncpg adapter sends the empty
    query as a prepared statement inside BEGIN ... ROLLBACK, so that behind pgbouncer in
    transaction mode the statement is prepared and run on the same server connection. The
    simple query protocol (asyncpg's `execute` without arguments) prepares nothing, so it
    needs no transaction there. asyncpg's `is_closed()` alone would cost nothing but misses
    a backend killed since the loop last read from its socket (tests/storage/
    test_connection_faults.py); a transaction failing on its first statement is not retried.
    For `Database.answering` the check is the transaction's BEGIN itself (`_BEGIN_ON_CHECKOUT`),
    and a connection found still in a transaction (an answer cut short while its BEGIN was on
    the way) is rolled back first.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(_dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        record.info[_FRESH] = True

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(
        dbapi_connection: AdaptedConnection, record: ConnectionPoolEntry, _proxy: object
    ) -> None:
        begin = _BEGIN_ON_CHECKOUT.get()
        if record.info.pop(_FRESH, False) and not begin:
            return
        driver: asyncpg.Connection = dbapi_connection.driver_connection
        try:
            if driver.is_closed():
                raise DisconnectionError("connection closed by the server")
            if driver.is_in_transaction():
                # Left so by an answer cut short while its BEGIN was on the way: said, as it
                # should not happen (the answer invalidates its connection when cut short).
                log.warning("pooled connection was in a transaction", extra={"event": "rollback"})
                await_(driver.execute("ROLLBACK"))
            # Not the empty query: asyncpg's (0.32) simple protocol fails on its empty reply.
            await_(driver.execute("BEGIN" if begin else "SELECT 1"))
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as gone:
            # The pool closes this connection, opens a new one and hands that out instead.
            raise DisconnectionError(type(gone).__name__) from gone


class _SQLiteConnection(Protocol):
    """What the connect hook uses of the sqlite3 connection under aiosqlite."""

    isolation_level: str | None

    def cursor(self) -> DBAPICursor: ...


def _configure_sqlite(engine: AsyncEngine, path: str | None) -> None:
    if path not in (None, "", ":memory:"):

        @event.listens_for(engine.sync_engine, "do_connect")
        def _before_open(*_: object) -> None:
            # Before SQLite opens the file, so it never exists with wider rights.
            _private_sqlite_files(Path(str(path)))

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: _SQLiteConnection, _record: ConnectionPoolEntry) -> None:
        # The driver would open transactions itself with a deferred BEGIN, and only before
        # writes; taking that job away lets the "begin" hook below choose the kind of BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the lock: if another
        # connection wrote in between, SQLite fails at once with "database is locked" (the
        # busy timeout does not apply). BEGIN IMMEDIATE takes the write lock up front, so
        # writers queue on the busy timeout instead; readers keep the cheap deferred BEGIN.
        begin = "BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE"
        # Sent with the transaction's first statement, in its trip (sqlite_driver.py).
        begin_with = getattr(conn.connection.dbapi_connection, "begin_with", None)
        if begin_with is not None:
            begin_with(begin)
        else:
            conn.exec_driver_sql(begin)


# The files SQLite keeps beside the database while it is open, or after a crash.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _private_sqlite_files(path: Path) -> None:
    """Make the database file 0600 (creating it empty if it is not there yet): it holds every
    answer, sealed or not, and who is in which case.

    SQLite would create it with the process umask (0644 on most systems), and creates its
    -wal, -shm and -journal files with the database file's own mode (os_unix.c,
    findCreateFileMode) whatever the umask. So a database file that exists 0600 before SQLite
    first opens it makes all four private. A process-wide umask would do it too, but would
    change every other file the process writes, from any thread, and SQLite ignores it for
    the side files anyway. A database (and side files) made before this, with wider rights,
    is narrowed. A file we may not open or change is left to SQLite to report.
    """
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return  # a missing directory, a read-only file: SQLite's own error says it better
    try:
        _narrow(descriptor, path)
    finally:
        os.close(descriptor)
    for suffix in _SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        try:
            descriptor = os.open(side, os.O_RDONLY)
        except OSError:
            continue  # not there: SQLite makes it from the database file's mode
        try:
            _narrow(descriptor, side)
        finally:
            os.close(descriptor)


def _narrow(descriptor: int, path: Path) -> None:
    if os.fstat(descriptor).st_mode & 0o077:
        try:
            os.fchmod(descriptor, 0o600)
        except OSError:
            log.warning("a database file is readable by others and cannot be narrowed: %s", path)
        else:
            log.info("a database file was readable by others; now 0600: %s", path)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py runs the migrations on this connection instead of making its own engine.
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it and dropping the original (Alembic batch mode);
        # with foreign keys on, that drop would cascade into, or be refused by, the rows that
        # refer to it. The pragma has no effect inside a transaction, so it is set before.
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            if connection.dialect.name == "postgresql":
                # Bot processes started together must not run the same migration twice.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
            command.upgrade(_alembic_config(connection), "head")
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(
                        f"migration left {len(broken)} rows with dangling foreign keys, "
                        f"first in table {broken[0][0]!r}; rolled back"
                    )
    finally:
        if sqlite:
            _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    # Straight to the driver: through SQLAlchemy the statement would open a transaction first.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(pragma)
    finally:
        cursor.close()
