"""The web view's routes: signing in with a link from the bot, the flag queue and a flag.

Every page asks the same services the bot's `/flags` and `/flag` commands ask
(`bot.services.flags`), so access is decided by the one access module, every look and change
is audited the same way, and a change made here shows in the bot at once and back. Pages are
server-side templates in the reader's language; there is no script.
"""

from __future__ import annotations

import logging
import re
import secrets
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import urlencode, urlsplit

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from ..app import Wegwijzer
from ..engine import Text
from ..engine.events import JSONValue
from ..i18n import Translator
from ..rules.access import NotAllowed
from ..rules.wellbeing import CheckIn
from ..services import audit, case_list, flags, texts, web_login
from ..services.case_view import CaseView, case_view
from ..services.review_texts import (
    HIDDEN_HISTORY,
    child_status_lines,
    guidance_lines,
    home_visit_lines,
    schedule_line,
)
from ..storage.models import FLAG_LEVELS, FLAG_STATUSES, UNRESOLVED_FLAG_STATUSES
from . import texts as T
from ._security import RateLimiter, SecurityHeaders

if TYPE_CHECKING:
    import uvicorn

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


class WebView:
    def __init__(self, app: Wegwijzer, limiter: RateLimiter | None = None) -> None:
        self.app = app
        self.limiter = limiter or RateLimiter()
        settings = app.settings
        self.secure = settings.web_cookie_secure
        # `__Host-`: the browser keeps it to this host and path, and only over https.
        self.cookie = "__Host-wegwijzer" if self.secure else "wegwijzer_session"
        self.origin = _origin(settings.web_base_url) if settings.web_base_url else None
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
            next_path=_local(request_path) if request_path else "/flags",
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

    async def form(self, request: Request, page: Page) -> Form | Response:
        """The POSTed form's fields, if it may be taken: from this site (Origin) and with the
        session's CSRF token; otherwise the answer to give (403, or 400 for a file)."""
        if not self.same_origin(request) or page.sign_in is None or page.session_id is None:
            return self.refused_form(page)
        fields = await _fields(request)
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

    # --- signing in and out -------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        return RedirectResponse("/flags", status_code=303)

    async def confirm(self, request: Request) -> Response:
        """The link opened: a page with a button, so that a link preview (a messenger fetching
        the URL) cannot use it up. Nothing is looked up here."""
        page = await self.page(request)
        nonce = secrets.token_urlsafe(16)
        response = self.render(
            page,
            "confirm.html",
            T.CONFIRM_TITLE,
            action=f"/login/{request.path_params['token']}",
            nonce=nonce,
        )
        response.set_cookie(
            NONCE_COOKIE,
            nonce,
            max_age=int(self.app.settings.web_link_minutes * 60),
            path="/login/",
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )
        return response

    async def redeem(self, request: Request) -> Response:
        page = await self.page(request)
        address = request.client.host if request.client else "unknown"
        if not self.limiter.allow(address):
            log.warning("web sign-in: rate limited", extra={"event": "web_link"})
            return self.message(page, T.LINK_NOT_VALID_TITLE, T.TOO_MANY, 429)
        form = await _fields(request)
        if form is None:
            return self.bad_form(page)
        nonce = request.cookies.get(NONCE_COOKIE, "")
        given = form.get("nonce", "")
        fresh = bool(nonce) and secrets.compare_digest(nonce.encode(), given.encode())
        if not self.same_origin(request) or not fresh:
            return self.refused_form(page)
        try:
            session_id, _ = await web_login.redeem(
                self.app,
                str(request.path_params["token"]),
                replacing=request.cookies.get(self.cookie),  # ended or not: it goes
            )
        except web_login.LinkNotValid:
            self.limiter.failed(address)
            return self.message(page, T.LINK_NOT_VALID_TITLE, T.LINK_NOT_VALID, 400)
        response = RedirectResponse("/flags", status_code=303)
        response.delete_cookie(NONCE_COOKIE, path="/login/")
        # No Max-Age: the cookie goes when the browser closes, and the server ends the
        # session (idle, lifetime, sign-out) whatever the cookie says.
        response.set_cookie(
            self.cookie,
            session_id,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )
        return response

    async def sign_out(self, request: Request) -> Response:
        page = await self.page(request)
        if page.sign_in is None or page.session_id is None:
            return self.not_signed_in(page)
        refused = await self.form(request, page)
        if isinstance(refused, Response):
            return refused
        await web_login.sign_out(self.app, page.sign_in.who, page.session_id)
        response = self.message(
            Page(None, None, page.translate), T.SIGNED_OUT_TITLE, T.SIGNED_OUT, 200
        )
        response.delete_cookie(self.cookie, path="/", secure=self.secure, httponly=True)
        return response

    async def language(self, request: Request) -> Response:
        page = await self.page(request)
        if page.sign_in is None or page.session_id is None:
            return self.not_signed_in(page)
        form = await self.form(request, page)
        if isinstance(form, Response):
            return form
        await web_login.choose_language(self.app, page.session_id, form.get("language", ""))
        return RedirectResponse(_local(form.get("next", "/flags")), status_code=303)

    # --- the queue ----------------------------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        who = page.sign_in.who
        wanted, chosen = _queue_filter(request)
        number = _page_number(request.query_params.get("page", ""))
        try:
            found = await flags.review_page(self.app, who, number, PAGE_SIZE, wanted)
        except NotAllowed:
            return self.not_signed_in(page)
        shown: list[JSONValue] = [flag.id for flag in found.flags]
        # The same record as the command line's listing of flags: who saw which.
        await audit.record_look(self.app, who, "flags_listed", flags=shown, page=found.page)
        query = {key: value for key, value in chosen.items() if value}

        def page_link(to: int) -> str:
            return "/flags?" + urlencode({**query, "page": to})

        return self.render(
            page,
            "flags.html",
            T.QUEUE_TITLE,
            request_path=_here(request),
            found=found,
            now=self.app.clock(),
            chosen=chosen,
            levels=FLAG_LEVELS,
            statuses=FLAG_STATUSES,
            programmes=texts.PROGRAMMES,
            page_link=page_link,
        )

    # --- one flag -----------------------------------------------------------------------------

    async def flag(self, request: Request) -> Response:
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        flag_id = _int(request.path_params["flag_id"])
        who = page.sign_in.who
        try:
            view = await flags.flag_detail(self.app, who, flag_id or 0)
            sent = await flags.deliveries(self.app, who, view.id)
        except NotAllowed:
            return self.not_available(page, flag_id)
        done = request.query_params.get("done", "")
        return self.render(
            page,
            "flag.html",
            T.FLAG_TITLE.using(id=view.id),
            request_path=f"/flags/{view.id}",
            flag=view,
            now=self.app.clock(),
            evidence=flags.evidence_lines(self.app, view),
            source=flags.rule_source(self.app, view),
            history=[entry for entry in view.history if entry.action not in HIDDEN_HISTORY],
            history_action=_history_action,
            deliveries=sent,
            may_assign=who.role == "coordinator" and view.status != "resolved",
            done=T.DONE.get(done),
            problem=_PROBLEMS.get(request.query_params.get("problem", "")),
            note_max=flags.NOTE_MAX,
        )

    async def choose_assignee(self, request: Request) -> Response:
        """The caseworkers to assign a flag to, on a page of its own as in the bot (behind
        the Assign button): listing thousands of them costs more than a flag's page may."""
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        flag_id = _int(request.path_params["flag_id"]) or 0
        try:
            people = await flags.assignable_caseworkers(self.app, page.sign_in.who, flag_id)
        except NotAllowed:
            return self.not_available(page, flag_id)
        return self.render(
            page,
            "assign.html",
            T.ASSIGN_TITLE.using(id=flag_id),
            request_path=f"/flags/{flag_id}/assign",
            flag_id=flag_id,
            caseworkers=people,
            problem=_PROBLEMS.get(request.query_params.get("problem", "")),
        )

    def not_available(self, page: Page, flag_id: int | None) -> HTMLResponse:
        text = texts.FLAG_NOT_AVAILABLE.using(id=flag_id or "—")
        return self.message(page, T.NOT_FOUND_TITLE, text, 404)

    async def act(self, request: Request) -> Response:
        """acknowledge, assign, note, resolve, reopen: the services of the bot's `/flag`."""
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        form = await self.form(request, page)
        if isinstance(form, Response):
            return form
        who, app = page.sign_in.who, self.app
        flag_id = _int(request.path_params["flag_id"]) or 0
        action = str(request.path_params["action"])
        text = form.get("text", "")
        back = f"/flags/{flag_id}"
        try:
            if action == "acknowledge":
                outcome = await flags.acknowledge(app, who, flag_id)
            elif action == "assign":
                to = _int(form.get("to"))
                if to is None:  # the choice's form sends only numbers
                    return self.bad_form(page)
                outcome = await flags.assign(app, who, flag_id, to)
            elif action == "note":
                outcome = await flags.add_note(app, who, flag_id, text)
            elif action == "resolve":
                outcome = await flags.resolve(app, who, flag_id, text)
            elif action == "reopen":
                outcome = await flags.reopen(app, who, flag_id)
            else:
                raise HTTPException(404)
        except NotAllowed:
            return self.not_available(page, flag_id)
        except flags.NoteRequired:
            return RedirectResponse(f"{back}?problem=note", status_code=303)
        except flags.NoteTooLong:
            return RedirectResponse(f"{back}?problem=too_long", status_code=303)
        except flags.NotAssignable:
            # Left or changed role since the list was shown, or never one: choose again.
            return RedirectResponse(f"{back}/assign?problem=assignee", status_code=303)
        done = _DONE[action] if outcome.changed else "unchanged"
        if action == "resolve" and not outcome.changed:
            done = "noted"  # resolved meanwhile by someone else: the text was kept as a note
        return RedirectResponse(f"{back}?done={done}", status_code=303)

    # --- the cases -----------------------------------------------------------------------------

    async def cases(self, request: Request) -> Response:
        """The cases the reader handles, by code, searchable by the start of a code."""
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        who = page.sign_in.who
        search = request.query_params.get("case", "").strip().upper()[:16]
        number = _page_number(request.query_params.get("page", ""))
        try:
            found = await case_list.case_page(self.app, who, number, PAGE_SIZE, search)
        except NotAllowed:
            return self.not_signed_in(page)
        shown: list[JSONValue] = [case.code for case in found.cases]
        # Who saw which cases, as for the flags listed.
        await audit.record_look(self.app, who, "cases_listed", cases=shown, page=found.page)

        def page_link(to: int) -> str:
            return "/cases?" + urlencode({**({"case": search} if search else {}), "page": to})

        return self.render(
            page,
            "cases.html",
            T.CASES_TITLE,
            request_path=_here(request),
            found=found,
            search=search,
            page_link=page_link,
        )

    # --- one case -----------------------------------------------------------------------------

    async def case(self, request: Request) -> Response:
        """A case at a glance, as the bot's `/case` shows it (the same service, so the same
        access check and audit record), with the WHO-5 well-being as a table and a chart."""
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        code = str(request.path_params["code"]).strip().upper()
        if not _CASE_CODE.fullmatch(code):
            # No case has such a code: nothing to look up (or to fill the audit log with).
            return self.message(page, T.NOT_FOUND_TITLE, texts.NOT_YOUR_CASE.using(case="—"), 404)
        try:
            view = await case_view(self.app, page.sign_in.who, code)
        except NotAllowed:
            # The bot's answer, whether the case is another's or does not exist.
            return self.message(page, T.NOT_FOUND_TITLE, texts.NOT_YOUR_CASE.using(case=code), 404)
        summary = (
            [texts.CASE_ERASED.using(case=view.code)]
            if view.erased_at is not None
            else _case_lines(view)
        )
        return self.render(
            page,
            "case.html",
            T.CASE_TITLE.using(case=view.code),
            request_path=f"/cases/{view.code}",
            case=view,
            now=self.app.clock(),
            summary=summary,
            chart=_chart(view.checkins),
        )

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


