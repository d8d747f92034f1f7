"""The emergency route when things break: the numbers still arrive, the alarm is not lost.

Faults are real ones, injected from outside the bot: SQLite locked by another writer,
PostgreSQL cut away behind a TCP proxy (the shared server itself is never stopped), the Bot
API answering 500 or 429, and the bot process killed with SIGKILL while the alarm waited.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.services import texts
from bot.storage.journal import JournaledAlarm
from tests.databases import empty_tables
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.tcp_proxy import TcpProxy

from .conftest import (
    Clock,
    RunningBot,
    answers_of,
    family_at_first_who5,
    flags_of,
    render,
    staff,
    until,
)

PROJECT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def locked(database_file: str) -> AsyncIterator[None]:
    """Another program holds SQLite's write lock (readers still read: WAL). Taken in a thread:
    waiting for it in the event loop would stop the bot from finishing its own write."""

    def take() -> sqlite3.Connection:
        other = sqlite3.connect(
            database_file, timeout=10, isolation_level=None, check_same_thread=False
        )
        other.execute("BEGIN IMMEDIATE")
        return other

    other = await asyncio.to_thread(take)
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def file_of(settings: Settings) -> str:
    database = make_url(settings.database_url).database
    assert database is not None
    return database


async def test_the_numbers_overtake_an_update_stuck_on_a_locked_database(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, settings: Settings, case_code: str
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    async with locked(file_of(settings)):
        family.press("Nooit")  # its transaction waits for the lock
        await until(lambda: not api.pending_updates, 2, what="the bot to take the press")
        family.command("/sos")
        numbers = await family.expect(
            "Alarmnummer", timeout=5
        )  # not behind the stuck answer (30 s)
        assert "Veilig Thuis" in numbers["text"] and "0800-2000" in numbers["text"]
        assert "who5.cheerful" not in await answers_of(wegwijzer)  # still waiting
    # The lock is gone: the answer and the alarm are both recorded, the caseworker told.
    await caseworker.expect("New urgent flag")
    (flag,) = await flags_of(wegwijzer)
    assert (flag.level, flag.evidence["trigger"]) == ("urgent", "sos")
    assert (await answers_of(wegwijzer))["who5.cheerful"] == 0
    assert await wegwijzer.journal.pending() == []


@pytest.mark.parametrize(
    ("status", "times"),
    [(500, 3), (502, 1), (429, 4)],
    ids=["500-three-times", "502", "429-past-the-rate-limiter's-retries"],
)
async def test_the_numbers_are_sent_again_until_telegram_takes_them(
    api: FakeBotAPI,
    bot: RunningBot,
    wegwijzer: Wegwijzer,
    case_code: str,
    status: int,
    times: int,
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    api.fail_next("sendMessage", status, times=times, chat_id=family.chat_id)
    family.command("/sos")
    await caseworker.expect("New urgent flag", timeout=10)
    await family.expect("Alarmnummer", timeout=10)  # the numbers, first, once
    await family.expect("zijn gewaarschuwd")
    failed = [c for c in api.calls_of("sendMessage") if c.status == status]
    assert len(failed) == times
    (flag,) = await flags_of(wegwijzer)
    assert flag.evidence["trigger"] == "sos"


@dataclass
class BehindProxy:
    """The app on this worker's PostgreSQL database, reached through a proxy the test cuts."""

    proxy: TcpProxy
    app: Wegwijzer
    url: str  # the database URL through the proxy
    case_code: str


@pytest.fixture
async def behind_proxy(
    postgres_url: str, settings: Settings, clock: Clock, assets: Assets
) -> AsyncIterator[BehindProxy]:
    target = make_url(postgres_url)
    async with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        app = await bootstrap(
            replace(settings, database_url=url), clock=clock, assets=assets, migrate=False
        )
        try:
            await empty_tables(app.database)
            async with app.database.transaction() as uow:
                case = await uow.cases.add("PG-0001", "family_strengthening")
            yield BehindProxy(proxy, app, url, case.code)
        finally:
            await app.close()


