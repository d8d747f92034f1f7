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
update, to spare a wait that only a person's quick succession of updates has.) A process
that dies holding a turn loses its connection and with it the lock, at once; what it left
waiting is found by `forsaken` and handled by any process (`bot.telegram._shared`).

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
    delete,
    exists,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from . import crypto
from .database import Database
from .models import ProcessedUpdate, ReceivedUpdate
from .types import UTCDateTime

__all__ = ["Kept", "ReceivedUpdates", "turn_of"]

# The advisory locks' first key: turns never meet another use of advisory locks (the
# migrations' lock takes the one-number form, a key space of its own).
TURN_LOCKS = 0x5747  # "WG"
PAYLOAD = "received_update.payload"


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


class ReceivedUpdates:
    def __init__(self, database: Database, *, turns_at_once: int, key_prefix: str) -> None:
        if database.dialect != "postgresql":
            raise ValueError("updates are shared between processes on PostgreSQL only")
        self._database = database
        # Keeping is one statement: committed by itself, on the main pool.
        self._work: AsyncEngine = database.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._turns = create_async_engine(
            database.engine.url,
            pool_size=turns_at_once,
            max_overflow=0,
            isolation_level="AUTOCOMMIT",
            connect_args={"server_settings": {"synchronous_commit": "off"}},
        )
        # An update's key in processed_update is this prefix and its id ("telegram:").
        self._key_prefix = key_prefix

    async def dispose(self) -> None:
        await self._turns.dispose()

    async def keep(self, update_id: int, turn: int, payload: str) -> bool:
        """Keep an update until it is handled, committed on return. False when it is here
        already, or was handled before (a second delivery): then there is nothing to do."""
        handled = exists().where(ProcessedUpdate.key == f"{self._key_prefix}{update_id}")
        row = select(
            literal(update_id, BigInteger),
            literal(turn, Integer),
            type_coerce(payload, ReceivedUpdate.payload.type),
            _utc_now(),
        ).where(~handled)
        stmt = (
            insert(ReceivedUpdate)
            .from_select(["update_id", "turn", "payload", "received_at"], row)
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

    async def forsaken(self, after: timedelta, limit: int = 100) -> list[int]:
        """Turns with updates still waiting `after` they were received: their process died, or
        lost its database, before handling them. (The database's clock, the same for every
        process.)"""
        stmt = (
            select(ReceivedUpdate.turn)
            .where(ReceivedUpdate.received_at < _utc_now() - literal(after, Interval()))
            .group_by(ReceivedUpdate.turn)
            .order_by(func.min(ReceivedUpdate.update_id))
            .limit(limit)
        )
        async with self._work.connect() as connection:
            return list((await connection.execute(stmt)).scalars())

    async def waiting(self) -> int:
        """How many updates wait (for tests and the bench)."""
        async with self._work.connect() as connection:
            return int(
                (await connection.execute(select(func.count()).select_from(ReceivedUpdate))).one()[
                    0
                ]
            )

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
