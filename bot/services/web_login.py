"""Signing in to the web view without a password: a one-time link asked for in the bot, and
the browser session it starts.

`/web` in the bot gives a staff member a link (`issue_link`): a random selector and secret,
the secret stored only as its SHA-256, single use, valid `WEB_LINK_MINUTES`, bound to that
person. Opening it shows a confirmation page; confirming (`redeem`) uses up the link and
starts a session, whose random id goes into the browser's cookie and only its SHA-256 into
the database. A session ends after `WEB_IDLE_MINUTES` without a request, after
`WEB_SESSION_HOURS` whatever happens, at logout, and as soon as its person is no longer an
active staff member (`rules.access.may_use_web`, asked on every request).

The CSRF token of a session is derived from its id (`csrf_token`): only the browser holding
the cookie can know it, and nothing more is stored. Every issue, sign-in and refusal is in
the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..app import Wegwijzer
from ..engine.events import JSONValue
from ..rules.access import NotAllowed, may_use_web
from ..rules.people import Participant
from ..storage import UnitOfWork
from ..storage.models import WebLink
from . import audit
from .notices import Notice
from .people import participant

log = logging.getLogger(__name__)

# A link whose secret was given wrongly this often is locked (someone guessing at it).
MAX_LINK_FAILURES = 5
# `last_seen_at` is written at most this often: a page of a few requests costs one write.
SEEN_EVERY = timedelta(minutes=1)


class LinkNotValid(Exception):
    """Unknown, wrong, expired, used or locked: one answer for all."""


@dataclass(frozen=True)
class IssuedLink:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class WebSignIn:
    """A signed-in browser: who, in which language they chose here (None: their own), and
    the CSRF token every form of theirs carries."""

    who: Participant
    language: str | None
    csrf: str


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def csrf_token(session_id: str) -> str:
    """The session's CSRF token: a hash of its id under a label of its own, so it says
    nothing about the id and changes with every session."""
    return _sha256("wegwijzer-web-csrf:" + session_id)


def csrf_matches(session_id: str, given: str) -> bool:
    # As bytes: compare_digest refuses (raises on) a str with other than ASCII in it.
    return hmac.compare_digest(csrf_token(session_id).encode(), (given or "").encode())


async def issue_link(app: Wegwijzer, who: Participant) -> IssuedLink:
    """A one-time sign-in link's token for `who` (NotAllowed for anyone but active staff)."""
    async with audit.refusal_recorded(app, who, "web", action="link"):
        if not may_use_web(who):
            raise NotAllowed("the web view is for staff")
    now = app.clock()
    selector, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(32)
    expires = now + timedelta(minutes=app.settings.web_link_minutes)
    async with app.database.transaction() as uow:
        await _prune(app, uow, now)
        link = await uow.web.add_link(selector, _sha256(secret), who.person_id, now, expires)
        await audit.record(uow, who, "web_link", at=now, detail={"link": link.id})
    log.info("web link issued", extra={"person_id": who.person_id})
    return IssuedLink(f"{selector}.{secret}", expires)


def _unusable(link: WebLink, who: Participant | None, now: datetime) -> str | None:
    """Why a link whose secret was given rightly does not work (None: it does)."""
    if link.used_at is not None:
        return "used"
    if link.expires_at <= now:
        return "expired"
    if link.failures >= MAX_LINK_FAILURES:
        return "locked"
    if who is None or not may_use_web(who):
        return "not_staff"
    return None


