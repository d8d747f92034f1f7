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

(b) and (c) run on SQLite and, when one is given, on PostgreSQL. Every side has the bot's
concurrency and the same Bot API connection pool. The sides take turns, in short rounds of
fresh people (the order reversed each round), so that the machine's load, which drifts over a
run, weighs on every side alike. The figures are CPU and wall milliseconds per update and the
ratios c/a and c/b, the medians of the rounds' ratios (design.md's target for c/b: 1.5).

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
import statistics
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
from bot.storage.crypto import Keyring
from bot.storage.database import SQLITE_PRAGMAS
from bot.telegram import BOT_API_CONNECTIONS, GET_UPDATES_CONNECTIONS, build_application
from bot.telegram._processor import CONCURRENT_UPDATES
from tests.bench import memory
from tests.bench.open_runs import FIRST_ID, open_checkins
from tests.bench.remote import RemoteBotAPI
from tests.bench.settings import bench_settings
from tests.databases import PostgresServer, libpq_dsn


@dataclass(frozen=True)
class Cost:
    cpu_ms: float
    wall_ms: float


def _pooled(costs: list[Cost], counts: list[int]) -> Cost:
    """Per update over all rounds: each round's cost weighted by its updates."""
    total = sum(counts)
    return Cost(
        round(sum(c.cpu_ms * n for c, n in zip(costs, counts, strict=True)) / total, 3),
        round(sum(c.wall_ms * n for c, n in zip(costs, counts, strict=True)) / total, 3),
    )


@dataclass(frozen=True)
class Ratio:
    """c over b (or a) round by round: the median, and the range it moved in."""

    rounds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": round(self.median, 2),
            "min": round(min(self.rounds), 2),
            "max": round(max(self.rounds), 2),
            "rounds": [round(r, 2) for r in self.rounds],
        }

    def text(self) -> str:
        return f"{self.median:7.2f}   (rounds {min(self.rounds):.2f}-{max(self.rounds):.2f})"


@dataclass(frozen=True)
class DatabaseFigures:
    database: str
    floor: Cost
    answer: Cost
    echo: Cost
    floor_ratios: Ratio
    echo_ratios: Ratio
    rounds_cpu_ms: dict[str, list[float]]  # each side's CPU per update, round by round
    bytes_per_person: float | None = None  # the memory slope on this database

    @property
    def floor_ratio(self) -> float:
        return self.floor_ratios.median

    @property
    def best_floor_ratio(self) -> float:
        """The answer's least disturbed round over the floor's: a round now and then costs
        one side two or three times the others (the machine's other work), and a side's
        cheapest round is the nearest to its cost undisturbed."""
        return min(self.rounds_cpu_ms[f"answer-{self.database}"]) / min(
            self.rounds_cpu_ms[f"floor-{self.database}"]
        )

    @property
    def echo_ratio(self) -> float:
        return self.echo_ratios.median


