"""Two bot processes behind one webhook address, on one PostgreSQL database (issue #16).

`wegwijzer run --webhook-url ...` runs twice, as real processes with their own event loops
and connection pools, on this worker's PostgreSQL database; the fake Bot API plays Telegram
and the load balancer in front of them, handing the updates to the two processes in turn.
A family answering quickly has half their answers received by each process: they are still
handled one at a time, in order, each once; a notice is sent once; an update whose process is
killed after answering 200 is handled by the other.

The two processes (and the fake, in a module-wide event loop) serve every test of the module,
each test with people of its own: starting them is most of the time. The test that kills one
starts a pair of its own.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.engine import Text
from bot.services import texts
from bot.storage import crypto, models
from bot.storage.received import TURN_LOCKS, turn_of
from tests.databases import empty_tables, libpq_dsn
from tests.fakes.bot_api import FakeBotAPI, User

from .conftest import Person, invite_code, onboard, person, render, until
from .test_reminders import FIRST_USER, seed_families

pytestmark = [pytest.mark.postgres, pytest.mark.asyncio(loop_scope="module")]

PROJECT = Path(__file__).resolve().parents[2]
SECRET = "several-processes-secret"
# The address Telegram knows: the load balancer's. Each process listens on a port of its own.
PUBLIC_URL = "https://bot.example.org/telegram"
# Families with a reminder due when the processes start: both processes' duties find them.
REMINDED = 40
# The WHO-5's questions as the bot asks them in Dutch (by words of each), in order.
WHO5 = ("vrolijk", "rustig", "actief", "fris en uitgerust", "interesseren")
WHO5_KEYS = ("who5.cheerful", "who5.calm", "who5.active", "who5.rested", "who5.interested")
CHILDREN_INTRO = "Now a few questions about the children in your home over the last two weeks."


@dataclass
class BotProcess:
    url: str  # where the load balancer reaches it
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=5)


@dataclass
class Deployment:
    api: FakeBotAPI
    app: Wegwijzer  # for setting up and looking, on the real clock (the processes' clock)
    database_url: str
    bots: list[BotProcess]
    folder: Path

    async def family_at_first_who5(self, user_id: int, case_code: str) -> Person:
        """A Dutch family member, joined through the bots, at the WHO-5's first question."""
        async with self.app.database.transaction() as uow:
            await uow.cases.add(case_code, "family_strengthening")
        family = person(self.api, user_id, "Testouder")
        await onboard(family, await invite_code(self.app, "family", case_code))
        family.press("Check-in starten", await family.skip_to_button("Check-in starten"))
        family.press("Ja", await family.expect("Dit is je check-in"))
        await family.skip_to(WHO5[0])
        return family


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def bot_processes(
    api: FakeBotAPI, database_url: str, folder: Path, count: int = 2
) -> AsyncIterator[list[BotProcess]]:
    """`count` bot processes, each `wegwijzer run` behind the fake's load balancer (which
    sends to them alone until the block ends); stopped with SIGTERM at the end (unless
    killed). Their logs are printed when a test fails."""
    started = api.count("setWebhook")
    before = list(api.backends)
    bots = []
    for _ in range(count):
        port = free_port()
        name = f"bot{len(list(folder.glob('bot*.log')))}"
        log = folder / f"{name}.log"
        run = ["run", "--webhook-url", PUBLIC_URL, "--listen", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as output:  # the process has its own copy of the file
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", *run],
                cwd=PROJECT,
                env={
                    **os.environ,
                    "DATABASE_URL": database_url,
                    "TELEGRAM_BOT_TOKEN": api.token,
                    "TELEGRAM_BASE_URL": api.base_url,
                    "WEBHOOK_SECRET": SECRET,
                    "ALARM_JOURNAL": str(folder / f"{name}.alarms.jsonl"),
                    "UPDATE_INBOX": str(folder / f"{name}.updates.jsonl"),
                    "TELEGRAM_MESSAGES_PER_SECOND": "1000",
                    "LOG_LEVEL": "WARNING",
                },
                stdout=subprocess.DEVNULL,
                stderr=output,
            )
        bots.append(BotProcess(f"http://127.0.0.1:{port}/telegram", process, log))
    try:
        # A process sets the webhook once its server listens.
        await api.wait_for(lambda _c: api.count("setWebhook") >= started + count, timeout=30)
        assert api.webhook["url"] == PUBLIC_URL
        api.push_to([bot.url for bot in bots])
        yield bots
    except BaseException:
        for bot in bots:
            print(f"--- {bot.log.name}\n{bot.log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        if before:
            api.push_to(before)
        for bot in bots:
            if bot.process.poll() is None:
                bot.process.send_signal(signal.SIGTERM)
        for bot in bots:
            try:  # waited for in a thread: the fake Bot API must answer their last calls
                await asyncio.to_thread(bot.process.wait, 15)
            except subprocess.TimeoutExpired:
                bot.process.kill()
                bot.process.wait()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    postgres_url: str, assets: Assets, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    folder = tmp_path_factory.mktemp("processes")
    async with FakeBotAPI() as api:
        settings = replace(
            Settings(),
            database_url=postgres_url,
            alarm_journal=folder / "test.alarms.jsonl",
            telegram_token=api.token,
            telegram_base_url=api.base_url,
        )
        app = await bootstrap(settings, assets=assets)
        try:
            await empty_tables(app.database)
            for number in range(REMINDED):
                api.register(User(FIRST_USER + number, f"Parent {number}", language_code="en"))
            await seed_families(app, REMINDED)
            # seed_families numbers its rows from 1: the sequences go on after them.
            async with app.database.engine.begin() as connection:
                for table in ("person", "case_file", "schedule"):
                    await connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
            async with bot_processes(api, postgres_url, folder) as bots:
                yield Deployment(api, app, postgres_url, bots, folder)
        finally:
            await app.close()


async def stored_answers(app: Wegwijzer, user_id: int) -> list[tuple[str, object]]:
    """Every answer row of the person (a key twice is an answer stored twice), as stored."""
    async with app.database.reading() as uow:
        session = uow.audit._session
        rows = await session.execute(
            select(models.Answer.key, models.Answer.value)
            .join(models.Run, models.Run.id == models.Answer.run_id)
            .join(models.Person, models.Person.id == models.Run.person_id)
            .where(models.Person.external_key == _external_key(user_id))
            .order_by(models.Answer.id)
        )
        return [(key, value) for key, value in rows]


async def waiting_updates(app: Wegwijzer) -> int:
    async with app.database.reading() as uow:
        session = uow.audit._session
        stmt = select(func.count()).select_from(models.ReceivedUpdate)
        return int((await session.execute(stmt)).scalar_one())


async def nothing_left_waiting(app: Wegwijzer, timeout: float = 5) -> None:
    """A handled update is deleted after its replies were sent, so the family can see the
    last reply a moment before its update is gone: wait for that, don't race it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := await waiting_updates(app)) != 0:
        if loop.time() > deadline:
            raise AssertionError(f"{left} update(s) still waiting after {timeout}s")
        await asyncio.sleep(0.02)


def texts_to(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [message.get("text") or "" for message in api.sent(chat_id)]


async def test_quick_answers_received_by_both_processes_are_handled_in_order_and_once(
    deployment: Deployment,
) -> None:
    api, app = deployment.api, deployment.app
    family = await deployment.family_at_first_who5(1001, "MP-0001")
    asked = len(family.messages())
    # The first reply is held up at Telegram: a process handling the second answer meanwhile
    # would ask the third question before the second.
    api.stall_next("sendMessage", 0.3, chat_id=family.chat_id)
    # The options' numbers, typed one after the other without waiting: 5, 4, 3, 2, 1.
    typed = [family.text(str(number)) for number in range(1, 6)]
    await family.skip_to(render(app, Text(CHILDREN_INTRO), "nl")[:30], timeout=15)

    received_by = {update["update_id"]: backend for backend, update in api.posted}
    bots = {bot.url for bot in deployment.bots}
    assert {received_by[update["update_id"]] for update in typed} == bots
    assert await stored_answers(app, family.chat_id) == [
        ("checkin.consent", True),
        *zip(WHO5_KEYS, (5, 4, 3, 2, 1), strict=True),
    ]
    # The questions came in order, each once.
    new = texts_to(api, family.chat_id)[asked:]
    assert [word for text in new for word in WHO5 if word in text] == list(WHO5[1:])
    await nothing_left_waiting(app)


async def test_an_update_delivered_twice_to_each_process_is_handled_once(
    deployment: Deployment,
) -> None:
    api, app = deployment.api, deployment.app
    family = await deployment.family_at_first_who5(1002, "MP-0002")
    question = family.last_with_buttons()
    # Two presses of one button, one update each, as quickly as a thumb can: the load
    # balancer gives one to each process.
    first, second = family.press("Nooit", question), family.press("Nooit", question)
    await family.skip_to(WHO5[1])
    await until(lambda: second in api.answered_callbacks, 5, what="the second press")
    assert api.answered_callbacks[second].get("text") == render(app, texts.ALREADY_ANSWERED, "nl")
    assert "text" not in api.answered_callbacks[first]

    # A typed answer that Telegram delivers again, twice to each process, at once.
    again = family.text("3")
    statuses = await asyncio.gather(
        *(
            api.post_update_to_webhook(bot.url, again, SECRET)
            for bot in deployment.bots
            for _ in "12"
        )
    )
    assert statuses == [200] * 4
    await family.skip_to(WHO5[2])
    await until(lambda: not api.pending_updates, 5, what="every update delivered")

    assert await stored_answers(app, family.chat_id) == [
        ("checkin.consent", True),
        ("who5.cheerful", 0),
        ("who5.calm", 3),
    ]
    assert sum(WHO5[2] in text for text in texts_to(api, family.chat_id)) == 1
    await nothing_left_waiting(app)


async def test_due_reminders_are_sent_once_by_two_processes(deployment: Deployment) -> None:
    """The reminders were due when both processes started: both claimed and sent."""
    api, app = deployment.api, deployment.app
    reminded = range(FIRST_USER, FIRST_USER + REMINDED)

    async def notices() -> list[str]:
        """The state of each reminded family's notices (seed_families numbers them 1…)."""
        async with app.database.reading() as uow:
            return [
                notice.state
                for person_id in range(1, REMINDED + 1)
                for notice in await uow.outbox.of_person(person_id)
            ]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while (states := await notices()) != ["sent"] * REMINDED:
        assert loop.time() < deadline, f"the reminders were not sent once each: {states}"
        await asyncio.sleep(0.05)  # the senders look every second

    to = Counter(call.params["chat_id"] for call in api.calls_of("sendMessage") if call.ok)
    assert {chat: to[chat] for chat in reminded} == dict.fromkeys(reminded, 1)


async def test_a_process_killed_after_answering_200_loses_nothing(
    deployment: Deployment,
) -> None:
    api, app = deployment.api, deployment.app
    family = await deployment.family_at_first_who5(1003, "MP-0003")
    url, folder = deployment.database_url, deployment.folder
    async with (
        bot_processes(api, url, folder, count=1) as (doomed,),
        run_locked(url, family.chat_id),
    ):
        family.press("Nooit")  # only the doomed process receives it
        await until(lambda: not api.pending_updates, 5, what="200 from the doomed process")
        await waiting_for_a_lock(url)  # its answer's transaction is stuck
        doomed.kill()
    # Another process finds the update the killed one left, and handles it.
    await family.skip_to(WHO5[1], timeout=10)
    assert await stored_answers(app, family.chat_id) == [
        ("checkin.consent", True),
        ("who5.cheerful", 0),
    ]
    await nothing_left_waiting(app)


async def test_the_numbers_do_not_wait_for_a_turn_held_elsewhere(
    deployment: Deployment,
) -> None:
    """Another process holds the family's turn (here: the test, holding its lock): their
    answer waits, their /sos does not. When the holder lets go without handling the answer
    (it was killed, say), the answer is handled all the same."""
    api, app = deployment.api, deployment.app
    family = await deployment.family_at_first_who5(1004, "MP-0004")
    async with turn_held(deployment.database_url, family.chat_id):
        family.press("Nooit")
        family.command("/sos")
        await family.expect("Alarmnummer")
        assert await waiting_updates(app) == 1  # the answer: kept, not handled
    await family.skip_to(WHO5[1], timeout=10)
    assert await stored_answers(app, family.chat_id) == [
        ("checkin.consent", True),
        ("who5.cheerful", 0),
    ]
    assert not api.pending_updates


# --- holding things from outside the bot ------------------------------------------------------


@asynccontextmanager
async def run_locked(database_url: str, user_id: int) -> AsyncIterator[None]:
    """The person's open run is locked by another transaction (what a slow database looks
    like to the bot's answer) until the block ends."""
    connection = await asyncpg.connect(libpq_dsn(database_url))
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT run.id FROM run JOIN person ON person.id = run.person_id "
                "WHERE person.external_key = $1 AND run.status = 'active' FOR UPDATE",
                _external_key(user_id),
            )
            yield
    finally:
        await connection.close()


@asynccontextmanager
async def turn_held(database_url: str, user_id: int) -> AsyncIterator[None]:
    connection = await asyncpg.connect(libpq_dsn(database_url))
    try:
        turn = turn_of("telegram", user_id)
        # Once the bot has finished with the person's last update.
        await connection.execute("SELECT pg_advisory_lock($1, $2)", TURN_LOCKS, turn)
        yield
    finally:
        await connection.close()  # the lock goes with the connection, as with a killed process


async def waiting_for_a_lock(database_url: str) -> None:
    connection = await asyncpg.connect(libpq_dsn(database_url))
    try:
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not await connection.fetchval(query):
            assert loop.time() < deadline, "no transaction waited for the lock"
            await asyncio.sleep(0.01)
    finally:
        await connection.close()


def _external_key(user_id: int) -> str:
    return crypto.active().lookup_key("telegram", str(user_id))
