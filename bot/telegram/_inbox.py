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
for as long as a message is being handled, and then sealed with the database's key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from telegram import Bot, Update

from ..storage import crypto
from ..storage.journal import append_line

log = logging.getLogger(__name__)

# The file is written anew, with only the updates still open, after this many lines.
REWRITE_AFTER = 1000
# Telegram keeps an unconfirmed update for 24 hours; one kept longer here is not handled:
# whether it was handled before can no longer be told (keys are kept at least 2 days:
# `bot.rules.privacy.UPDATE_TERM_DAYS`).
MAX_AGE = timedelta(hours=24)
SEALED_CONTEXT = "update_inbox"


class Inbox:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # Taken and not yet handled: each update's line, by update id.
        self._open: dict[int, str] = {}
        # Lines in the file: past REWRITE_AFTER it is written anew with the open ones only.
        self._lines = 0
        self._lock = asyncio.Lock()

    async def keep(self, update: Update) -> bool:
        """On disk before Telegram is told the update arrived (a redelivery is kept once).
        A disk that refuses is said loudly, and the update is handled all the same: True,
        always (a redelivery too: what it changes is claimed once by its key)."""
        if update.update_id in self._open:
            return True
        # The update holds the message text: sealed like the database's copies (crypto.py).
        raw = json.dumps(update.to_dict(), ensure_ascii=False).encode()
        sealed = crypto.active().seal(raw, SEALED_CONTEXT)
        kept = {"at": datetime.now(UTC).isoformat(), "id": update.update_id, "sealed": sealed}
        line = json.dumps(kept, ensure_ascii=False) + "\n"
        async with self._lock:
            try:
                await asyncio.to_thread(self._append, line, True)
            except OSError as failed:
                log.critical("update not kept on disk", extra={"event": type(failed).__name__})
                return True
            self._open[update.update_id] = line
            self._lines += 1
        return True

    async def handled(self, update: object) -> None:
        """Done with (its effects are stored, or it failed with an apology)."""
        if not isinstance(update, Update) or update.update_id not in self._open:
            return
        async with self._lock:
            del self._open[update.update_id]
            try:
                if not self._open:
                    self.path.unlink(missing_ok=True)
                    self._lines = 0
                elif self._lines >= REWRITE_AFTER:
                    # Busy for long: the handled ones' text goes, the open ones stay.
                    await asyncio.to_thread(self._rewrite, list(self._open.values()))
                    self._lines = len(self._open)
                else:
                    # Not synced: a lost mark only means the update is handled again.
                    done = json.dumps({"done": update.update_id}) + "\n"
                    await asyncio.to_thread(self._append, done, False)
                    self._lines += 1
            except OSError as failed:  # handled all the same; at worst handled again later
                log.error("inbox not updated", extra={"event": type(failed).__name__})

    async def handed_over(self) -> None:
        """What `unhandled` read at start is kept elsewhere now (in the database, for every
        process): the file goes, unless an update of this run is open in it."""
        async with self._lock:
            if not self._open:
                self.path.unlink(missing_ok=True)
                self._lines = 0

    def unhandled(self, bot: Bot, max_age: timedelta = MAX_AGE) -> list[Update]:
        """What a previous run took and never finished, oldest first (read at start). Older
        than `max_age` is dropped: its update's key may no longer be on record as handled."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        since = datetime.now(UTC) - max_age
        taken: dict[int, dict[str, Any]] = {}
        stale = 0
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                if "done" in entry:
                    taken.pop(int(entry["done"]), None)
                elif datetime.fromisoformat(entry["at"]) < since:
                    stale += 1
                elif "sealed" in entry:
                    opened = crypto.open_sealed(entry["sealed"], SEALED_CONTEXT)
                    taken[int(entry["id"])] = json.loads(opened)
                else:  # written before sealing
                    taken[int(entry["update"]["update_id"])] = entry["update"]
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by the crash: its update was never confirmed
        updates = []
        for update_id in sorted(taken):
            update = Update.de_json(taken[update_id], bot)
            if update is not None:
                updates.append(update)
        if updates or stale:
            log.warning(
                "updates handled again after a restart",
                extra={"count": len(updates), "event": f"{stale} too old"},
            )
        return updates

    def _append(self, line: str, sync: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        append_line(self.path, line, sync=sync)

    def _rewrite(self, lines: list[str]) -> None:
        fresh = self.path.with_name(self.path.name + ".new")
        fresh.unlink(missing_ok=True)
        append_line(fresh, "".join(lines))
        os.replace(fresh, self.path)


class Keeper(Protocol):
    async def keep(self, update: Update) -> bool:
        """Kept until handled; False: a second delivery, not to be handled."""
        ...


class KeepingQueue(asyncio.Queue[object]):
    """The Application's update queue: an update is kept (in the inbox, or in the database
    for every process: `_shared.py`) before it is queued, so python-telegram-bot confirms
    it to Telegram only once it is safe."""

    def __init__(self, inbox: Keeper) -> None:
        super().__init__()
        self.inbox = inbox

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and not await self.inbox.keep(item):
            return
        await super().put(item)
