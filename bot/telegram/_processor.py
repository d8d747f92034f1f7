"""Updates of one person in order, updates of different people side by side.

python-telegram-bot either handles every update one after another (slow with many families)
or all at once (then two quick answers of one person could overtake each other). This
processor takes the middle: one lock per person, held while their update is handled, so a
person's updates keep their order while other people's run concurrently. Locks exist only
while someone has an update in flight, so memory does not grow with the number of people.

With several processes (`shared`, on PostgreSQL) a lock in one process is not enough: inside
it the person's turn is taken in the database, and whoever holds the turn handles the
person's updates kept there, whichever process received them (see `_shared.py`). The lock in
the process then only keeps its own tasks from asking for the same turn at once.

An emergency overtakes: it is handled at once, not behind the person's other updates (one of
which may be stuck on a locked database) nor behind other people's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

if TYPE_CHECKING:
    from ._shared import SharedInbox

_NO_LIMIT = 1_000_000
# Updates handled at once (of different people): each holds at most one Bot API request and
# one database connection at a time.
CONCURRENT_UPDATES = 64


class PerPersonUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        max_concurrent_updates: int = CONCURRENT_UPDATES,
        *,
        overtakes: Callable[[object], bool] = lambda _update: False,
        on_handled: Callable[[object], Awaitable[None]] | None = None,
        shared: SharedInbox | None = None,
    ):
        # PTB takes its own concurrency slot *before* calling us, so a person with many
        # updates waiting would hold slots other people need. Its limit is set out of the
        # way; the real one is taken here, after the person's lock.
        super().__init__(max_concurrent_updates=_NO_LIMIT)
        if shared is not None:
            # Each person being handled holds a turn, and a turn holds a connection.
            max_concurrent_updates = min(max_concurrent_updates, shared.turns_at_once)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._overtakes = overtakes
        self._on_handled = on_handled
        self._shared = shared

    # The signature is PTB's: it hands over the handlers' coroutine, whose result it ignores.
    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await self._in_turn(update, coroutine)
        finally:
            if self._on_handled is not None:
                await self._on_handled(update)

    async def _in_turn(self, update: object, coroutine: Awaitable[object]) -> None:
        shared = self._shared
        if shared is not None and isinstance(update, Update) and shared.is_kept(update):
            # Kept in the database for every process (not an emergency: that was decided
            # when it was kept); left where whoever takes the turn in this process finds it.
            turn = shared.turn_of(update.update_id)
            shared.hold(update.update_id, coroutine)
            async with self._person(turn):
                await shared.take_turn(turn, update.update_id)
            return
        if self._overtakes(update):
            await coroutine
            return
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            async with self._slots:
                await coroutine
            return
        # Alone, or the database refused to keep it (handled here, as alone): by the
        # person's number, or their turn's, as the turns' own tasks are.
        async with self._person(user.id if shared is None else shared.turn_of_person(user.id)):
            await coroutine

    async def drain(self, turn: int) -> None:
        """Handle what waits in a turn whose process is gone (`shared` only)."""
        if self._shared is None:
            raise RuntimeError("only updates kept in the database can be drained")
        async with self._person(turn):
            await self._shared.take_turn(turn, None)

    def busy(self, key: int) -> bool:
        """Whether this process has an update of this person (or turn) in hand."""
        return key in self._locks

    @contextlib.asynccontextmanager
    async def _person(self, key: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                yield
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def people_in_flight(self) -> int:
        return len(self._locks)
