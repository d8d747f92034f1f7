"""The fake Bot API must answer python-telegram-bot the way api.telegram.org does, or the
end-to-end tests of the Telegram channel prove nothing: these tests drive it with the real PTB
stack (Bot, Application, Updater in polling and webhook mode) and check request decoding
(urlencoded, JSON, multipart), the envelopes and errors PTB builds its exceptions from, long
polling, and the helpers the end-to-end tests lean on.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import socket
import time

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.fakes.bot_api import FakeBotAPI, User

# Invented people: one per language shape Telegram sends (plain, region, lower-case region).
NOOR = User(1001, "Noor", "nl", last_name="Testhuis")
SAMIR = User(1002, "Samir", "ar-SA")
BIA = User(1003, "Bia", "pt-br", username="bia_test_family")

KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Ja", callback_data="a:1"),
            InlineKeyboardButton("Nee", callback_data="a:2"),
        ]
    ]
)


@pytest.fixture
async def api():
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotAPI):
    async with Bot(api.token, base_url=api.base_url) as bot:
        yield bot


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ------------------------------------------------------------------------- Bot methods


async def test_get_me_gives_the_fixed_bot_identity(api: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()

    assert (me.id, me.is_bot, me.username) == (7000000001, True, "wegwijzer_test_bot")
    assert bot.username == "wegwijzer_test_bot"  # initialize() called getMe too
    assert [c.method for c in api.calls] == ["getMe", "getMe"]


async def test_a_wrong_token_is_unauthorized(api: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("123:wrong", base_url=api.base_url):
            pass

    assert api.calls[-1].status == 401


async def test_unknown_method_and_raw_bodies(api: FakeBotAPI) -> None:
    api.register(NOOR)
    async with httpx.AsyncClient(base_url=f"{api.base_url}{api.token}") as client:
        unknown = await client.post("/sendTelepathy", data={"chat_id": "1001"})
        as_json = await client.post(
            "/sendMessage",
            json={"chat_id": 1001, "text": "json", "reply_markup": KEYBOARD.to_dict()},
        )
        as_form = await client.post(
            "/SENDMESSAGE",  # method names are case-insensitive
            data={"chat_id": "1001", "text": "form", "reply_markup": KEYBOARD.to_json()},
        )

    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert as_json.json()["result"]["reply_markup"] == KEYBOARD.to_dict()
    assert as_form.json()["result"]["reply_markup"] == KEYBOARD.to_dict()
    assert [c.params["chat_id"] for c in api.calls_of("sendMessage")] == [1001, 1001]


async def test_send_message_with_inline_keyboard_then_edit(api: FakeBotAPI, bot: Bot) -> None:
    api.register(NOOR)

    first = await bot.send_message(NOOR.id, "Gaat het goed?", reply_markup=KEYBOARD)
    second = await bot.send_message(NOOR.id, "Tweede bericht")

    assert (first.message_id, second.message_id) == (1, 2)
    assert first.reply_markup == KEYBOARD
    assert first.from_user.username == "wegwijzer_test_bot"
    assert first.chat.first_name == "Noor"
    assert [m["text"] for m in api.sent(NOOR.id)] == ["Gaat het goed?", "Tweede bericht"]

    edited = await bot.edit_message_text("Je koos: ja", chat_id=NOOR.id, message_id=1)

    # Like Telegram: an edit that does not repeat the inline keyboard removes it.
    assert edited.text == "Je koos: ja"
    assert edited.reply_markup is None
    assert "reply_markup" not in api.sent(NOOR.id)[0]
    assert "edit_date" in api.sent(NOOR.id)[0]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Je koos: ja", chat_id=NOOR.id, message_id=1)

    await bot.edit_message_reply_markup(NOOR.id, 2, reply_markup=KEYBOARD)
    assert api.last_message(NOOR.id)["reply_markup"] == KEYBOARD.to_dict()
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("?", chat_id=NOOR.id, message_id=9)


async def test_pressing_a_button_and_answering_the_callback(api: FakeBotAPI, bot: Bot) -> None:
    api.register(SAMIR)
    message = await bot.send_message(SAMIR.id, "Kies", reply_markup=KEYBOARD)

    query_id = api.press(SAMIR, api.last_message(SAMIR.id), "a:2")
    [update] = await bot.get_updates(timeout=0)
    await bot.answer_callback_query(query_id, text="Opgeslagen")

    query = update.callback_query
    assert (query.id, query.data, query.message.message_id) == (query_id, "a:2", 1)
    assert query.from_user.language_code == "ar-SA"
    assert api.answered_callbacks == {query_id: {"text": "Opgeslagen"}}
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(ValueError, match="no button"):
        api.press(SAMIR, message.message_id, "a:9")


async def test_commands_per_scope_and_language(api: FakeBotAPI, bot: Bot) -> None:
    commands = [BotCommand("checkin", "Check-in doen"), BotCommand("help", "Hulp")]

    await bot.set_my_commands(commands, scope=BotCommandScopeChat(1001), language_code="nl")
    await bot.set_my_commands([BotCommand("start", "Begin")])

    assert api.commands == {
        ("chat:1001", "nl"): [c.to_dict() for c in commands],
        ("default", ""): [{"command": "start", "description": "Begin"}],
    }
    # Telegram takes two-letter codes only, and lower-case commands only.
    with pytest.raises(BadRequest, match=r"(?i)invalid language code"):
        await bot.set_my_commands(commands, language_code="pt-br")
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("checkIn", "x")])
    await bot.set_my_commands([], scope=BotCommandScopeDefault())  # an empty list clears
    assert list(api.commands) == [("chat:1001", "nl")]


async def test_send_photo_uploads_bytes_as_multipart(api: FakeBotAPI, bot: Bot) -> None:
    api.register(BIA)
    png = b"\x89PNG\r\n\x1a\n fake image bytes"

    message = await bot.send_photo(BIA.id, photo=png, caption="Overzicht")

    [call] = api.calls_of("sendPhoto")
    assert call.files["photo"] == png
    assert message.caption == "Overzicht"
    assert len(message.photo) == 3 and message.photo[-1].width == 800
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(BIA.id, photo=png, caption="x" * 1025)


async def test_injected_server_errors_have_no_effect(api: FakeBotAPI, bot: Bot) -> None:
    api.register(NOOR)
    api.fail_next("sendMessage", 500, times=2)

    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(NOOR.id, "Noodnummers")
    await bot.send_message(NOOR.id, "Noodnummers")

    assert [c.status for c in api.calls_of("sendMessage")] == [500, 500, 200]
    assert [m["text"] for m in api.sent(NOOR.id)] == ["Noodnummers"]


async def test_plain_text_and_inline_keyboards_only(api: FakeBotAPI, bot: Bot) -> None:
    """The bot sends plain text with callback buttons: anything else is refused, so a change
    that starts to use formatting or other keyboards is noticed here, not by a family."""
    api.register(NOOR)

    with pytest.raises(BadRequest, match=r"(?i)plain text only"):
        await bot.send_message(NOOR.id, "<b>Hallo</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)inline keyboards only"):
        await bot.send_message(NOOR.id, "Taal?", reply_markup=ReplyKeyboardMarkup([["nl"]]))
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(NOOR.id, "  \n ")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(NOOR.id, "x" * 4097)
    # 4096 UTF-16 units, counted like Telegram: an emoji is two.
    await bot.send_message(NOOR.id, "🆘" * 2048)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(NOOR.id, "🆘" * 2048 + "x")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        button = InlineKeyboardButton("Ja", callback_data="x" * 65)
        await bot.send_message(NOOR.id, "Ja?", reply_markup=InlineKeyboardMarkup([[button]]))


async def test_unknown_chats_and_blocked_chats(api: FakeBotAPI, bot: Bot) -> None:
    api.register(NOOR)
    await bot.send_message(NOOR.id, "Tot straks")

    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(4242, "Wie ben jij?")
    api.block(NOOR.id)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(NOOR.id, "Hallo?")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("Hallo?", chat_id=NOOR.id, message_id=1)

    assert api.calls[-1].status == 403
    api.unblock(NOOR.id)
    await bot.send_message(NOOR.id, "Weer bereikbaar")


async def test_injected_429_carries_retry_after(api: FakeBotAPI, bot: Bot) -> None:
    api.register(NOOR)
    api.fail_next("sendMessage", 429, retry_after=7)

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(NOOR.id, "Eerste poging")
    await bot.send_message(NOOR.id, "Tweede poging")

    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert [m["text"] for m in api.sent(NOOR.id)] == ["Tweede poging"]
    assert api.rejected_429 == 0  # only flood control counts there


# ------------------------------------------------------------------------- flood control


class SteppedClock:
    """A monotonic clock the test moves by hand: flood control is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _flood_429(retry_after: int) -> dict[str, object]:
    return {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


async def test_flood_control_is_off_by_default() -> None:
    clock = SteppedClock()  # time stands still: every send falls in the same second
    async with FakeBotAPI(monotonic=clock) as api:
        api.register(NOOR)
        async with Bot(api.token, base_url=api.base_url) as bot:
            for n in range(40):
                await bot.send_message(NOOR.id, f"bericht {n}")
            await bot.edit_message_text("bewerkt", chat_id=NOOR.id, message_id=1)

        assert len(api.sent(NOOR.id)) == 40
        assert api.rejected_429 == 0
        assert api.send_times == [clock.now] * 41  # recorded with the limit off too
        assert api.peak_sends_per_second() == 41


async def test_over_the_global_limit_answers_429_like_telegram() -> None:
    clock = SteppedClock()
    async with FakeBotAPI(flood_limit_per_second=3, monotonic=clock) as api:
        for user in (NOOR, SAMIR, BIA):
            api.register(user)
        async with (
            Bot(api.token, base_url=api.base_url) as bot,
            httpx.AsyncClient(base_url=f"{api.base_url}{api.token}") as client,
        ):
            for user in (NOOR, SAMIR, BIA):
                await bot.send_message(user.id, "Herinnering")
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(NOOR.id, "Een te veel")
            clock.now += 0.5
            raw = await client.post("/sendMessage", data={"chat_id": "1002", "text": "nog"})
            # Reading and the bot's settings are not flood-controlled.
            await bot.get_me()
            await bot.set_my_commands([BotCommand("help", "Hulp")])
            assert await bot.get_updates(timeout=0) == ()
            clock.now += 0.5  # the first three sends leave the window now
            later = await bot.send_message(NOOR.id, "Later wel")

        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        assert (raw.status_code, raw.json()) == (429, _flood_429(1))
        assert api.rejected_429 == 2
        assert [c.status for c in api.calls_of("sendMessage")] == [200, 200, 200, 429, 429, 200]
        # A rejected send has no effect: no message, no message_id used up, no send time.
        assert [m["text"] for m in api.sent(NOOR.id)] == ["Herinnering", "Later wel"]
        assert [m["text"] for m in api.sent(SAMIR.id)] == ["Herinnering"]
        assert later.message_id == 2
        assert api.send_times == [1000.0, 1000.0, 1000.0, 1001.0]
        assert api.peak_sends_per_second() == 3


async def test_per_chat_limit_like_telegrams_one_message_per_chat_per_second() -> None:
    clock = SteppedClock()
    async with FakeBotAPI(per_chat_per_second=1, monotonic=clock) as api:
        for user in (NOOR, SAMIR):
            api.register(user)
        async with Bot(api.token, base_url=api.base_url) as bot:
            with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
                await bot.send_message(NOOR.id, " ")  # a failed send fills no window
            await bot.send_message(NOOR.id, "1", reply_markup=KEYBOARD)
            await bot.send_message(SAMIR.id, "1")  # another chat has its own window
            with pytest.raises(RetryAfter):
                await bot.send_message(NOOR.id, "2")
            with pytest.raises(RetryAfter):  # edits count like sends
                await bot.edit_message_reply_markup(NOOR.id, 1, reply_markup=None)
            query_id = api.press(NOOR, 1, "a:1")
            await bot.answer_callback_query(query_id)  # not limited
            clock.now += 1
            await bot.send_message(NOOR.id, "2")

            # Telegram's 20 messages a minute in groups: one per three seconds.
            api.limit_rate(per_second=None, per_chat_per_second=20 / 60)
            await bot.send_message(NOOR.id, "3")
            clock.now += 2.5
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(NOOR.id, "4")
            api.unlimit_rate()
            await bot.send_message(NOOR.id, "4")

        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        assert [m["text"] for m in api.sent(NOOR.id)] == ["1", "2", "3", "4"]
        assert api.sent(NOOR.id)[0]["reply_markup"] == KEYBOARD.to_dict()  # edit had no effect
        assert api.rejected_429 == 3


async def test_a_longer_window_asks_to_wait_longer() -> None:
    clock = SteppedClock()
    async with FakeBotAPI(per_chat_per_second=20 / 60, monotonic=clock) as api:
        api.register(NOOR)
        async with httpx.AsyncClient(base_url=f"{api.base_url}{api.token}") as client:
            first = await client.post("/sendMessage", data={"chat_id": "1001", "text": "a"})
            second = await client.post("/sendMessage", data={"chat_id": "1001", "text": "b"})

    assert first.status_code == 200
    assert (second.status_code, second.json()) == (429, _flood_429(3))
    with pytest.raises(ValueError, match="positive"):
        FakeBotAPI(flood_limit_per_second=0)


async def test_sends_up_to_the_limit_are_all_accepted() -> None:
    clock = SteppedClock()
    async with FakeBotAPI(
        flood_limit_per_second=30,
        per_chat_per_second=1,
        monotonic=clock,
        require_known_chats=False,
    ) as api:
        async with Bot(api.token, base_url=api.base_url) as bot:
            for second in range(2):
                for chat in range(30):
                    await bot.send_message(5000 + chat, f"herinnering {second}")
                clock.now += 1
            clock.now -= 1
            with pytest.raises(RetryAfter):
                await bot.send_message(6000, "de 31e in deze seconde")

        assert api.rejected_429 == 1
        assert len(api.send_times) == 60
        assert api.peak_sends_per_second() == 30
        assert all(len(api.sent(5000 + chat)) == 2 for chat in range(30))


def _limited_bot(api: FakeBotAPI, limiter: AIORateLimiter) -> ExtBot:
    # A connection per concurrent send, as ApplicationBuilder's default pool allows.
    return ExtBot(
        api.token,
        base_url=api.base_url,
        rate_limiter=limiter,
        request=HTTPXRequest(connection_pool_size=64),
    )


async def test_aio_rate_limiter_paced_for_a_sliding_window_gets_no_429() -> None:
    # AIORateLimiter is a leaky bucket: it lets `overall_max_rate` through at once and then
    # `overall_max_rate / overall_time_period` per second. A burst of 1 at 25/s can never put
    # 30 sends in one sliding second, even when the sends reach the server unevenly.
    limiter = AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 25)
    async with FakeBotAPI(flood_limit_per_second=30, require_known_chats=False) as api:
        async with _limited_bot(api, limiter) as bot:
            await asyncio.gather(*(bot.send_message(7000 + n, "Herinnering") for n in range(60)))

        assert api.rejected_429 == 0
        assert len(api.send_times) == 60
        assert all(len(api.sent(7000 + n)) == 1 for n in range(60))
        assert api.peak_sends_per_second() <= 30


