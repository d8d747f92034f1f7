"""`wegwijzer bench`: what one answer costs, against the floor, and what memory it leaves.

The fake Bot API runs in a process of its own (`remote.py`): it plays Telegram and the
people, and the CPU time counted is the bot process's alone. Each side handles the same
number of updates from the same number of people, long polling over HTTP on 127.0.0.1:

(a) echo: a bare python-telegram-bot handler that replies with the text received (one call);
(b) floor: a bare python-telegram-bot handler doing exactly the I/O an answer needs — answer
    the button, one durable insert and commit of the answer with the raw database driver
    (aiosqlite, asyncpg; the same SQLite pragmas as the bot), edit the question to show the
    choice, send the next question with its buttons;
(c) Wegwijzer answering a check-in question: verify the signed payload, one transaction (run,
    engine step, answer sealed, state, processed update), edit the question, send the next.

(b) and (c) run on SQLite and, when one is given, on PostgreSQL. The figures are CPU and wall
milliseconds per update and the ratios c/a and c/b (design.md's target for c/b: 1.5).

Memory: people never seen before by this process open their check-in and answer, in two
groups of `people`, ten batches each. After each batch the bench reads the level the
allocators hold (`memory.py`: pymalloc's and malloc's bytes in use after a full collection,
the serving itself untraced); the slope of the least-squares line through the second group's
levels is what serving one person leaves behind (target < 200 bytes). The first group lets
everything that grows with the batch (updates in flight, their tasks, connections) reach its
size; a bounded cache still filling is counted, as the growth it is until its bound. On
each database measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.bootstrap import bootstrap
from bot.storage.database import SQLITE_PRAGMAS
from bot.telegram import build_application
from tests.bench import memory
from tests.bench.open_runs import open_checkins
from tests.bench.remote import RemoteBotAPI
from tests.bench.settings import bench_settings
from tests.databases import PostgresServer, libpq_dsn


@dataclass(frozen=True)
class Cost:
    cpu_ms: float
    wall_ms: float


@dataclass(frozen=True)
class DatabaseFigures:
    database: str
    floor: Cost
    answer: Cost
    echo: Cost
    bytes_per_person: float | None = None  # the memory slope on this database

    @property
    def floor_ratio(self) -> float:
        return self.answer.cpu_ms / self.floor.cpu_ms

    @property
    def echo_ratio(self) -> float:
        return self.answer.cpu_ms / self.echo.cpu_ms


@dataclass(frozen=True)
class Figures:
    updates: int
    open_runs: int
    echo: Cost
    databases: list[DatabaseFigures]
    people: int  # new people in each of the two memory groups
    bytes_per_person: float  # on SQLite (each database's in `databases`)
    memory_measure: str  # "allocators" (untraced) or "tracemalloc"

    def as_dict(self) -> dict[str, Any]:
        return {
            "updates": self.updates,
            "open_runs": self.open_runs,
            "echo": asdict(self.echo),
            "databases": {
                figures.database: {
                    "floor": asdict(figures.floor),
                    "answer": asdict(figures.answer),
                    "floor_ratio": round(figures.floor_ratio, 2),
                    "echo_ratio": round(figures.echo_ratio, 2),
                    "bytes_per_person": None
                    if figures.bytes_per_person is None
                    else round(figures.bytes_per_person),
                }
                for figures in self.databases
            },
            "memory_people": self.people,
            "bytes_per_person": round(self.bytes_per_person),
            "memory_measure": self.memory_measure,
        }

    def report(self) -> str:
        lines = [
            f"updates per side            {self.updates}   ({self.open_runs} runs open)",
            _line("(a) PTB echo handler", self.echo),
        ]
        for figures in self.databases:
            lines += [
                f"-- {figures.database}",
                _line("(b) floor: PTB + raw driver", figures.floor),
                _line("(c) Wegwijzer answer", figures.answer),
                f"    ratio c/b (floor, CPU)  {figures.floor_ratio:7.2f}   (target <= 1.5)",
                f"    ratio c/a (echo, CPU)   {figures.echo_ratio:7.2f}",
            ]
            if figures.bytes_per_person is not None:
                lines.append(
                    f"    memory per person       {figures.bytes_per_person:7.0f} bytes   "
                    f"(growth over 2 x {self.people} new people, {self.memory_measure}; "
                    "target < 200)"
                )
        return "\n".join(lines)


def _line(name: str, cost: Cost) -> str:
    return f"{name:<28}{cost.cpu_ms:7.3f} ms CPU/update   {cost.wall_ms:7.3f} ms wall/update"


async def run_bench(
    updates: int = 300,
    open_runs: int = 10_000,
    people: int = 1000,
    postgres: str | None = None,
    profile: Path | None = None,
) -> Figures:
    """`postgres`: the URL of a throw-away PostgreSQL database, or None for SQLite only.
    `profile`: write a cProfile of the bot process over the measured answers (SQLite)."""
    with tempfile.TemporaryDirectory(prefix="wegwijzer-bench-") as folder:
        async with RemoteBotAPI() as api:
            echo = await _echo_cost(api, updates)
            databases: list[DatabaseFigures] = []
            grown = 0.0
            for name, url in [("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}")] + (
                [("postgresql", postgres)] if postgres else []
            ):
                floor = await _floor_cost(api, name, url, folder, updates)
                answer, slope = await _wegwijzer_cost(
                    api,
                    url,
                    updates,
                    open_runs,
                    people,
                    profile if name == "sqlite" else None,
                )
                grown = slope if name == "sqlite" and slope is not None else grown
                databases.append(DatabaseFigures(name, floor, answer, echo, slope))
    measure = "tracemalloc" if memory.traced() else "allocators"
    return Figures(updates, open_runs, echo, databases, people, grown, measure)


# ------------------------------------------------------------------------------ measuring

# People of each side have ids of their own, so that no chat carries over from another side.
ECHO_IDS, FLOOR_IDS = 500_000, 700_000


async def _measure(
    api: RemoteBotAPI,
    application: Any,
    queue_all: Callable[[], Awaitable[int]],
    targets: dict[str, int],
    profile: Path | None = None,
) -> Cost:
    """CPU and wall milliseconds per update, from queuing the updates until every one of them
    has been handled to the end (the fake has seen the calls `targets` names)."""
    gc.collect()
    # CPU time, as the figure: a wall-clock profile would count the waits for the fake.
    profiler = cProfile.Profile(time.process_time) if profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    count = await queue_all()
    await api.wait_counts(targets)
    await _idle(application)
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return Cost(round(cpu * 1000 / count, 3), round(wall * 1000 / count, 3))


async def _idle(application: Any) -> None:
    """Wait until the bot has no update queued or in hand: replies arrive before a handler
    has closed its transaction and returned."""
    while (
        not application.update_queue.empty()
        or application.update_processor.current_concurrent_updates
    ):
        await asyncio.sleep(0.002)


async def _counts(api: RemoteBotAPI, **more: int) -> dict[str, int]:
    """Targets: the fake's present counts of these methods plus the given numbers."""
    now: dict[str, int] = await api.call("counts", list(more))
    return {method: now[method] + n for method, n in more.items()}


