"""The answer to a question's button, in one transaction straight on the database driver.

A button pressed under a question is most of what the bot handles. Its transaction reads who
pressed it and their run (both locked on PostgreSQL, as `PersonRepository.writing` and
`RunRepository.get` lock them), then records the update's key, the answer and the run's new
state, and commits: the same five statements the repositories send, in the same order, with
the same locks. Through SQLAlchemy's session each statement cost about 0.17 ms of CPU, the
transaction itself 0.35 ms more; on the driver (asyncpg, or sqlite3 in aiosqlite's thread)
0.03 ms and 0.15 ms, and on SQLite the reads go in one trip to the connection's thread and
the writes with COMMIT in another (README, "Where the time goes").

Only the plain case comes here (`bot.services.runs.answer_option_of` decides): an answer
that ends its run, raises a flag, computes a score or changes a case takes the repositories'
way, in a transaction of its own after this one was rolled back with nothing written. The
connection is the engine's (its pool and its check on checkout), values go through the
columns' own SQLAlchemy types (sealed, JSON, UTC times), and the database's failures are
`Unavailable` as in `Database.transaction`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import aiosqlite
import asyncpg
from sqlalchemy.engine import Dialect

from ..engine.events import JSONValue, Value
from . import crypto
from .models import Base

if TYPE_CHECKING:
    from .repositories import PersonWriting

__all__ = [
    "AnsweredRow",
    "Answering",
    "PostgresDriver",
    "RunRow",
    "SQLiteDriver",
    "Statements",
]


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run as the answer needs it (the columns of `Run`, read without the ORM)."""

    id: int
    flow_id: str
    flow_version: int
    person_id: int
    case_id: int | None
    step: str
    status: str
    state: dict[str, JSONValue]


@dataclass(frozen=True, slots=True)
class AnsweredRow:
    key: str
    value: Value
    step: str


# Who pressed, the first case they joined (as `PersonRepository.writing`) and their run (as
# `RunRepository.get`): one row, or none when either is missing or the run is another's.
# On PostgreSQL both rows are locked, the person's first (the order of `OF`), as the
# repositories lock them one after the other.
_READ = (
    "SELECT person.id, person.role, person.language, person.consent, person.status, "
    "person.awaiting, case_file.id, case_file.code, run.id, run.flow_id, run.flow_version, "
    "run.person_id, run.case_id, run.step, run.status, run.state FROM person "
    "JOIN run ON run.id = ? AND run.person_id = person.id "
    "LEFT OUTER JOIN membership ON membership.person_id = person.id "
    "LEFT OUTER JOIN case_file ON case_file.id = membership.case_id "
    "WHERE person.channel = ? AND person.external_key = ? "
    "ORDER BY membership.created_at, membership.case_id LIMIT 1"
)
_CLAIM = (
    'INSERT INTO processed_update ("key", processed_at) VALUES (?, ?) '
    'ON CONFLICT ("key") DO NOTHING RETURNING "key"'
)
_ANSWER = (
    'INSERT INTO answer (run_id, "key", value, step, answered_at) VALUES (?, ?, ?, ?, ?) '
    'ON CONFLICT (run_id, "key") DO UPDATE SET value = excluded.value, '
    "step = excluded.step, answered_at = excluded.answered_at"
)
_UPDATE_RUN = (
    "UPDATE run SET step = ?, state = ?, status = ?, updated_at = ?, ended_at = ? WHERE id = ?"
)
# On PostgreSQL the three writes of an answer of one value in one round trip: the answer and
# the run's state are written only when the update's key was not there before (the count is
# then 1). The parameters are the claim's, the answer's and the run update's above, in order.
_WRITE_ONE = (
    "WITH claimed AS ("
    'INSERT INTO processed_update ("key", processed_at) VALUES ($1, $2) '
    'ON CONFLICT ("key") DO NOTHING RETURNING "key"), '
    "answered AS ("
    'INSERT INTO answer (run_id, "key", value, step, answered_at) '
    "SELECT $3::integer, $4::varchar, $5::json, $6::varchar, $7::timestamp FROM claimed "
    'ON CONFLICT (run_id, "key") DO UPDATE SET value = excluded.value, '
    "step = excluded.step, answered_at = excluded.answered_at), "
    "updated AS ("
    "UPDATE run SET step = $8, state = $9, status = $10, updated_at = $11, ended_at = $12 "
    "WHERE id = $13 AND EXISTS (SELECT 1 FROM claimed)) "
    "SELECT count(*) FROM claimed"
)


