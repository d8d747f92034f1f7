"""What the Telegram channel tells whoever watches the running bot (the operations metrics
and readiness check, `bot.operations`): each update handled and how long it took, each Bot
API call and how long it took, each notice Telegram took.

`WatchedRequest` is python-telegram-bot's own HTTP client with a stopwatch around every
call; only the Bot API method's name leaves it, never the URL (it holds the token) nor what
was sent.
"""

from __future__ import annotations

import re
import time
from typing import Protocol

from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, HTTPXRequest, RequestData

__all__ = ["BotWatcher", "WatchedRequest", "bot_api_method"]

# Answers that mean Telegram is not taking the bot's calls: its own server errors, and an
# unknown token (401, or 404 when the token's format is wrong). Any other answer — a
# blocked user's 403, a 400, flood control's 429 — is Telegram answering.
_NOT_ANSWERED = frozenset({401, 404})
_METHOD_NAME = re.compile(r"[A-Za-z]{1,64}")


class BotWatcher(Protocol):
    def update_handled(self, seconds: float) -> None:
        """An update went through the channel (well or not), taking `seconds`."""

    def bot_api_called(self, method: str, seconds: float, answered: bool) -> None:
        """A Bot API call ended after `seconds`; `answered`: Telegram answered it (see
        `WatchedRequest`), rather than failing, timing out or not knowing the bot."""

    def notice_delivered(self, urgent: bool) -> None:
        """Telegram took a notice from the outbox."""


def bot_api_method(url: str) -> str:
    """The Bot API method a request URL calls (`.../bot<token>/sendMessage`), or "other"."""
    name = url.rsplit("/", 1)[-1]
    return name if _METHOD_NAME.fullmatch(name) else "other"


class WatchedRequest(HTTPXRequest):
    """PTB's HTTP client, telling `watcher` of every call it makes."""

    def __init__(self, watcher: BotWatcher, *, connection_pool_size: int) -> None:
        super().__init__(connection_pool_size=connection_pool_size)
        self._watcher = watcher

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        started = time.perf_counter()
        answered = False
        try:
            status, payload = await super().do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
            answered = status < 500 and status not in _NOT_ANSWERED
            return status, payload
        finally:
            self._watcher.bot_api_called(
                bot_api_method(url), time.perf_counter() - started, answered
            )
