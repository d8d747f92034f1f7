"""Joining by invite, choosing a language, and giving or refusing consent.

The order is fixed by design.md: the invite code fixes the role (and a family's case), then
the person picks a language, then reads what is stored, why, who sees it and how to stop,
and agrees or not. Refusing is respected and recorded; it can be changed later (/privacy).
"""

from __future__ import annotations

from ..app import Wegwijzer
from ..rules.people import Participant
from . import audit
from .invites import code_hash
from .once import claim
from .people import participant
from .staffing import give_case


class InviteNotValid(Exception):
    """The code is unknown, used, or expired: the person is treated as a stranger."""


async def join(
    app: Wegwijzer, channel: str, external_id: str, code: str, once: str | None = None
) -> Participant:
    """Register a person by their invite; someone registered already keeps their place
    (and the code stays unused)."""
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        existing = await uow.people.get(channel, external_id)
        if existing is not None:
            return await participant(uow, existing)
        invite = await uow.invites.find(code_hash(code))
        if invite is None or invite.used_at is not None or invite.expires_at <= now:
            raise InviteNotValid
        person = await uow.people.add(channel, external_id, invite.role)
        # The conditional update decides between two people using one code at the same time;
        # the loser's transaction rolls back, person row and all.
        if not await uow.invites.claim(invite.id, person.id, now):
            raise InviteNotValid
        if invite.role == "family" and invite.case_id is not None:
            await uow.cases.add_member(invite.case_id, person.id)
        elif invite.role == "caseworker" and invite.case_id is not None:
            # Not silently: a case that had a caseworker changes hands on the record, and
            # the one who had it is told.
            case = await uow.cases.by_id(invite.case_id, for_update=True)
            if case is not None:
                await give_case(uow, case, person, audit.SYSTEM, now)
        return await participant(uow, person)


async def choose_language(
    app: Wegwijzer, who: Participant, language: str, once: str | None = None
) -> Participant:
    if language not in app.catalogs.languages:
        raise ValueError(f"unknown language {language!r}")
    async with app.database.transaction() as uow:
        await claim(uow, once, app.clock())
        await uow.people.set_language(who.person_id, language)
        return await participant(uow, await uow.people.get_by_id(who.person_id))


async def record_consent(
    app: Wegwijzer, who: Participant, given: bool, once: str | None = None
) -> Participant:
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        await uow.people.set_consent(who.person_id, "given" if given else "refused", now)
        if not given:
            # Stopping means stopping: an unfinished check-in does not wait for an answer.
            run = await uow.runs.current(who.person_id)
            if run is not None and run.status == "active":
                await uow.runs.pause(run, now)
        return await participant(uow, await uow.people.get_by_id(who.person_id))
