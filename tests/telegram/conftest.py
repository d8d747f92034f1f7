"""Builders for the end-to-end tests: a fake Bot API, the real bot against it, and people.

The bot runs exactly as `wegwijzer run` runs it (`bot.telegram.serve`: the real
python-telegram-bot Application, long polling over HTTP to 127.0.0.1), on a fresh SQLite
file, with a clock the test controls. A `Person` plays one Telegram user: sends texts and
commands, presses buttons by their label, and reads what the bot sent to them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.engine import Text
from bot.services.cases import create_case
from bot.services.invites import create_invite
from bot.storage import Flag
from bot.telegram import DUTY_LOOPS, SENDERS, Activity, serve
from tests.fakes.bot_api import FakeBotAPI, User
from tests.world import Clock  # the `clock` fixture is the world's

# The number a question's option shows before its label (bot.conversation.flows.numbered).
_OPTION_NUMBER = re.compile(r"^\d+\. ")


async def until(condition: Callable[[], bool], timeout: float, *, what: str) -> None:
    """Poll `condition` (for what changes inside the bot, where the fake API sees no call)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        await asyncio.sleep(0.005)


class RunningBot:
    """`serve()` in a task; stop and start it again to play a restart. Its `activity` tells
    when it is up and when it is idle, so tests wait exactly as long as the bot needs."""

    # Duties (telling, digest, escalation) run this often, so that a test which moves the
    # clock sees their effect within a moment.
    DUTY_INTERVAL = 0.2
    # The outbox's senders look this often when not woken (notices due again after a retry).
    OUTBOX_INTERVAL = 0.5

    def __init__(self, app: Wegwijzer, webhook_url: str | None = None, port: int = 0):
        self.app = app
        self.webhook_url = webhook_url
        self.port = port
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.activity = Activity()
        # Awaited when stopped, before the bot stops (what `run --with-web` stops first).
        self.before_stopping: Callable[[], Awaitable[None]] | None = None

    async def start(self, timeout: float = 5.0) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(
            serve(
                self.app,
                webhook_url=self.webhook_url,
                listen="127.0.0.1",
                port=self.port,
                stop=self._stop,
                duty_interval=self.DUTY_INTERVAL,
                outbox_interval=self.OUTBOX_INTERVAL,
                activity=self.activity,
                before_stopping=self.before_stopping,
            )
        )
        running = asyncio.create_task(self.activity.running.wait())
        await asyncio.wait({running, self._task}, timeout=timeout, return_when="FIRST_COMPLETED")
        running.cancel()
        if self._task.done():
            self._task.result()  # serve() failed: its exception, here
        if not self.activity.running.is_set():
            await self.stop()  # not left running behind the failed test
            raise AssertionError(f"the bot was not running within {timeout}s")

    async def idle(self, api: FakeBotAPI, timeout: float = 5.0) -> None:
        """Until every update `api` has for the bot is handled and every duty loop has done a
        whole round since now (what a moved clock made due has been sent). Behind a webhook,
        updates wait in `api` until the test delivers them. Emergency numbers still being
        retried in the background are not waited for: expect them by name.

        Then, when notices were queued (by that round of duties, or an update), until the
        outbox's senders have done a round begun after that."""
        activity = self.activity
        begun = dict(activity.rounds_begun)
        await until(
            lambda: (
                (self.webhook_url or not api.pending_updates)
                and activity.updates_handled >= api.updates_handed_out
                and activity.a_round_since(begun, tuple(DUTY_LOOPS))
            ),
            timeout,
            what="the bot to be idle",
        )
        senders = tuple(SENDERS.values())
        await until(lambda: activity.notices_sent(senders), timeout, what="the notices sent")

    @classmethod
    async def after_a_kill(cls, app: Wegwijzer, api: FakeBotAPI) -> RunningBot:
        """Started after another bot process was killed: the updates that process took from
        Telegram count as handled here, or this bot would never look idle."""
        started = cls(app)
        started.activity.updates_handled = api.updates_handed_out
        await started.start()
        return started

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, timeout=15)
        self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


def _labelled(button: dict[str, Any], label: str) -> bool:
    """A button with this label; a question's option shows its number first ("1. Ja") and is
    pressed by its label."""
    return label in (button["text"], _OPTION_NUMBER.sub("", button["text"], count=1))


