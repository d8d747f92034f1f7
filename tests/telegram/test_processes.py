"""Two bot processes behind one webhook address, on one PostgreSQL database (issue #16).

Each test runs `wegwijzer run --webhook-url ...` twice, as real processes with their own event
loops and connection pools, on this worker's PostgreSQL database; the fake Bot API plays
Telegram and the load balancer in front of them, handing the updates to the two processes in
turn. A family answering quickly has half their answers received by each process: they are
still handled one at a time, in order, each once; a notice is sent once; an update whose
process is killed after answering 200 is handled by the other.
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
from sqlalchemy import make_url, select

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.engine import Text
from bot.services import texts
from bot.storage import crypto, models
from bot.storage.received import TURN_LOCKS, turn_of
from tests.databases import empty_tables
from tests.fakes.bot_api import FakeBotAPI, User

from .conftest import family_at_first_who5, render, until
from .test_reminders import FIRST_USER, seed_families

pytestmark = pytest.mark.postgres

PROJECT = Path(__file__).resolve().parents[2]
SECRET = "several-processes-secret"
# The address Telegram knows: the load balancer's. Each process listens on a port of its own.
PUBLIC_URL = "https://bot.example.org/telegram"
# The WHO-5's questions as the bot asks them in Dutch (by words of each), in order.
WHO5 = ("vrolijk", "rustig", "actief", "fris en uitgerust", "interesseren")
CHILDREN_INTRO = "Now a few questions about the children in your home over the last two weeks."
WHO5_KEYS = ("who5.cheerful", "who5.calm", "who5.active", "who5.rested", "who5.interested")


@dataclass
class BotProcess:
    url: str  # where the load balancer reaches it
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def bot_processes(
    api: FakeBotAPI, database_url: str, folder: Path, count: int = 2
) -> AsyncIterator[list[BotProcess]]:
    """`count` bot processes, each `wegwijzer run` behind the fake's load balancer; stopped
    with SIGTERM at the end (unless killed). Their logs are printed when a test fails."""
    started = api.count("setWebhook")
    bots = []
    for number in range(count):
        port = free_port()
        log = folder / f"bot{number}.log"
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
                    "ALARM_JOURNAL": str(folder / f"alarms{number}.jsonl"),
                    "UPDATE_INBOX": str(folder / f"updates{number}.jsonl"),
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
        for bot in bots:
            if bot.process.poll() is None:
                bot.process.send_signal(signal.SIGTERM)
        for bot in bots:
            try:  # waited for in a thread: the fake Bot API must answer their last calls
                await asyncio.to_thread(bot.process.wait, 15)
            except subprocess.TimeoutExpired:
                bot.process.kill()
                bot.process.wait()


@pytest.fixture
async def shared_app(postgres_url: str, settings: Settings, assets: Assets):
    """The app on this worker's PostgreSQL database, emptied, on the real clock (the bot
    processes' clock): for setting up and looking."""
    app = await bootstrap(replace(settings, database_url=postgres_url), assets=assets)
    await empty_tables(app.database)
    yield app
    await app.close()


async def stored_answers(app: Wegwijzer) -> list[tuple[str, object]]:
    """Every answer row (a key twice is an answer stored twice), in the order stored."""
    async with app.database.reading() as uow:
        session = uow.audit._session
        rows = await session.execute(
            select(models.Answer.key, models.Answer.value).order_by(models.Answer.id)
        )
        return [(key, value) for key, value in rows]


async def waiting_updates(app: Wegwijzer) -> int:
    async with app.database.reading() as uow:
        session = uow.audit._session
        return len((await session.execute(select(models.ReceivedUpdate.update_id))).all())