@contextlib.asynccontextmanager
async def _polling(application: Any) -> AsyncIterator[None]:
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=5)
        try:
            yield
        finally:
            await application.updater.stop()
            await application.stop()


def _bare_application(api: RemoteBotAPI) -> Any:
    return (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        .concurrent_updates(64)  # as the bot: people side by side
        .get_updates_connection_pool_size(2)  # as the bot: a clean stop, see build_application
        .build()
    )


async def _presses(
    api: RemoteBotAPI, ids: list[int]
) -> tuple[Callable[[], Awaitable[int]], dict[str, int]]:
    """Each person presses the first button of the question on their screen: the bot answers
    the button, edits the question and sends the next one."""
    targets = await _counts(
        api, answerCallbackQuery=len(ids), editMessageText=len(ids), sendMessage=len(ids)
    )

    async def queue_all() -> int:
        await api.call("press_first_each", ids)
        return len(ids)

    return queue_all, targets


# ------------------------------------------------------------------------------ (a) echo


async def _echo_cost(api: RemoteBotAPI, updates: int) -> Cost:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text)

    application = _bare_application(api)
    application.add_handler(MessageHandler(filters.TEXT, echo))
    ids = list(range(ECHO_IDS, ECHO_IDS + updates))
    await api.call("register_each", ids)
    async with _polling(application):
        targets = await _counts(api, sendMessage=updates)

        async def queue_all() -> int:
            await api.call("send_text_each", ids, "hallo")
            return updates

        return await _measure(api, application, queue_all, targets)


