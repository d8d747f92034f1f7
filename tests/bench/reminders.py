"""`wegwijzer bench`, part two: the reminder fan-out against Telegram's flood limit.

A morning's check-in reminders are many messages at once, and Telegram answers 429 ("retry
after") to a bot that sends more than about 30 a second. This bench gives `reminders` families
a schedule that is due now, and lets the bot do what its duties loop does — claim the due
reminders, then send them through the real python-telegram-bot stack with its rate limiter —
against the fake Bot API enforcing the limit (`limit` a second overall, one a second per
chat). It reports the achieved rate as a fraction of the limit (issue #7's target: at least
0.9) and the number of 429s (target: none).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app import Wegwijzer
from bot.bootstrap import bootstrap
from bot.rules.cadence import parse_cadence
from bot.rules.people import Participant
from bot.services.cases import create_case
from bot.services.duties import immediate_notices
from bot.services.schedules import reminder_notices
from bot.telegram import build_application, deliver_due_notices
from bot.telegram._channel import CHANNEL
from tests.bench.settings import bench_settings
from tests.fakes.bot_api import FakeBotAPI, User
from tests.world import add_person, external_id, raise_flag


@dataclass(frozen=True)
class ReminderFigures:
    reminders: int
    limit_per_second: float
    delivered: int
    seconds: float  # from claiming the due reminders to the last one sent
    sending_seconds: float  # from the first message sent to the last
    rejected_429: int
    peak_per_second: int
    # An urgent notice queued two seconds into the fan-out: how long until it was sent.
    urgent_seconds: float | None = None

    @property
    def achieved_fraction(self) -> float:
        """Messages per second while sending, as a fraction of the limit."""
        if self.delivered < 2 or not self.sending_seconds:
            return 0.0
        return (self.delivered - 1) / self.sending_seconds / self.limit_per_second

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "achieved_fraction": round(self.achieved_fraction, 3)}

    def report(self) -> str:
        return "\n".join(
            [
                f"reminder fan-out            {self.delivered}/{self.reminders} delivered in "
                f"{self.seconds:.1f} s ({self.sending_seconds:.1f} s sending) against a "
                f"limit of {self.limit_per_second:g}/s",
                f"achieved rate               {self.achieved_fraction:7.3f} of the limit   "
                f"(target >= 0.9; peak {self.peak_per_second} in one second)",
                f"429 answers                 {self.rejected_429:7d}   (target 0)",
                f"urgent notice in the fan-out {self._urgent()}   (target < 2000 ms)",
            ]
        )

    def _urgent(self) -> str:
        if self.urgent_seconds is None:
            return "   not sent"
        return f"{1000 * self.urgent_seconds:6.0f} ms from queued to sent"


async def run_reminder_bench(reminders: int = 1000, limit: float = 30.0) -> ReminderFigures:
    with tempfile.TemporaryDirectory(prefix="wegwijzer-bench-") as folder:
        async with FakeBotAPI(flood_limit_per_second=limit, per_chat_per_second=1) as api:
            settings = bench_settings(
                database_url=f"sqlite:///{Path(folder) / 'reminders.db'}",
                telegram_token=api.token,
                telegram_base_url=api.base_url,
                telegram_messages_per_second=limit,
            )
            app = await bootstrap(settings)
            try:
                for user_id in await _families_due(app, reminders):
                    api.register(User(user_id, "Bench"))
                coordinator = await add_person(app, "coordinator")
                api.register(User(int(await external_id(app, coordinator)), "Coordinator"))
                application = build_application(app, token=api.token, base_url=api.base_url)
                async with application:
                    await reminder_notices(app)
                    started = time.perf_counter()
                    fan_out = asyncio.create_task(deliver_due_notices(application))
                    urgent = await _urgent_during(api, app, application, coordinator)
                    await fan_out
                    seconds = time.perf_counter() - started
            finally:
                await app.close()
            sent = api.send_times  # the reminders, and the urgent notice among them
            return ReminderFigures(
                reminders,
                limit,
                len(sent) - (urgent is not None),
                seconds,
                sent[-1] - sent[0] if sent else 0.0,
                api.rejected_429,
                api.peak_sends_per_second(),
                urgent,
            )


async def _urgent_during(
    api: FakeBotAPI, app: Wegwijzer, application: Any, coordinator: Participant
) -> float | None:
    """Two seconds into the fan-out, an alarm of a staff member: its urgent notice to the
    coordinator is queued, and the urgent sender (as `serve` runs one) sends it. The seconds
    from its queueing to its arrival at the Bot API."""
    await asyncio.sleep(2.0)
    chat = int(await external_id(app, coordinator))
    queued = api._clock()
    await raise_flag(app, None)
    await immediate_notices(app)
    await deliver_due_notices(application, urgent_only=True)
    times = [
        call.time
        for call in api.calls_of("sendMessage")
        if call.ok and call.params.get("chat_id") == chat
    ]
    return times[0] - queued if times else None


async def _families_due(app: Wegwijzer, count: int) -> list[int]:
    """`count` families, each on a case of its own with a weekly check-in reminder that came
    due a minute ago."""
    now = app.clock()
    cadence = parse_cadence("weekly mon 18:00", app.settings.timezone).as_dict()
    user_ids = []
    batch = 500
    for start in range(0, count, batch):
        async with app.database.transaction() as uow:
            for number in range(start, min(start + batch, count)):
                user_id = 700_000 + number
                case = await create_case(uow, "family_strengthening")
                person = await uow.people.add(CHANNEL, str(user_id), "family", "nl")
                await uow.people.set_consent(person.id, "given", now)
                await uow.cases.add_member(case.id, person.id)
                await uow.schedules.set(
                    case.id, "family_checkin", cadence, now - timedelta(minutes=1), now
                )
                user_ids.append(user_id)
    return user_ids
