"""Is the bot ready to serve: the database answers, the outbox is not falling behind, and
Telegram answers the bot's calls.

The database is read at most once every few seconds (`CachedReading`), however often the
readiness check and the metrics are asked for: a storm of scrapes or probes cannot load it.
One reading is a trivial query (within a short timeout), the age of the oldest due notice
and the unresolved flags by level; the gauges and the readiness check share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from ..app import Wegwijzer
from ..storage import Unavailable

__all__ = [
    "BOT_API_LIMIT",
    "DATABASE_TIMEOUT",
    "OUTBOX_LIMIT",
    "BotApiContact",
    "CachedReading",
    "Check",
    "DatabaseReading",
    "Readiness",
    "read_database",
    "readiness",
]

Monotonic = Callable[[], float]

# The database must answer a trivial query within this many seconds.
DATABASE_TIMEOUT = 2.0
# The oldest due notice may have waited this long. Urgent notices have a sender of their own
# and never wait behind others; a fan-out of reminders paced at Telegram's 30 a second takes
# minutes, so this trips for a backlog of more than about 25,000 messages, or a stuck sender.
OUTBOX_LIMIT = 15 * 60.0
# Telegram must have answered a call this recently — once a call has failed since it last
# answered. A long poll returns every ten seconds; behind a webhook an idle bot calls nothing,
# which says nothing against Telegram.
BOT_API_LIMIT = 120.0


@dataclass(frozen=True)
class DatabaseReading:
    # How long the trivial query took, in seconds.
    answered_in: float
    # How long the oldest due and unsent notice has waited, in seconds (0: none waits).
    outbox_age: float
    # By flag level: unresolved flags, and how many of them are past their due time.
    flags: Mapping[str, tuple[int, int]]


async def read_database(app: Wegwijzer, monotonic: Monotonic = time.monotonic) -> DatabaseReading:
    """One reading; raises `Unavailable` when the database does not answer."""
    started = monotonic()
    await app.database.ping()
    answered_in = monotonic() - started
    now = app.clock()
    async with app.database.reading() as uow:
        oldest = await uow.outbox.oldest_due(now)
        flags = await uow.flags.unresolved_by_level(now)
    outbox_age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
    return DatabaseReading(answered_in, outbox_age, flags)


class CachedReading:
    """The last reading, taken again when it is older than `seconds`; one at a time (those
    asking meanwhile wait for it). A failed reading is kept as long: a database that does not
    answer is not asked again by every probe.

    A reading that takes longer than `timeout` counts as failed, but is not cancelled: a
    query cancelled halfway can leave its pooled connection in an unknown state. It goes on
    in the background, and the next reading due waits for it instead of starting another."""

    def __init__(
        self,
        read: Callable[[], Awaitable[DatabaseReading]],
        seconds: float,
        monotonic: Monotonic = time.monotonic,
        timeout: float = DATABASE_TIMEOUT,
    ) -> None:
        self._read, self.seconds, self._monotonic = read, seconds, monotonic
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._taken_at: float | None = None
        self._last: DatabaseReading | None = None
        self._pending: asyncio.Task[DatabaseReading] | None = None
        # Why the last reading failed: the exception's class name, never its message.
        self.failure: str | None = None
        self.readings = 0  # how many were taken, for the tests of the cache

    async def get(self) -> DatabaseReading | None:
        """The reading, or None when the database did not answer (`failure` says how)."""
        async with self._lock:
            now = self._monotonic()
            if self._taken_at is not None and now - self._taken_at < self.seconds:
                return self._last
            if self._pending is None:
                self.readings += 1
                self._pending = asyncio.ensure_future(self._read())
            pending = self._pending
            try:
                async with asyncio.timeout(self.timeout):
                    self._last, self.failure = await asyncio.shield(pending), None
            except (Unavailable, TimeoutError) as failed:
                self._last, self.failure = None, type(failed).__name__
            if pending.done():
                self._pending = None
            self._taken_at = self._monotonic()
            return self._last

    async def close(self) -> None:
        """Wait (within the timeout) for a reading still going on, then give it up."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            async with asyncio.timeout(self.timeout):
                await asyncio.shield(pending)
        except (Unavailable, TimeoutError):
            pass
        if not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Unavailable):
                await pending


class BotApiContact:
    """When Telegram last answered a call of the bot, and whether a call failed since."""

    def __init__(self, monotonic: Monotonic = time.monotonic) -> None:
        self._monotonic = monotonic
        self.started = monotonic()
        self.last_answer: float | None = None
        self.failed_since = 0

    def called(self, answered: bool) -> None:
        if answered:
            self.last_answer, self.failed_since = self._monotonic(), 0
        else:
            self.failed_since += 1

    def check(self) -> Check:
        now = self._monotonic()
        since = now - (self.last_answer if self.last_answer is not None else self.started)
        # Just started, or nothing failed since Telegram last answered: no reason for doubt.
        fine = since <= BOT_API_LIMIT or (self.last_answer is not None and not self.failed_since)
        return Check(
            fine,
            {
                "seconds_since_answer": None if self.last_answer is None else round(since, 3),
                "failed_since": self.failed_since,
                "limit": BOT_API_LIMIT,
            },
        )


@dataclass(frozen=True)
class Check:
    ok: bool
    values: Mapping[str, float | int | str | None]

    def as_dict(self) -> dict[str, float | int | str | bool | None]:
        return {"ok": self.ok, **self.values}


@dataclass(frozen=True)
class Readiness:
    checks: Mapping[str, Check]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks.values())

    @property
    def failing(self) -> tuple[str, ...]:
        return tuple(name for name, check in self.checks.items() if not check.ok)

    def as_dict(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "checks": {name: check.as_dict() for name, check in self.checks.items()},
        }


async def readiness(reading: CachedReading, bot_api: BotApiContact) -> Readiness:
    got = await reading.get()
    if got is None:
        database = Check(False, {"error": reading.failure, "limit": DATABASE_TIMEOUT})
        # Not known without the database: not taken as a second failure.
        outbox = Check(True, {"seconds": None, "limit": OUTBOX_LIMIT})
    else:
        database = Check(True, {"seconds": round(got.answered_in, 4), "limit": DATABASE_TIMEOUT})
        outbox = Check(
            got.outbox_age <= OUTBOX_LIMIT,
            {"seconds": round(got.outbox_age, 3), "limit": OUTBOX_LIMIT},
        )
    return Readiness({"database": database, "outbox": outbox, "bot_api": bot_api.check()})