# ------------------------------------------------------------------------------ (b) floor

QUESTION = "Over the last two weeks I have felt cheerful and in good spirits."
OPTIONS = ["All of the time", "Most of the time", "More than half", "Less than half", "Never"]


def _keyboard(question: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=f"q{question}:{n}")]
            for n, label in enumerate(OPTIONS)
        ]
    )


class _RawAnswers:
    """One durable insert and commit per answer with the database's own driver."""

    CREATE = (
        "CREATE TABLE IF NOT EXISTS floor_answer (update_id BIGINT PRIMARY KEY, "
        "person BIGINT NOT NULL, question TEXT NOT NULL, value TEXT NOT NULL, "
        "answered_at TIMESTAMP NOT NULL)"
    )

    @classmethod
    async def open(cls, kind: str, url: str, folder: str) -> _RawAnswers:
        self = cls()
        if kind == "sqlite":
            self.sqlite = await aiosqlite.connect(Path(folder) / "floor.db")
            for pragma in SQLITE_PRAGMAS:
                await self.sqlite.execute(pragma)
            await self.sqlite.execute(self.CREATE)
            await self.sqlite.commit()
            self.lock = asyncio.Lock()
        else:
            self.pool = await asyncpg.create_pool(libpq_dsn(url), min_size=4, max_size=4)
            await self.pool.execute(self.CREATE)
        return self

    async def store(self, update_id: int, person: int, question: str, value: str) -> None:
        if hasattr(self, "sqlite"):
            async with self.lock:  # one writer, as the bot's SQLite gate
                await self.sqlite.execute(
                    "INSERT INTO floor_answer VALUES (?, ?, ?, ?, datetime('now'))",
                    (update_id, person, question, value),
                )
                await self.sqlite.commit()
        else:
            await self.pool.execute(
                "INSERT INTO floor_answer VALUES ($1, $2, $3, $4, now())",
                update_id,
                person,
                question,
                value,
            )

    async def close(self) -> None:
        if hasattr(self, "sqlite"):
            await self.sqlite.close()
        else:
            await self.pool.close()


async def _floor_cost(api: RemoteBotAPI, kind: str, url: str, folder: str, updates: int) -> Cost:
    answers = await _RawAnswers.open(kind, url, folder)

    async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(QUESTION, reply_markup=_keyboard(1))

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        question, value = query.data.split(":")
        await answers.store(update.update_id, query.from_user.id, question, value)
        await query.edit_message_text(f"{QUESTION}\n\n✓ {OPTIONS[int(value)]}")
        await context.bot.send_message(
            query.message.chat.id, QUESTION, reply_markup=_keyboard(int(question[1:]) + 1)
        )

    application = _bare_application(api)
    application.add_handler(MessageHandler(filters.TEXT, ask))
    application.add_handler(CallbackQueryHandler(answer))
    first = FLOOR_IDS if kind == "sqlite" else FLOOR_IDS + 100_000
    ids = list(range(first, first + updates))
    await api.call("register_each", ids)
    try:
        async with _polling(application):
            asked = await _counts(api, sendMessage=updates)
            await api.call("send_text_each", ids, "start")
            await api.wait_counts(asked)
            return await _measure(api, application, *await _presses(api, ids))
    finally:
        await answers.close()


# ------------------------------------------------------------------------------ (c) answer