async def test_default_aio_rate_limiter_bursts_past_a_sliding_window() -> None:
    # PTB's default (30 per 1 s, a leaky bucket) sends 30 at once and the 31st ~33 ms later,
    # so a sliding-second limit of 30 rejects it: pace a fan-out as in the test above.
    async with FakeBotAPI(flood_limit_per_second=30, require_known_chats=False) as api:
        async with _limited_bot(api, AIORateLimiter()) as bot:
            results = await asyncio.gather(
                *(bot.send_message(8000 + n, "Herinnering") for n in range(31)),
                return_exceptions=True,
            )

        assert [type(r) for r in results if isinstance(r, Exception)] == [RetryAfter]
        assert api.rejected_429 == 1
        assert len(api.send_times) == 30


# ------------------------------------------------------------------------- updates


async def test_long_polling_waits_for_an_update_and_honours_offset(
    api: FakeBotAPI, bot: Bot
) -> None:
    async def type_later() -> None:
        await asyncio.sleep(0.1)
        api.send_text(NOOR, "Goedemorgen")

    started = time.monotonic()
    typing = asyncio.create_task(type_later())
    updates = await bot.get_updates(timeout=3)
    await typing

    assert time.monotonic() - started < 1  # answered on arrival, not after the timeout
    [update] = updates
    assert update.message.text == "Goedemorgen"
    assert update.effective_user.language_code == "nl"

    api.send_text(NOOR, "nog een")
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [100_000, 100_001]
    assert len(await bot.get_updates(offset=100_001, limit=1)) == 1
    assert await bot.get_updates(offset=100_002, timeout=0) == ()
    assert api.pending_updates == []


