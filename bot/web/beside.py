"""The web view in the bot's own process and event loop (`wegwijzer run --with-web`, which
`make run` uses when WEB_BASE_URL is set): one process to start and stop, on one database
pool, with the web view's pages and the bot's messages on the same services.

The bot owns the signals (SIGINT, SIGTERM): uvicorn's own handlers are left out. At a signal
the web view is stopped first — it takes no new request, and its downloads get
`GRACE_SECONDS` to finish — and then the bot, whose senders still send what the web view's
last requests queued. A web view that
cannot start (its port taken, say) is said loudly, and the bot runs on without it: the
families' emergency route matters more than the review desk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn

from ..app import Wegwijzer
from .app import server_config

__all__ = ["WebBeside", "WebViewFailed"]

log = logging.getLogger(__name__)

# At stop, how long requests still running (a download) get before they are cut.
GRACE_SECONDS = 10
# How often the start is looked at (uvicorn says it has started with a flag only).
_LOOK_SECONDS = 0.05


class WebViewFailed(RuntimeError):
    """The web view could not start (the address taken, not allowed, or not there)."""


class _WithoutSignals(uvicorn.Server):
    """uvicorn's server, leaving SIGINT and SIGTERM to the bot (uvicorn would take them over
    with `signal.signal` and raise them again once it stopped)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebBeside:
    def __init__(self, app: Wegwijzer, listen: str, port: int) -> None:
        config = server_config(app, listen, port)
        config.timeout_graceful_shutdown = GRACE_SECONDS
        self.server = _WithoutSignals(config)
        self.address = f"http://{listen}:{port}"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listening when this returns; WebViewFailed if it cannot."""
        task = self._task = asyncio.create_task(self._serve(), name="web view")
        while not self.server.started:
            done, _ = await asyncio.wait({task}, timeout=_LOOK_SECONDS)
            if done:
                task.result()  # WebViewFailed, or anything else that went wrong
                raise WebViewFailed(f"the web view on {self.address} stopped as it started")
        task.add_done_callback(_ended)

    async def _serve(self) -> None:
        try:
            await self.server.serve()
        except SystemExit:
            # What uvicorn does when it cannot bind (it has logged why): not a reason for the
            # whole process to end, the bot with it.
            raise WebViewFailed(f"the web view could not listen on {self.address}") from None

    async def stop(self) -> None:
        task = self._task
        if task is None or task.done():
            return
        self.server.should_exit = True
        with contextlib.suppress(Exception):
            await task


def _ended(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("web view stopped", extra={"event": type(task.exception()).__name__})
