"""`wegwijzer bench --faults`: the emergency route and every notice while things break.

The real bot (`serve`, python-telegram-bot over HTTP) runs against the fake Bot API on a
SQLite file of its own, with staff (a caseworker for every case, two coordinators) and
families who each have a case. Faults are injected from outside, in rounds:

1. SQLite locked by another writer while families press /sos: the numbers must come from
   memory; the alarms wait in the journal and become flags once the lock is gone.
2. The Bot API failing: each family's numbers answered 500 once, the caseworker's first
   notices 500, a coordinator's 429, the other coordinator blocked the bot (403), while
   families write danger words.
3. Answers under duplicates and failures: families start their check-in and answer its first
   question, every update delivered twice, the first reply to each failing with 500.
4. A restart of the bot mid-way through all of it.

Then it counts, from the database and from what the fake Bot API received: alarms raised,
recorded as flags and lost; notices queued, delivered and delivered twice; answers stored
once; and the time from each alarm's arrival to its numbers' send (p50, p99). Targets: 0
alarms lost, 0 notices duplicated, every answer stored exactly once, p99 under 1 s.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import Wegwijzer
from bot.bootstrap import bootstrap
from bot.services.cases import create_case
from bot.storage.models import Answer, OutboxNotice
from bot.telegram import Activity, serve
from tests.bench.settings import bench_settings
from tests.fakes.bot_api import FakeBotAPI, User
from tests.world import add_person, external_id

NUMBERS = "112"  # in every language's emergency text
NEW_FLAG = "New urgent flag for case "


@dataclass(frozen=True)
class FaultFigures:
    alarms_raised: int
    alarms_recorded: int
    alarms_lost: int
    notices_queued: int
    notices_delivered: int
    notices_to_the_blocked: int  # settled as unreachable, and moved to others who can act
    notices_waiting: int  # neither delivered nor settled (target 0)
    notices_duplicated: int
    answers_expected: int
    answers_stored: int
    answers_doubled: int
    numbers_p50_ms: float
    numbers_p99_ms: float
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def report(self) -> str:
        return "\n".join(
            [
                f"faults: alarms raised/recorded/lost  {self.alarms_raised} / "
                f"{self.alarms_recorded} / {self.alarms_lost}   (target 0 lost)",
                f"faults: notices queued/delivered/duplicated  {self.notices_queued} / "
                f"{self.notices_delivered} / {self.notices_duplicated}   (target 0 duplicated; "
                f"{self.notices_to_the_blocked} to a blocked coordinator, moved on; "
                f"{self.notices_waiting} still waiting)",
                f"faults: answers stored once  {self.answers_stored}/{self.answers_expected}, "
                f"{self.answers_doubled} doubled",
                f"faults: time to the numbers  p50 {self.numbers_p50_ms:.0f} ms, "
                f"p99 {self.numbers_p99_ms:.0f} ms   (target p99 < 1000 ms, database locked "
                f"or the send failing)",
                f"faults: {self.seconds:.1f} s in all",
            ]
        )


class _Bot:
    """`serve()` in a task, stopped and started again for the restart."""

    def __init__(self, app: Wegwijzer) -> None:
        self.app = app
        self.activity = Activity()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(
            serve(self.app, stop=self._stop, duty_interval=0.5, activity=self.activity)
        )
        await asyncio.wait_for(self.activity.running.wait(), 20)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 30)


async def run_fault_bench(families: int = 20) -> FaultFigures:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wegwijzer-faults-") as folder:
        async with FakeBotAPI() as api:
            database = Path(folder) / "faults.db"
            settings = bench_settings(
                database_url=f"sqlite:///{database}",
                alarm_journal=Path(folder) / "alarms.jsonl",
                telegram_token=api.token,
                telegram_base_url=api.base_url,
                telegram_messages_per_second=1000.0,
            )
            app = await bootstrap(settings)
            try:
                world = await _world(app, api, families * 3)
                bot = _Bot(app)
                await bot.start()
                try:
                    delays = await _rounds(api, app, bot, world, families)
                finally:
                    await bot.stop()
                return await _count(api, app, world, delays, time.perf_counter() - started)
            finally:
                await app.close()


@dataclass
class _World:
    caseworker: User
    coordinators: list[User]
    families: list[User]
    codes: dict[int, str]  # the case code of each family's user id
    alarms: Counter[int]  # alarms each family raised
    answered: list[int]  # families that answered the check-in's first question


async def _world(app: Wegwijzer, api: FakeBotAPI, families: int) -> _World:
    async def user(participant: Any, language: str = "en") -> User:
        made = User(int(await external_id(app, participant)), "Bench", language_code=language)
        api.register(made)
        return made

    caseworker = await add_person(app, "caseworker")
    codes: dict[int, str] = {}
    users = []
    for _ in range(families):
        async with app.database.transaction() as uow:
            case = await create_case(uow, "family_strengthening")
            await uow.cases.assign_caseworker(case.id, caseworker.person_id)
        family = await user(await add_person(app, "family", case=case.code, language="nl"), "nl")
        codes[family.id] = case.code
        users.append(family)
    coordinators = [await user(await add_person(app, "coordinator")) for _ in range(2)]
    return _World(await user(caseworker), coordinators, users, codes, Counter(), [])


async def _rounds(
    api: FakeBotAPI, app: Wegwijzer, bot: _Bot, world: _World, families: int
) -> list[float]:
    delays: list[float] = []
    first, second, third = (
        world.families[:families],
        world.families[families : 2 * families],
        world.families[2 * families :],
    )

    # 1. SQLite locked by another program while families press /sos.
    locker = await asyncio.to_thread(_lock, app)
    try:
        delays += await _alarms(api, world, first, "/sos")
        await asyncio.sleep(1.0)  # the alarms wait for the lock meanwhile
    finally:
        await asyncio.to_thread(_unlock, locker)
    await _quiet(api, app, bot)

    # 2. The Bot API failing, for families and for staff.
    for family in second:
        api.fail_next("sendMessage", 500, chat_id=family.id)
    api.fail_next("sendMessage", 500, chat_id=world.caseworker.id, times=2)
    api.fail_next("sendMessage", 429, retry_after=1, chat_id=world.coordinators[0].id, times=2)
    api.block(world.coordinators[1].id)
    delays += await _alarms(api, world, second, "help, hij slaat mij")

    # 4. A restart in the middle of it all (the retries of round 2 still under way).
    await bot.stop()
    await bot.start()
    await _quiet(api, app, bot)

    # 3. Answers, every update delivered twice, the first reply to each failing.
    for family in third:
        api.fail_next("sendMessage", 500, chat_id=family.id)
    for text in ("/checkin", "ja", "1"):
        for family in third:
            update = api.send_text(family, text)
            api.queue_update(update, update_id=update["update_id"])  # delivered twice
        await _quiet(api, app, bot)
    world.answered.extend(family.id for family in third)
    await _quiet(api, app, bot)
    return delays


async def _alarms(api: FakeBotAPI, world: _World, families: list[User], text: str) -> list[float]:
    sent = {}
    for family in families:
        api.send_text(family, text)
        sent[family.id] = api._clock()
        world.alarms[family.id] += 1

    def numbers_sent() -> dict[int, float] | None:
        times = {
            call.params.get("chat_id"): call.time
            for call in api.calls_of("sendMessage")
            if call.ok and NUMBERS in str(call.params.get("text", ""))
        }
        return times if all(family in times for family in sent) else None

    arrived = await api.wait_for(lambda _calls: numbers_sent(), timeout=30)
    return [arrived[family] - at for family, at in sent.items()]


async def _quiet(api: FakeBotAPI, app: Wegwijzer, bot: _Bot) -> None:
    """Until every update handed out is handled, the journal is empty and no notice waits
    (those tried again wait 1 s, then 2 s: at most a minute in all)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if bot.activity.updates_handled < api.updates_handed_out or api.pending_updates:
            continue
        if await app.journal.pending():
            continue
        async with app.database.reading() as uow:
            if (await uow.outbox.counts()).get("queued"):
                continue
        return