@asynccontextmanager
async def wegwijzer_run(
    api: FakeBotAPI, settings: Settings, database_url: str
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """`wegwijzer run` in a process of its own, polling `api`; stopped with SIGTERM at the
    end unless the test killed it."""
    started = len(api.calls_of("deleteWebhook"))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=PROJECT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "ALARM_JOURNAL": str(settings.alarm_journal_path),
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_BASE_URL": api.base_url,
            "LOG_LEVEL": "CRITICAL",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Polling starts right after deleteWebhook (a long poll is only seen when answered).
        await api.wait_for(lambda _c: len(api.calls_of("deleteWebhook")) > started, timeout=20)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:  # waited for in a thread: the fake Bot API must answer its last calls
                await asyncio.to_thread(process.wait, 15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def test_with_postgresql_cut_away_the_alarm_waits_in_the_journal_until_it_is_back(
    api: FakeBotAPI, behind_proxy: BehindProxy, clock: Clock
) -> None:
    app, proxy = behind_proxy.app, behind_proxy.proxy
    running = RunningBot(app)
    await running.start()
    try:
        caseworker = await staff(api, app, 2001, "caseworker", behind_proxy.case_code)
        family = await family_at_first_who5(api, app, behind_proxy.case_code)

        await proxy.cut()
        alarm_time = clock.now
        family.command("/sos")
        await family.expect("Alarmnummer", timeout=5)
        await family.expect(render(app, texts.ALARM_SAVED_NOT_SENT, "nl"))
        await caseworker.expect_nothing_from(running)
        (journaled,) = await app.journal.pending()
        assert (journaled.trigger, journaled.at) == ("sos", alarm_time)

        clock.advance(minutes=5)
        await proxy.restore()  # the database is back: the duties replay the journal
        await caseworker.expect("New urgent flag", timeout=10)
        (flag,) = await flags_of(app)
        assert (flag.level, flag.raised_at) == ("urgent", alarm_time)  # its own time
        assert await app.journal.pending() == []
    finally:
        await running.stop()


async def test_killed_while_the_alarm_waited_for_the_database_the_journal_has_it(
    api: FakeBotAPI,
    wegwijzer: Wegwijzer,
    settings: Settings,
    case_code: str,
    clock: Clock,
) -> None:
    """`wegwijzer run` in a process of its own, SQLite locked by another writer: /sos gets the
    numbers, the alarm waits for the lock, and the process is killed (SIGKILL). Started
    again, the bot finds the alarm in the journal and makes it a flag."""
    first = RunningBot(wegwijzer)
    await first.start()
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    await first.stop()

    journal = settings.alarm_journal_path
    async with (
        wegwijzer_run(api, settings, settings.database_url) as process,
        locked(file_of(settings)),
    ):
        family.command("/sos")
        await family.expect("Alarmnummer", timeout=5)
        await until(journal.exists, 5, what="the alarm in the journal")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)
    assert await flags_of(wegwijzer) == []  # it never reached the database
    (journaled,) = [JournaledAlarm.from_line(line) for line in journal.read_text().splitlines()]
    assert journaled.trigger == "sos"

    clock.now = journaled.at + timedelta(minutes=1)  # the process ran on the real clock
    again = RunningBot(wegwijzer)
    await again.start()
    try:
        await caseworker.skip_to("New urgent flag", timeout=10)
        (flag,) = await flags_of(wegwijzer)
        assert (flag.evidence["trigger"], flag.raised_at) == ("sos", journaled.at)
        assert await wegwijzer.journal.pending() == []
    finally:
        await again.stop()


async def test_started_while_postgresql_refuses_connections_the_bot_still_gives_the_numbers(
    api: FakeBotAPI, behind_proxy: BehindProxy, settings: Settings
) -> None:
    """`wegwijzer run` with the database down from the start: it starts anyway, a family in
    danger gets the numbers, and when the database comes back the alarm becomes a flag."""
    app, proxy = behind_proxy.app, behind_proxy.proxy
    before = RunningBot(app)
    await before.start()
    caseworker = await staff(api, app, 2001, "caseworker", behind_proxy.case_code)
    family = await family_at_first_who5(api, app, behind_proxy.case_code)
    await before.stop()
    await proxy.cut()

    async with wegwijzer_run(api, settings, behind_proxy.url):
        family.command("/sos")
        await family.expect("Alarmnummer", timeout=5)
        await family.expect(render(app, texts.ALARM_SAVED_NOT_SENT, "nl"))
        family.text("1")  # anything else: an apology, nothing stored
        await family.expect(render(app, texts.SOMETHING_WENT_WRONG, "nl"))

        await proxy.restore()  # back: migrated and checked, the journal replayed
        await caseworker.expect("New urgent flag", timeout=20)
        (flag,) = await flags_of(app)
        assert flag.evidence["trigger"] == "sos"


async def test_the_sos_button_gives_the_numbers_when_telegram_fails_to_answer_the_press(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    api.fail_next("answerCallbackQuery", 500)
    family.press("🆘 Ik heb nu hulp nodig")
    await family.expect("Alarmnummer")
    await caseworker.expect("New urgent flag")
    assert [c.status for c in api.calls_of("answerCallbackQuery")][-1] == 500
    (flag,) = await flags_of(wegwijzer)
    assert flag.evidence["trigger"] == "button"
