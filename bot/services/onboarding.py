"""Joining by invite, choosing a language, and giving or refusing consent.

The order is fixed by design.md: the invite code fixes the role (and a family's case), then
the person picks a language, then reads what is stored, why, who sees it and how to stop,
and agrees or not. Refusing is respected and recorded; it can be changed later (/privacy):
refusing after having agreed withdraws consent, which stops processing for the person (the
pipeline lets only the emergency route, /language and /privacy through; reminders go only
to those who agreed) and tells the staff following their cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..app import Wegwijzer
from ..rules.people import Participant
from ..storage import Case, CaseErased, UnitOfWork
from . import audit, texts
from .flags import flag_recipients
from .invites import code_hash
from .notices import Notice, queue
from .once import claim
from .outbox import withdraw_reminders
from .people import Recipient, participant
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
        try:
            if invite.role == "family" and invite.case_id is not None:
                await uow.cases.add_member(invite.case_id, person.id)
            elif invite.role == "caseworker" and invite.case_id is not None:
                # Not silently: a case that had a caseworker changes hands on the record, and
                # the one who had it is told.
                case = await uow.cases.by_id(invite.case_id, for_update=True)
                if case is not None:
                    await give_case(uow, case, person, audit.SYSTEM, now)
        except CaseErased:
            # Erasure removes a case's invites; one read before it commits lets nobody in.
            raise InviteNotValid from None
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


@dataclass(frozen=True)
class ConsentRecorded:
    """A person's answer to the consent question as recorded: the person as they are now, and
    how many of the staff following their cases were told of the change."""

    who: Participant
    told: int = 0


async def record_consent(
    app: Wegwijzer, who: Participant, given: bool, once: str | None = None
) -> ConsentRecorded:
    """Record agreeing or not. Refusing after having agreed is a withdrawal: from then on
    nothing new is stored and no reminder sent, not even one queued already (anything but
    "given" stops processing), what was stored stays in the case file, and the staff
    following the person's cases are told; agreeing again resumes, and they are told that
    too. Both are in the audit log."""
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        person = await uow.people.get_by_id(who.person_id)
        if person is None:
            raise LookupError("the person is gone")
        before = person.consent
        withdrawing = before in ("given", "withdrawn")
        after = "given" if given else "withdrawn" if withdrawing else "refused"
        await uow.people.set_consent(who.person_id, after, now)
        if not given:
            # Stopping means stopping: an unfinished check-in does not wait for an answer.
            run = await uow.runs.current(who.person_id)
            if run is not None and run.status == "active":
                await uow.runs.pause(run, now)
            await withdraw_reminders(uow, who.person_id, now)
        told: list[Notice] = []
        if after != before and after in ("given", "withdrawn"):
            told = await _consent_changed(uow, who, after, before, now)
        return ConsentRecorded(await participant(uow, person), len(told))


async def _consent_changed(
    uow: UnitOfWork, who: Participant, after: str, before: str | None, now: datetime
) -> list[Notice]:
    """In the audit log for each case of the person (without a case: once), and the staff
    following an open case told of a withdrawal or of consent given again."""
    action = "consent_given" if after == "given" else "consent_withdrawn"
    text = (
        texts.FAMILY_WITHDREW_CONSENT
        if after == "withdrawn"
        else texts.FAMILY_GAVE_CONSENT_AGAIN
        if before == "withdrawn"
        else None
    )
    cases = await uow.cases.of_person(who.person_id)
    if not cases:
        await audit.record(uow, who, action, at=now)
    told: list[Notice] = []
    if who.staff and (after == "withdrawn" or before == "withdrawn"):
        # Staff without consent are told nothing, flags included: the coordinators must
        # know, or alarms meant for them would go unheard (`wegwijzer doctor` says it too).
        mine = ", ".join(summary.code for summary in await uow.cases.of_caseworker(who.person_id))
        staff_text = (
            texts.STAFF_WITHDREW_CONSENT if after == "withdrawn" else texts.STAFF_GAVE_CONSENT_AGAIN
        ).using(person=who.person_id, cases=mine or "—")
        told += [
            Notice(coordinator, staff_text, plain=True, urgent=after == "withdrawn")
            for coordinator in await flag_recipients(uow, None, caseworker=False)
            if coordinator.person_id != who.person_id
        ]
    for case in cases:
        await audit.record(uow, who, action, at=now, case_id=case.id)
        if text is not None and case.status != "closed":
            told += [
                Notice(recipient, text.using(case=case.code), plain=True)
                for recipient in await _following(uow, case)
            ]
    await queue(uow, told, now)
    return told


async def _following(uow: UnitOfWork, case: Case) -> list[Recipient]:
    """Who follows a case: its caseworker, or without one who can be told, the coordinators
    (monitoring that stops must not go unnoticed)."""
    caseworker = (
        await uow.people.get_by_id(case.caseworker_id) if case.caseworker_id is not None else None
    )
    if caseworker is not None and caseworker.status == "active" and caseworker.consent == "given":
        return [Recipient.of(caseworker, case.code)]
    return await flag_recipients(uow, case.id, caseworker=False)
