"""The web view's core: who is reading (the session), rendering a page in their language,
taking a form (same site, CSRF token), and the answers every page may give (not signed in,
refused, not found, failed). The pages themselves are in `sign_in`, `flag_pages`,
`case_pages`, `closure_pages`, `overview_pages` and `export_pages`; `app` puts them
together.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TypeAlias
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..app import Wegwijzer
from ..engine import Text
from ..i18n import Translator
from ..rules.people import Participant
from ..services import texts, web_login
from . import texts as T
from ._security import RateLimiter

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 20
# The login nonce: a double-submit cookie for the sign-in form, which has no session yet.
NONCE_COOKIE = "wegwijzer_login"

Handler: TypeAlias = Callable[[Request], Awaitable[Response]]
# A form's fields as posted (the last value of a name posted twice).
Form: TypeAlias = dict[str, str]


@dataclass(frozen=True)
class Page:
    """What a handler knows about the reader: who (None: not signed in), in which language,
    their session id and CSRF token."""

    sign_in: web_login.WebSignIn | None
    session_id: str | None
    translate: Translator


@dataclass(frozen=True)
class Posted:
    """A form a signed-in reader posted, taken: their page, who they are, their session."""

    page: Page
    who: Participant
    session_id: str
    form: Form


class WebView:
    def __init__(self, app: Wegwijzer, limiter: RateLimiter | None = None) -> None:
        self.app = app
        self.limiter = limiter or RateLimiter()
        settings = app.settings
        self.secure = settings.web_cookie_secure
        # `__Host-`: the browser keeps it to this host and path, and only over https.
        self.cookie = "__Host-wegwijzer" if self.secure else "wegwijzer_session"
        self.origin = origin_of(settings.web_base_url) if settings.web_base_url else None
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # --- the reader -------------------------------------------------------------------------

    async def page(self, request: Request) -> Page:
        session_id = request.cookies.get(self.cookie)
        sign_in = await web_login.signed_in(self.app, session_id)
        language = None
        if sign_in is not None:
            language = sign_in.language or sign_in.who.language
        return Page(sign_in, session_id if sign_in else None, self.translator(language))

    def translator(self, language: str | None) -> Translator:
        settings = self.app.settings
        return self.app.catalogs.translator_for(
            language, settings.default_language, settings.timezone
        )

    def render(
        self,
        page: Page,
        template: str,
        title: Text,
        status: int = 200,
        request_path: str = "",
        **values: object,
    ) -> HTMLResponse:
        tr = page.translate

        def moment(value: datetime | None) -> str:
            if value is None:
                return "—"
            return format_datetime(value, "medium", tzinfo=tr.timezone, locale=tr.locale)

        catalogs = self.app.catalogs
        html = self.templates.get_template(template).render(
            t=tr.render,
            T=T,
            Text=Text,
            texts=texts,
            next_path=local_path(request_path) if request_path else "/flags",
            page=page,
            who=page.sign_in.who if page.sign_in else None,
            csrf=page.sign_in.csrf if page.sign_in else "",
            lang=tr.language,
            dir=tr.direction,
            title=tr.render(title),
            moment=moment,
            languages=[(code, catalogs.native_name(code)) for code in catalogs.languages],
            **values,
        )
        return HTMLResponse(html, status_code=status)

    def message(self, page: Page, title: Text, text: Text, status: int) -> HTMLResponse:
        return self.render(page, "message.html", title, status, text=text)

    async def posted(self, request: Request) -> Posted | Response:
        """A signed-in reader's POSTed form, taken (`form`); otherwise the answer to give
        (not signed in, refused, a bad form)."""
        page = await self.page(request)
        if page.sign_in is None or page.session_id is None:
            return self.not_signed_in(page)
        form = await self.form(request, page)
        if isinstance(form, Response):
            return form
        return Posted(page, page.sign_in.who, page.session_id, form)

    async def form(self, request: Request, page: Page) -> Form | Response:
        """The POSTed form's fields, if it may be taken: from this site (Origin) and with the
        session's CSRF token; otherwise the answer to give (403, or 400 for a file)."""
        if not self.same_origin(request) or page.sign_in is None or page.session_id is None:
            return self.refused_form(page)
        fields = await read_fields(request)
        if fields is None:
            return self.bad_form(page)
        if not web_login.csrf_matches(page.session_id, fields.get("csrf", "")):
            log.warning("web form refused: CSRF token", extra={"event": "csrf"})
            return self.refused_form(page)
        return fields

    def same_origin(self, request: Request) -> bool:
        """Whether a POST comes from this site's own pages. Browsers say where a request
        comes from in `Sec-Fetch-Site` and `Origin` (the pages' `Referrer-Policy:
        same-origin` keeps the Origin real: under `no-referrer` it would be "null"), and
        either of them naming anything else refuses it. A client sending neither (an old
        browser, a script) is left to the CSRF token and the SameSite cookies."""
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True
        expected = self.origin or f"{request.url.scheme}://{request.url.netloc}"
        return origin == expected  # "null" (a sandboxed frame, a data: page) never is

    def bad_form(self, page: Page) -> HTMLResponse:
        return self.message(page, T.BAD_FORM_TITLE, T.BAD_FORM, 400)

    def refused_form(self, page: Page) -> HTMLResponse:
        return self.message(page, T.FORM_EXPIRED_TITLE, T.FORM_EXPIRED, 403)

    def not_signed_in(self, page: Page) -> HTMLResponse:
        return self.message(page, T.NOT_SIGNED_IN_TITLE, T.NOT_SIGNED_IN, 401)

    async def missing(self, request: Request, exc: Exception) -> Response:
        page = await self.page(request)
        return self.message(page, T.NOT_FOUND_TITLE, T.NOT_FOUND, 404)

    async def failed(self, request: Request, exc: Exception) -> Response:
        """Anything unexpected: a page saying so (Starlette raises the error on, for the
        server's log). In the default language, without asking the database who is signed
        in: it may be what failed."""
        log.error("web request failed", extra={"event": type(exc).__name__})
        page = Page(None, None, self.translator(None))
        return self.message(page, T.FAILED_TITLE, T.FAILED, 500)


