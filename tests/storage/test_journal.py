"""The alarm journal: on disk before anything else, readable by the bot only, and emptied as
its alarms reach the database."""

from __future__ import annotations

import asyncio
import stat
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.journal import AlarmJournal, JournaledAlarm

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def alarm(key: str, trigger: str = "sos") -> JournaledAlarm:
    return JournaledAlarm(key, AT, "telegram", "1001", trigger)


async def test_alarms_are_kept_in_order_until_settled(tmp_path: Path) -> None:
    journal = AlarmJournal(tmp_path / "alarms.jsonl")
    assert await journal.pending() == []
    for key in ("telegram:1", "telegram:2", "alarm:3"):
        await journal.record(alarm(key, "in gevaar"))
    assert [a.key for a in await journal.pending()] == ["telegram:1", "telegram:2", "alarm:3"]
    assert (await journal.pending())[0] == alarm("telegram:1", "in gevaar")

    await journal.settle(["telegram:2"])
    assert [a.key for a in await journal.pending()] == ["telegram:1", "alarm:3"]
    await journal.settle(["telegram:1", "alarm:3"])
    assert await journal.pending() == []
    assert not journal.path.exists()  # nothing kept once everything is in the database


async def test_only_the_bot_may_read_it(tmp_path: Path) -> None:
    journal = AlarmJournal(tmp_path / "deeper" / "alarms.jsonl")
    await journal.record(alarm("telegram:1"))
    await journal.record(alarm("telegram:2"))
    await journal.settle(["telegram:1"])  # rewritten: still only for the bot
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600


async def test_who_and_what_set_it_off_are_sealed_on_disk(tmp_path: Path) -> None:
    journal = AlarmJournal(tmp_path / "alarms.jsonl")
    await journal.record(JournaledAlarm("telegram:9", AT, "telegram", "7000000123", "in gevaar"))
    on_disk = journal.path.read_text(encoding="utf-8")
    assert "7000000123" not in on_disk and "gevaar" not in on_disk
    (read,) = await journal.pending()
    assert (read.external_id, read.trigger) == ("7000000123", "in gevaar")


async def test_a_line_torn_by_a_crash_is_skipped_and_the_rest_is_read(tmp_path: Path) -> None:
    journal = AlarmJournal(tmp_path / "alarms.jsonl")
    await journal.record(alarm("telegram:1"))
    with journal.path.open("a", encoding="utf-8") as file:
        file.write('{"key": "telegram:2", "at": "2026-11')  # killed mid-write
    assert [a.key for a in await journal.pending()] == ["telegram:1"]
    await journal.record(alarm("telegram:3"))  # after the restart
    assert [a.key for a in await journal.pending()] == ["telegram:1", "telegram:3"]


async def test_two_processes_sharing_the_file_lose_nothing(tmp_path: Path) -> None:
    """The bot and `wegwijzer chat` on one SQLite database share the journal: one settling
    (rewriting the file) while the other appends must not drop the new alarm."""
    path = tmp_path / "alarms.jsonl"
    bot, console = AlarmJournal(path), AlarmJournal(path)  # two separate lockers, as two processes
    await bot.record(alarm("telegram:1"))
    await bot.record(alarm("telegram:2"))
    added = [f"console:{n}" for n in range(30)]
    await asyncio.gather(bot.settle(["telegram:1"]), *(console.record(alarm(key)) for key in added))
    assert sorted(a.key for a in await bot.pending()) == sorted(["telegram:2", *added])


async def test_an_alarm_being_recorded_is_left_to_its_process_until_settled_or_released(
    tmp_path: Path,
) -> None:
    journal = AlarmJournal(tmp_path / "alarms.jsonl")
    await journal.record(alarm("telegram:1"))
    assert journal.being_recorded("telegram:1")
    journal.release("telegram:1")  # the database could not take it: the replay will
    assert not journal.being_recorded("telegram:1")
    await journal.record(alarm("telegram:2"))
    await journal.settle(["telegram:2"])
    assert not journal.being_recorded("telegram:2")


async def test_an_alarm_keeps_its_kinds_and_an_old_line_without_them_is_immediate_danger(
    tmp_path: Path,
) -> None:
    journal = AlarmJournal(tmp_path / "alarms.jsonl")
    written = JournaledAlarm("telegram:1", AT, "telegram", "1001", "ik wil dood", ("self_harm",))
    await journal.record(written)
    # A line written before alarms had kinds (the journal outlives an upgrade).
    old = '{"key": "telegram:2", "at": "2026-11-27T09:30:00+00:00", "channel": "telegram", '
    with journal.path.open("a", encoding="utf-8") as file:
        file.write(old + '"external_id": "1002", "trigger": "sos"}\n')
    first, second = await journal.pending()
    assert first == written and first.alarm_kinds == ("self_harm",)
    assert second.trigger == "sos" and second.alarm_kinds == ("immediate_danger",)