async def redeem(app: Wegwijzer, token: str, replacing: str | None = None) -> tuple[str, WebSignIn]:
    """Use up a link and start a session: the session id for the cookie, and who signed in;
    the session `replacing` (the browser's earlier one) ends with it, so a browser has one.
    LinkNotValid for anything but a usable link of someone who may still use the web view;
    a wrong secret for a known link counts towards locking it. Every refusal is in the audit
    log (`web_link_refused`: the link's id when there is one, and why; never the secret)."""
    now = app.clock()
    selector, _, secret = token.partition(".")
    session_id = secrets.token_urlsafe(32)
    who: Participant | None = None
    refused: dict[str, JSONValue] | None = None
    async with app.database.transaction() as uow:
        link = None
        if selector and secret and len(token) <= 200:
            link = await uow.web.link(selector)
        if link is None:
            refused = {"why": "unknown"}
        elif not hmac.compare_digest(link.token_hash, _sha256(secret)):
            # Someone has the selector but not the secret: counted (and committed), so that
            # guessing locks the link after MAX_LINK_FAILURES.
            await uow.web.link_failed(link)
            refused = {"link": link.id, "why": "wrong_secret"}
        else:
            person = await uow.people.get_by_id(link.person_id)
            who = await participant(uow, person) if person is not None else None
            why = _unusable(link, who, now)
            if why is not None:
                refused = {"link": link.id, "why": why}
            elif who is not None:
                await uow.web.use_link(link, now)
                lifetime = timedelta(hours=app.settings.web_session_hours)
                await uow.web.add_session(_sha256(session_id), who.person_id, now, now + lifetime)
                await audit.record(uow, who, "web_signed_in", at=now, detail={"link": link.id})
                if replacing:
                    await uow.web.end_session(_sha256(replacing))
        if refused is not None:
            await audit.record(uow, audit.BROWSER, "web_link_refused", at=now, detail=refused)
    if refused is not None or who is None:
        log.warning("web link refused", extra={"event": f"web_link {refused}"})
        raise LinkNotValid
    log.info("web sign-in", extra={"person_id": who.person_id})
    return session_id, WebSignIn(who, None, csrf_token(session_id))


async def signed_in(app: Wegwijzer, session_id: str | None) -> WebSignIn | None:
    """Who this session belongs to, if it is still on: not idle too long, not past its
    end, its person still active staff. Keeps it alive."""
    if not session_id or len(session_id) > 200:
        return None
    now = app.clock()
    idle = timedelta(minutes=app.settings.web_idle_minutes)
    hashed = _sha256(session_id)
    # Read only: most requests change nothing (a page of several requests writes once).
    async with app.database.reading() as uow:
        row = await uow.web.session(hashed)
        if row is None or row.expires_at <= now or row.last_seen_at + idle <= now:
            return None
        person = await uow.people.get_by_id(row.person_id)
        who = await participant(uow, person) if person is not None else None
        if who is None or not may_use_web(who):
            return None
        language, stale = row.language, now - row.last_seen_at >= SEEN_EVERY
    if stale:
        async with app.database.transaction() as uow:
            again = await uow.web.session(hashed)
            if again is not None:
                await uow.web.seen(again, now)
    return WebSignIn(who, language, csrf_token(session_id))


async def choose_language(app: Wegwijzer, session_id: str, language: str) -> None:
    async with app.database.transaction() as uow:
        row = await uow.web.session(_sha256(session_id))
        if row is not None and language in app.catalogs.languages:
            await uow.web.set_language(row, language)


async def sign_out(app: Wegwijzer, who: Participant, session_id: str) -> None:
    now = app.clock()
    async with app.database.transaction() as uow:
        await uow.web.end_session(_sha256(session_id))
        await _prune(app, uow, now)
        await audit.record(uow, who, "web_signed_out", at=now, detail={})


async def purge_web_logins(app: Wegwijzer) -> list[Notice]:
    """The bot's duty, each round of its upkeep loop (every half minute): sign-in links
    past their time and sessions ended (idle or at their end) are removed — not only when
    someone asks for a new link, which may be days away. One short statement each on a
    table of a few rows per person signed in. Tells nobody anything: returns no notices."""
    async with app.database.transaction() as uow:
        await _prune(app, uow, app.clock())
    return []


async def _prune(app: Wegwijzer, uow: UnitOfWork, now: datetime) -> None:
    idle = timedelta(minutes=app.settings.web_idle_minutes)
    await uow.web.prune(now, now - idle)
