"""`wegwijzer bench --processes`: answers per second with one and with several bot processes.

The bench plays Telegram, the load balancer and the families (the fake Bot API, in this
process); the bots are real `wegwijzer run --webhook-url` processes on one PostgreSQL
database, each with its own port, sharing the work as a deployment does (see
`bot/telegram/_shared.py`). The database is a throw-away one made next to the server's
(`--database`, or TEST_DATABASE_URL) and dropped at the end.

All processes are started at once and warmed up; then `families` families at the first
WHO-5 question press an answer, round after round (each round: one press per family, all
queued at once, until every question was edited and the next one sent), first with the load
balancer handing everything to one process, then to all of them, each time with families of
their own. The figure is answers per second, and its ratio (design.md's target for two
processes: at least 1.7 times one). Beside it, the CPU each answer cost the bot processes,
this process (the fake Bot API and the load balancer) and the PostgreSQL server, read from
/proc: on a small machine they share the cores, which is what limits the ratio.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, make_url, select

from bot.app import Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import PROJECT_ROOT
from bot.engine import Choose
from bot.services import runs
from bot.services.cases import create_case
from bot.storage import Answer
from bot.storage.models import ReceivedUpdate
from tests.bench.settings import bench_settings
from tests.databases import PostgresServer, libpq_dsn
from tests.fakes.bot_api import FakeBotAPI, User

SECRET = "bench-webhook-secret"
PUBLIC_URL = "https://bot.example.org/telegram"
FIRST_USER = 700_000
# The WHO-5's five questions: each round answers one of them.
ROUNDS = 5
# The warm-up's families answer the first questions only.
WARM_UP_ROUNDS = 2
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    processes: int
    answers: int
    seconds: float
    bot_cpu: float  # seconds, all bot processes together
    bench_cpu: float  # this process: the fake Bot API and the load balancer
    postgres_cpu: float
    # Everything else the machine's cores did meanwhile (other programs): seconds.
    other_cpu: float

    @property
    def per_second(self) -> float:
        return self.answers / self.seconds

    def ms_per_answer(self, cpu: float) -> float:
        return 1000 * cpu / self.answers

    def allowed(self, cores: int) -> float:
        """The answers per second the machine's cores allow at this run's CPU per answer,
        were nothing else running: all of it on the cores, and each bot process on one core
        at most (Python runs one thread at a time)."""
        everything = (self.bot_cpu + self.bench_cpu + self.postgres_cpu) / self.answers
        one_core_each = self.bot_cpu / self.answers / self.processes
        return min(cores / everything, 1 / one_core_each)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "answers_per_second": round(self.per_second, 1),
            "bot_cpu_ms_per_answer": round(self.ms_per_answer(self.bot_cpu), 2),
            "bench_cpu_ms_per_answer": round(self.ms_per_answer(self.bench_cpu), 2),
            "postgres_cpu_ms_per_answer": round(self.ms_per_answer(self.postgres_cpu), 2),
            "other_cores_busy": round(self.other_cpu / self.seconds, 2),
        }


@dataclass(frozen=True)
class ProcessFigures:
    families: int
    cores: int
    runs: tuple[Run, ...]
    # Checked at the end, over every run and the warm-up: each answer stored once, nothing
    # left waiting in the database.
    answers_expected: int
    answers_stored: int
    answers_doubled: int
    updates_left: int

    @property
    def ratio(self) -> float:
        return self.runs[-1].per_second / self.runs[0].per_second

    @property
    def allowed_ratio(self) -> float:
        """The ratio the cores allow, were nothing else running (see `Run.allowed`)."""
        return self.runs[-1].allowed(self.cores) / self.runs[0].allowed(self.cores)

    def as_dict(self) -> dict[str, Any]:
        return {
            **{name: value for name, value in self.__dict__.items() if name != "runs"},
            "runs": [
                {**run.as_dict(), "allowed_per_second": round(run.allowed(self.cores), 1)}
                for run in self.runs
            ],
            "ratio": round(self.ratio, 2),
            "allowed_ratio": round(self.allowed_ratio, 2),
        }

    def report(self) -> str:
        lines = [
            f"bot processes on PostgreSQL  {self.families} families, {ROUNDS} answers each, "
            f"{self.cores} cores; CPU ms per answer:",
            "  processes  answers/s   bot   fake+balancer  PostgreSQL   other programs'"
            "  the cores allow",
        ]
        for run in self.runs:
            bot, bench, postgres = (
                run.ms_per_answer(cpu) for cpu in (run.bot_cpu, run.bench_cpu, run.postgres_cpu)
            )
            lines.append(
                f"  {run.processes:9d}  {run.per_second:9.1f}  {bot:5.2f}  {bench:13.2f}"
                f"  {postgres:10.2f}   {run.other_cpu / run.seconds:4.2f} cores busy"
                f"  {run.allowed(self.cores):6.1f}/s"
            )
        last = self.runs[-1].processes
        lines.append(f"ratio {last} processes / 1      {self.ratio:7.2f}   (target >= 1.7 for 2)")
        lines.append(
            f"ratio the cores allow        {self.allowed_ratio:7.2f}   (at these CPU costs, "
            "were nothing else running)"
        )
        lines.append(
            f"answers stored               {self.answers_stored}/{self.answers_expected}, "
            f"{self.answers_doubled} twice, {self.updates_left} updates left waiting"
        )
        return "\n".join(lines)


async def run_process_bench(
    server_url: str, processes: int = 2, families: int = 60
) -> ProcessFigures:
    async with _throw_away_database(server_url) as database_url:
        with tempfile.TemporaryDirectory(prefix="wegwijzer-bench-") as folder:
            async with FakeBotAPI() as api:
                settings = bench_settings(
                    database_url=database_url,
                    telegram_token=api.token,
                    telegram_base_url=api.base_url,
                )
                app = await bootstrap(settings)
                counts = (1, processes) if processes > 1 else (1,)
                try:
                    # A group to warm up with, and one for each measured run.
                    groups = await _families(app, api, families, 1 + len(counts))
                    keys = settings.encryption_keys or ""
                    bots = _bots(api, keys, database_url, processes, Path(folder))
                    async with bots as (urls, pids):
                        # Every process answers some /checkin and presses first (imports,
                        # caches, pools); every family has its question on screen.
                        screens = Screens(api)
                        everyone = [user for group in groups for user in group]
                        await _round(screens, everyone, "/checkin")
                        await _answers(screens, groups[0], WARM_UP_ROUNDS)
                        measured = []
                        for count, group in zip(counts, groups[1:], strict=True):
                            api.push_to(urls[:count])
                            measured.append(
                                await _measure(screens, group, count, pids, database_url)
                            )
                    stored, doubled, left = await _stored(app)
                finally:
                    await app.close()
    expected = (len(groups) - 1) * families * ROUNDS + families * WARM_UP_ROUNDS
    return ProcessFigures(
        families, os.cpu_count() or 1, tuple(measured), expected, stored, doubled, left
    )


async def _stored(app: Wegwijzer) -> tuple[int, int, int]:
    """The WHO-5 answers stored, those stored more than once, and the updates still kept."""
    async with app.database.reading() as uow:
        session = uow.audit._session
        per_key = (
            select(func.count().label("times"))
            .where(Answer.key.like("who5.%"))
            .group_by(Answer.run_id, Answer.key)
            .subquery()
        )
        stored = (await session.execute(select(func.count()).select_from(per_key))).scalar_one()
        doubled = (
            await session.execute(
                select(func.count()).select_from(per_key).where(per_key.c.times > 1)
            )
        ).scalar_one()
        left = (
            await session.execute(select(func.count()).select_from(ReceivedUpdate))
        ).scalar_one()
    return int(stored), int(doubled), int(left)


async def _measure(
    screens: Screens, group: list[User], count: int, pids: list[int], database_url: str
) -> Run:
    server = await _server_processes(database_url)
    bot_cpu, bench_cpu, postgres = _cpu(pids), time.process_time(), _cpus(server)
    busy = _machine_busy()
    started = time.perf_counter()
    await _answers(screens, group)
    seconds = time.perf_counter() - started
    bot_cpu = _cpu(pids) - bot_cpu
    bench_cpu = time.process_time() - bench_cpu
    # The server's processes then and now (a connection's process may have come or gone).
    server |= await _server_processes(database_url)
    postgres_cpu = sum(cpu - postgres.get(pid, 0.0) for pid, cpu in _cpus(server).items())
    others = _machine_busy() - busy - bot_cpu - bench_cpu - postgres_cpu
    return Run(
        count, len(group) * ROUNDS, seconds, bot_cpu, bench_cpu, postgres_cpu, max(others, 0.0)
    )


class Screens:
    """The question on each family's screen: its message and its first answer's data, read
    from the bot's calls as they come (not copied out of the fake's chats, which would be
    counted as the fake's work)."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.shown: dict[int, tuple[int, str]] = {}
        self._read = 0

    def asked(self) -> set[int]:
        """The chats asked a question since the last look."""
        asked = set()
        calls = self.api.calls
        for call in calls[self._read :]:
            result = call.result if call.method == "sendMessage" and call.ok else None
            if isinstance(result, dict) and "reply_markup" in result:
                data = result["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                self.shown[result["chat"]["id"]] = (result["message_id"], data)
                asked.add(result["chat"]["id"])
        self._read = len(calls)
        return asked

    async def until_asked(self, users: list[User]) -> None:
        """Until each of `users` was asked a new question."""
        waiting = {user.id for user in users}

        def all_asked(_calls: object) -> bool:
            waiting.difference_update(self.asked())
            return not waiting

        await self.api.wait_for(all_asked, timeout=120)


async def _answers(screens: Screens, group: list[User], rounds: int = ROUNDS) -> None:
    """Every family answers the WHO-5 (its first `rounds` questions): a round per question,
    each family pressing the first answer of the question on their screen, all at once."""
    for _ in range(rounds):
        screens.asked()
        for user in group:
            message_id, data = screens.shown[user.id]
            screens.api.press(user, message_id, data)
        await screens.until_asked(group)


async def _round(screens: Screens, users: list[User], command: str) -> None:
    screens.asked()
    for user in users:
        screens.api.send_command(user, command)
    await screens.until_asked(users)


async def _families(
    app: Wegwijzer, api: FakeBotAPI, families: int, groups: int
) -> list[list[User]]:
    """`groups` groups of `families` families who joined, chose Dutch, consented and are at
    the first WHO-5 question of their check-in (open runs, stored as the bot stores them)."""
    flow = app.flows.for_purpose("checkin")
    assert flow is not None
    context = runs.flow_context(app)
    now = app.clock()
    users = [User(FIRST_USER + number, "Bench") for number in range(families * groups)]
    async with app.database.transaction() as uow:
        case = await create_case(uow, "family_strengthening")
        for user in users:
            person = await uow.people.add("telegram", str(user.id), "family", "nl")
            await uow.people.set_consent(person.id, "given", now)
            await uow.cases.add_member(case.id, person.id)
            started = app.engine.start(flow.id, context)
            sprint = app.engine.resume(started.state, Choose(True), context)
            state = sprint.state
            run = await uow.runs.start(
                person.id, case.id, flow.id, flow.version, state.step, state.to_dict(), now
            )
            await uow.answers.record(run.id, "checkin.consent", True, flow.start, now)
            api.register(user)
    return [users[start : start + families] for start in range(0, len(users), families)]


@contextlib.asynccontextmanager
async def _bots(
    api: FakeBotAPI, keys: str, database_url: str, count: int, folder: Path
) -> AsyncIterator[tuple[list[str], list[int]]]:
    """`count` `wegwijzer run` processes behind the fake's load balancer: their addresses
    and process ids."""
    started = api.count("setWebhook")
    children: list[subprocess.Popen[bytes]] = []
    urls = []
    for number in range(count):
        port = _free_port()
        run = ["run", "--webhook-url", PUBLIC_URL, "--listen", "127.0.0.1", "--port", str(port)]
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "bot.cli", *run],
                cwd=PROJECT_ROOT,
                env={
                    **os.environ,
                    "DATABASE_URL": database_url,
                    "ENCRYPTION_KEYS": keys,
                    "TELEGRAM_BOT_TOKEN": api.token,
                    "TELEGRAM_BASE_URL": api.base_url,
                    "WEBHOOK_SECRET": SECRET,
                    "ALARM_JOURNAL": str(folder / f"alarms{number}.jsonl"),
                    "UPDATE_INBOX": str(folder / f"updates{number}.jsonl"),
                    # As the answer bench: no pacing (there is no flood limit here to keep to).
                    "TELEGRAM_MESSAGES_PER_SECOND": "100000",
                    "LOG_LEVEL": "ERROR",
                },
                stdout=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}/telegram")
    try:
        await api.wait_for(lambda _c: api.count("setWebhook") >= started + count, timeout=60)
        api.push_to(urls)
        yield urls, [child.pid for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                await asyncio.to_thread(child.wait, 15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu(pids: list[int]) -> float:
    return sum(_process_cpu(pid) for pid in pids)


def _process_cpu(pid: int) -> float:
    """User and system seconds of a process so far (/proc/<pid>/stat); 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _machine_busy() -> float:
    """Seconds all cores were busy since boot (/proc/stat: all but idle and waiting for I/O)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / _CLOCK_TICKS


def _cpus(pids: set[int]) -> dict[int, float]:
    return {pid: _process_cpu(pid) for pid in pids}


async def _server_processes(database_url: str) -> set[int]:
    """The PostgreSQL server's processes working for the bench (on this machine): those
    connected to its database, and the ones writing everyone's WAL and pages (other
    databases on the server, the tests' say, are left out)."""
    connection = await asyncpg.connect(libpq_dsn(database_url))
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "OR backend_type IN ('walwriter', 'checkpointer', 'background writer')"
        )
    finally:
        await connection.close()
    return {row["pid"] for row in rows}


@contextlib.asynccontextmanager
async def _throw_away_database(server_url: str) -> AsyncIterator[str]:
    """A database of the bench's own on the server of `server_url`, dropped at the end."""
    if make_url(server_url).get_backend_name() != "postgresql":
        raise ValueError("several processes share a PostgreSQL database: give one")
    server = PostgresServer(server_url)
    database_url = await asyncio.to_thread(server.create_database)
    try:
        yield database_url
    finally:
        await asyncio.to_thread(server.drop_created)


def main(server_url: str | None, processes: int, families: int = 60, *, as_json: bool) -> int:
    import json

    url = server_url or os.environ.get("TEST_DATABASE_URL")
    if not url:
        print(
            "wegwijzer: the processes bench needs a PostgreSQL server: --database URL "
            "or TEST_DATABASE_URL (it makes a database of its own there, and drops it)",
            file=sys.stderr,
        )
        return 2
    figures = asyncio.run(run_process_bench(url, processes, families))
    print(json.dumps({"processes": figures.as_dict()}, indent=2) if as_json else figures.report())
    return 0