def texts_to(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [message.get("text") or "" for message in api.sent(chat_id)]


async def test_quick_answers_received_by_both_processes_are_handled_in_order_and_once(
    api: FakeBotAPI, shared_app: Wegwijzer, postgres_url: str, tmp_path: Path
) -> None:
    async with shared_app.database.transaction() as uow:
        case = await uow.cases.add("MP-0001", "family_strengthening")
    async with bot_processes(api, postgres_url, tmp_path) as bots:
        family = await family_at_first_who5(api, shared_app, case.code)
        asked = len(family.messages())
        # The first reply is held up at Telegram: a process handling the second answer
        # meanwhile would ask the third question before the second.
        api.stall_next("sendMessage", 0.3, chat_id=family.chat_id)
        # The options' numbers, typed one after the other without waiting: 5, 4, 3, 2, 1.
        typed = [family.text(str(number)) for number in range(1, 6)]
        children = render(shared_app, Text(CHILDREN_INTRO), "nl")
        await family.skip_to(children[:30], timeout=15)

        received_by = {update["update_id"]: backend for backend, update in api.posted}
        assert {received_by[update["update_id"]] for update in typed} == {b.url for b in bots}
        assert await stored_answers(shared_app) == [
            ("checkin.consent", True),
            *zip(WHO5_KEYS, (5, 4, 3, 2, 1), strict=True),
        ]
        # The questions came in order, each once.
        new = texts_to(api, family.chat_id)[asked:]
        assert [word for text in new for word in WHO5 if word in text] == list(WHO5[1:])
        assert await waiting_updates(shared_app) == 0


async def test_an_update_delivered_twice_to_each_process_is_handled_once(
    api: FakeBotAPI, shared_app: Wegwijzer, postgres_url: str, tmp_path: Path
) -> None:
    async with shared_app.database.transaction() as uow:
        case = await uow.cases.add("MP-0002", "family_strengthening")
    async with bot_processes(api, postgres_url, tmp_path) as bots:
        family = await family_at_first_who5(api, shared_app, case.code)
        question = family.last_with_buttons()
        # Two presses of one button, one update each, as quickly as a thumb can: the load
        # balancer gives one to each process.
        first, second = family.press("Nooit", question), family.press("Nooit", question)
        await family.skip_to(WHO5[1])
        await until(lambda: second in api.answered_callbacks, 5, what="the second press")
        already = render(shared_app, texts.ALREADY_ANSWERED, "nl")
        assert api.answered_callbacks[second].get("text") == already
        assert "text" not in api.answered_callbacks[first]

        # A typed answer that Telegram delivers again, twice to each process, at once.
        again = family.text("3")
        statuses = await asyncio.gather(
            *(api.post_update_to_webhook(bot.url, again, SECRET) for bot in bots for _ in "12")
        )
        assert statuses == [200] * 4
        await family.skip_to(WHO5[2])
        await until(lambda: not api.pending_updates, 5, what="every update delivered")

        assert await stored_answers(shared_app) == [
            ("checkin.consent", True),
            ("who5.cheerful", 0),
            ("who5.calm", 3),
        ]
        assert sum(WHO5[2] in text for text in texts_to(api, family.chat_id)) == 1
        assert await waiting_updates(shared_app) == 0


async def test_due_reminders_are_sent_once_by_two_processes(
    api: FakeBotAPI, shared_app: Wegwijzer, postgres_url: str, tmp_path: Path
) -> None:
    families = 60
    for number in range(families):
        api.register(User(FIRST_USER + number, f"Parent {number}", language_code="en"))
    await seed_families(shared_app, families)  # due now: both processes look at start

    async def sent() -> dict[str, int]:
        async with shared_app.database.reading() as uow:
            return await uow.outbox.counts()

    async with bot_processes(api, postgres_url, tmp_path):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while (await sent()).get("sent", 0) < families and loop.time() < deadline:
            await api.wait_for(lambda _c: True)  # a moment: until the next call, at most 5 s
        assert await sent() == {"sent": families}

    reminded = Counter(
        call.params["chat_id"] for call in api.calls_of("sendMessage") if call.status == 200
    )
    assert reminded == {FIRST_USER + number: 1 for number in range(families)}


async def test_a_process_killed_after_answering_200_loses_nothing(
    api: FakeBotAPI, shared_app: Wegwijzer, postgres_url: str, tmp_path: Path
) -> None:
    async with shared_app.database.transaction() as uow:
        case = await uow.cases.add("MP-0003", "family_strengthening")
    async with bot_processes(api, postgres_url, tmp_path) as (doomed, survivor):
        family = await family_at_first_who5(api, shared_app, case.code)
        async with run_locked(postgres_url, family.chat_id):
            api.push_to([doomed.url])  # the balancer sends the next update there
            family.press("Nooit")
            await until(lambda: not api.pending_updates, 5, what="200 from the doomed process")
            await waiting_for_a_lock(postgres_url)  # its answer's transaction is stuck
            doomed.kill()
            api.push_to([survivor.url])
        # The survivor finds the update its process left and handles it.
        await family.skip_to(WHO5[1], timeout=10)
        assert await stored_answers(shared_app) == [
            ("checkin.consent", True),
            ("who5.cheerful", 0),
        ]
        assert await waiting_updates(shared_app) == 0


async def test_the_numbers_do_not_wait_for_a_turn_held_elsewhere(
    api: FakeBotAPI, shared_app: Wegwijzer, postgres_url: str, tmp_path: Path
) -> None:
    """Another process holds the family's turn (here: the test, holding its lock): their
    answer waits, their /sos does not. When the holder lets go without handling the answer
    (it was killed, say), the answer is handled all the same."""
    async with shared_app.database.transaction() as uow:
        case = await uow.cases.add("MP-0004", "family_strengthening")
    async with bot_processes(api, postgres_url, tmp_path):
        family = await family_at_first_who5(api, shared_app, case.code)
        async with turn_held(postgres_url, family.chat_id):
            family.press("Nooit")
            family.command("/sos")
            await family.expect("Alarmnummer")
            assert await waiting_updates(shared_app) == 1  # the answer: kept, not handled
        await family.skip_to(WHO5[1], timeout=10)
        assert await stored_answers(shared_app) == [
            ("checkin.consent", True),
            ("who5.cheerful", 0),
        ]


# --- holding things from outside the bot ------------------------------------------------------


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


@asynccontextmanager
async def run_locked(database_url: str, user_id: int) -> AsyncIterator[None]:
    """The person's open run is locked by another transaction (what a slow database looks
    like to the bot's answer) until the block ends."""
    connection = await asyncpg.connect(_dsn(database_url))
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
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        turn = turn_of("telegram", user_id)
        assert await connection.fetchval("SELECT pg_try_advisory_lock($1, $2)", TURN_LOCKS, turn)
        yield
    finally:
        await connection.close()  # the lock goes with the connection, as with a killed process


async def waiting_for_a_lock(database_url: str) -> None:
    connection = await asyncpg.connect(_dsn(database_url))
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