@dataclass(frozen=True)
class Figures:
    updates: int
    rounds: int
    open_runs: int
    echo: Cost
    databases: list[DatabaseFigures]
    people: int  # new people in each of the two memory groups
    bytes_per_person: float  # on SQLite (each database's in `databases`)
    memory_measure: str  # "allocators" (untraced) or "tracemalloc"
    connection_pool_size: int
    concurrent_updates: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "updates": self.updates,
            "rounds": self.rounds,
            "open_runs": self.open_runs,
            "connection_pool_size": self.connection_pool_size,
            "concurrent_updates": self.concurrent_updates,
            "echo": asdict(self.echo),
            "databases": {
                figures.database: {
                    "floor": asdict(figures.floor),
                    "answer": asdict(figures.answer),
                    # The medians of the rounds' ratios; their spread under "..._rounds".
                    "floor_ratio": round(figures.floor_ratio, 2),
                    "echo_ratio": round(figures.echo_ratio, 2),
                    "floor_ratio_rounds": figures.floor_ratios.as_dict(),
                    "echo_ratio_rounds": figures.echo_ratios.as_dict(),
                    "rounds_cpu_ms": figures.rounds_cpu_ms,
                    "best_floor_ratio": round(figures.best_floor_ratio, 2),
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
            f"updates per side            {self.updates}   in {self.rounds} rounds taking turns "
            f"({self.open_runs} runs open; every side {self.concurrent_updates} updates at once, "
            f"{self.connection_pool_size} Bot API connections)",
            _line("(a) PTB echo handler", self.echo),
        ]
        for figures in self.databases:
            lines += [
                f"-- {figures.database}",
                _line("(b) floor: PTB + raw driver", figures.floor),
                _line("(c) Wegwijzer answer", figures.answer),
                f"    ratio c/b (floor, CPU)  {figures.floor_ratios.text()}   median of the "
                "rounds' (target <= 1.5)",
                f"    ratio c/b, best rounds  {figures.best_floor_ratio:7.2f}   (each side's "
                "cheapest round)",
                f"    ratio c/a (echo, CPU)   {figures.echo_ratios.text()}",
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


class _Side:
    """One bot under measurement: `prepare` puts what a round's people need on their screens
    (not measured, and it warms the side's connections), `measure` times their updates."""

    name: str
    application: Any

    async def prepare(self, api: RemoteBotAPI, ids: list[int]) -> None:
        raise NotImplementedError

    async def measure(self, api: RemoteBotAPI, ids: list[int]) -> Cost:
        raise NotImplementedError

    async def close(self) -> None:
        pass


async def run_bench(
    updates: int = 500,
    open_runs: int = 10_000,
    people: int = 1000,
    postgres: str | None = None,
    profile: Path | None = None,
    rounds: int = 5,
    connection_pool_size: int = BOT_API_CONNECTIONS,
) -> Figures:
    """`postgres`: the URL of a throw-away PostgreSQL database, or None for SQLite only.
    `profile`: write a cProfile of the bot process over the measured answers (SQLite).

    The sides take turns: `rounds` short rounds of `updates / rounds` fresh people each, every
    side once per round (in the opposite order the next round), so that the machine's load,
    which drifts over a run, weighs on every side alike; the ratios are the rounds' medians."""
    rounds = max(1, min(rounds, updates))
    per_round = [updates // rounds + (1 if r < updates % rounds else 0) for r in range(rounds)]
    kinds = [("sqlite", None)] + ([("postgresql", postgres)] if postgres else [])
    with tempfile.TemporaryDirectory(prefix="wegwijzer-bench-") as folder:
        async with RemoteBotAPI() as api, contextlib.AsyncExitStack() as stack:
            sides: list[_Side] = [_EchoSide(api, connection_pool_size)]
            answers: dict[str, _WegwijzerSide] = {}
            for name, given in kinds:
                url = given or f"sqlite:///{Path(folder) / 'bench.db'}"
                floor = await _FloorSide.open(api, name, url, folder, connection_pool_size)
                stack.push_async_callback(floor.close)
                answer = await _WegwijzerSide.open(
                    api,
                    name,
                    url,
                    updates,
                    open_runs,
                    people,
                    connection_pool_size,
                    profile if name == "sqlite" else None,
                )
                stack.push_async_callback(answer.close)
                sides += [floor, answer]
                answers[name] = answer
            for side in sides:
                await stack.enter_async_context(side.application)
            costs: dict[str, list[Cost]] = {side.name: [] for side in sides}
            taken: dict[str, int] = {side.name: 0 for side in sides}
            for number, count in enumerate(per_round):
                for side in sides if number % 2 == 0 else sides[::-1]:
                    ids = side.people[taken[side.name] : taken[side.name] + count]
                    taken[side.name] += count
                    async with _polling(side.application):
                        await side.prepare(api, ids)
                        costs[side.name].append(await side.measure(api, ids))
            databases: list[DatabaseFigures] = []
            grown = 0.0
            echo = costs["echo"]
            for name, _given in kinds:
                floor_costs, answer_costs = costs[f"floor-{name}"], costs[f"answer-{name}"]
                slope = await answers[name].memory_slope(api) if people else None
                grown = slope if name == "sqlite" and slope is not None else grown
                databases.append(
                    DatabaseFigures(
                        name,
                        _pooled(floor_costs, per_round),
                        _pooled(answer_costs, per_round),
                        _pooled(echo, per_round),
                        Ratio(
                            [
                                c.cpu_ms / b.cpu_ms
                                for b, c in zip(floor_costs, answer_costs, strict=True)
                            ]
                        ),
                        Ratio(
                            [c.cpu_ms / a.cpu_ms for a, c in zip(echo, answer_costs, strict=True)]
                        ),
                        {
                            side: [cost.cpu_ms for cost in costs[side]]
                            for side in ("echo", f"floor-{name}", f"answer-{name}")
                        },
                        slope,
                    )
                )
            answers["sqlite"].dump_profile()
    measure = "tracemalloc" if memory.traced() else "allocators"
    return Figures(
        updates,
        rounds,
        open_runs,
        _pooled(costs["echo"], per_round),
        databases,
        people,
        grown,
        measure,
        connection_pool_size,
        CONCURRENT_UPDATES,
    )


# ------------------------------------------------------------------------------ measuring

# One key ring for the bots on both databases, alive side by side (see bench_settings).
KEYS = Keyring.generate("bench").to_json()

# People of each side have ids of their own, so that no chat carries over from another side.
ECHO_IDS, FLOOR_IDS = 500_000, 700_000


async def _measure(
    api: RemoteBotAPI,
    application: Any,
    queue_all: Callable[[], Awaitable[int]],
    targets: dict[str, int],
    profiler: cProfile.Profile | None = None,
) -> Cost:
    """CPU and wall milliseconds per update, from queuing the updates until every one of them
    has been handled to the end (the fake has seen the calls `targets` names)."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    count = await queue_all()
    await api.wait_counts(targets)
    await _idle(application)
    if profiler:
        profiler.disable()
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
    """The side's turn: only one side polls the fake at a time. The application stays
    initialized between its turns, its HTTP client and connection pool with it."""
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=5)
    try:
        yield
    finally:
        await application.updater.stop()
        await application.stop()


def _bare_application(api: RemoteBotAPI, connection_pool_size: int) -> Any:
    return (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        # As the bot: the same updates at once (different people side by side), the same
        # Bot API connection pool (httpx looks at every pooled connection on every request,
        # so a side with more connections pays more per request), and a clean stop (see
        # build_application).
        .concurrent_updates(CONCURRENT_UPDATES)
        .connection_pool_size(connection_pool_size)
        .get_updates_connection_pool_size(GET_UPDATES_CONNECTIONS)
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


class _EchoSide(_Side):
    name = "echo"

    def __init__(self, api: RemoteBotAPI, connection_pool_size: int):
        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.message.reply_text(update.message.text)

        self.application = _bare_application(api, connection_pool_size)
        self.application.add_handler(MessageHandler(filters.TEXT, echo))
        self.people = list(range(ECHO_IDS, ECHO_IDS + 100_000))

    async def prepare(self, api: RemoteBotAPI, ids: list[int]) -> None:
        await api.call("register_each", ids)
        # A warm-up as the other sides have: the round's people write once, unmeasured.
        await self._send(api, ids, measured=False)

    async def measure(self, api: RemoteBotAPI, ids: list[int]) -> Cost:
        return await self._send(api, ids, measured=True)

    async def _send(self, api: RemoteBotAPI, ids: list[int], *, measured: bool) -> Cost:
        targets = await _counts(api, sendMessage=len(ids))

        async def queue_all() -> int:
            await api.call("send_text_each", ids, "hallo")
            return len(ids)

        if measured:
            return await _measure(api, self.application, queue_all, targets)
        await queue_all()
        await api.wait_counts(targets)
        await _idle(self.application)
        return Cost(0, 0)


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


class _FloorSide(_Side):
    @classmethod
    async def open(
        cls, api: RemoteBotAPI, kind: str, url: str, folder: str, connection_pool_size: int
    ) -> _FloorSide:
        self = cls()
        self.name = f"floor-{kind}"
        answers = self.answers = await _RawAnswers.open(kind, url, folder)

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

        self.application = _bare_application(api, connection_pool_size)
        self.application.add_handler(MessageHandler(filters.TEXT, ask))
        self.application.add_handler(CallbackQueryHandler(answer))
        first = FLOOR_IDS if kind == "sqlite" else FLOOR_IDS + 100_000
        self.people = list(range(first, first + 100_000))
        return self

    async def prepare(self, api: RemoteBotAPI, ids: list[int]) -> None:
        await api.call("register_each", ids)
        asked = await _counts(api, sendMessage=len(ids))
        await api.call("send_text_each", ids, "start")
        await api.wait_counts(asked)
        await _idle(self.application)

    async def measure(self, api: RemoteBotAPI, ids: list[int]) -> Cost:
        return await _measure(api, self.application, *await _presses(api, ids))

    async def close(self) -> None:
        await self.answers.close()


# ------------------------------------------------------------------------------ (c) answer


class _WegwijzerSide(_Side):
    @classmethod
    async def open(
        cls,
        api: RemoteBotAPI,
        kind: str,
        url: str,
        updates: int,
        open_runs: int,
        people: int,
        connection_pool_size: int,
        profile: Path | None,
    ) -> _WegwijzerSide:
        self = cls()
        self.name = f"answer-{kind}"
        settings = bench_settings(
            database_url=url,
            telegram_token=api.token,
            telegram_base_url=api.base_url,
            encryption_keys=KEYS,
        )
        self.app = await bootstrap(settings)
        # Ids of its own on each database: the sides share the fake, and its chats.
        first = FIRST_ID if kind == "sqlite" else FIRST_ID + 1_000_000
        count = max(open_runs, updates + 2 * people)
        ids = [int(i) for i in await open_checkins(self.app, count, first=first)]
        # Without the rate limiter, like the bare bots: pacing at Telegram's 30 messages a
        # second would stretch the run over many seconds and fold idle wake-ups into it.
        self.application = build_application(
            self.app,
            token=api.token,
            base_url=api.base_url,
            rate_limit=False,
            connection_pool_size=connection_pool_size,
        )
        # The timed people (who also warm up pools, caches and lazy imports), then the two
        # groups for memory, none of them seen before by this process.
        self.people = ids[:updates]
        self.first, self.second = (
            ids[updates : updates + people],
            ids[updates + people : updates + 2 * people],
        )
        await api.call("register_each", ids[: updates + 2 * people])
        # CPU time, as the figure: a wall-clock profile would count the waits for the fake.
        self.profile = profile
        self.profiler = cProfile.Profile(time.process_time) if profile else None
        return self

    async def prepare(self, api: RemoteBotAPI, ids: list[int]) -> None:
        await _open_checkins(api, ids)
        await _idle(self.application)

    async def measure(self, api: RemoteBotAPI, ids: list[int]) -> Cost:
        return await _measure(api, self.application, *await _presses(api, ids), self.profiler)

    async def memory_slope(self, api: RemoteBotAPI) -> float:
        async with _polling(self.application):
            return await _memory_slope(api, self.application, self.first, self.second)

    def dump_profile(self) -> None:
        if self.profiler and self.profile:
            self.profiler.dump_stats(str(self.profile))

    async def close(self) -> None:
        await self.app.close()


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
    rounds: int = 5,
    connection_pool_size: int = 0,
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
            figures = asyncio.run(
                run_bench(
                    updates,
                    open_runs,
                    people,
                    database,
                    profile,
                    rounds,
                    connection_pool_size or BOT_API_CONNECTIONS,
                )
            )
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
