"""The inbox: every update taken from Telegram is on disk until it has been handled.

Telegram forgets an update once the bot confirms it — by asking for the next ones (polling)
or by answering 200 (webhook) — and python-telegram-bot confirms as soon as the update is in
its queue, long before it is handled. A process killed in between (an answer waiting for a
locked database, say) would lose it. So the queue the Application reads from writes each
update here first, one JSON line flushed to disk (fsync), before python-telegram-bot goes on
to confirm it; when the update has been handled its id is marked done. At start, what was
taken but never marked done is handled again. Handling an update twice changes nothing
twice: what it stores is claimed once by the update's key (`services.once`), an alarm is
journaled under that key, and an answer handled before is answered with the question now
waiting.

The file belongs to one bot process (beside its alarm journal), is readable by the bot's
user only (0600), and is emptied whenever nothing is in flight: it holds message text only
for as long as a message is being handled.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from telegram import Bot, Update

from ..storage.journal import append_line

log = logging.getLogger(__name__)


class Inbox:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # Taken and not yet handled, by update id.
        self._open: set[int] = set()

        self._lock = asyncio.Lock()

    async def keep(self, update: Update) -> None:
        """On disk before Telegram is told the update arrived (a redelivery is kept once)."""
        if update.update_id in self._open:
            return
        self._open.add(update.update_id)
        line = json.dumps({"update": update.to_dict()}, ensure_ascii=False) + "\n"
        async with self._lock:
            await asyncio.to_thread(self._append, line, True)

    async def handled(self, update: object) -> None:
        """Done with (its effects are stored, or it failed with an apology)."""
        if not isinstance(update, Update) or update.update_id not in self._open:
            return
        self._open.discard(update.update_id)
        async with self._lock:
            if self._open:
                # Not synced: a lost mark only means the update is handled again, harmlessly.
                done = json.dumps({"done": update.update_id}) + "\n"
                await asyncio.to_thread(self._append, done, False)
            else:
                self.path.unlink(missing_ok=True)

    def unhandled(self, bot: Bot) -> list[Update]:
        """What a previous run took and never finished, oldest first (read at start)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        taken: dict[int, dict[str, Any]] = {}
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by the crash: its update was never confirmed
            if "done" in entry:
                taken.pop(int(entry["done"]), None)
            elif "update" in entry:
                data = entry["update"]
                taken[int(data["update_id"])] = data
        updates = []
        for update_id in sorted(taken):
            update = Update.de_json(taken[update_id], bot)
            if update is not None:
                updates.append(update)
        if updates:
            log.warning("updates handled again after a restart", extra={"count": len(updates)})
        return updates

    def _append(self, line: str, sync: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        append_line(self.path, line, sync=sync)


class KeepingQueue(asyncio.Queue[object]):
    """The Application's update queue: an update is kept in the inbox before it is queued,
    so python-telegram-bot confirms it to Telegram only once it is on disk."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self.inbox = inbox

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            await self.inbox.keep(item)
        await super().put(item)