def _lock(app: Wegwijzer) -> sqlite3.Connection:
    database = app.database.engine.url.database
    assert database is not None
    other = sqlite3.connect(database, timeout=10, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def _unlock(other: sqlite3.Connection) -> None:
    other.execute("ROLLBACK")
    other.close()


async def _count(
    api: FakeBotAPI, app: Wegwijzer, world: _World, delays: list[float], seconds: float
) -> FaultFigures:
    async with app.database.reading() as uow:
        flags = await uow.flags.open_flags()
        recorded = {flag.case_id for flag in flags if flag.rule == "emergency"}
        codes = await uow.cases.codes(recorded)
    async with app.database.engine.connect() as conn:
        states = Counter(
            state for (state,) in await conn.execute(select(OutboxNotice.__table__.c.state))
        )
        answers = Counter(
            (run_id, key)
            for run_id, key in await conn.execute(
                select(Answer.__table__.c.run_id, Answer.__table__.c.key)
            )
        )
    raised = {family for family, count in world.alarms.items() if count}
    recorded_families = {f for f in raised if world.codes[f] in codes.values()}
    staff = {world.caseworker.id, *(c.id for c in world.coordinators)}
    told = Counter(
        (call.params.get("chat_id"), str(call.params.get("text", "")).split(":")[0])
        for call in api.calls_of("sendMessage")
        if call.ok
        and call.params.get("chat_id") in staff
        and str(call.params.get("text", "")).startswith(NEW_FLAG)
    )
    first_answers = [key for (_run, key) in answers if key == "who5.cheerful"]
    delays.sort()
    return FaultFigures(
        alarms_raised=len(raised),
        alarms_recorded=len(recorded_families),
        alarms_lost=len(raised - recorded_families),
        notices_queued=sum(states.values()),
        notices_delivered=states.get("sent", 0),
        notices_to_the_blocked=states.get("unreachable", 0),
        notices_waiting=states.get("queued", 0),
        notices_duplicated=sum(count - 1 for count in told.values() if count > 1),
        answers_expected=len(world.answered),
        answers_stored=len(first_answers),
        answers_doubled=sum(count - 1 for count in answers.values() if count > 1),
        numbers_p50_ms=1000 * delays[len(delays) // 2] if delays else 0.0,
        numbers_p99_ms=1000 * delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        if delays
        else 0.0,
        seconds=seconds,
    )
