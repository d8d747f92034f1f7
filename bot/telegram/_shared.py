"""Several bot processes behind one webhook address, on one PostgreSQL database.

A load balancer hands a person's quick presses to different processes, and each process's
own per-person lock (`_processor.py`) knows nothing of the others. So in webhook mode on
PostgreSQL an update goes like this:

1. Received: kept in the database, sealed, and committed (`bot.storage.received`) before
   python-telegram-bot answers Telegram 200. A second delivery of an update that is waiting
   or was handled is not kept again, and not handled.
2. Handled in the person's turn: the process takes the turn (a lock in the database; it waits
   while another process holds it) and handles every update of the person kept there, oldest
   update id first, its own and those other processes received, each deleted once handled.
3. Forsaken updates (their process was killed, or lost the database, after answering 200)
   are found by every process's sweep (`adopt_forsaken`) and handled in their turn.

So a person's updates are handled one at a time, in update id order, by whichever process;
each is handled once (what it changes is recorded with its key, `services.once`); none is
lost once Telegram heard 200.

Two kinds of update skip the database: an emergency, which must not wait for a turn or a
database (it is kept in this process's file inbox and handled at once, as ever), and any
update the database refused to keep (it is kept in the file inbox and handled here, by this
process's lock alone: the database is down, so there is nothing to share).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot, Update

from ..app import Wegwijzer
from ..storage.received import Kept, ReceivedUpdates, turn_of
from ._channel import CHANNEL
from ._inbox import Inbox

log = logging.getLogger(__name__)

# People one process handles (or waits for) at once: each holds a turn, and each turn a
# connection of the turns' own pool (`ReceivedUpdates`).
TURNS_AT_ONCE = 8
# An update whose receiver is gone is taken over once it waited this long (the sweep looks
# every `serve(outbox_interval)`); one of this process's own that it no longer has in hand
# (its turn failed) too. A moment, so that the receiver's own commit and bookkeeping are done.
FORSAKEN_AFTER = timedelta(seconds=1)


class SharedInbox:
    """Keeps updates in the database for every process, and handles a person's turn."""

    def __init__(
        self,
        app: Wegwijzer,
        local: Inbox,
        *,
        overtakes: Callable[[object], bool],
        again: set[int],
        turns_at_once: int = TURNS_AT_ONCE,
    ) -> None:
        self.app = app
        self.local = local
        self.turns_at_once = turns_at_once
        self.received = ReceivedUpdates(
            app.database, turns_at_once=turns_at_once, key_prefix=f"{CHANNEL}:"
        )
        self._overtakes = overtakes
        # The channel's set of updates handled again (`Incoming.again`).
        self._again = again
        # Kept in the database by this process and not yet handled here: their turns.
        self._kept: dict[int, int] = {}
        # Their handlers' coroutines, while they wait for their turn.
        self._held: dict[int, Awaitable[object]] = {}
        # Set once the Application exists: how an update another process received is handled
        # here (python-telegram-bot's handlers and error handlers), and the bot it is for.
        self.process: Callable[[Update], Awaitable[None]] | None = None
        self.bot: Bot | None = None

    async def open(self) -> None:
        """Take this process's number (see `ReceivedUpdates.open`): at start, so that a
        database that is down shows at once (updates are then kept on disk meanwhile)."""
        await self.received.open()

    async def close(self) -> None:
        await self.received.dispose()

    @staticmethod
    def turn_of_person(user_id: int) -> int:
        return turn_of(CHANNEL, user_id)

    def turn_of(self, update_id: int) -> int:
        """The turn of an update this process kept."""
        return self._kept[update_id]

    # --- received ------------------------------------------------------------------------------

    async def keep(self, update: Update) -> bool:
        """Kept before Telegram hears 200; False: a second delivery, to be dropped."""
        user = update.effective_user
        if user is None or self._overtakes(update):
            await self.local.keep(update)
            return True
        payload = json.dumps(update.to_dict(), ensure_ascii=False)
        turn = self.turn_of_person(user.id)
        try:
            kept = await self.received.keep(update.update_id, turn, payload)
        except Exception as refused:  # the database is down: kept on disk, handled here
            log.error("update not kept in the database", extra={"event": type(refused).__name__})
            await self.local.keep(update)
            return True
        if kept:
            self._kept[update.update_id] = turn
        else:
            log.info("duplicate update dropped", extra={"update_id": update.update_id})
        return kept

    def is_kept(self, update: object) -> bool:
        return isinstance(update, Update) and update.update_id in self._kept

    async def handled(self, update: object) -> None:
        if isinstance(update, Update):
            self._kept.pop(update.update_id, None)
        await self.local.handled(update)

    # --- turns ---------------------------------------------------------------------------------

    def hold(self, update_id: int, coroutine: Awaitable[object]) -> None:
        self._held[update_id] = coroutine

    async def take_turn(self, turn: int, own: int | None) -> None:
        """Handle what waits in the turn (this process's update `own` among it, unless it was
        handled meanwhile): waiting for it, unless taking over forsaken updates (`own` None),
        which whoever holds the turn, or waits for it, handles anyway. Called under the
        processor's lock for the turn."""
        if own is not None and own not in self._held:
            return  # handled in an earlier task's turn, in this process
        try:
            await self.received.in_turn(turn, self._handle, wait=own is not None)
        except Exception as failed:  # the database went away: the sweep tries again later
            log.error("turn not taken", extra={"event": type(failed).__name__})
        finally:
            left = self._held.pop(own, None) if own is not None else None
            if left is not None and asyncio.iscoroutine(left):
                left.close()  # handled by another process, or to be by the sweep

    async def _handle(self, kept: Kept) -> None:
        coroutine = self._held.pop(kept.update_id, None)
        if kept.again:
            self._again.add(kept.update_id)
        try:
            if coroutine is not None:
                await coroutine
                return
            update = self._opened(kept)
            if update is not None and self.process is not None:
                await self.process(update)
        finally:
            self._again.discard(kept.update_id)

    def _opened(self, kept: Kept) -> Update | None:
        if kept.payload is None:
            log.critical("kept update does not open", extra={"update_id": kept.update_id})
            return None
        try:
            return Update.de_json(json.loads(kept.payload), self.bot)
        except (ValueError, TypeError, KeyError) as broken:
            log.critical("kept update unreadable", extra={"event": type(broken).__name__})
            return None

    async def forsaken(self) -> set[int]:
        """The turns with updates waiting that nobody has in hand: their receiver died, or
        this process's own turn for them failed."""
        return {
            update.turn
            for update in await self.received.forsaken(FORSAKEN_AFTER)
            if not (update.own and update.update_id in self._kept)
        }
