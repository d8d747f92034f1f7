"""`wegwijzer bench`: what one answer costs, against a bare python-telegram-bot echo bot.

Both bots run in this process, one after the other, against the same in-process fake Bot API
(long polling over HTTP on 127.0.0.1), on the same number of updates from the same number of
people:

(a) a bare PTB `Application` whose only handler replies with the received text;
(b) Wegwijzer answering a check-in button: verify the signed payload, one transaction
    (run, engine step, answer, state, processed update), edit the question to show the
    chosen answer, and send the next question.

Each side reports CPU time and wall time per update; the ratio b/a of CPU time is the figure
design.md sets a target for (at most 2.0). The fake server runs in the same process, so its
work is in both figures alike. Then it measures the memory the bot keeps per conversation:
with `open_runs` runs open in the database, people not seen before by this process open
their check-in and answer, in two halves, with tracemalloc on. The growth from the first
half to the second (leaving out the fake server's allocations), divided by the people of
the second half, is what one conversation leaves in memory: design.md's target is < 2 KB.
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import Wegwijzer
from bot.bootstrap import bootstrap
from bot.engine import Choose
from bot.services import runs
from bot.services.cases import create_case
from bot.telegram import build_application
from bot.telegram._channel import CHANNEL
from tests.bench.settings import bench_settings
from tests.fakes.bot_api import FakeBotAPI, User


@dataclass(frozen=True)
class Figures:
    updates: int
    echo_cpu_ms: float
    echo_wall_ms: float
    answer_cpu_ms: float
    answer_wall_ms: float
    open_runs: int
    bytes_per_conversation: float

    @property
    def ratio(self) -> float:
        return self.answer_cpu_ms / self.echo_cpu_ms

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ratio": round(self.ratio, 2)}

    def report(self) -> str:
        return "\n".join(
            [
                f"updates per side            {self.updates}",
                f"(a) PTB echo handler        {self.echo_cpu_ms:7.3f} ms CPU/update   "
                f"{self.echo_wall_ms:7.3f} ms wall/update",
                f"(b) Wegwijzer answer        {self.answer_cpu_ms:7.3f} ms CPU/update   "
                f"{self.answer_wall_ms:7.3f} ms wall/update",
                f"ratio b/a (CPU)             {self.ratio:7.2f}   (target <= 2.0)",
                f"memory per conversation     {self.bytes_per_conversation:7.0f} bytes   "
                f"(kept after answering, {self.open_runs} runs open; target < 2048)",
            ]
        )


async def run_bench(updates: int = 300, open_runs: int = 10_000) -> Figures:
    with tempfile.TemporaryDirectory(prefix="wegwijzer-bench-") as folder:
        async with FakeBotAPI() as api:
            echo = await _echo_cost(api, updates)
            answer, memory = await _wegwijzer_cost(api, Path(folder), updates, open_runs)
    return Figures(updates, *echo, *answer, open_runs, memory)


async def _measure(
    api: FakeBotAPI, application: Any, queue_all: Any, done: Any
) -> tuple[float, float]:
    """CPU and wall milliseconds per update, from queuing the updates until every one of them
    has been handled to the end."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    count = queue_all()
    await api.wait_for(lambda _calls: done(), timeout=600)
    await _idle(application)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu * 1000 / count, wall * 1000 / count


async def _echo_cost(api: FakeBotAPI, updates: int) -> tuple[float, float]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text)

    application = (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        .get_updates_connection_pool_size(2)  # as the bot: a clean stop, see build_application
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    people = [User(500_000 + number, "Echo") for number in range(updates)]
    for someone in people:
        api.register(someone)
    before = api.count("sendMessage")
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=5)

        def queue_all() -> int:
            for someone in people:
                api.send_text(someone, "hallo")
            return len(people)

        figures = await _measure(
            api,
            application,
            queue_all,
            lambda: api.count("sendMessage") - before >= updates,
        )
        await application.updater.stop()
        await application.stop()
    return figures