# Case codes as the bot gives them out (letters, digits, dashes), with room to spare.
_CASE_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")


@dataclass(frozen=True)
class Chart:
    """The WHO-5 chart's geometry in SVG user units (drawn by `case.html`)."""

    width: int
    height: int
    points: tuple[tuple[float, float, int], ...]  # x, y, the score
    poor: float  # y of the "poor well-being" cut-off (52)
    low: float  # y of the "possible depression" cut-off (28)


# WHO-5 cut-offs in percent (domain.md): raw below 13 (52 %) is poor well-being, raw 7 or
# less (28 %) may mean depression.
WHO5_POOR, WHO5_LOW = 52, 28
_CHART_W, _CHART_H, _PAD = 320, 120, 10


def _chart(checkins: tuple[CheckIn, ...]) -> Chart | None:
    """Where each check-in goes on a chart of 0–100 over time (evenly spaced: a check-in is
    weekly or as scheduled); None without check-ins."""
    if not checkins:
        return None

    def y(score: float) -> float:
        return round(_PAD + (100 - score) * (_CHART_H - 2 * _PAD) / 100, 1)

    step = (_CHART_W - 2 * _PAD) / max(len(checkins) - 1, 1)
    points = tuple(
        (round(_PAD + index * step, 1), y(each.well_being), each.well_being)
        for index, each in enumerate(checkins)
    )
    return Chart(_CHART_W, _CHART_H, points, y(WHO5_POOR), y(WHO5_LOW))