async def read_fields(request: Request) -> Form | None:
    """A POSTed form's fields, all text; None when any is a file (the pages post none: a
    file sent as a note would be stored as its description). The form is closed on the way
    out, uploads and all."""
    async with request.form() as form:
        fields: Form = {}
        for name, value in form.multi_items():
            if not isinstance(value, str):
                return None
            fields[name] = value
        return fields


def as_int(value: object) -> int | None:
    text = value if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None


def page_number(text: str) -> int:
    """The page asked for: 1 unless a number; any number past the last is the last (the
    service clamps it), however many digits it has."""
    digits = text.lstrip("0") if text.isascii() and text.isdigit() else ""
    if not digits:
        return 1
    return int(digits) if len(digits) <= 9 else 10**9


def here(request: Request) -> str:
    """The page's own path and query: where the language switch comes back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def local_path(path: str) -> str:
    """Only a path of this site to go back to, never another site (`//evil.example`)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/flags"
    return path


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_NOT_IN_A_CODE = re.compile(r"[^A-Z0-9-]")


def case_param(text: str) -> str:
    """A `case` filter as a code's beginning: upper case, only the letters, digits and dashes
    the bot's codes are made of (anything else dropped, so no other character reaches the
    database), at most 16."""
    return _NOT_IN_A_CODE.sub("", text.upper())[:16]


def day_param(text: str) -> str:
    """A date as YYYY-MM-DD, or "" for anything else."""
    if len(text) != 10 or not text.isascii():
        return ""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return ""


def start_of_day(day: str, zone: str, *, next_day: bool = False) -> datetime | None:
    """The start of a day (of the day after it) in the deployment's time zone."""
    if not day:
        return None
    chosen = date.fromisoformat(day) + timedelta(days=1 if next_day else 0)
    return datetime.combine(chosen, time(), tzinfo=ZoneInfo(zone))