async def test_empty_long_poll_returns_after_its_timeout(api: FakeBotAPI, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=0.2) == ()
    assert 0.15 < time.monotonic() - started < 1


async def test_update_builders_give_realistic_updates(api: FakeBotAPI, bot: Bot) -> None:
    api.send_command(BIA, "/start", "INV-7KQ2")
    api.send_photo(NOOR, caption="foto")
    api.send_sticker(NOOR)
    api.send_voice(NOOR)
    api.send_document(NOOR)
    api.send_text(NOOR, "dubbel", update_id=555)
    api.send_text(NOOR, "dubbel", update_id=555)  # Telegram delivering an update twice

    updates = await bot.get_updates()

    start = updates[0].message
    assert start.text == "/start INV-7KQ2"
    assert start.parse_entities() == {start.entities[0]: "/start"}
    assert start.from_user.username == "bia_test_family"
    photo, sticker, voice, document = (u.message for u in updates[1:5])
    assert photo.photo[-1].file_id and photo.caption == "foto"
    assert sticker.sticker.emoji == "👍"
    assert voice.voice.mime_type == "audio/ogg"
    assert document.document.file_name == "verslag.pdf"
    assert [u.update_id for u in updates[5:]] == [555, 555]
    # One chat, one message_id sequence, as in a private chat.
    assert [u.message.message_id for u in updates[1:]] == [1, 2, 3, 4, 5, 6]