def _numbered(sql: str) -> str:
    """asyncpg's placeholders: $1, $2, ... for ?, ?, ..."""
    parts = sql.split("?")
    return "".join(
        part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, start=1)
    )


_Convert = Callable[[object], object]


def _same(value: object) -> object:
    return value


class Statements:
    """The statements in the dialect's spelling, and the columns' conversions (built once per
    engine: the types' own bind and result processors, as SQLAlchemy would apply them)."""

    def __init__(self, dialect: Dialect) -> None:
        postgres = dialect.name == "postgresql"
        spell = _numbered if postgres else str
        self.read = spell(_READ + (" FOR UPDATE OF person, run" if postgres else ""))
        self.write_one = _WRITE_ONE if postgres else None
        self.claim = spell(_CLAIM)
        self.answer = spell(_ANSWER)
        self.update_run = spell(_UPDATE_RUN)
        tables = Base.metadata.tables

        def bind(table: str, column: str) -> _Convert:
            processor = tables[table].c[column].type.bind_processor(dialect)
            return processor or _same

        def result(table: str, column: str) -> _Convert:
            processor = tables[table].c[column].type.result_processor(dialect, None)
            return processor or _same

        self.bind_time = bind("answer", "answered_at")
        self.bind_value = bind("answer", "value")
        self.bind_state = bind("run", "state")
        self.read_awaiting = result("person", "awaiting")
        self.read_state = result("run", "state")


class _Driver(Protocol):
    """One connection's transaction, on asyncpg or sqlite3 (see `database.py`)."""

    async def read(self, read: tuple[str, Sequence[object]]) -> Sequence[object] | None: ...

    async def write_one(self, write: tuple[str, Sequence[object]]) -> bool: ...

    async def write(
        self,
        claim: tuple[str, Sequence[object]],
        answers: tuple[str, list[Sequence[object]]],
        update: tuple[str, Sequence[object]],
    ) -> bool: ...

    async def rollback(self) -> None: ...


class Answering:
    """The answer's transaction: `person` and `run` read (and locked) on entry; `store` writes
    and commits. Left without `store`, it is rolled back."""

    def __init__(self, statements: Statements, driver: _Driver) -> None:
        self._statements = statements
        self._driver = driver
        self.person: PersonWriting | None = None
        self.run: RunRow | None = None
        self.stored = 0  # answers written, once committed
        self.committed = False

    async def read(self, channel: str, external_id: str, run_id: int) -> None:
        from .repositories import PersonWriting

        s = self._statements
        key = crypto.active().lookup_key(channel, str(external_id))
        row = await self._driver.read((s.read, (run_id, channel, key)))
        if row is None:
            return
        (person_id, role, language, consent, status, awaiting, case_id, code) = row[:8]
        self.person = PersonWriting(
            person_id,  # type: ignore[arg-type]
            role,  # type: ignore[arg-type]
            language,  # type: ignore[arg-type]
            consent,  # type: ignore[arg-type]
            status,  # type: ignore[arg-type]
            s.read_awaiting(awaiting),  # type: ignore[arg-type]
            case_id,  # type: ignore[arg-type]
            code,  # type: ignore[arg-type]
        )
        (run_id_, flow_id, flow_version, owner, run_case, step, run_status, state) = row[8:]
        self.run = RunRow(
            run_id_,  # type: ignore[arg-type]
            flow_id,  # type: ignore[arg-type]
            flow_version,  # type: ignore[arg-type]
            owner,  # type: ignore[arg-type]
            run_case,  # type: ignore[arg-type]
            step,  # type: ignore[arg-type]
            run_status,  # type: ignore[arg-type]
            s.read_state(state),  # type: ignore[arg-type]
        )

    async def store(
        self,
        once: str,
        answers: Sequence[AnsweredRow],
        step: str,
        state: dict[str, JSONValue],
        now: datetime,
    ) -> bool:
        """The update's key recorded, the answers and the run's new state (still active)
        written, and committed. False, with everything rolled back, when the key was recorded
        before: the update was handled already."""
        if not once or len(once) > 64:
            raise ValueError(f"update key must be 1 to 64 characters, not {len(once)}")
        if self.run is None:
            raise RuntimeError("no run to answer")
        s = self._statements
        at = s.bind_time(now)
        rows: list[Sequence[object]] = [
            (self.run.id, answer.key, s.bind_value(answer.value), answer.step, at)
            for answer in answers
        ]
        update = (step, s.bind_state(dict(state)), "active", at, None, self.run.id)
        claim = (once, at)
        if s.write_one is not None and len(rows) == 1:
            stored = await self._driver.write_one((s.write_one, (*claim, *rows[0], *update)))
        else:
            stored = await self._driver.write(
                (s.claim, claim), (s.answer, rows), (s.update_run, update)
            )
        self.committed, self.stored = stored, len(rows) if stored else 0
        return stored