_DONE = {
    "acknowledge": "acknowledged",
    "assign": "assigned",
    "note": "noted",
    "resolve": "resolved",
    "reopen": "reopened",
}


# What went wrong with the last form, shown on the page it goes back to (`?problem=`).
_PROBLEMS = {
    "note": T.NOTE_REQUIRED,
    "too_long": T.NOTE_TOO_LONG.using(limit=flags.NOTE_MAX),
    "assignee": T.NOT_ASSIGNABLE,
}


async def _fields(request: Request) -> Form | None:
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


def _case_lines(view: CaseView) -> list[Text]:
    """The bot's `/case` lines but its heading (the page's) and its check-ins, which the
    page shows as a table and a chart."""
    lines = guidance_lines(view)
    lines.append(texts.TRENDS[view.trend].using(change=view.change))
    lines.append(schedule_line(view.schedule))
    if view.visit_due_at is not None:
        lines.append(texts.NEXT_VISIT.using(when=view.visit_due_at))
    return lines + home_visit_lines(view.home_visits) + child_status_lines(view.children)


def _history_action(entry: flags.HistoryEntry) -> Text:
    """What happened; a delivery names whom it reached (as in the bot)."""
    action = texts.HISTORY_ACTIONS.get(entry.action, Text(entry.action))
    to, role = entry.detail.get("to"), entry.detail.get("role")
    if entry.action in ("told", "not_told") and isinstance(to, int) and isinstance(role, str):
        return action.using(person=texts.actor(role, to))
    return action