async def test_wait_for_gives_up_with_the_recent_calls(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(AssertionError, match=r"getMe\(200\)"):
        await api.wait_for(lambda calls: len(api.calls_of("sendMessage")) > 0, timeout=0.05)


# ------------------------------------------------------------------------- Application


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(f"echo: {update.message.text}")


async def test_application_polling_round_trip(api: FakeBotAPI) -> None:
    app = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        api.send_text(NOOR, "hallo")
        [reply] = await api.wait_for(lambda _calls: api.sent(NOOR.id))
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    assert reply["text"] == "echo: hallo"
    assert api.calls_of("deleteWebhook")  # the updater's bootstrap
    assert api.pending_updates == []  # confirmed by the updater's last getUpdates


async def test_application_webhook_round_trip(api: FakeBotAPI) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hook"
    app = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    await app.initialize()
    await app.start()
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="hook",
        webhook_url=url,
        secret_token="s3cret-token",
        allowed_updates=["message", "callback_query"],
    )
    try:
        assert api.webhook["url"] == url
        assert api.webhook["secret_token"] == "s3cret-token"
        assert api.webhook["allowed_updates"] == ["message", "callback_query"]
        update = api.send_text(NOOR, "via webhook")
        assert await api.post_update_to_webhook(url, update, "wrong") == 403
        assert api.updates_handed_out == 0  # refused: not handed to the bot
        assert await api.deliver_to_webhook() == [200]
        assert api.updates_handed_out == 1
        [reply] = await api.wait_for(lambda _calls: api.sent(NOOR.id))
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    assert reply["text"] == "echo: via webhook"
    assert api.pending_updates == []


