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

These few statements go straight to the driver (asyncpg), on a small pool of their own: each
update takes five of them, and through SQLAlchemy (statement building, its pool's ping) they
cost two to three milliseconds of CPU per update, more than a tenth of an answer. A pool of
their own also means that turns held, each on a connection, never take the connections the
handlers' transactions need from the main pool.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import NamedTuple

import asyncpg

from . import crypto
from .database import Database

__all__ = ["Forsaken", "Kept", "ReceivedUpdates", "turn_of"]

# The advisory locks' first keys: a person's turn, and a living process's number. Never met
# by another use of advisory locks (the migrations' lock takes the one-number form, a key
# space of its own).
TURN_LOCKS = 0x5747  # "WG"
ALIVE_LOCKS = 0x5748
PAYLOAD = "received_update.payload"
# Connections for keeping updates at once, beside the turns'.
KEEPERS = 4
# At the end, how long connections still out get to come back before they are cut.
CLOSING_SECONDS = 5.0

# Kept unless waiting or handled before ($5: its key in processed_update). received_at in
# naive UTC, as `UTCDateTime` columns hold it.
_KEEP = """
INSERT INTO received_update (update_id, turn, receiver, payload, received_at)
SELECT $1, $2, $3, $4, timezone('UTC', now())
WHERE NOT EXISTS (SELECT 1 FROM processed_update WHERE key = $5)
ON CONFLICT (update_id) DO NOTHING
RETURNING update_id
"""
_WAITING = """
SELECT r.update_id, r.payload,
       EXISTS (SELECT 1 FROM processed_update p WHERE p.key = $2 || r.update_id::text)
FROM received_update r WHERE r.turn = $1 ORDER BY r.update_id
"""
_DONE = "DELETE FROM received_update WHERE update_id = $1"
_LOCK = f"SELECT pg_advisory_lock({TURN_LOCKS}, $1)"
_TRY_LOCK = f"SELECT pg_try_advisory_lock({TURN_LOCKS}, $1)"
_UNLOCK = f"SELECT pg_advisory_unlock({TURN_LOCKS}, $1)"
_ALIVE = f"SELECT pg_try_advisory_lock({ALIVE_LOCKS}, $1)"
# Waiting longer than $2, received by this process ($1) or by one whose number nobody holds.
_FORSAKEN = f"""
SELECT r.update_id, r.turn, r.receiver = $1
FROM received_update r
WHERE r.received_at < timezone('UTC', now()) - $2::interval
  AND (r.receiver = $1 OR NOT EXISTS (
        SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
          AND l.classid = {ALIVE_LOCKS} AND l.objid = r.receiver::oid))
ORDER BY r.update_id LIMIT $3
"""


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
        engine = database.engine
        _, options = engine.dialect.create_connect_args(engine.url)
        wanted = ("host", "port", "user", "password", "database", "ssl")
        self._connect = {name: options[name] for name in wanted if name in options}
        self._size = turns_at_once + KEEPERS
        self._pool: asyncpg.Pool | None = None
        # An update's key in processed_update is this prefix and its id ("telegram:").
        self._key_prefix = key_prefix
        # This process's number while it lives, and the connection that says so.
        self.receiver: int | None = None
        self._alive: asyncpg.Connection | None = None
        self._opening = asyncio.Lock()

    async def open(self) -> int:
        """Take a number no living process has, held for as long as this process lives (or
        keeps its connection): the updates it keeps are its own while it does. Again after
        the connection was lost."""
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    min_size=0, max_size=self._size, reset=_keep_as_is, **self._connect
                )
            if self._alive is not None and self._alive.is_closed():
                self._alive = None
            if self._alive is None or self.receiver is None:
                alive = await asyncpg.connect(**self._connect)
                while True:
                    number = secrets.randbelow(1 << 31)
                    if await alive.fetchval(_ALIVE, number):
                        break
                self._alive, self.receiver = alive, number
            return self.receiver

    async def dispose(self) -> None:
        if self._alive is not None:
            await self._alive.close()
        if self._pool is not None:
            try:  # a connection still out (a turn cut short) is closed all the same
                await asyncio.wait_for(self._pool.close(), CLOSING_SECONDS)
            except TimeoutError:
                self._pool.terminate()

    async def keep(self, update_id: int, turn: int, payload: str) -> bool:
        """Keep an update until it is handled, committed on return. False when it is here
        already, or was handled before (a second delivery): then there is nothing to do."""
        receiver = await self._receiver()
        assert self._pool is not None
        sealed = crypto.active().seal(payload.encode(), PAYLOAD)
        key = f"{self._key_prefix}{update_id}"
        async with self._pool.acquire() as connection:
            kept = await connection.fetchval(_KEEP, update_id, turn, receiver, sealed, key)
        return kept is not None

    async def in_turn(
        self, turn: int, handle: Callable[[Kept], Awaitable[None]], *, wait: bool = True
    ) -> bool:
        """Take the turn (waiting for it, unless not `wait`) and `handle` every update waiting
        in it, oldest first, deleting each once handled. False when not waiting and another
        process holds the turn: it, or whoever waits for it, handles what waits."""
        await self._receiver()
        assert self._pool is not None
        async with self._pool.acquire() as connection:
            if not await _lock(connection, turn, wait):
                return False
            try:
                rows = await connection.fetch(_WAITING, turn, self._key_prefix)
                for update_id, sealed, again in rows:
                    await handle(Kept(update_id, _opened(sealed), again))
                    await connection.execute(_DONE, update_id)
            finally:
                await _unlock(connection, turn)
            return True

    async def forsaken(self, after: timedelta, limit: int = 100) -> list[Forsaken]:
        """Updates waiting for longer than `after` (the database's clock, the same for every
        process) whose receiver is gone, or is this process; oldest first. Whether this
        process still has its own in hand, it knows, not the database."""
        receiver = await self.open()  # and its number taken again, if its connection was lost
        assert self._pool is not None
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_FORSAKEN, receiver, after, limit)
        return [Forsaken(update_id, turn, own) for update_id, turn, own in rows]

    async def _receiver(self) -> int:
        if self.receiver is None or self._alive is None:
            return await self.open()
        return self.receiver


async def _keep_as_is(_connection: asyncpg.Connection) -> None:
    """The pool's reset, between two users of a connection: the turns let go of their locks
    themselves (or close the connection), so asyncpg's own reset (four statements) is only
    a round trip more."""


def _opened(sealed: str) -> str | None:
    try:
        return crypto.open_sealed(sealed, PAYLOAD).decode()
    except (crypto.KeyError_, ValueError):
        return None


async def _lock(connection: asyncpg.pool.PoolConnectionProxy, turn: int, wait: bool) -> bool:
    try:
        if wait:
            await connection.execute(_LOCK, turn)
            return True
        return bool(await connection.fetchval(_TRY_LOCK, turn))
    except BaseException:
        # Cancelled or cut off while asking: the lock may have been granted all the same,
        # and a connection holding it must never go back to the pool.
        connection.terminate()
        raise


async def _unlock(connection: asyncpg.pool.PoolConnectionProxy, turn: int) -> None:
    try:
        await connection.execute(_UNLOCK, turn)
    except BaseException:
        connection.terminate()  # it may still hold the lock: never back to the pool
        raise
