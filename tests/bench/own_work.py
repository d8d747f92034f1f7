"""The bot's own work per answer, without HTTP: for profiling the answer path (issue #16).

`wegwijzer bench` counts everything the bot process does, and most of that is
python-telegram-bot's HTTP client, on both sides (README, "Where the time goes"). Here the
floor's handler and Wegwijzer's `on_update` run in this process against a Bot whose requests
go to a stub: PTB still builds every request and parses every reply, nothing goes over a
socket. Presses are handled `--at-once` at a time, as PTB hands them over.

    .venv/bin/python -m tests.bench.own_work [--postgres URL] [--presses N] [--at-once N]
        [--profile FILE] [--statements]

`--statements` prints the statements, commits, checkouts and new connections per answer, and
the calls to the driver of the answer's own transaction (`Database.answering`).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import gc
import itertools
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
from sqlalchemy import event, select
from telegram import Bot, Update
from telegram.request import BaseRequest, RequestData

from bot.bootstrap import bootstrap
from bot.conversation.intents import Answer, encode
from bot.storage import answering
from bot.storage.database import SQLITE_PRAGMAS
from bot.storage.models import Person, Run
from bot.telegram._callbacks import CallbackSigner
from bot.telegram._channel import TelegramChannel
from tests.bench.answer import OPTIONS, QUESTION, _keyboard
from tests.bench.open_runs import open_checkins
from tests.bench.settings import bench_settings
from tests.databases import PostgresServer, libpq_dsn

TOKEN = "123:stub"
WARM_UP = 50


class StubRequest(BaseRequest):
    """Answers every Bot API call as Telegram would, at once."""

    def __init__(self) -> None:
        self._ids = itertools.count(1000)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **_: Any
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[1]
        params = request_data.json_parameters if request_data else {}
        result: Any = True
        if endpoint == "getMe":
            result = {"id": 123, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
        elif endpoint != "answerCallbackQuery":
            result = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(params.get("chat_id", 1)), "type": "private"},
                "text": params.get("text", ""),
            }
            if "reply_markup" in params:
                result["reply_markup"] = json.loads(params["reply_markup"])
        return 200, json.dumps({"ok": True, "result": result}).encode()


def press(update_id: int, user_id: int, data: str) -> dict[str, Any]:
    """The update of a button pressed under a question."""
    user = {"id": user_id, "is_bot": False, "first_name": "Invented", "language_code": "nl"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(update_id),
            "from": user,
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 5,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": 123, "is_bot": True, "first_name": "Bench"},
                "text": QUESTION,
                "reply_markup": {"inline_keyboard": [[{"text": "1", "callback_data": data}]]},
            },
        },
    }


Handler = Callable[[dict[str, Any]], Awaitable[None]]


async def measure(
    handle: Handler, updates: list[dict[str, Any]], at_once: int, profile: Path | None = None
) -> float:
    """CPU milliseconds per update."""
    gc.collect()
    profiler = cProfile.Profile(time.process_time) if profile else None
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    for start in range(0, len(updates), at_once):
        await asyncio.gather(*(handle(update) for update in updates[start : start + at_once]))
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    return (time.process_time() - cpu) * 1000 / len(updates)


async def floor_cost(
    bot: Bot, kind: str, url: str, folder: str, presses: int, at_once: int
) -> float:
    """The bench's floor handler (`answer.py`), with its raw driver."""
    create = (
        "CREATE TABLE floor_answer (update_id BIGINT PRIMARY KEY, person BIGINT, "
        "question TEXT, value TEXT, answered_at TIMESTAMP)"
    )
    close: Callable[[], Awaitable[None]]
    if kind == "sqlite":
        db = await aiosqlite.connect(Path(folder) / "floor.db")
        for pragma in SQLITE_PRAGMAS:
            await db.execute(pragma)
        await db.execute(create)
        await db.commit()
        lock = asyncio.Lock()

        async def store(update_id: int, person: int, question: str, value: str) -> None:
            async with lock:
                await db.execute(
                    "INSERT INTO floor_answer VALUES (?, ?, ?, ?, datetime('now'))",
                    (update_id, person, question, value),
                )
                await db.commit()

        close = db.close
    else:
        pool = await asyncpg.create_pool(libpq_dsn(url), min_size=4, max_size=4)
        await pool.execute(create)

        async def store(update_id: int, person: int, question: str, value: str) -> None:
            await pool.execute(
                "INSERT INTO floor_answer VALUES ($1, $2, $3, $4, now())",
                update_id,
                person,
                question,
                value,
            )

        close = pool.close

    async def floor(raw: dict[str, Any]) -> None:
        update = Update.de_json(raw, bot)
        query = update.callback_query
        assert query is not None and query.data is not None and query.message is not None
        await query.answer()
        question, value = query.data.split(":")
        await store(update.update_id, query.from_user.id, question, value)
        await query.edit_message_text(f"{QUESTION}\n\n✓ {OPTIONS[int(value)]}")
        await bot.send_message(
            query.message.chat.id, QUESTION, reply_markup=_keyboard(int(question[1:]) + 1)
        )

    try:
        warm = [press(10**6 + n, 900_000 + n, "q1:0") for n in range(WARM_UP)]
        await measure(floor, warm, at_once)
        timed = [press(2 * 10**6 + n, 700_000 + n, "q1:0") for n in range(presses)]
        return await measure(floor, timed, at_once)
    finally:
        await close()