async def test_get_updates_conflicts_with_a_webhook(api: FakeBotAPI, bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:1/hook", secret_token="abc")

    assert api.webhook["url"] == "http://127.0.0.1:1/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()
    assert api.webhook == {"url": ""}


async def test_updates_handed_out_count_each_update_once(api: FakeBotAPI, bot: Bot) -> None:
    """What the end-to-end tests' "the bot is idle" rests on: each queued update counts once
    when a poll first returns it, however often it is returned, and only if it is."""
    api.send_text(NOOR, "een")
    api.send_text(NOOR, "twee")
    assert api.updates_handed_out == 0
    first = await bot.get_updates(timeout=0)
    again = await bot.get_updates(timeout=0)  # no offset: the same two again
    assert len(first) == len(again) == 2 and api.updates_handed_out == 2
    await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)  # confirmed
    api.send_text(NOOR, "drie")
    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])  # filtered out
    assert api.updates_handed_out == 2
    await bot.get_updates(timeout=0, allowed_updates=["message"])
    assert api.updates_handed_out == 2  # dropped by the filter before: never handed out


async def test_a_fault_for_one_chat_leaves_the_others_alone(api: FakeBotAPI, bot: Bot) -> None:
    api.register(NOOR)
    api.register(SAMIR)
    api.fail_next("sendMessage", 500, chat_id=SAMIR.id)
    await bot.send_message(NOOR.id, "voor Noor")
    with pytest.raises(NetworkError):
        await bot.send_message(SAMIR.id, "for Samir")
    await bot.send_message(SAMIR.id, "for Samir, again")
    assert [m["text"] for m in api.sent(SAMIR.id)] == ["for Samir, again"]


async def test_groups_and_edits_as_telegram_sends_them(api: FakeBotAPI, bot: Bot) -> None:
    api.add_group(-4242, "Buurt")
    with pytest.raises(ValueError):
        api.add_group(4242)  # group ids are negative
    in_group = api.send_text(NOOR, "hallo groep", group=-4242)
    assert in_group["message"]["chat"] == {"id": -4242, "type": "group", "title": "Buurt"}
    await bot.send_message(-4242, "antwoord")
    assert [m["text"] for m in api.sent(-4242)] == ["antwoord"]

    own = api.send_text(NOOR, "eerst")
    edited = api.edit_text(NOOR, own["message"], "daarna")
    assert edited["edited_message"]["text"] == "daarna" and "edit_date" in edited["edited_message"]
    with pytest.raises(ValueError):
        api.edit_text(SAMIR, own["message"], "not mine")
    updates = await bot.get_updates(timeout=0)
    assert updates[-1].edited_message is not None
    assert updates[-1].edited_message.text == "daarna"