class Person:
    """One Telegram user talking to the bot through the fake server."""

    def __init__(self, api: FakeBotAPI, user: User):
        self.api = api
        self.user = user
        self.read = 0  # messages of the bot already looked at

    @property
    def chat_id(self) -> int:
        return self.user.id

    def messages(self) -> list[dict[str, Any]]:
        return self.api.sent(self.chat_id)

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message the bot sends to this person (waits for it)."""
        await self.api.wait_for(lambda _calls: len(self.messages()) > self.read, timeout)
        message = self.messages()[self.read]
        self.read += 1
        return message

    async def expect(self, fragment: str, timeout: float = 5.0) -> dict[str, Any]:
        message = await self.next(timeout)
        text = message.get("text") or message.get("caption") or ""
        assert fragment in text, f"expected {fragment!r} in {text!r}"
        return message

    async def skip_to(self, fragment: str, timeout: float = 5.0) -> dict[str, Any]:
        """Read on until a message contains `fragment` (those in between are not checked)."""
        while True:
            message = await self.next(timeout)
            if fragment in (message.get("text") or message.get("caption") or ""):
                return message

    async def skip_to_button(self, label: str, timeout: float = 5.0) -> dict[str, Any]:
        """The first message with a button `label`, read or not yet (the welcome may come
        after another message); reading goes on after it."""

        def with_button(_calls: object) -> int | None:
            for index, message in enumerate(self.messages()):
                rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
                if any(_labelled(button, label) for row in rows for button in row):
                    return index + 1
            return None

        try:
            found = await self.api.wait_for(with_button, timeout)
        except AssertionError as missing:
            seen = [(m.get("text", "")[:60], m.get("reply_markup")) for m in self.messages()]
            raise AssertionError(f"no button {label!r} in {seen}") from missing
        self.read = max(self.read, found)
        return self.messages()[found - 1]

    async def expect_nothing_from(self, bot: RunningBot) -> None:
        """Nothing new for this person once `bot` is idle."""
        await bot.idle(self.api)
        new = self.messages()[self.read :]
        assert not new, f"unexpected messages: {[m.get('text') for m in new]}"

    def text(self, body: str, **options: Any) -> int:
        return self.api.send_text(self.user, body, **options)

    def command(self, name: str, payload: str | None = None, **options: Any) -> int:
        return self.api.send_command(self.user, name, payload, **options)

    def button_data(self, label: str, message: dict[str, Any] | None = None) -> tuple[dict, str]:
        message = message or self.last_with_buttons()
        for row in message["reply_markup"]["inline_keyboard"]:
            for button in row:
                if _labelled(button, label):
                    return message, button["callback_data"]
        labels = [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
        raise AssertionError(f"no button {label!r}; buttons: {labels}")

    def press(self, label: str, message: dict[str, Any] | None = None, **options: Any) -> str:
        message, data = self.button_data(label, message)
        return self.api.press(self.user, message, data, **options)

    def last_with_buttons(self) -> dict[str, Any]:
        for message in reversed(self.messages()):
            if message.get("reply_markup", {}).get("inline_keyboard"):
                return message
        raise AssertionError("no message with buttons")

    async def answered(self, query_id: str, timeout: float = 5.0) -> dict[str, Any]:
        await self.api.wait_for(lambda _c: query_id in self.api.answered_callbacks, timeout)
        return self.api.answered_callbacks[query_id]


@pytest.fixture
async def api():
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
def settings(sqlite_url: str, api: FakeBotAPI, tmp_path: Path) -> Settings:
    return replace(
        Settings(),
        database_url=sqlite_url,
        alarm_journal=tmp_path / "alarms.jsonl",
        telegram_token=api.token,
        telegram_base_url=api.base_url,
        # The fake API sets no flood limit unless a test asks for one (those tests set this
        # too): pacing every send at Telegram's 30 a second would only slow the tests down.
        telegram_messages_per_second=1000.0,
    )


@pytest.fixture
async def wegwijzer(settings: Settings, clock: Clock, assets: Assets):
    app = await bootstrap(settings, clock=clock, assets=assets)
    yield app
    await app.close()


@pytest.fixture
async def bot(wegwijzer: Wegwijzer):
    running = RunningBot(wegwijzer)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def case_code(wegwijzer: Wegwijzer) -> str:
    async with wegwijzer.database.transaction() as uow:
        return (await create_case(uow, "family_strengthening")).code


async def answers_of(app: Wegwijzer) -> dict[str, object]:
    """Every stored answer, by key."""
    return {row.key: row.value async for row in app.database.answer_rows()}


async def invite_code(app: Wegwijzer, role: str, case: str | None = None) -> str:
    return (await create_invite(app, role, case)).code


def person(api: FakeBotAPI, user_id: int, name: str, language: str = "nl") -> Person:
    user = User(user_id, name, language_code=language)
    api.register(user)
    return Person(api, user)


async def staff(
    api: FakeBotAPI, app: Wegwijzer, user_id: int, role: str, case: str | None
) -> Person:
    """A caseworker or coordinator (of `case`), joined in English."""
    someone = person(api, user_id, f"Test {role}", language="en")
    await onboard(someone, await invite_code(app, role, case), "English")
    return someone


async def flags_of(app: Wegwijzer) -> list[Flag]:
    """The open flags."""
    async with app.database.reading() as uow:
        return await uow.flags.open_flags()


def render(app: Wegwijzer, text: Text, language: str) -> str:
    """What the bot says for `text` in a language, with the catalogs it runs on (translators
    may be filling them in: the test does not hard-code a translation that may change)."""
    return app.catalogs.translator(language, app.settings.timezone)(text)


async def onboard(someone: Person, code: str, language_label: str = "Nederlands") -> None:
    """Invite link → language → consent, as a person would do it (each button pressed once
    its message is there, however many messages come before it)."""
    someone.command("/start", code)
    # The language question, in Telegram's language for them.
    someone.press(language_label, await someone.skip_to_button(language_label))
    agree = {"Nederlands": "Ik ga akkoord", "English": "I agree"}[language_label]
    someone.press(agree, await someone.skip_to_button(agree))  # the privacy text's question
    await someone.expect("")  # the role's welcome


async def family_at_first_who5(api: FakeBotAPI, app: Wegwijzer, case_code: str) -> Person:
    family = person(api, 1001, "Testouder")
    await onboard(family, await invite_code(app, "family", case_code))
    family.press("Check-in starten", await family.skip_to_button("Check-in starten"))
    consent = await family.expect("Dit is je check-in")
    family.press("Ja", consent)
    await family.expect("Eerst vijf vragen")
    await family.expect("vrolijk")
    return family