async def _wegwijzer_cost(
    api: FakeBotAPI, folder: Path, updates: int, open_runs: int
) -> tuple[tuple[float, float], float]:
    settings = bench_settings(
        database_url=f"sqlite:///{folder / 'bench.db'}",
        telegram_token=api.token,
        telegram_base_url=api.base_url,
    )
    app = await bootstrap(settings)
    try:
        external_ids = await _open_runs(app, CHANNEL, open_runs)
        # Without the rate limiter, like the echo bot: pacing at Telegram's 30 messages a second
        # would stretch the run over many seconds and fold idle wake-ups into the figure.
        application = build_application(
            app, token=api.token, base_url=api.base_url, rate_limit=False
        )
        async with application:
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=5)
            # Two groups of people: the first is measured for time (and warms up pools,
            # caches and lazy imports), the second, never seen before by this process, for
            # the memory that stays behind once their conversations have been handled.
            timed = [User(int(external_id), "Bench") for external_id in external_ids[:updates]]
            traced = [
                User(int(external_id), "Bench")
                for external_id in external_ids[updates : 2 * updates]
            ]
            for user in [*timed, *traced]:
                api.register(user)
            # Each person opens their check-in once, so its question is on their screen.
            await _round(api, timed, lambda user: api.send_command(user, "/checkin"), 1)
            cost = await _measure(api, application, *_presses(api, timed))

            # Memory: the slope, not the level. Pools, caches and connections grow to a size
            # set by concurrency, not by people; what grows from one half of new people to
            # the next is what each conversation leaves behind.
            half = len(traced) // 2
            tracemalloc.start(25)
            levels = []
            for group in (traced[:half], traced[half:]):
                await _round(api, group, lambda user: api.send_command(user, "/checkin"), 1)
                queue_all, done = _presses(api, group)
                queue_all()
                await api.wait_for(lambda _calls, done=done: done(), timeout=600)
                await _idle(application)
                gc.collect()
                levels.append(_bot_memory())
            tracemalloc.stop()
            retained = levels[1] - levels[0]
            await application.updater.stop()
            await application.stop()
        return cost, max(retained, 0) / (len(traced) - half)
    finally:
        await app.close()


async def _idle(application: Any) -> None:
    """Wait until the bot has no update queued or in hand: replies arrive before a handler
    has closed its transaction and returned."""
    while (
        not application.update_queue.empty()
        or application.update_processor.current_concurrent_updates
    ):
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)


def _presses(api: FakeBotAPI, users: list[User]) -> tuple[Any, Any]:
    """Each person presses the first option of the question on their screen."""
    edits = api.count("editMessageText")
    sent = api.count("sendMessage")

    def queue_all() -> int:
        for user in users:
            question = api.last_message(user.id)
            data = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            api.press(user, question, data)
        return len(users)

    def done() -> bool:
        return api.count("editMessageText") - edits >= len(users) and api.count(
            "sendMessage"
        ) - sent >= len(users)

    return queue_all, done


async def _round(api: FakeBotAPI, users: list[User], send: Any, replies: int) -> None:
    sent = api.count("sendMessage")
    for user in users:
        send(user)
    await api.wait_for(lambda _c: api.count("sendMessage") - sent >= replies * len(users), 600)


def _bot_memory() -> int:
    """Bytes still allocated, leaving out what the fake server (and tracemalloc) holds."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [
            # The fake server: its code and the web framework it runs on (the bot polls).
            tracemalloc.Filter(False, "*/tests/fakes/*", all_frames=True),
            tracemalloc.Filter(False, "*/tornado/*", all_frames=True),
            tracemalloc.Filter(False, tracemalloc.__file__),
        ]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


async def _open_runs(app: Wegwijzer, channel: str, count: int) -> list[str]:
    """`count` families who joined, chose Dutch, consented, and are at the first WHO-5
    question of their check-in: open runs, stored as the bot stores them."""
    flow = app.flows.for_purpose("checkin")
    assert flow is not None
    context = runs.flow_context(app)
    now = app.clock()
    external_ids: list[str] = []
    batch = 1000
    for start in range(0, count, batch):
        async with app.database.transaction() as uow:
            case = await create_case(uow, "family_strengthening")
            for number in range(start, min(start + batch, count)):
                external_id = str(600_000 + number)
                person = await uow.people.add(channel, external_id, "family", "nl")
                await uow.people.set_consent(person.id, "given", now)
                await uow.cases.add_member(case.id, person.id)
                started = app.engine.start(flow.id, context)
                sprint = app.engine.resume(started.state, Choose(True), context)
                run = await uow.runs.start(
                    person.id,
                    case.id,
                    flow.id,
                    flow.version,
                    sprint.state.step,
                    sprint.state.to_dict(),
                    now,
                )
                await uow.answers.record(run.id, "checkin.consent", True, flow.start, now)
                external_ids.append(external_id)
    return external_ids


def main(
    updates: int,
    open_runs: int,
    as_json: bool,
    *,
    reminders: int = 0,
    limit: float = 30.0,
    faults: int = 0,
) -> int:
    import json

    from .faults import run_fault_bench
    from .reminders import run_reminder_bench

    figures = asyncio.run(run_bench(updates, open_runs)) if updates else None
    fan_out = asyncio.run(run_reminder_bench(reminders, limit)) if reminders else None
    broken = asyncio.run(run_fault_bench(faults)) if faults else None
    if as_json:
        print(
            json.dumps(
                {
                    **(figures.as_dict() if figures else {}),
                    "reminders": fan_out.as_dict() if fan_out else None,
                    "faults": broken.as_dict() if broken else None,
                },
                indent=2,
            )
        )
    else:
        parts = (figures, fan_out, broken)
        print("\n".join(part.report() for part in parts if part is not None))
    return 0
