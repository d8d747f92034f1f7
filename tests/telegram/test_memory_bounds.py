"""What the bot keeps in memory per person is bounded (issue #16: memory does not grow with
the number of people served). Sizes of structures, not memory figures: `wegwijzer bench`
measures the bytes."""

from __future__ import annotations

from bot.conversation.emergency import Acquaintances, Known
from bot.telegram import PerPersonUpdateProcessor, TelegramChannel, build_application
from bot.telegram._channel import CHANNEL
from tests.bench.open_runs import open_checkins
from tests.fakes.bot_api import FakeBotAPI, User


def test_acquaintances_forget_the_oldest_beyond_their_capacity() -> None:
    acquaintances = Acquaintances(capacity=3)
    for number in range(10):
        acquaintances.remember(CHANNEL, str(number), Known("family", "nl"))
    acquaintances.remember("console", "0", Known("caseworker", "en"))
    assert len(acquaintances) == 3 + 1  # the capacity is each channel's
    people = {number: _of(acquaintances, CHANNEL, str(number)) for number in range(10)}
    assert [n for n, known in people.items() if known is not None] == [7, 8, 9]
    # Everyone with the same role and language shares one Known: a person costs their id.
    assert people[7] is people[8] is people[9]
    assert people[9] == Known("family", "nl")


def test_a_person_met_again_is_the_most_recent() -> None:
    acquaintances = Acquaintances(capacity=2)
    for external_id in ("a", "b", "a", "c"):
        acquaintances.remember(CHANNEL, external_id, Known("family", "nl"))
    assert _of(acquaintances, CHANNEL, "b") is None
    assert _of(acquaintances, CHANNEL, "a") is not None
    acquaintances.remember(CHANNEL, "a", None)  # a stranger now: forgotten
    assert _of(acquaintances, CHANNEL, "a") is None
    assert len(acquaintances) == 1


async def test_serving_many_people_leaves_a_bounded_trace(app) -> None:
    """Forty families answer a question, each for the first time: python-telegram-bot keeps
    nothing of them (it marked every chat and user for a persistence the bot does not have,
    in sets nothing emptied), no lock is left, and the bot remembers at most its capacity."""
    people = 40
    ids = [int(i) for i in await open_checkins(app, people)]
    async with FakeBotAPI() as api:
        users = [User(i, "Family") for i in ids]
        for user in users:
            api.register(user)
        application = build_application(app, token=api.token, base_url=api.base_url)
        channel: TelegramChannel = application.bot_data["channel"]
        channel.conversation.acquaintances.capacity = 10
        async with application:
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=1)
            try:
                for user in users:
                    api.send_command(user, "checkin")
                await api.wait_for(lambda _: api.count("sendMessage") >= people, 30)
                for user in users:
                    question = api.last_message(user.id)
                    data = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                    api.press(user, question, data)
                await api.wait_for(lambda _: api.count("editMessageText") >= people, 30)
                await api.wait_for(lambda _: api.count("sendMessage") >= 2 * people, 30)
            finally:
                await application.updater.stop()
                await application.stop()
    # PTB's own sets (private; what its persistence would empty): checked by name, so that a
    # PTB upgrade that renames them fails here rather than leaking unseen.
    assert application._user_ids_to_be_updated_in_persistence == set()
    assert application._chat_ids_to_be_updated_in_persistence == set()
    assert not application.user_data and not application.chat_data
    processor = application.update_processor
    assert isinstance(processor, PerPersonUpdateProcessor)
    assert processor.people_in_flight == 0
    assert len(channel.conversation.acquaintances) == 10


def _of(acquaintances: Acquaintances, channel: str, external_id: str) -> Known | None:
    from bot.conversation.exchange import Incoming, Typed

    return acquaintances.of(Incoming(channel, external_id, Typed("hallo")))
