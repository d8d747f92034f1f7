"""The operations endpoint: an HTTP server of its own beside the bot, on its own port.

`GET /healthz` answers 200 while the event loop does (the bot's own loop serves it);
`GET /readyz` 200 when every readiness check passes and 503 naming the failing ones, with
each check's value as JSON; `GET /metrics` the Prometheus text format. Tornado, the server
python-telegram-bot's webhook mode runs on, serves it in the bot's event loop.
"""

from __future__ import annotations

import logging
import socket
import time
from functools import partial

import tornado.httpserver
import tornado.web
from prometheus_client import CONTENT_TYPE_LATEST

from ..app import Wegwijzer
from ..storage.uow import Written
from ._health import BotApiContact, CachedReading, Monotonic, Readiness, read_database, readiness
from ._metrics import Metrics

__all__ = ["READING_SECONDS", "Operations"]

log = logging.getLogger(__name__)

# The database is read for the gauges and the readiness check at most this often.
READING_SECONDS = 5.0


class Operations:
    """Metrics, readiness and the server that shows them, for one running bot.

    It is what the Telegram channel tells of its work (`bot.telegram.BotWatcher`: updates,
    Bot API calls, notices delivered) and what the database tells after each commit (answers,
    alarms, notices queued); each costs a counter's increment, never a query."""

    def __init__(self, app: Wegwijzer, monotonic: Monotonic = time.monotonic) -> None:
        self.app = app
        self.metrics = Metrics()
        self.bot_api = BotApiContact(monotonic)
        self.reading = CachedReading(
            partial(read_database, app, monotonic), READING_SECONDS, monotonic
        )
        self._server: tornado.httpserver.HTTPServer | None = None
        self._was_ready = True

    # --- what the bot tells ---------------------------------------------------------------

    def update_handled(self, seconds: float) -> None:
        self.metrics.update_handled(seconds)

    def bot_api_called(self, method: str, seconds: float, answered: bool) -> None:
        self.metrics.bot_api_called(method, seconds)
        self.bot_api.called(answered)

    def notice_delivered(self, urgent: bool) -> None:
        self.metrics.notice_delivered(urgent)

    def committed(self, written: Written) -> None:
        self.metrics.committed(written)

    # --- what it shows --------------------------------------------------------------------

    async def scrape(self) -> bytes:
        self.metrics.show(await self.reading.get())
        return self.metrics.exposition()

    async def readiness(self) -> Readiness:
        ready = await readiness(self.reading, self.bot_api)
        if ready.ready != self._was_ready:
            # Said once when it changes, not at every probe; check names only.
            if ready.ready:
                log.warning("ready again", extra={"event": "readyz"})
            else:
                log.error("not ready", extra={"event": ",".join(ready.failing)})
            self._was_ready = ready.ready
        return ready

    # --- the server -----------------------------------------------------------------------

    async def start(self) -> int | None:
        """Listen on OPERATIONS_LISTEN:OPERATIONS_PORT (0: any free port) and count the
        database's commits; the port listened on. None: nothing listens — the setting is
        unset, or the port could not be had (logged; the bot runs without the endpoint: the
        emergency route matters more than its metrics)."""
        listen, port = self.app.settings.operations_listen, self.app.settings.operations_port
        if port is None:
            return None
        try:
            listening = _listening_socket(listen, port)
        except OSError as failed:
            log.critical(
                "operations endpoint not started",
                extra={"event": f"{type(failed).__name__} on port {port}"},
            )
            return None
        routes = [
            (r"/healthz", _Alive, {"operations": self}),
            (r"/readyz", _Ready, {"operations": self}),
            (r"/metrics", _Metrics, {"operations": self}),
        ]
        # No access log: a probe every few seconds is not news; `readiness` logs changes.
        web = tornado.web.Application(routes, log_function=lambda _handler: None)
        self._server = tornado.httpserver.HTTPServer(web, xheaders=False)
        self._server.add_sockets([listening])
        self.app.database.on_committed.append(self.committed)
        bound: int = listening.getsockname()[1]
        return bound

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.app.database.on_committed.remove(self.committed)
        server.stop()
        await server.close_all_connections()
        await self.reading.close()


def _listening_socket(listen: str, port: int) -> socket.socket:
    """A socket listening on one address (tornado's `bind_sockets` binds every address a name
    resolves to, each on its own port when the port is 0, and leaves a socket it could not
    bind for the garbage collector)."""
    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    try:
        # A restarted bot takes its port back at once, not after TIME_WAIT.
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.setblocking(False)
        listening.bind((listen, port))
        listening.listen(128)
    except OSError:
        listening.close()
        raise
    return listening


class _Handler(tornado.web.RequestHandler):
    def initialize(self, operations: Operations) -> None:
        self.operations = operations
        self.set_header("Cache-Control", "no-store")


class _Alive(_Handler):
    async def get(self) -> None:
        self.write({"alive": True})


class _Ready(_Handler):
    async def get(self) -> None:
        ready = await self.operations.readiness()
        self.set_status(200 if ready.ready else 503)
        self.write(ready.as_dict())


class _Metrics(_Handler):
    async def get(self) -> None:
        body = await self.operations.scrape()
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.write(body)