async def answer_cost(
    bot: Bot, url: str, presses: int, at_once: int, profile: Path | None, statements: bool
) -> float:
    """Wegwijzer's `on_update` for people at the first question of their check-in."""
    app = await bootstrap(bench_settings(database_url=url, telegram_token=TOKEN))
    try:
        channel = TelegramChannel(app, CallbackSigner.from_token(TOKEN))
        ids = await open_checkins(app, presses + WARM_UP)
        flow = app.flows.for_purpose("checkin")
        assert flow is not None
        async with app.database.engine.connect() as conn:
            rows = await conn.execute(
                select(Person.external_id, Run.id, Run.step).join(Run, Run.person_id == Person.id)
            )
            runs = {external_id: (run_id, step) for external_id, run_id, step in rows}
        updates = []
        for n, external_id in enumerate(ids):
            run_id, step = runs[external_id]
            answer = Answer(run_id, flow.index_of(step), 0, 0)
            data = channel.signer.sign(int(external_id), *encode(answer))
            updates.append(press(3 * 10**6 + n, int(external_id), data))

        class Context:
            pass

        context: Any = Context()
        context.bot = bot

        async def wegwijzer(raw: dict[str, Any]) -> None:
            await channel.on_update(Update.de_json(raw, bot), context)

        await measure(wegwijzer, updates[:WARM_UP], at_once)
        sent: collections.Counter[str] = collections.Counter()
        if statements:
            engine = app.database.engine.sync_engine

            @event.listens_for(engine, "before_cursor_execute")
            def _statement(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
                sent[" ".join(statement.split()[:4])[:60]] += 1

            @event.listens_for(engine, "commit")
            def _commit(*_: Any) -> None:
                sent["(commit)"] += 1

            @event.listens_for(engine, "connect")
            def _connect(*_: Any) -> None:
                sent["(new connection)"] += 1

            # Each checks the connection first: one round trip on PostgreSQL (a SELECT 1, or
            # the answer's BEGIN).
            @event.listens_for(engine, "checkout")
            def _checkout(*_: Any) -> None:
                sent["(checkout)"] += 1

            # The answer on the driver (`Database.answering`) is not seen by SQLAlchemy's
            # events: its calls to the driver are counted here (each a round trip on
            # PostgreSQL, a trip to aiosqlite's thread on SQLite).
            for driver in (answering.PostgresDriver, answering.SQLiteDriver):
                for name in ("read", "write_one", "write", "rollback"):
                    setattr(driver, name, _counting(getattr(driver, name), sent, name))

        cost = await measure(wegwijzer, updates[WARM_UP:], at_once, profile)
        for statement, count in sent.most_common():
            print(f"{count / presses:6.2f} per answer  {statement}")
        return cost
    finally:
        await app.close()


def _counting(
    method: Callable[..., Any], sent: collections.Counter[str], name: str
) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        sent[f"(driver) {name}"] += 1
        return method(*args, **kwargs)

    return counted


async def run(
    postgres: str | None, presses: int, at_once: int, profile: Path | None, statements: bool
) -> None:
    server = PostgresServer(postgres) if postgres else None
    folder = tempfile.mkdtemp(prefix="wegwijzer-own-work-")
    try:
        kind, url = (
            ("postgresql", server.create_database())
            if server
            else (
                "sqlite",
                f"sqlite:///{folder}/bench.db",
            )
        )
        bot = Bot(TOKEN, request=StubRequest(), get_updates_request=StubRequest())
        await bot.initialize()
        floor = await floor_cost(bot, kind, url, folder, presses, at_once)
        answer = await answer_cost(bot, url, presses, at_once, profile, statements)
        print(f"{kind}: floor {floor:.3f} ms CPU/answer, Wegwijzer {answer:.3f} ms CPU/answer")
    finally:
        if server:
            server.drop_created()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="a server for a throw-away database")
    parser.add_argument("--presses", type=int, default=600)
    parser.add_argument("--at-once", type=int, default=32)
    parser.add_argument("--profile", type=Path, help="cProfile (CPU time) of Wegwijzer's answers")
    parser.add_argument("--statements", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.postgres, args.presses, args.at_once, args.profile, args.statements))


if __name__ == "__main__":
    main()
