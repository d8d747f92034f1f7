"""Updates received by webhook, kept in PostgreSQL until handled, and each person's turn.

Several bot processes behind one address each receive some of a person's updates, and each
process alone can only keep its own updates in order. So on PostgreSQL the receiving process
keeps the update here (sealed: it holds the message text) and commits before Telegram hears
200; then whoever holds the person's *turn* handles that person's waiting updates one at a
time, oldest update id first, and deletes each once handled.

A turn is a PostgreSQL advisory lock on the person's turn number, held on a connection of its
own for as long as the updates are handled (the Bot API calls included, so that replies keep
their order too). The process that received an update waits for the turn, and then handles
what waits in it: its own update, unless the holder before it handled it already. (Taking
the turn without waiting, and leaving the update to the holder, would need one more look
after each turn, for an update kept just before it was given up: a round trip more for every
update, to spare a wait that only a person's quick succession of updates has.)

A process that dies loses its connections, and with them its locks, at once: the turns it
held, and the lock it holds on its own number for as long as it lives (`open`). An update
whose receiver no longer holds that lock is forsaken (`forsaken`), and any process handles it
in its turn (`bot.telegram._shared`); so does its receiver, when its own turn failed (the
database went away meanwhile). A busy process's updates, however long they wait, are its own.

Exactly once is not this table's job: what an update changes is recorded with its key in
`processed_update`, in the same transaction. An update handled and not yet deleted when its
process died is handled again and changes nothing; `Kept.again` says so, so that the reply it
may never have had is given (the question now waiting).

The turns' connections come from a small pool of their own (`turns_at_once`), so that holding
turns can never take every connection the handlers need from the main pool. They commit
without waiting for the disk (`synchronous_commit=off`): they only delete handled updates and
take locks, and a delete lost in a crash means the update is handled again, which changes
nothing.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Interval,
    String,
    Text,
    cast,
    column,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    table,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import OID, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from . import crypto
from .database import Database
from .models import ProcessedUpdate, ReceivedUpdate
from .types import UTCDateTime

__all__ = ["Forsaken", "Kept", "ReceivedUpdates", "turn_of"]

# The advisory locks' first keys: a person's turn, and a living process's number. Never met
# by another use of advisory locks (the migrations' lock takes the one-number form, a key
# space of its own).
TURN_LOCKS = 0x5747  # "WG"
ALIVE_LOCKS = 0x5748
PAYLOAD = "received_update.payload"

_pg_locks = table(
    "pg_locks",
    column("locktype", Text),
    column("classid", OID),
    column("objid", OID),
    column("objsubid", Integer),
    column("granted"),
)


def turn_of(channel: str, external_id: str | int) -> int:
    """The turn number of a person: 32 bits of their keyed hash, so it names nobody. Two
    people may share one; they then take turns together, which only costs them a wait."""
    digest = int(crypto.active().lookup_key(channel, external_id)[:8], 16)
    return digest - (1 << 32) if digest >= 1 << 31 else digest


class Kept(NamedTuple):
    update_id: int
    # The update as received (JSON), None when it does not open with the key ring.
    payload: str | None
    # Its key is on record as handled: its process died between storing what it changed
    # and deleting it here.
    again: bool


class Forsaken(NamedTuple):
    update_id: int
    turn: int
    # Received by this process (whose own turn failed), not by one that died.
    own: bool


class ReceivedUpdates:
    def __init__(self, database: Database, *, turns_at_once: int, key_prefix: str) -> None:
        if database.dialect != "postgresql":
            raise ValueError("updates are shared between processes on PostgreSQL only")
        # Keeping is one statement: committed by itself, on the main pool.
        self._work: AsyncEngine = database.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._turns = create_async_engine(
            database.engine.url,
            # One more: the connection holding this process's number.
            pool_size=turns_at_once + 1,
            max_overflow=0,
            isolation_level="AUTOCOMMIT",
            connect_args={"server_settings": {"synchronous_commit": "off"}},
        )
        # An update's key in processed_update is this prefix and its id ("telegram:").
        self._key_prefix = key_prefix
        # This process's number while it lives, and the connection that says so.
        self.receiver: int | None = None
        self._alive: AsyncConnection | None = None
        self._opening = asyncio.Lock()

    async def open(self) -> int:
        """Take a number no living process has, held for as long as this process lives (or
        keeps its connection): the updates it keeps are its own while it does. Again after
        the connection was lost."""
        async with self._opening:
            if self._alive is not None:
                try:
                    await self._alive.execute(select(literal(1)))
                except Exception:
                    await self._alive.invalidate()
                    self._alive = None
            if self._alive is None or self.receiver is None:
                connection = await self._turns.connect()
                while True:
                    number = secrets.randbelow(1 << 31)
                    lock = func.pg_try_advisory_lock(ALIVE_LOCKS, number)
                    if (await connection.execute(select(lock))).scalar_one():
                        break
                self._alive, self.receiver = connection, number
            return self.receiver

    async def dispose(self) -> None:
        if self._alive is not None:
            await self._alive.invalidate()  # closed, not pooled: its lock goes with it
        await self._turns.dispose()

    async def keep(self, update_id: int, turn: int, payload: str) -> bool:
        """Keep an update until it is handled, committed on return. False when it is here
        already, or was handled before (a second delivery): then there is nothing to do."""
        receiver = self.receiver if self._alive is not None else None
        if receiver is None:
            receiver = await self.open()
        handled = exists().where(ProcessedUpdate.key == f"{self._key_prefix}{update_id}")
        row = select(
            literal(update_id, BigInteger),
            literal(turn, Integer),
            literal(receiver, Integer),
            type_coerce(payload, ReceivedUpdate.payload.type),
            _utc_now(),
        ).where(~handled)
        stmt = (
            insert(ReceivedUpdate)
            .from_select(["update_id", "turn", "receiver", "payload", "received_at"], row)
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(ReceivedUpdate.update_id)
        )
        async with self._work.connect() as connection:
            return (await connection.execute(stmt)).first() is not None

    async def in_turn(
        self, turn: int, handle: Callable[[Kept], Awaitable[None]], *, wait: bool = True
    ) -> bool:
        """Take the turn (waiting for it, unless not `wait`) and `handle` every update waiting
        in it, oldest first, deleting each once handled. False when not waiting and another
        process holds the turn: it, or whoever waits for it, handles what waits."""
        async with self._turns.connect() as connection:
            if not await _lock(connection, turn, wait):
                return False
            try:
                for kept in await self._waiting(connection, turn):
                    await handle(kept)
                    await connection.execute(
                        delete(ReceivedUpdate).where(ReceivedUpdate.update_id == kept.update_id)
                    )
            finally:
                await _unlock(connection, turn)
            return True

    async def forsaken(self, after: timedelta, limit: int = 100) -> list[Forsaken]:
        """Updates waiting for longer than `after` (the database's clock, the same for every
        process) whose receiver is gone, or is this process; oldest first. Whether this
        process still has its own in hand, it knows, not the database."""
        receiver = await self.open()
        alive = exists().where(
            _pg_locks.c.locktype == "advisory",
            _pg_locks.c.classid == ALIVE_LOCKS,
            _pg_locks.c.objid == cast(ReceivedUpdate.receiver, OID),
            _pg_locks.c.objsubid == 2,  # the two-number form of advisory locks
            _pg_locks.c.granted.is_(True),
        )
        stmt = (
            select(ReceivedUpdate.update_id, ReceivedUpdate.turn, ReceivedUpdate.receiver)
            .where(
                ReceivedUpdate.received_at < _utc_now() - literal(after, Interval()),
                or_(ReceivedUpdate.receiver == receiver, ~alive),
            )
            .order_by(ReceivedUpdate.update_id)
            .limit(limit)
        )
        async with self._work.connect() as connection:
            rows = await connection.execute(stmt)
            return [Forsaken(update_id, turn, by == receiver) for update_id, turn, by in rows]

    async def _waiting(self, connection: AsyncConnection, turn: int) -> list[Kept]:
        key = literal(self._key_prefix, String) + cast(ReceivedUpdate.update_id, String)
        again = exists().where(ProcessedUpdate.key == key)
        stmt = (
            select(ReceivedUpdate.update_id, type_coerce(ReceivedUpdate.payload, Text), again)
            .where(ReceivedUpdate.turn == turn)
            .order_by(ReceivedUpdate.update_id)
        )
        return [
            Kept(update_id, _opened(sealed), bool(before))
            for update_id, sealed, before in await connection.execute(stmt)
        ]


def _utc_now() -> ColumnElement[datetime]:
    # The column holds naive UTC (`UTCDateTime`).
    return func.timezone("UTC", func.now(), type_=UTCDateTime())


def _opened(sealed: str) -> str | None:
    try:
        return crypto.open_sealed(sealed, PAYLOAD).decode()
    except (crypto.KeyError_, ValueError):
        return None


async def _lock(connection: AsyncConnection, turn: int, wait: bool) -> bool:
    try:
        if wait:
            await connection.execute(select(func.pg_advisory_lock(TURN_LOCKS, turn)))
            return True
        taken = await connection.execute(select(func.pg_try_advisory_lock(TURN_LOCKS, turn)))
        return bool(taken.scalar_one())
    except BaseException:
        # Cancelled or cut off while asking: the lock may have been granted all the same,
        # and a connection holding it must never go back to the pool.
        await connection.invalidate()
        raise


async def _unlock(connection: AsyncConnection, turn: int) -> None:
    try:
        await connection.execute(select(func.pg_advisory_unlock(TURN_LOCKS, turn)))
    except BaseException:
        # A connection that may still hold the lock must never go back to the pool.
        await connection.invalidate()
        raise
