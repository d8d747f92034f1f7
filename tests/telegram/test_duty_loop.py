"""The bot's duty loops: one failing duty must not take another's notices with it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from bot.services.duties import CONTACT_DUTIES, FLAG_DUTIES
from bot.telegram import Activity, _do_duties
from tests.telegram.conftest import until


class Channel:
    app: Any = None


async def test_a_failing_duty_does_not_stop_the_next_or_the_loop() -> None:
    calls = 0

    async def broken(_app: Any) -> list[str]:
        nonlocal calls
        calls += 1
        raise RuntimeError("database went away")

    told = 0

    async def telling(_app: Any) -> list[str]:
        nonlocal told
        told += 1
        return ["an urgent flag"]

    activity = Activity()
    loop = asyncio.create_task(_do_duties(Channel(), 0.001, "flags", (broken, telling), activity))
    # Several rounds: the loop outlived the failures.
    await until(lambda: activity.rounds_done.get("flags", 0) >= 3, 5, what="three rounds")
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop
    assert calls >= 3
    assert told >= 3


def test_flags_and_contact_have_their_own_loops() -> None:
    """Reminders paced to Telegram's limit must not hold up an escalation: separate loops."""
    assert not set(FLAG_DUTIES) & set(CONTACT_DUTIES)
    assert "escalation_notices" in {duty.__name__ for duty in FLAG_DUTIES}
    assert "reminder_notices" in {duty.__name__ for duty in CONTACT_DUTIES}
