"""Invites: the only way into the bot. Single use, expiring, unguessable.

A code is 16 URL-safe characters from `secrets` (96 bits), which fits Telegram's deep-link
rules (`?start=` takes up to 64 characters of A–Z, a–z, 0–9, _ and -). Only its SHA-256 is
stored: a copy of the database does not hand out working invites.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..app import Wegwijzer
from ..rules.access import NotAllowed, may_invite
from ..rules.people import Participant
from .cases import UnknownCase
from .once import claim

ROLES = ("family", "caseworker", "coordinator")


@dataclass(frozen=True)
class NewInvite:
    code: str
    role: str
    case_code: str | None
    expires_at: datetime

    def link(self, bot_username: str) -> str:
        return deep_link(bot_username, self.code)


def invite_qr_png(link: str) -> bytes:
    """The link as a QR code, for a family to scan from a caseworker's phone or paper."""
    import segno

    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def new_invite_code() -> str:
    return secrets.token_urlsafe(12)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


async def create_invite(
    app: Wegwijzer,
    role: str,
    case_code: str | None = None,
    *,
    by: Participant | None = None,
    once: str | None = None,
) -> NewInvite:
    """Make an invite. `by` is the staff member asking in the bot; None means the CLI.

    Families are invited to a case. In the bot a caseworker may invite families to their own
    cases only; coordinators invite anyone; families invite nobody (NotAllowed, also for a case
    that does not exist: the bot does not confirm which codes exist). On the command line an
    unknown case is UnknownCase.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "family" and case_code is None:
        raise ValueError("a family invite needs a case")
    now = app.clock()
    expires_at = now + timedelta(days=app.settings.invite_days)
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case_id = case = None
        if case_code is not None:
            case = await uow.cases.by_code(case_code)
            if case is None and by is not None:
                raise NotAllowed(case_code)
            if case is None:
                raise UnknownCase(case_code)
            case_id = case.id
        if by is not None and not may_invite(by, role, case):
            raise NotAllowed(case_code)
        code = new_invite_code()
        await uow.invites.add(
            code_hash=code_hash(code),
            role=role,
            case_id=case_id,
            created_by=None if by is None else by.person_id,
            created_at=now,
            expires_at=expires_at,
        )
    return NewInvite(code, role, case_code, expires_at)
