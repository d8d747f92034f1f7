"""The fake Bot API in a process of its own, for benches that count the bot's CPU alone.

In the tests the fake Bot API shares the bot's event loop, which is right for tests and wrong
for a measurement: its work (parsing the bot's requests, copying messages, queuing updates)
would be counted with the bot's. `RemoteBotAPI` starts it in a child process (spawned, so it
shares nothing) that plays Telegram and the families; the bench talks to it over a pipe, a
few calls per measurement, and the bot talks to it over HTTP as it would to Telegram.

Calls are by name: `await remote.call("count", "sendMessage")` runs `FakeBotAPI.count` in the
child; the `*_each` calls below act for many people at once, so that queuing a thousand
presses is one round trip, not a thousand.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from tests.fakes.bot_api import FakeBotAPI, User


class RemoteBotAPI:
    def __init__(self, **options: Any):
        self._options = options
        self._lock = threading.Lock()
        self.token = ""
        self.base_url = ""

    async def __aenter__(self) -> RemoteBotAPI:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, self._options), name="fake-bot-api", daemon=True
        )
        self._process.start()
        child.close()
        self.token, self.base_url = await asyncio.to_thread(self._pipe.recv)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.call("stop")
        await asyncio.to_thread(self._process.join, 10)

    async def call(self, name: str, *args: Any) -> Any:
        """Run `name` in the fake's process (one of `_COMMANDS`, else a FakeBotAPI method)."""
        outcome, value = await asyncio.to_thread(self._round_trip, name, args)
        if outcome == "error":
            raise RuntimeError(f"fake Bot API: {name} failed: {value}")
        return value

    def _round_trip(self, name: str, args: tuple[Any, ...]) -> tuple[str, Any]:
        with self._lock:
            self._pipe.send((name, args))
            reply: tuple[str, Any] = self._pipe.recv()
            return reply

    async def wait_counts(self, targets: dict[str, int], timeout: float = 600) -> None:
        """Until the bot has made at least this many calls of each method."""
        await self.call("wait_counts", targets, timeout)


# --------------------------------------------------------------------- the child process


def _serve(pipe: Connection, options: dict[str, Any]) -> None:
    asyncio.run(_run(pipe, options))


async def _run(pipe: Connection, options: dict[str, Any]) -> None:
    async with FakeBotAPI(**options) as api:
        pipe.send((api.token, api.base_url))
        while True:
            name, args = await asyncio.to_thread(pipe.recv)
            if name == "stop":
                pipe.send(("ok", None))
                return
            try:
                command = _COMMANDS.get(name)
                result = command(api, *args) if command else getattr(api, name)(*args)
                if asyncio.iscoroutine(result):
                    result = await result
                pipe.send(("ok", result))
            except Exception as error:  # reported to the bench, which raises it there
                pipe.send(("error", f"{type(error).__name__}: {error}"))


def _people(ids: list[int]) -> list[User]:
    return [User(number, "Bench") for number in ids]


def _register_each(api: FakeBotAPI, ids: list[int]) -> None:
    for user in _people(ids):
        api.register(user)


def _send_text_each(api: FakeBotAPI, ids: list[int], text: str) -> None:
    for user in _people(ids):
        api.send_text(user, text)


def _send_command_each(api: FakeBotAPI, ids: list[int], command: str) -> None:
    for user in _people(ids):
        api.send_command(user, command)


def _press_first_each(api: FakeBotAPI, ids: list[int]) -> None:
    """Each person presses the first button of the last message the bot sent them."""
    for user in _people(ids):
        question = api.last_message(user.id)
        if question is None:
            raise ValueError(f"chat {user.id} has no message to press a button on")
        data = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        api.press(user, question, data)


async def _wait_counts(api: FakeBotAPI, targets: dict[str, int], timeout: float) -> None:
    await api.wait_for(
        lambda _calls: all(api.count(method) >= n for method, n in targets.items()), timeout
    )


def _counts(api: FakeBotAPI, methods: list[str]) -> dict[str, int]:
    return {method: api.count(method) for method in methods}


_COMMANDS: dict[str, Callable[..., Any]] = {
    "register_each": _register_each,
    "send_text_each": _send_text_each,
    "send_command_each": _send_command_each,
    "press_first_each": _press_first_each,
    "wait_counts": _wait_counts,
    "counts": _counts,
}
