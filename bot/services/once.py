"""Handling each incoming update once, however often it arrives.

Telegram may deliver an update twice (a webhook retried, a poll repeated after a crash).
Each update's key is recorded in the same transaction as what it changed: if the
transaction commits, a second delivery finds the key and does nothing; if it rolls back,
the key goes with it and the update can be handled again.

The keys are forgotten after privacy.yaml's `processed_updates` term (2 to 7 days, see
`bot.rules.privacy.UPDATE_TERM_DAYS`), by `retention.forget_old_updates`.
"""

from __future__ import annotations

from datetime import datetime

from ..app import Wegwijzer
from ..storage import UnitOfWork


class AlreadyHandled(Exception):
    """This update was handled before; nothing is done a second time."""


async def claim(uow: UnitOfWork, key: str | None, now: datetime) -> None:
    """Record `key` in the caller's transaction; raise AlreadyHandled when it was there."""
    if key is not None and not await uow.updates.claim(key, now):
        raise AlreadyHandled(key)


async def first_time(app: Wegwijzer, key: str | None) -> bool:
    """For updates that change nothing but a reply (/help): record them on their own."""
    if key is None:
        return True
    async with app.database.transaction() as uow:
        return await uow.updates.claim(key, app.clock())
