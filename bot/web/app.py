"""The web view as an ASGI application, and serving it: the pages of `sign_in`,
`flag_pages`, `case_pages`, `closure_pages`, `overview_pages` and `export_pages` on one
`WebView`, behind the security headers (`beside` serves it in the bot's own process).

Every page asks the same services the bot's commands ask, so access is decided by the one
access module, every look and change is audited the same way, and a change made here shows
in the bot at once and back. Pages are server-side templates in the reader's language; there
is no script.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from ..app import Wegwijzer
from ._security import RateLimiter, SecurityHeaders
from .case_pages import CasePages
from .closure_pages import ClosurePages
from .export_pages import ExportPages
from .flag_pages import FlagPages
from .overview_pages import OverviewPages
from .sign_in import SignInPages
from .view import HERE, PAGE_SIZE

if TYPE_CHECKING:
    import uvicorn

__all__ = ["HERE", "PAGE_SIZE", "create_app", "serve", "server_config"]

log = logging.getLogger(__name__)


class WebApp(SignInPages, FlagPages, CasePages, ClosurePages, OverviewPages, ExportPages):
    """All the pages on one reader, renderer and form check (`WebView`)."""


def create_app(app: Wegwijzer, *, limiter: RateLimiter | None = None) -> ASGIApp:
    """The web view of `app` as an ASGI application (served by `serve`, or in tests)."""
    view = WebApp(app, limiter)
    static = Mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    routes = [
        *view.sign_in_routes(),
        *view.flag_routes(),
        *view.case_routes(),
        *view.closure_routes(),
        *view.overview_routes(),
        *view.export_routes(),
        static,
    ]
    handlers = {404: view.missing, Exception: view.failed}
    # Outermost, around Starlette's own error middleware: a 500 carries the headers too.
    return SecurityHeaders(Starlette(routes=routes, exception_handlers=handlers), hsts=view.secure)


def server_config(app: Wegwijzer, listen: str, port: int) -> uvicorn.Config:
    """uvicorn's configuration: behind a reverse proxy, the client address comes from
    X-Forwarded-For only when the request comes from one of WEB_FORWARDED_ALLOW_IPS."""
    import uvicorn

    return uvicorn.Config(
        create_app(app),
        host=listen,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=list(app.settings.web_forwarded_allow_ips),
        server_header=False,
        log_config=None,
        access_log=False,
    )


async def serve(app: Wegwijzer, listen: str, port: int) -> None:
    """Serve the web view until stopped (Ctrl-C, SIGTERM)."""
    import uvicorn

    config = server_config(app, listen, port)
    # uvicorn shuts down gracefully on SIGINT and SIGTERM, then raises the signal again for
    # the handler that was there before: a handler that does nothing lets the app close its
    # database afterwards and the process end with 0, as `wegwijzer run` does.
    stopping = (signal.SIGINT, signal.SIGTERM)
    before = {sig: signal.signal(sig, _stopped) for sig in stopping}
    try:
        await uvicorn.Server(config).serve()
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _stopped(sig: int, frame: FrameType | None) -> None:
    log.info("web view stopped", extra={"event": signal.Signals(sig).name})
