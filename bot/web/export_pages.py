"""Downloading the answers export, as the command line's `wegwijzer export` makes it (the same
formats, the same audit records), streamed: a batch of answers at a time goes from the
database to the browser, so memory stays flat however many there are.

Who may download what is the access module's (`may_export`): coordinators, pseudonymised.
A download is started by a form (POST, with the session's CSRF token), never by opening an
address: a link preview or a prefetching browser must not make an audited export.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from datetime import date, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from ..app import Wegwijzer
from ..rules.access import NotAllowed, may_export
from ..rules.people import Participant
from ..services import audit, export
from . import texts as T
from ._security import RateLimiter
from .view import Page, WebView, log

# What the browser is told each format is, and the file's extension.
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ZIP = "application/zip"
FORMAT_NAMES = {"json": T.FORMAT_JSON, "csv": T.FORMAT_CSV, "xlsx": T.FORMAT_XLSX}
# What went wrong with the last form, shown on the page it goes back to (`?problem=`).
PROBLEMS = {
    "since": T.EXPORT_BAD_DATE,
    "password": T.EXPORT_SHORT_PASSWORD.using(least=export.MIN_PASSWORD),
    "encrypt": T.EXPORT_PASSWORD_NOT_ENCRYPTED,
}
# Downloads running at once, in this process and per person: each holds a database
# connection (on PostgreSQL a REPEATABLE READ snapshot) for as long as the browser reads,
# from the pool the bot shares under `run --with-web`. More get a "busy" page (503).
MOST_DOWNLOADS = 2
MOST_DOWNLOADS_EACH = 1
RETRY_AFTER = 60  # seconds, the busy page's Retry-After
# The earliest day answers may be asked for since (the stream's dates stay writable).
EARLIEST = date(1900, 1, 1)


def may_download(who: Participant | None) -> bool:
    """Whether the export page is for `who` (the menu shows it to them)."""
    return who is not None and may_export(who, pseudonymised=True)


class ExportPages(WebView):
    def __init__(self, app: Wegwijzer, limiter: RateLimiter | None = None) -> None:
        super().__init__(app, limiter)
        self.templates.globals["may_download"] = may_download
        self.downloads = DownloadSlots()

    def export_routes(self) -> list[BaseRoute]:
        return [
            Route("/exports", self.exports, methods=["GET"]),
            Route("/exports", self.download, methods=["POST"]),
        ]

    async def exports(self, request: Request) -> Response:
        """The form: format, answers from which day on, encrypted or not."""
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        if not may_download(page.sign_in.who):
            await audit.record_refusal(self.app, page.sign_in.who, "export", action="view")
            return self.not_for_you(page)
        problem = request.query_params.get("problem", "")
        return self.render(
            page,
            "exports.html",
            T.EXPORTS,
            request_path="/exports",
            formats=[(fmt, FORMAT_NAMES[fmt]) for fmt in export.FORMATS],
            problem=PROBLEMS.get(problem),
            least=export.MIN_PASSWORD,
        )

    async def download(self, request: Request) -> Response:
        posted = await self.posted(request)
        if isinstance(posted, Response):
            return posted
        page, form = posted.page, posted.form
        fmt = form.get("format", "")
        if fmt not in export.FORMATS:
            return self.bad_form(page)
        since = None
        if form.get("since", "").strip():
            try:
                since = date.fromisoformat(form["since"].strip())
            except ValueError:
                return RedirectResponse("/exports?problem=since", status_code=303)
            # A day the database and the file can both write (not year 1, not next year).
            today = self.app.clock().astimezone(page.translate.timezone).date()
            if not EARLIEST <= since <= today + timedelta(days=1):
                return RedirectResponse("/exports?problem=since", status_code=303)
        typed = form.get("password", "")
        if form.get("encrypt") == "1":
            password: str | None = typed
        elif typed:
            # A password without the box ticked: asked for, or filled in by the browser?
            # Never a plain file when one may have been meant to be encrypted.
            return RedirectResponse("/exports?problem=encrypt", status_code=303)
        else:
            password = None
        who = posted.who
        pseudonymise = form.get("pseudonymise") == "1"
        slot = self.downloads.take(who.person_id)
        if slot is None and may_export(who, pseudonymised=pseudonymise):
            # Not audited: nothing was looked at, and no access rule said no — the same
            # request a minute later is allowed. Logged, for the operator's capacity.
            log.info("download refused: busy", extra={"event": "busy"})
            busy = self.message(page, T.EXPORT_BUSY_TITLE, T.EXPORT_BUSY, 503)
            busy.headers["retry-after"] = str(RETRY_AFTER)
            return busy
        try:
            started = await export.download(
                self.app,
                who,
                fmt,
                since,
                pseudonymise=pseudonymise,
                language=page.translate.language,  # an xlsx's column titles
                password=password,
            )
        except NotAllowed:
            self.downloads.give_back(slot)
            return self.not_for_you(page)
        except ValueError:  # the password too short
            self.downloads.give_back(slot)
            return RedirectResponse("/exports?problem=password", status_code=303)
        except BaseException:
            self.downloads.give_back(slot)
            raise
        today = self.app.clock().astimezone(page.translate.timezone).date()
        name = f"wegwijzer-answers-pseudonymised-{today.isoformat()}"
        if since is not None:
            name += f"-since-{since.isoformat()}"
        name += f".{fmt}" + (".zip" if password is not None else "")
        return StreamedDownload(
            started.chunks(),
            media_type=ZIP if password is not None else MEDIA_TYPES[fmt],
            headers={"content-disposition": f'attachment; filename="{name}"'},
            done=lambda: self.downloads.give_back(slot),
        )

    def not_for_you(self, page: Page) -> Response:
        return self.message(page, T.EXPORTS_REFUSED_TITLE, T.EXPORTS_REFUSED, 403)


class DownloadSlots:
    """The downloads running in this process, by person (`MOST_DOWNLOADS` in all,
    `MOST_DOWNLOADS_EACH` a person). One event loop: no lock needed."""

    def __init__(self) -> None:
        self.running: dict[int, int] = {}

    def take(self, person_id: int) -> int | None:
        """A slot for `person_id` (give it back with `give_back`), or None: busy."""
        if sum(self.running.values()) >= MOST_DOWNLOADS:
            return None
        if self.running.get(person_id, 0) >= MOST_DOWNLOADS_EACH:
            return None
        self.running[person_id] = self.running.get(person_id, 0) + 1
        return person_id

    def give_back(self, slot: int | None) -> None:
        if slot is None or slot not in self.running:
            return
        self.running[slot] -= 1
        if not self.running[slot]:
            del self.running[slot]

    def __len__(self) -> int:
        return sum(self.running.values())


class StreamedDownload(Response):
    """A response sent chunk by chunk as `chunks` makes them, which stops making them as soon
    as the browser is gone — and closes them then, so the export's database connection goes
    back to the pool and its audit record is written, in this task, not cancelled halfway.

    (Starlette's StreamingResponse, under an ASGI server of spec 2.3 such as uvicorn, cancels
    the sending task when the client disconnects, anywhere in the export, and leaves the
    iterator for the garbage collector to close.)"""

    def __init__(
        self,
        chunks: AsyncGenerator[bytes, None],
        *,
        media_type: str,
        headers: dict[str, str],
        done: Callable[[], None] = lambda: None,
    ) -> None:
        self.chunks = chunks
        self.done = done  # called once the download is over, however it ended
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def listen() -> None:
            while True:
                message: Message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                    return

        listener = asyncio.create_task(listen())
        try:
            async with contextlib.aclosing(self.chunks) as chunks:
                await send(
                    {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                )
                async for chunk in chunks:
                    if gone.is_set():
                        log.info("download stopped: the browser went away")
                        return
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if not gone.is_set():
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            # A server of ASGI spec 2.4 says the client is gone by failing the send: the
            # export is closed on the way out all the same.
            log.info("download stopped: the browser went away")
        finally:
            self.done()
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