# ------------------------------------------------------------------------------ drivers


class PostgresDriver:
    """On the asyncpg connection under the engine's pooled one, whose check on checkout
    began the transaction already (`begun`, see `database.py`): BEGIN needs no round trip
    of its own. The transaction is ended by COMMIT or ROLLBACK sent as such."""

    def __init__(self, connection: asyncpg.Connection, *, begun: bool) -> None:
        self._connection = connection
        self._open = begun

    async def read(self, read: tuple[str, Sequence[object]]) -> Sequence[object] | None:
        if not self._open:
            await self._connection.execute("BEGIN")
            self._open = True
        found: Sequence[object] | None = await self._connection.fetchrow(read[0], *read[1])
        return found

    async def write_one(self, write: tuple[str, Sequence[object]]) -> bool:
        if await self._connection.fetchval(write[0], *write[1]) != 1:
            await self.rollback()
            return False
        await self._commit()
        return True

    async def write(
        self,
        claim: tuple[str, Sequence[object]],
        answers: tuple[str, list[Sequence[object]]],
        update: tuple[str, Sequence[object]],
    ) -> bool:
        if await self._connection.fetchval(claim[0], *claim[1]) is None:
            await self.rollback()
            return False
        for row in answers[1]:
            await self._connection.execute(answers[0], *row)
        await self._connection.execute(update[0], *update[1])
        await self._commit()
        return True

    async def _commit(self) -> None:
        self._open = False
        await self._connection.execute("COMMIT")

    async def rollback(self) -> None:
        """Whatever is still open, rolled back."""
        if self._open or self._connection.is_in_transaction():
            self._open = False
            await self._connection.execute("ROLLBACK")


class SQLiteDriver:
    """On the sqlite3 connection in aiosqlite's thread: the reads in one trip, the writes
    and COMMIT in another."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def read(self, read: tuple[str, Sequence[object]]) -> Sequence[object] | None:
        connection = self._connection
        found: Sequence[object] | None = await connection._execute(  # type: ignore[no-untyped-call]
            _sqlite_read, connection._conn, read
        )
        return found

    async def write_one(self, write: tuple[str, Sequence[object]]) -> bool:
        raise NotImplementedError("SQLite writes in one trip already")

    async def write(
        self,
        claim: tuple[str, Sequence[object]],
        answers: tuple[str, list[Sequence[object]]],
        update: tuple[str, Sequence[object]],
    ) -> bool:
        connection = self._connection
        stored: bool = await connection._execute(  # type: ignore[no-untyped-call]
            _sqlite_write, connection._conn, claim, answers, update
        )
        return stored

    async def rollback(self) -> None:
        """Whatever is still open, rolled back (no trip when nothing is)."""
        connection = self._connection
        raw = connection._connection
        if raw is not None and raw.in_transaction:
            await connection.rollback()


def _one(
    connection: sqlite3.Connection, sql: str, parameters: Sequence[object]
) -> Sequence[object] | None:
    cursor = connection.execute(sql, parameters)
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return rows[0] if rows else None


def _sqlite_read(
    connection: sqlite3.Connection, read: tuple[str, Sequence[object]]
) -> Sequence[object] | None:
    """In aiosqlite's thread: the write transaction begun (the lock taken, as
    `Database.transaction` does) and the row read."""
    connection.execute("BEGIN IMMEDIATE").close()
    return _one(connection, *read)


def _sqlite_write(
    connection: sqlite3.Connection,
    claim: tuple[str, Sequence[object]],
    answers: tuple[str, list[Sequence[object]]],
    update: tuple[str, Sequence[object]],
) -> bool:
    """In aiosqlite's thread: the writes and COMMIT, or ROLLBACK for an update handled
    before."""
    if _one(connection, *claim) is None:
        connection.rollback()
        return False
    connection.executemany(*answers).close()
    connection.execute(*update).close()
    connection.commit()
    return True