async def _wegwijzer_cost(
    api: RemoteBotAPI,
    url: str,
    updates: int,
    open_runs: int,
    people: int,
    profile: Path | None,
) -> tuple[Cost, float | None]:
    settings = bench_settings(
        database_url=url, telegram_token=api.token, telegram_base_url=api.base_url
    )
    app = await bootstrap(settings)
    try:
        ids = [int(i) for i in await open_checkins(app, max(open_runs, updates + 2 * people))]
        # Without the rate limiter, like the bare bots: pacing at Telegram's 30 messages a
        # second would stretch the run over many seconds and fold idle wake-ups into it.
        application = build_application(
            app, token=api.token, base_url=api.base_url, rate_limit=False
        )
        # The timed people (who also warm up pools, caches and lazy imports), then the two
        # groups for memory, none of them seen before by this process.
        timed, first, second = (
            ids[:updates],
            ids[updates : updates + people],
            ids[updates + people : updates + 2 * people],
        )
        await api.call("register_each", ids[: updates + 2 * people])
        async with _polling(application):
            await _open_checkins(api, timed)
            cost = await _measure(api, application, *await _presses(api, timed), profile)
            grown = await _memory_slope(api, application, first, second) if people else None
        return cost, grown
    finally:
        await app.close()


async def _open_checkins(api: RemoteBotAPI, ids: list[int]) -> None:
    """Each person opens their check-in, so its question is on their screen."""
    shown = await _counts(api, sendMessage=len(ids))
    await api.call("send_command_each", ids, "/checkin")
    await api.wait_counts(shown)


# The memory groups are served in this many batches each, the level read after each batch.
MEMORY_BATCHES = 10


async def _memory_slope(
    api: RemoteBotAPI, application: Any, first: list[int], second: list[int]
) -> float:
    """Bytes kept per person served. The slope, not the level: pools, caches and connections
    grow to a size set by concurrency, not by people; what grows from one group of new people
    to the next is what each person leaves behind. Served in batches, so that what is in
    flight at once is a batch whatever the group's size; the line through a level after each
    batch, so that what comes and goes (statement caches, cursors, SQLite's pages) weighs
    less than in two readings."""
    size = -(-len(second) // MEMORY_BATCHES)
    served, levels = [], []
    with memory.measuring():
        for number, group in enumerate((first, second)):
            for start in range(0, len(group), size):
                batch = group[start : start + size]
                await _open_checkins(api, batch)
                queue_all, targets = await _presses(api, batch)
                await queue_all()
                await api.wait_counts(targets)
                await _idle(application)
                if number == 1 or start + size >= len(group):  # the first group's end, on
                    served.append(start + len(batch) if number else 0)
                    levels.append(memory.level())
    return memory.slope(served, levels)


def main(
    updates: int,
    open_runs: int,
    as_json: bool,
    *,
    people: int = 1000,
    traced: bool = False,
    postgres: str | None = None,
    profile: Path | None = None,
    reminders: int = 0,
    limit: float = 30.0,
    faults: int = 0,
) -> int:
    import json

    from .faults import run_fault_bench
    from .reminders import run_reminder_bench

    started = time.perf_counter()
    memory.trace(traced)
    figures = None
    if updates:
        server = PostgresServer(postgres) if postgres else None
        try:
            database = server.create_database() if server else None
            figures = asyncio.run(run_bench(updates, open_runs, people, database, profile))
        finally:
            if server:
                server.drop_created()
    fan_out = asyncio.run(run_reminder_bench(reminders, limit)) if reminders else None
    broken = asyncio.run(run_fault_bench(faults)) if faults else None
    seconds = round(time.perf_counter() - started, 1)
    if as_json:
        print(
            json.dumps(
                {
                    **(figures.as_dict() if figures else {}),
                    "reminders": fan_out.as_dict() if fan_out else None,
                    "faults": broken.as_dict() if broken else None,
                    "seconds": seconds,
                },
                indent=2,
            )
        )
    else:
        parts = (figures, fan_out, broken)
        print("\n".join(part.report() for part in parts if part is not None))
        print(f"bench took {seconds} s wall")
    return 0
