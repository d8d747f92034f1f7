"""The inbox: an update taken from Telegram is handled, or handled again after a crash.

python-telegram-bot confirms an update to Telegram as soon as it is queued; the inbox keeps
it on disk until it has been handled, so a process killed in between handles it after its
restart — once: what it stored is not stored twice, and a reply that was never sent is given.
"""

from __future__ import annotations

import signal
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Bot, Update

from bot.app import Wegwijzer
from bot.config import Settings
from bot.telegram import _inbox as inbox_module
from bot.telegram._inbox import Inbox, KeepingQueue
from tests.fakes.bot_api import FakeBotAPI

from .conftest import Clock, RunningBot, answers_of, family_at_first_who5, until
from .test_emergency_faults import file_of, locked, wegwijzer_run

BOT = Bot("123:abc")


def update(update_id: int, text: str = "hello") -> Update:
    data = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "is_bot": False, "first_name": "Test"},
            "text": text,
        },
    }
    made = Update.de_json(data, BOT)
    assert made is not None
    return made


async def test_what_was_taken_and_not_handled_is_handed_out_again(tmp_path: Path) -> None:
    path = tmp_path / "updates.jsonl"
    inbox = Inbox(path)
    for update_id in (1, 2, 3):
        await inbox.keep(update(update_id, f"message {update_id}"))
    await inbox.keep(update(2))  # delivered twice while in flight: kept once
    await inbox.handled(update(2))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The process dies here, mid-line.
    with path.open("a") as file:
        file.write('{"update": {"update_id": 4, "mess')
    again = Inbox(path).unhandled(BOT)
    assert [(u.update_id, u.message.text) for u in again] == [(1, "message 1"), (3, "message 3")]


async def test_the_message_text_is_sealed_on_disk(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "updates.jsonl")
    await inbox.keep(update(7, "MARKER-BERICHT we zijn bang"))
    on_disk = inbox.path.read_text(encoding="utf-8")
    assert "MARKER" not in on_disk and "bang" not in on_disk
    (again,) = Inbox(inbox.path).unhandled(BOT)
    assert again.message is not None and again.message.text == "MARKER-BERICHT we zijn bang"


async def test_what_was_read_at_start_and_kept_in_the_database_leaves_the_disk(
    tmp_path: Path,
) -> None:
    """Several processes on PostgreSQL: what the last run left is kept in the database when it
    is handed out again; the file then goes, unless this run has an update open in it."""
    path = tmp_path / "updates.jsonl"
    await Inbox(path).keep(update(1, "left by the last run"))
    busy = Inbox(path)
    assert [u.update_id for u in busy.unhandled(BOT)] == [1]
    await busy.keep(update(2))  # an emergency of this run, on disk
    await busy.handed_over()
    assert [u.update_id for u in Inbox(path).unhandled(BOT)] == [1, 2]

    idle = Inbox(path)
    assert [u.update_id for u in idle.unhandled(BOT)] == [1, 2]
    await idle.handed_over()
    assert not path.exists()


async def test_the_inbox_is_emptied_whenever_nothing_is_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "updates.jsonl"
    inbox = Inbox(path)
    await inbox.keep(update(1))
    await inbox.keep(update(2))
    await inbox.handled(update(1))
    assert path.exists()
    await inbox.handled(update(2))
    assert not path.exists()  # no message text kept longer than it is handled
    assert Inbox(path).unhandled(BOT) == []


async def test_a_long_busy_inbox_keeps_only_what_is_still_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "REWRITE_AFTER", 5)
    path = tmp_path / "updates.jsonl"
    inbox = Inbox(path)
    await inbox.keep(update(1, "stuck"))  # never finishes
    for update_id in range(2, 12):
        await inbox.keep(update(update_id, f"message {update_id}"))
        await inbox.handled(update(update_id))
    assert len(path.read_text().splitlines()) < 6  # written anew, not every message kept
    assert "message 2" not in path.read_text()
    assert [u.update_id for u in Inbox(path).unhandled(BOT)] == [1]


async def test_what_is_older_than_telegram_keeps_updates_is_not_handled_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "updates.jsonl"
    await Inbox(path).keep(update(1))
    assert Inbox(path).unhandled(BOT, max_age=timedelta(0)) == []


async def test_a_disk_that_refuses_costs_the_safety_net_not_the_update(tmp_path: Path) -> None:
    refusing = tmp_path / "no-such-dir-file"
    refusing.write_text("a file where the inbox's folder should be")
    queue = KeepingQueue(Inbox(refusing / "updates.jsonl"))
    await queue.put(update(1))
    assert (await queue.get()).update_id == 1  # still handled


async def test_killed_while_an_answer_waited_for_the_database_it_is_stored_after_restart(
    api: FakeBotAPI, wegwijzer: Wegwijzer, settings: Settings, case_code: str, clock: Clock
) -> None:
    first = RunningBot(wegwijzer)
    await first.start()
    family = await family_at_first_who5(api, wegwijzer, case_code)
    await first.stop()

    inbox = settings.update_inbox_path
    async with (
        wegwijzer_run(api, settings, settings.database_url) as process,
        locked(file_of(settings)),
    ):
        family.press("Af en toe")  # taken from Telegram, and confirmed: then it waits
        await until(inbox.exists, 10, what="the answer in the inbox")
        # Confirmed to Telegram (the next long poll asked past it): only the inbox has it.
        await until(lambda: not api.pending_updates, 10, what="the answer confirmed")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)
    assert "who5.cheerful" not in await answers_of(wegwijzer)

    again = await RunningBot.after_a_kill(wegwijzer, api)
    try:
        await family.expect("rustig en ontspannen", timeout=10)
        await family.expect_nothing_from(again)
        assert (await answers_of(wegwijzer))["who5.cheerful"] == 1
        assert not inbox.exists()
    finally:
        await again.stop()


async def test_killed_after_the_answer_was_stored_but_before_the_reply_the_question_comes(
    api: FakeBotAPI, wegwijzer: Wegwijzer, settings: Settings, case_code: str
) -> None:
    first = RunningBot(wegwijzer)
    await first.start()
    family = await family_at_first_who5(api, wegwijzer, case_code)
    await first.stop()

    api.stall_next("editMessageText", 30, chat_id=family.chat_id)  # the reply's first call
    async with wegwijzer_run(api, settings, settings.database_url) as process:
        family.press("Af en toe")
        # The answer is stored; the reply hangs in Telegram's hands: the process dies.
        await until(lambda: not api._stalls, 10, what="the reply to hang")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)
    assert (await answers_of(wegwijzer))["who5.cheerful"] == 1

    again = await RunningBot.after_a_kill(wegwijzer, api)
    try:
        await family.skip_to("rustig en ontspannen", timeout=10)
        await family.expect_nothing_from(again)
        assert (await answers_of(wegwijzer))["who5.cheerful"] == 1  # stored once
    finally:
        await again.stop()
