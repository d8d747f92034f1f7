"""Updates of one person in order, updates of different people side by side.

python-telegram-bot either handles every update one after another (slow with many families)
or all at once (then two quick answers of one person could overtake each other). This
processor takes the middle: one lock per person, held while their update is handled, so a
person's updates keep their order while other people's run concurrently. Locks exist only
while someone has an update in flight, so memory does not grow with the number of people.

An emergency overtakes: it is handled at once, not behind the person's other updates (one of
which may be stuck on a locked database) nor behind other people's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

_NO_LIMIT = 1_000_000


class PerPersonUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        max_concurrent_updates: int = 64,
        *,
        overtakes: Callable[[object], bool] = lambda _update: False,
        on_handled: Callable[[object], Awaitable[None]] | None = None,
    ):
        # PTB takes its own concurrency slot *before* calling us, so a person with many
        # updates waiting would hold slots other people need. Its limit is set out of the
        # way; the real one is taken here, after the person's lock.
        super().__init__(max_concurrent_updates=_NO_LIMIT)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._overtakes = overtakes
        self._on_handled = on_handled

    # The signature is PTB's: it hands over the handlers' coroutine, whose result it ignores.
    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await self._in_turn(update, coroutine)
        finally:
            if self._on_handled is not None:
                await self._on_handled(update)

    async def _in_turn(self, update: object, coroutine: Awaitable[object]) -> None:
        if self._overtakes(update):
            await coroutine
            return
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            async with self._slots:
                await coroutine
            return
        key = user.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
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
