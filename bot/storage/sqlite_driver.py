"""SQLAlchemy's aiosqlite adapter, with one trip to the connection's thread per statement.

aiosqlite runs each SQLite connection in a thread of its own, and every call on it is a trip
there and back: the call queued, the thread woken, the result handed back to the event loop
through its self-pipe, and the loop woken to take it. SQLAlchemy's adapter makes four such
trips for a statement that returns rows (open a cursor, execute, fetch, close it) and three
for one that does not; with BEGIN, COMMIT and the pool's rollback of a connection given back,
an answer's five statements cost 23 trips, more CPU than SQLite's own work on them (README,
"Where the time goes"). Here:

- a statement is one trip: the cursor is opened, executed, read to the end and closed in the
  connection's thread, and the rows come back together, as the adapter read them anyway (its
  cursors are client-side; the streaming ones, for the export, stay aiosqlite's own);
- the transaction's BEGIN (`BEGIN IMMEDIATE` for writers, see `database.py`) goes in the trip
  of its first statement (`begin_with`);
- COMMIT and ROLLBACK make no trip when SQLite has no transaction open (sqlite3 would do
  nothing with them): the pool's rollback of every connection given back, mostly.

An answer is six trips now (its five statements, and COMMIT). Nothing else changes: the same
sqlite3 connection and thread, the same statements in the same order, errors raised as the
adapter raised them (tests/storage/test_sqlite_driver.py). It is given to SQLAlchemy as the
dialect's DBAPI module (`create_async_engine(..., module=one_trip_dbapi())`).
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
)
from sqlalchemy.util import EMPTY_DICT, await_

__all__ = ["OneTripConnection", "one_trip_dbapi"]

_Outcome = tuple[Any, list[Any], int, int | None]


def _execute(
    connection: sqlite3.Connection, begin: str | None, operation: str, parameters: Any, many: bool
) -> _Outcome:
    """In the connection's thread: the transaction begun if it waits to be, and the
    statement run and read to the end."""
    if begin is not None:
        _begin(connection, begin)
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement runs in one trip to the connection's thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount", "arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor: one is opened and closed with each statement, in its thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self.arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        """Nothing to close: the rows are read and the cursor closed already."""

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._run(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        try:
            return await_(self._run(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        async with adapted._execute_mutex:
            begin, adapted.begin = adapted.begin, None
            outcome: _Outcome = await connection._execute(
                _execute, connection._conn, begin, operation, parameters, many
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)


class _StreamingCursor(AsyncAdapt_aiosqlite_ss_cursor):
    """aiosqlite's own cursor, for streaming (the export): the BEGIN waiting goes first."""

    __slots__ = ()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        begin, adapted.begin = adapted.begin, None
        if begin is not None:
            connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            await connection._execute(_begin, connection._conn, begin)
        return await super()._execute_async(operation, parameters)


def _begin(connection: sqlite3.Connection, begin: str) -> None:
    connection.execute(begin).close()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """`begin`: the BEGIN a transaction opens with, sent in the trip of its first statement
    (`begin_with`). Commit and rollback make no trip when SQLite has no transaction open:
    the pool's rollback of every connection given back, and the end of a transaction that
    never sent a statement, have nothing to do."""

    __slots__ = ("begin",)
    _cursor_cls = _OneTripCursor  # type: ignore[assignment]
    _ss_cursor_cls = _StreamingCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:  # an aiosqlite.Connection
        super().__init__(dbapi, connection)
        self.begin: str | None = None

    def begin_with(self, statement: str) -> None:
        """Open the transaction with `statement`, in the same trip as its first statement."""
        self.begin = statement

    def _open(self) -> bool:
        # sqlite3 answers this from the connection's own flag, in any thread; nothing runs on
        # this connection meanwhile (it is checked out to the caller, who waits here).
        self.begin = None
        raw = self._connection._connection
        return raw is not None and raw.in_transaction

    def commit(self) -> None:
        if self._open():
            super().commit()

    def rollback(self) -> None:
        if self._open():
            super().rollback()


class _OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> Any:
    """The DBAPI module to give SQLAlchemy for `sqlite+aiosqlite` URLs."""
    return _OneTripDBAPI(aiosqlite, sqlite3)
