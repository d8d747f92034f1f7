"""Stopping the bot with something beside it (`run --with-web`: the web view): what stops
first may still queue a notice on its way out, and the bot, not yet stopping, sends it."""

from __future__ import annotations

from bot.app import Wegwijzer
from bot.engine import Text
from bot.services.notices import Notice, queue
from bot.services.people import Recipient
from bot.telegram._channel import CHANNEL
from tests.fakes.bot_api import FakeBotAPI

from .conftest import RunningBot, staff


async def test_a_notice_queued_while_the_web_view_stops_is_sent_before_the_bot_stops(
    wegwijzer: Wegwijzer, api: FakeBotAPI
) -> None:
    app = wegwijzer
    running = RunningBot(app)
    await running.start()
    coordinator = await staff(api, app, 7001, "coordinator", None)
    async with app.database.reading() as uow:
        person = await uow.people.get(CHANNEL, coordinator.user.id)
    assert person is not None
    stopped_first: list[bool] = []

    async def web_view_stopping() -> None:
        # A web action finishing during the grace time: its notice goes to the outbox.
        stopped_first.append(running.activity.running.is_set())
        recipient = Recipient(person.id, CHANNEL, str(coordinator.user.id), "en")
        async with app.database.transaction() as uow:
            await queue(
                uow, [Notice(recipient, Text("Invented: flag 1 assigned to you."))], app.clock()
            )

    running.before_stopping = web_view_stopping
    await running.stop()  # the one started above had no hook: start again with it
    await running.start()
    await running.stop()
    assert stopped_first == [True]  # called while the bot still ran
    texts = [message.get("text", "") for message in api.sent(coordinator.user.id)]
    assert "Invented: flag 1 assigned to you." in texts
    async with app.database.reading() as uow:
        assert (await uow.outbox.counts()).get("queued", 0) == 0