def _queue_filter(request: Request) -> tuple[flags.QueueFilter, dict[str, str]]:
    """The queue's filters from the query string, and what was chosen (to show it again);
    values that are not among the choices are left out."""
    query = request.query_params
    level = query.get("level", "")
    status = query.get("status", "")
    programme = query.get("programme", "")
    chosen = {
        "level": level if level in FLAG_LEVELS else "",
        "status": status if status in (*FLAG_STATUSES, "all") else "",
        "overdue": "1" if query.get("overdue") else "",
        "assignee": str(_int(query.get("assignee")) or ""),
        "programme": programme if programme in texts.PROGRAMMES else "",
        "case": query.get("case", "").strip().upper()[:16],
    }
    statuses: tuple[str, ...] = UNRESOLVED_FLAG_STATUSES
    if chosen["status"] == "all":
        statuses = FLAG_STATUSES
    elif chosen["status"]:
        statuses = (chosen["status"],)
    wanted = flags.QueueFilter(
        levels=(chosen["level"],) if chosen["level"] else (),
        statuses=statuses,
        overdue=bool(chosen["overdue"]),
        assignee=_int(chosen["assignee"]),
        programme=chosen["programme"] or None,
        case_code=chosen["case"] or None,
    )
    return wanted, chosen


def _int(value: object) -> int | None:
    text = value if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None


def _page_number(text: str) -> int:
    """The page asked for: 1 unless a number; any number past the last is the last (the
    service clamps it), however many digits it has."""
    digits = text.lstrip("0") if text.isascii() and text.isdigit() else ""
    if not digits:
        return 1
    return int(digits) if len(digits) <= 9 else 10**9


def _here(request: Request) -> str:
    """The page's own path and query: where the language switch comes back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _local(path: str) -> str:
    """Only a path of this site to go back to, never another site (`//evil.example`)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/flags"
    return path


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def create_app(app: Wegwijzer, *, limiter: RateLimiter | None = None) -> ASGIApp:
    """The web view of `app` as an ASGI application (served by `serve`, or in tests)."""
    view = WebView(app, limiter)
    routes = [
        Route("/", view.home),
        Route("/login/{token}", view.confirm, methods=["GET"]),
        Route("/login/{token}", view.redeem, methods=["POST"]),
        Route("/logout", view.sign_out, methods=["POST"]),
        Route("/language", view.language, methods=["POST"]),
        Route("/flags", view.queue),
        Route("/flags/{flag_id}", view.flag),
        Route("/cases", view.cases, methods=["GET"]),
        Route("/cases/{code}", view.case, methods=["GET"]),
        Route("/flags/{flag_id}/assign", view.choose_assignee, methods=["GET"]),
        Route(
            "/flags/{flag_id}/{action:str}",
            view.act,
            methods=["POST"],
        ),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
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
