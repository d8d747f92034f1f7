"""A fake Telegram Bot API server for the end-to-end tests of the Telegram channel.

The tests have no internet, yet the Telegram channel must be tested through the real
python-telegram-bot stack (its HTTP client, request encoding, error mapping, polling loop,
rate limiter and webhook server), because that is where the mistakes hide that unit tests with
mocked bots never see. `FakeBotAPI` is a small tornado server on 127.0.0.1 that speaks the
Bot API over HTTP like api.telegram.org does: same URLs, same JSON envelopes, the same error
answers (401, 403 for blocked users, 400 with Telegram's own descriptions, 429 with
`retry_after`), real long polling and webhook delivery. It records every call, keeps the
messages the bot sent (with edits applied) and lets a test play users who send texts,
commands, photos and button presses, edit what they sent, and write in groups. It runs in
the test's own event loop: start and stop it per test in an async fixture.

Behind a webhook it can also push, as Telegram does, through a load balancer in front of
several bot processes (`push_to`): every update queued is POSTed at once, to the processes in
turn (round robin), a chat's next update once its previous one was answered.

It speaks only the methods the bot calls (getMe, getUpdates, setWebhook, deleteWebhook,
sendMessage, sendPhoto, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
setMyCommands) and plain text: a method or a formatting it does not know is an error, so a bot
that starts to use one fails here first. Faults are injected per method (`fail_next`), per
chat (`block`) and by flood control (`limit_rate`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import tornado.httpserver
import tornado.netutil
import tornado.web

__all__ = ["DEFAULT_TOKEN", "BotAPIError", "Call", "FakeBotAPI", "User"]

# Real tokens are "<bot id>:<secret>"; the bot id in getMe matches the prefix like Telegram's.
DEFAULT_TOKEN = "7000000001:AAF4k3-W3gw1jz3r_T3st_T0k3n_n0t_r3al_000"
BOT_USERNAME = "wegwijzer_test_bot"

# Telegram's documented limits, enforced so a bot that exceeds them fails here and not in
# production.
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_ANSWER_TEXT = 200
MAX_COMMANDS = 100

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)

_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")

# Form bodies carry every value as a string; these names are decoded back to what the
# Bot API means by them (JSON-serialized objects, integers, booleans).
_JSON_FIELDS = frozenset(
    {"allowed_updates", "caption_entities", "commands", "entities", "reply_markup", "scope"}
)
_INT_FIELDS = frozenset({"chat_id", "limit", "max_connections", "message_id", "offset"})
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset({"drop_pending_updates", "show_alert"})

# Methods that count against flood control: those that put a message in a chat or change one
# the user sees (sends and edits). Reading (getUpdates, getMe), answering a button
# (answerCallbackQuery) and bot settings do not, as with the real API.
_RATE_LIMITED = frozenset({"sendMessage", "sendPhoto", "editMessageText", "editMessageReplyMarkup"})


class BotAPIError(Exception):
    """An error answer of the Bot API: `error_code` is also the HTTP status."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None):
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(description: str) -> BotAPIError:
    return BotAPIError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class User:
    """A Telegram user played by a test; their private chat with the bot has the same id."""

    id: int
    first_name: str
    language_code: str | None = "nl"
    last_name: str | None = None
    username: str | None = None

    def to_dict(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class Call:
    """One Bot API request as the fake saw it, with what it answered."""

    method: str
    params: dict[str, Any]
    time: float
    token: str
    # Uploaded files by field name, with their bytes.
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class _FloodLimit:
    """One flood limit: at most `capacity` accepted sends in any sliding `window` seconds.

    A limit of one or more per second is counted over one second (fractions round down:
    2.5/s allows 2); a limit below one per second is one send per 1/limit seconds, so
    Telegram's 20 messages a minute in a group is `20 / 60`.
    """

    per_second: float
    window: float
    capacity: int

    @classmethod
    def of(cls, per_second: float) -> _FloodLimit:
        if not (isinstance(per_second, int | float) and 0 < per_second < math.inf):
            raise ValueError(f"a flood limit must be a positive number, not {per_second!r}")
        window = 1.0 if per_second >= 1 else 1.0 / per_second
        return cls(per_second, window, max(1, math.floor(per_second * window + 1e-9)))

    def retry_after(self, times: deque[float], now: float) -> int | None:
        """None when one more send fits, else Telegram's whole seconds to wait (at least 1)."""
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.capacity:
            return None
        return max(1, math.ceil(times[0] + self.window - now))


@dataclass
class _Fault:
    error_code: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None = None  # None: calls for any chat


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class FakeBotAPI:
    """The fake server; every public helper is documented below.

    Use it from an async fixture, so it lives in the test's own event loop::

        @pytest.fixture
        async def api():
            async with FakeBotAPI() as fake:
                yield fake

    and point PTB at it with `.base_url(api.base_url)`.

    Flood control (off unless asked for): `flood_limit_per_second` caps the messages the bot
    sends in any sliding second over all chats, `per_chat_per_second` those to one chat
    (Telegram's documented limits are about 30 and 1). They apply to the methods that send or
    edit a message (sendMessage, sendPhoto, editMessageText, editMessageReplyMarkup), not to
    getUpdates, getMe, answerCallbackQuery or setMyCommands. A send over a limit is answered
    like Telegram does, HTTP 429 with `parameters.retry_after`, and has no effect. Only sends
    that succeeded fill the windows. Time is read from `monotonic`
    (injectable, so a test can step it instead of sleeping). `limit_rate()` and
    `unlimit_rate()` change the limits on a running fake; `rejected_429`, `send_times` and
    `peak_sends_per_second()` tell what happened.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = BOT_USERNAME,
        bot_first_name: str = "Wegwijzer (test)",
        require_known_chats: bool = True,
        clock: Callable[[], float] = time.time,
        flood_limit_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 7000000001
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        # Telegram answers 400 "chat not found" when a bot writes to someone who never
        # started it; keep that on unless a test deliberately writes to unknown chats.
        self.require_known_chats = require_known_chats
        self._clock = clock

        self.calls: list[Call] = []
        self._counts: dict[str, int] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.answered_callbacks: dict[str, dict[str, Any]] = {}
        self.webhook: dict[str, Any] = {"url": ""}
        # Flood control's 429 answers (a 429 injected with fail_next is not counted here).
        self.rejected_429 = 0
        # `monotonic` times of every successful send or edit of the flood-controlled methods,
        # oldest first, kept whether or not a limit is on.
        self.send_times: list[float] = []
        # Updates handed to the bot (each queued update counted once, however often a poll
        # returns it; a webhook POST counts when answered 2xx): a test waits until the bot has
        # handled as many.
        self.updates_handed_out = 0

        self._users: dict[int, User] = {}
        self._groups: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._bot_message_ids: dict[int, list[int]] = {}
        self._message_counter: dict[int, int] = {}
        self._pending: list[dict[str, Any]] = []
        self._handed_out: set[int] = set()  # id() of the pending updates a poll returned
        self._next_update_id = 100_000
        self._allowed_updates: list[str] | None = None
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._callback_ids = itertools.count(4_200_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._faults: dict[str, deque[_Fault]] = {}
        # Calls held before they are handled: (method, chat or None, seconds, times left).
        self._stalls: list[list[Any]] = []
        self._blocked: set[int] = set()
        self._monotonic = monotonic
        self._flood_limit: _FloodLimit | None = None
        self._chat_limit: _FloodLimit | None = None
        self._window: deque[float] = deque()
        self._chat_windows: dict[int, deque[float]] = {}
        if flood_limit_per_second is not None or per_chat_per_second is not None:
            self.limit_rate(flood_limit_per_second, per_chat_per_second)

        self._waiters: set[asyncio.Event] = set()
        # Pushing to webhooks (`push_to`): the bot processes' addresses, the next one's turn,
        # the updates being delivered (by id()), and the task doing it.
        self._backends: list[str] = []
        self._next_backend = 0
        self._pushing: set[int] = set()
        self._pusher: asyncio.Task[None] | None = None
        # Every POST of the balancer: to which process, which update.
        self.posted: list[tuple[str, dict[str, Any]]] = []
        self._in_flight = 0
        self._closing = False
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port: int | None = None

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = tornado.web.Application(
            [(r"/bot([^/]*)/([A-Za-z]*)", _MethodHandler, {"api": self})],
            # No access log: 4xx answers are the point of many tests, not noise to report.
            log_function=lambda handler: None,
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)
        self._closing = False

    async def stop(self) -> None:
        if self._server is None:
            return
        # Long polls still waiting return [] now, so their handlers finish before the
        # connections close (no half-answered requests, no pending tasks left behind).
        self._closing = True
        self._notify()
        if self._pusher is not None:
            await self._pusher  # it stops when closing (and stops what it was posting)
            self._pusher = None
        deadline = asyncio.get_running_loop().time() + 2
        while self._in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.005)
        self._server.stop()
        await self._server.close_all_connections()
        self._server = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For `ApplicationBuilder().base_url(...)` / `Bot(base_url=...)`; PTB appends the token."""
        return f"{self._origin()}/bot"

    def _origin(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeBotAPI is not started: await api.start() first")
        return f"http://127.0.0.1:{self.port}"

    # ----------------------------------------------------------------- inspection

    def peak_sends_per_second(self) -> int:
        """The most successful sends in any sliding second (window `(t - 1, t]`), over all
        chats: with a flood limit on it never exceeds the limit, so a test can assert how
        close to the limit a bot got by counting instead of timing."""
        peak, first = 0, 0
        for last, now in enumerate(self.send_times):
            while self.send_times[first] <= now - 1.0:
                first += 1
            peak = max(peak, last - first + 1)
        return peak

    def count(self, method: str) -> int:
        """How many calls of a method arrived (constant time, for predicates polled often)."""
        return self._counts.get(method.lower(), 0)

    def calls_of(self, method: str) -> list[Call]:
        """Every call of a method (case-insensitive, like the Bot API's method names)."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """The messages the bot sent to a chat, oldest first, as they are now (edits applied)."""
        messages = self._messages.get(chat_id, {})
        return [copy.deepcopy(messages[mid]) for mid in self._bot_message_ids.get(chat_id, [])]

    def last_message(self, chat_id: int) -> dict[str, Any] | None:
        sent = self.sent(chat_id)
        return sent[-1] if sent else None

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Any stored message (the bot's or a user's), as it is now."""
        found = self._messages.get(chat_id, {}).get(message_id)
        return copy.deepcopy(found) if found else None

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self._pending)

    async def wait_for(self, predicate: Callable[[list[Call]], Any], timeout: float = 5.0) -> Any:
        """Wait until `predicate(api.calls)` is truthy and return its value.

        Re-checked after every recorded call (and every queued update), so tests wait exactly
        as long as the bot needs instead of sleeping.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate(self.calls)
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(f"{c.method}({c.status})" for c in self.calls[-15:])
                raise AssertionError(f"condition not met within {timeout}s; last calls: [{recent}]")
            await self._wait_change(remaining)

    # ----------------------------------------------------------------- faults

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: every call for that chat answers 403 from now on."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def fail_next(
        self,
        method: str,
        error_code: int = 400,
        description: str | None = None,
        retry_after: int | None = None,
        *,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next `times` calls of `method` (for `chat_id` only, when given) fail with this
        error and have no effect."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if error_code == 429
                else _DEFAULT_DESCRIPTIONS.get(error_code, "Injected failure")
            )
        fault = _Fault(error_code, description, retry_after, times, chat_id)
        self._faults.setdefault(method.lower(), deque()).append(fault)

    def stall_next(
        self, method: str, seconds: float, *, times: int = 1, chat_id: int | None = None
    ) -> None:
        """The next `times` calls of `method` (for `chat_id` only, when given) are held for
        `seconds` before they are handled: a slow or hanging Telegram. A caller that gives up
        (times out, or dies) meanwhile leaves no effect: the request never got through."""
        self._stalls.append([method.lower(), chat_id, seconds, times])

    def limit_rate(
        self, per_second: float | None = 30, per_chat_per_second: float | None = 1
    ) -> None:
        """Flood control from now on: more sends than this in any sliding second answer 429.

        Same meaning as the constructor's `flood_limit_per_second` and `per_chat_per_second`;
        `None` switches a limit off. The windows start empty; `rejected_429` and `send_times`
        keep counting.
        """
        self._flood_limit = _FloodLimit.of(per_second) if per_second is not None else None
        self._chat_limit = (
            _FloodLimit.of(per_chat_per_second) if per_chat_per_second is not None else None
        )
        self._window.clear()
        self._chat_windows.clear()

    def unlimit_rate(self) -> None:
        self.limit_rate(None, None)

    # ----------------------------------------------------------------- played users

    def register(self, user: User) -> None:
        """Make a user known (as if they started the bot earlier) without an update."""
        self._users[user.id] = user

    def queue_update(
        self, update: Mapping[str, Any], *, update_id: int | None = None
    ) -> dict[str, Any]:
        """Queue a raw update; it gets the next update_id unless one is given or present.

        An explicit (repeated) update_id simulates Telegram delivering an update twice; it is
        queued as given, in arrival order.
        """
        queued = copy.deepcopy(dict(update))
        if update_id is None:
            update_id = queued.get("update_id")
        if update_id is None:
            update_id = self._next_update_id
        self._next_update_id = max(self._next_update_id, update_id + 1)
        queued["update_id"] = update_id
        self._pending.append(queued)
        self._notify()
        return copy.deepcopy(queued)

    def add_group(self, group_id: int, title: str = "Test group") -> None:
        """A group chat the bot is a member of (its id is negative, as in Telegram)."""
        if group_id >= 0:
            raise ValueError("group ids are negative")
        self._groups[group_id] = {"id": group_id, "type": "group", "title": title}

    def send_text(
        self,
        user: User,
        text: str,
        *,
        update_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to: Mapping[str, Any] | None = None,
        group: int | None = None,
    ) -> dict[str, Any]:
        """The user types a text message (in their chat with the bot, or in a group); returns
        the queued update."""
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if reply_to is not None:
            content["reply_to_message"] = copy.deepcopy(dict(reply_to))
        return self._queue_message(user, content, update_id, group)

    def send_command(
        self,
        user: User,
        command: str,
        payload: str | None = None,
        *,
        update_id: int | None = None,
        group: int | None = None,
    ) -> dict[str, Any]:
        """The user sends `/command [payload]` (a deep link `/start CODE` looks the same)."""
        command = command if command.startswith("/") else f"/{command}"
        text = f"{command} {payload}" if payload else command
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
        return self.send_text(user, text, update_id=update_id, entities=[entity], group=group)

    def edit_text(self, user: User, message: Mapping[str, Any], text: str) -> dict[str, Any]:
        """The user edits a text message they sent earlier; returns the queued update."""
        chat_id = int(message["chat"]["id"])
        stored = self._messages.get(chat_id, {}).get(int(message["message_id"]))
        if stored is None or stored.get("from", {}).get("id") != user.id:
            raise ValueError("a user can only edit a message of their own")
        stored["text"] = text
        stored["edit_date"] = self._now()
        return self.queue_update({"edited_message": copy.deepcopy(stored)})

    def press(
        self,
        user: User,
        message: Mapping[str, Any] | int,
        callback_data: str,
        *,
        update_id: int | None = None,
        strict: bool = True,
    ) -> str:
        """The user presses an inline button of a message the bot sent; returns the query id.

        With `strict`, the button must exist on the message as it is now, as in the real app
        (a keyboard that was edited away cannot be pressed).
        """
        message_id = message if isinstance(message, int) else int(message["message_id"])
        stored = self._messages.get(user.id, {}).get(message_id)
        if stored is None:
            raise ValueError(f"no message {message_id} in chat {user.id} to press a button on")
        if strict and callback_data not in _callback_datas(stored.get("reply_markup")):
            raise ValueError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"it has {_callback_datas(stored.get('reply_markup'))}"
            )
        query_id = str(next(self._callback_ids))
        query = {
            "id": query_id,
            "from": user.to_dict(),
            "message": copy.deepcopy(stored),
            "chat_instance": f"-{user.id * 7919 % 10**12}",
            "data": callback_data,
        }
        self._users[user.id] = user
        self._callbacks[query_id] = query
        self.queue_update({"callback_query": query}, update_id=update_id)
        return query_id

    def send_photo(
        self,
        user: User,
        *,
        caption: str | None = None,
        content: bytes = b"\xff\xd8\xff\xe0 fake jpeg \xff\xd9",
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo (Telegram gives it in three sizes); returns the update."""
        body: dict[str, Any] = {"photo": self._photo_sizes(len(content))}
        if caption:
            body["caption"] = caption
        return self._queue_message(user, body, update_id)

    def send_sticker(
        self, user: User, *, emoji: str = "👍", update_id: int | None = None
    ) -> dict[str, Any]:
        """The user sends a sticker; returns the update."""
        sticker = {
            **self._file("stickers", 1000),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._queue_message(user, {"sticker": sticker}, update_id)

    def send_voice(
        self, user: User, *, duration: int = 4, update_id: int | None = None
    ) -> dict[str, Any]:
        """The user sends a voice note; returns the update."""
        voice = {**self._file("voice", 4000), "duration": duration, "mime_type": "audio/ogg"}
        return self._queue_message(user, {"voice": voice}, update_id)

    def send_document(
        self,
        user: User,
        *,
        file_name: str = "verslag.pdf",
        mime_type: str = "application/pdf",
        content: bytes = b"%PDF-1.4 fake",
        caption: str | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a file; returns the update."""
        document = {
            **self._file("documents", len(content)),
            "file_name": file_name,
            "mime_type": mime_type,
        }
        body: dict[str, Any] = {"document": document}
        if caption:
            body["caption"] = caption
        return self._queue_message(user, body, update_id)

    # ----------------------------------------------------------------- webhook side

    async def post_update_to_webhook(
        self,
        url: str,
        update: Mapping[str, Any],
        secret_token: str | None = None,
        *,
        timeout: float = 5.0,
    ) -> int:
        """POST one update to a bot's webhook like Telegram does; returns the HTTP status."""
        body = dict(update)
        if "update_id" not in body:
            body["update_id"] = self._next_update_id
            self._next_update_id += 1
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, content=json.dumps(body), headers=headers)
        if response.is_success:
            self.updates_handed_out += 1
        return response.status_code

    async def deliver_to_webhook(self) -> list[int]:
        """Push every pending update to the registered webhook, in order; returns statuses.

        Like Telegram, an update counts as delivered (and is dropped) on a 2xx answer only;
        delivery stops at the first failure so order is kept.
        """
        url = self.webhook.get("url")
        if not url:
            raise RuntimeError("no webhook is set")
        statuses = []
        while self._pending:
            update = self._pending[0]
            status = await self.post_update_to_webhook(
                url, update, self.webhook.get("secret_token")
            )
            statuses.append(status)
            if not 200 <= status < 300:
                break
            self._keep_pending(self._pending[1:])
        return statuses

    def push_to(self, backends: list[str], *, retry_after: float = 0.05) -> None:
        """From now on deliver every queued update as Telegram does with a webhook: at once,
        one HTTP POST per update with the secret token set by setWebhook, here through a load
        balancer in front of several bot processes that hands the POSTs to `backends` (each
        process's own URL; the one set with setWebhook is the balancer's) in turn. A chat's
        updates go one at a time and in order: the next is posted once the previous one was
        answered. Updates of different chats go side by side, at most setWebhook's
        `max_connections` at once. An update not answered 2xx (refused, or its process is
        gone) is posted again after `retry_after` seconds, to the next process in turn."""
        if not backends:
            raise ValueError("a load balancer needs at least one backend")
        self._backends = list(backends)
        if self._pusher is None:
            self._pusher = asyncio.create_task(self._push(retry_after))

    @property
    def backends(self) -> list[str]:
        """Where the load balancer sends updates now (`push_to`)."""
        return list(self._backends)

    async def _push(self, retry_after: float) -> None:
        lanes: dict[object, asyncio.Task[None]] = {}
        waiting: dict[object, deque[dict[str, Any]]] = {}
        links: dict[str, _KeptAlive] = {}
        connections = asyncio.Semaphore(int(self.webhook.get("max_connections") or 40))
        try:
            while not self._closing:
                for update in self._pending:
                    if id(update) in self._pushing:
                        continue
                    self._pushing.add(id(update))
                    chat = _sender_of(update)
                    waiting.setdefault(chat, deque()).append(update)
                    if chat not in lanes or lanes[chat].done():
                        lanes[chat] = asyncio.create_task(
                            self._lane(links, waiting[chat], connections, retry_after)
                        )
                for chat in [chat for chat, lane in lanes.items() if lane.done()]:
                    lanes.pop(chat).result()  # a failure of the fake itself, raised here
                    if not waiting[chat]:
                        del waiting[chat]
                await self._wait_change(1.0)
        finally:
            for lane in lanes.values():
                lane.cancel()
            for lane in lanes.values():
                with contextlib.suppress(asyncio.CancelledError):
                    await lane
            for link in links.values():
                link.close()

    async def _lane(
        self,
        links: dict[str, _KeptAlive],
        updates: deque[dict[str, Any]],
        connections: asyncio.Semaphore,
        retry_after: float,
    ) -> None:
        """One chat's updates, one POST at a time, in order."""
        while updates:
            update = updates[0]
            backend = self._backends[self._next_backend % len(self._backends)]
            self._next_backend += 1
            headers = {"Content-Type": "application/json"}
            secret = self.webhook.get("secret_token")
            if secret is not None:
                headers["X-Telegram-Bot-Api-Secret-Token"] = secret
            self.posted.append((backend, update))
            link = links.get(backend) or links.setdefault(backend, _KeptAlive(backend))
            async with connections:
                status = await link.post(json.dumps(update).encode(), headers)
            if 200 <= status < 300:
                updates.popleft()
                self._pushing.discard(id(update))
                self._keep_pending([queued for queued in self._pending if queued is not update])
                self.updates_handed_out += 1
                self._notify()
            else:
                await asyncio.sleep(retry_after)

    # ----------------------------------------------------------------- internals: state

    def _keep_pending(self, updates: list[dict[str, Any]]) -> None:
        """The updates still pending; those dropped are forgotten with their id()s, which
        Python may give to a new update."""
        self._pending = updates
        self._handed_out &= {id(update) for update in updates}

    def _hand_out(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for update in batch:
            if id(update) not in self._handed_out:
                self._handed_out.add(id(update))
                self.updates_handed_out += 1
        return batch

    def _notify(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    async def _wait_change(self, timeout: float, waiter: asyncio.Event | None = None) -> None:
        waiter = waiter or asyncio.Event()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    def _now(self) -> int:
        return int(self._clock())

    def _new_message_id(self, chat_id: int) -> int:
        # Private chats share one message_id sequence for both sides, as in Telegram.
        self._message_counter[chat_id] = self._message_counter.get(chat_id, 0) + 1
        return self._message_counter[chat_id]

    def _queue_message(
        self, user: User, content: dict[str, Any], update_id: int | None, group: int | None = None
    ) -> dict[str, Any]:
        self._users[user.id] = user
        chat = user.chat() if group is None else copy.deepcopy(self._groups[group])
        message = {
            "message_id": self._new_message_id(chat["id"]),
            "from": user.to_dict(),
            "chat": chat,
            "date": self._now(),
            **content,
        }
        self._messages.setdefault(chat["id"], {})[message["message_id"]] = message
        return self.queue_update({"message": copy.deepcopy(message)}, update_id=update_id)

    def _file(self, folder: str, size: int) -> dict[str, Any]:
        """A file as a user's message carries it (the bot never downloads one)."""
        n = next(self._file_ids)
        return {
            "file_id": f"FAKE-{folder}-{n:06d}-{'x' * 8}",
            "file_unique_id": f"U{n:06d}",
            "file_size": size,
        }

    def _photo_sizes(self, size: int) -> list[dict[str, Any]]:
        # Telegram gives a photo in several sizes, the largest last.
        return [
            {**self._file("photos", size), "width": width, "height": height}
            for width, height in ((90, 67), (320, 240), (800, 600))
        ]

    # ----------------------------------------------------------------- internals: requests

    async def _handle(
        self, token: str, method_name: str, connection: _MethodHandler
    ) -> tuple[int, dict[str, Any]]:
        spec = _METHODS.get(method_name.lower())
        method = spec[0] if spec else method_name
        call = Call(method, {}, self._clock(), token)
        try:
            call.params, call.files = params, files = connection.decode()
            if token != self.token:
                raise BotAPIError(401, "Unauthorized")
            if spec is None:
                raise BotAPIError(404, "Not Found")
            await self._stall(method, params, connection)
            self._check_faults(method, params)
            if method == "getUpdates":
                result = await self._get_updates(params, connection)
            else:
                result = spec[1](self, params, files)
                if method in _RATE_LIMITED:
                    # No await since the flood check: no other send got in between.
                    self._record_send(params.get("chat_id"))
        except BotAPIError as error:
            call.status, call.error = error.error_code, error.description
            body = error.payload()
        except Exception as error:  # a bug in the fake: answer 500 so the test sees it
            call.status, call.error = 500, f"fake Bot API crashed: {error!r}"
            body = {"ok": False, "error_code": 500, "description": call.error}
        else:
            call.result = copy.deepcopy(result)
            body = {"ok": True, "result": result}
        # Recorded once answered, so a test waking up on it sees the effects (sent messages).
        self.calls.append(call)
        self._counts[call.method.lower()] = self._counts.get(call.method.lower(), 0) + 1
        self._notify()
        return call.status, body

    async def _stall(self, method: str, params: dict[str, Any], connection: _MethodHandler) -> None:
        for stall in self._stalls:
            name, chat_id, seconds, _times = stall
            if name == method.lower() and chat_id in (None, params.get("chat_id")):
                stall[3] -= 1
                if stall[3] <= 0:
                    self._stalls.remove(stall)
                await asyncio.sleep(seconds)
                if connection.connection_closed:
                    raise BotAPIError(499, "the client went away before this was handled")
                return

    def _check_faults(self, method: str, params: dict[str, Any]) -> None:
        chat_id = params.get("chat_id")
        queue = self._faults.get(method.lower(), deque())
        for fault in queue:
            if fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.remove(fault)
                raise BotAPIError(fault.error_code, fault.description, fault.retry_after)
        if isinstance(chat_id, int) and chat_id in self._blocked:
            raise BotAPIError(403, "Forbidden: bot was blocked by the user")
        if method in _RATE_LIMITED:
            self._check_flood(chat_id)

    def _flood_windows(self, chat_id: Any) -> list[tuple[_FloodLimit, deque[float]]]:
        windows = []
        if self._flood_limit is not None:
            windows.append((self._flood_limit, self._window))
        if self._chat_limit is not None and isinstance(chat_id, int):
            windows.append((self._chat_limit, self._chat_windows.setdefault(chat_id, deque())))
        return windows

    def _check_flood(self, chat_id: Any) -> None:
        now = self._monotonic()
        waits = [
            wait
            for limit, times in self._flood_windows(chat_id)
            if (wait := limit.retry_after(times, now)) is not None
        ]
        if waits:
            self.rejected_429 += 1
            wait = max(waits)
            raise BotAPIError(429, f"Too Many Requests: retry after {wait}", wait)

    def _record_send(self, chat_id: Any) -> None:
        now = self._monotonic()
        self.send_times.append(now)
        for _, times in self._flood_windows(chat_id):
            times.append(now)

    def _chat_of(self, chat_id: Any) -> dict[str, Any]:
        if not isinstance(chat_id, int):
            raise _bad_request("chat_id is empty" if chat_id is None else "chat not found")
        user = self._users.get(chat_id)
        if user is not None:
            return user.chat()
        if chat_id in self._groups:
            return copy.deepcopy(self._groups[chat_id])
        if self.require_known_chats:
            raise _bad_request("chat not found")
        return {"id": chat_id, "type": "private", "first_name": f"Chat {chat_id}"}

    def _bots_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """The message of the bot's that an edit is about."""
        chat_id = params.get("chat_id")
        self._chat_of(chat_id)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        found = self._messages.get(chat_id, {}).get(message_id)
        if found is None:
            raise _bad_request("message to edit not found")
        if found["from"].get("id") != self.bot_user["id"]:
            raise _bad_request("message can't be edited")
        return found

    def _new_bot_message(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_of(params.get("chat_id"))
        chat_id = chat["id"]
        message: dict[str, Any] = {
            "message_id": 0,
            "from": copy.deepcopy(self.bot_user),
            "chat": chat,
            "date": self._now(),
        }
        markup = _validated_markup(params.get("reply_markup"))
        message.update(content)
        if markup is not None and markup["inline_keyboard"]:
            message["reply_markup"] = markup
        # Only now, when nothing can fail any more, does the message exist.
        message["message_id"] = self._new_message_id(chat_id)
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        self._bot_message_ids.setdefault(chat_id, []).append(message["message_id"])
        return copy.deepcopy(message)

    def _edited(self, stored: dict[str, Any]) -> dict[str, Any]:
        stored["edit_date"] = self._now()
        return copy.deepcopy(stored)

    # ----------------------------------------------------------------- Bot API methods

    def _get_me(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return copy.deepcopy(self.bot_user)

    async def _get_updates(self, params: dict[str, Any], connection: _MethodHandler) -> Any:
        if self.webhook.get("url"):
            raise BotAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset") or 0
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(0.0, float(params.get("timeout") or 0))
        if "allowed_updates" in params:
            # Like Telegram, the last given list stays in force for later calls.
            self._allowed_updates = list(params["allowed_updates"]) or None
        # Updates below the offset are confirmed and forgotten; a negative offset keeps only
        # the last -offset updates.
        if offset > 0:
            self._keep_pending([u for u in self._pending if u["update_id"] >= offset])
        elif offset < 0:
            self._keep_pending(self._pending[offset:])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._allowed_updates:
                self._keep_pending(
                    [u for u in self._pending if _update_type(u) in self._allowed_updates]
                )
            if self._pending or self._closing or connection.connection_closed:
                return copy.deepcopy(self._hand_out(self._pending[:limit]))
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            connection.waiter = asyncio.Event()
            await self._wait_change(remaining, connection.waiter)
            connection.waiter = None

    def _set_webhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise _bad_request("bad webhook: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._keep_pending([])
        # No HTTPS check: the bot's own webhook server runs on plain http in the tests.
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": params.get("allowed_updates"),
            "max_connections": params.get("max_connections", 40),
            "ip_address": params.get("ip_address"),
            "drop_pending_updates": bool(params.get("drop_pending_updates")),
        }
        return True

    def _delete_webhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if params.get("drop_pending_updates"):
            self._keep_pending([])
        self.webhook = {"url": ""}
        return True

    def _send_message(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self._chat_of(params.get("chat_id"))
        return self._new_bot_message(params, {"text": _plain_text(params, "text", MAX_TEXT)})

    def _send_photo(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self._chat_of(params.get("chat_id"))
        if "photo" not in files:
            raise _bad_request("there is no photo in the request")
        content: dict[str, Any] = {"photo": self._photo_sizes(len(files["photo"]))}
        if params.get("caption"):
            content["caption"] = _plain_text(params, "caption", MAX_CAPTION)
        return self._new_bot_message(params, content)

    def _edit_message_text(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        stored = self._bots_message(params)
        if "text" not in stored:
            raise _bad_request("there is no text in the message to edit")
        text = _plain_text(params, "text", MAX_TEXT)
        # Telegram drops an inline keyboard that the edit does not repeat.
        markup = _validated_markup(params.get("reply_markup"))
        new_markup = markup if markup and markup["inline_keyboard"] else None
        if text == stored["text"] and new_markup == stored.get("reply_markup"):
            raise _bad_request(_NOT_MODIFIED)
        stored["text"] = text
        _set_or_drop(stored, "reply_markup", new_markup)
        return self._edited(stored)

    def _edit_message_reply_markup(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        stored = self._bots_message(params)
        markup = _validated_markup(params.get("reply_markup"))
        new_markup = markup if markup and markup["inline_keyboard"] else None
        if new_markup == stored.get("reply_markup"):
            raise _bad_request(_NOT_MODIFIED)
        _set_or_drop(stored, "reply_markup", new_markup)
        return self._edited(stored)

    def _answer_callback_query(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        query_id = params.get("callback_query_id")
        if query_id not in self._callbacks or query_id in self.answered_callbacks:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if text is not None and len(text) > MAX_ANSWER_TEXT:
            raise _bad_request("MESSAGE_TOO_LONG")
        self.answered_callbacks[query_id] = {
            k: v for k, v in params.items() if k != "callback_query_id"
        }
        return True

    def _set_my_commands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise _bad_request("too many commands specified")
        for command in commands:
            if not isinstance(command, dict) or "command" not in command:
                raise _bad_request("can't parse BotCommand: Can't find field \"command\"")
            if "description" not in command:
                raise _bad_request("can't parse BotCommand: Can't find field \"description\"")
            if not _COMMAND_RE.fullmatch(str(command["command"])):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command["description"]).strip()) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        language = params.get("language_code") or ""
        if language and not _LANGUAGE_RE.fullmatch(language):
            raise _bad_request("invalid language code specified")
        key = _scope_key(params.get("scope")), language
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True


# Canonical name (what `api.calls` records) and implementation, by lower-cased name: the Bot
# API's method names are case-insensitive. Only what the bot calls: anything else is a 404.
_METHODS: dict[str, tuple[str, Callable[..., Any]]] = {
    name.lower(): (name, impl)
    for name, impl in (
        ("getMe", FakeBotAPI._get_me),
        ("getUpdates", FakeBotAPI._get_updates),  # awaited in _handle: long polling
        ("setWebhook", FakeBotAPI._set_webhook),
        ("deleteWebhook", FakeBotAPI._delete_webhook),
        ("sendMessage", FakeBotAPI._send_message),
        ("sendPhoto", FakeBotAPI._send_photo),
        ("editMessageText", FakeBotAPI._edit_message_text),
        ("editMessageReplyMarkup", FakeBotAPI._edit_message_reply_markup),
        ("answerCallbackQuery", FakeBotAPI._answer_callback_query),
        ("setMyCommands", FakeBotAPI._set_my_commands),
    )
}


class _KeptAlive:
    """HTTP/1.1 POSTs to one bot process over connections kept open, as a load balancer keeps
    them. (httpx's pool looked at every connection on every request: with forty of them it
    cost more than the rest of the fake together, in a bench that shares the cores with the
    bots.)"""

    TIMEOUT = 30.0

    def __init__(self, url: str) -> None:
        parsed = httpx.URL(url)
        self.host, self.port = parsed.host, parsed.port or 80
        self.path = parsed.raw_path.decode()
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, body: bytes, headers: Mapping[str, str]) -> int:
        """The answer's status; 599 when the process is gone or did not answer in time."""
        lines = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        reader = writer = None
        try:
            async with asyncio.timeout(self.TIMEOUT):
                if self._idle:
                    reader, writer = self._idle.pop()
                else:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(request)
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                status = int(head.split(" ", 2)[1])
                length = re.search(r"\r\ncontent-length: *(\d+)", head)
                await reader.readexactly(int(length[1]) if length else 0)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            if writer is not None:
                writer.close()
            return 599
        if "\r\nconnection: close" in head:
            writer.close()
        else:
            self._idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _reader, writer in self._idle:
            writer.close()
        self._idle.clear()


class _MethodHandler(tornado.web.RequestHandler):
    """`/bot<token>/<method>`: decodes the request and answers with the Bot API envelope."""

    def initialize(self, api: FakeBotAPI) -> None:
        self.api = api
        self.connection_closed = False
        self.waiter: asyncio.Event | None = None

    def on_connection_close(self) -> None:
        # PTB cancels a long poll on shutdown by closing the connection: end the wait.
        self.connection_closed = True
        if self.waiter is not None:
            self.waiter.set()

    async def get(self, token: str, method: str) -> None:
        await self.post(token, method)

    async def post(self, token: str, method: str) -> None:
        self.api._in_flight += 1
        try:
            status, body = await self.api._handle(token, method, self)
            if not self.connection_closed:
                self.set_status(status)
                self.set_header("Content-Type", "application/json")
                self.finish(json.dumps(body, ensure_ascii=False))
        finally:
            self.api._in_flight -= 1

    def decode(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        """Parameters from the query string and a JSON, urlencoded or multipart body."""
        raw: dict[str, Any] = {
            k: v[-1].decode("utf-8") for k, v in self.request.query_arguments.items()
        }
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and self.request.body:
            try:
                body = json.loads(self.request.body)
            except ValueError as error:
                raise _bad_request("can't parse JSON request body") from error
            if not isinstance(body, dict):
                raise _bad_request("JSON object expected in request body")
            raw.update(body)
        else:
            raw.update({k: v[-1].decode("utf-8") for k, v in self.request.body_arguments.items()})
        files = {name: parts[-1].body for name, parts in self.request.files.items()}
        return _decode_params(raw), files


# --------------------------------------------------------------------- helpers


def _decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError as error:
                    raise _bad_request(f"can't parse {key} JSON object") from error
            elif key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif key in _FLOAT_FIELDS:
                try:
                    value = float(value)
                except ValueError as error:
                    raise _bad_request(f"{key} must be a number") from error
            elif key in _BOOL_FIELDS and value in ("true", "false"):
                value = value == "true"
        params[key] = value
    return params


def _plain_text(params: dict[str, Any], name: str, limit: int) -> str:
    """A text or caption as the bot sends them: plain, not empty, within Telegram's limit."""
    for formatting in ("parse_mode", "entities", "caption_entities"):
        if params.get(formatting):
            raise _bad_request(f"the fake Bot API takes plain text only, not {formatting}")
    text = params.get(name)
    if not isinstance(text, str) or not text.strip():
        raise _bad_request(f"message {name} is empty")
    if _utf16_len(text) > limit:
        raise _bad_request(
            "message is too long" if name == "text" else "message caption is too long"
        )
    return text


def _update_type(update: Mapping[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def _sender_of(update: Mapping[str, Any]) -> object:
    """Whose update it is (the user's id), for keeping a chat's updates in order."""
    content = update[_update_type(update)]
    sender = content.get("from") if isinstance(content, Mapping) else None
    return sender.get("id") if isinstance(sender, Mapping) else _update_type(update)


def _scope_key(scope: Any) -> str:
    """`default`, `all_private_chats`, `chat:<id>` ..."""
    if scope is None:
        return "default"
    if not isinstance(scope, dict) or "type" not in scope:
        raise _bad_request("can't parse BotCommandScope JSON object")
    kind = scope["type"]
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return kind
    if kind in ("chat", "chat_administrators"):
        return f"{kind}:{scope.get('chat_id')}"
    raise _bad_request("unsupported bot command scope type")


def _set_or_drop(target: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def _callback_datas(markup: Any) -> list[str]:
    if not isinstance(markup, dict):
        return []
    return [
        button["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    ]


def _validated_markup(markup: Any) -> dict[str, Any] | None:
    """Check an inline keyboard the way Telegram rejects it; returns it unchanged. (The bot
    sends no other keyboards.)"""
    if markup is None:
        return None
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        raise _bad_request("the fake Bot API takes inline keyboards only")
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request('can\'t parse inline keyboard button: field "inline_keyboard"')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad_request("can't parse inline keyboard button: Text is empty")
            if set(button) != {"text", "callback_data"}:
                raise _bad_request("the fake Bot API takes callback buttons only")
            data = button["callback_data"]
            if not (
                isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise _bad_request("BUTTON_DATA_INVALID")
    return markup


def _utf16_len(text: str) -> int:
    # Telegram counts lengths (and entity offsets) in UTF-16 code units (emoji count twice).
    return len(text.encode("utf-16-le")) // 2
