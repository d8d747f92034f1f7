"""Delivering the outbox: claim what is due, let a channel send it, settle each notice.

Notices are queued with the change that causes them (`notices.queue`). A channel's sender
asks `claim` for a batch (urgent ones first), sends each and reports back:

- `sent`: Telegram took it. The notice is done, and the flags it tells of record in their
  history whom it reached and when ("told caseworker 4 at 10:02").
- `not_sent`: a server error, a timeout, flood control. Released, and tried again after a
  wait that doubles with each try (or the wait Telegram asked for).
- `unreachable`: the recipient blocked the bot. The notice is settled as such, the person is
  marked unreachable, and every notice about a flag still waiting for them goes to the others
  who can act on it; a family's caseworker, or for staff the coordinators, are told.
- `failed`: refused as it is (never to be taken): settled, and said loudly in the log.

A claim is a lease (`Settings.outbox_lease`): a notice whose process died mid-send is claimed
again once the lease lapses. So each notice is delivered at least once, and twice only when a
process died between Telegram taking it and recording that.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..app import Wegwijzer
from ..storage import Person, Unavailable, UnitOfWork
from ..storage.models import OutboxNotice
from . import audit, texts
from .flags import flag_recipients
from .notices import Notice, decode, queue
from .people import Recipient, mark_unreachable
from .schedules import no_contact

log = logging.getLogger(__name__)

# Waits between tries of a notice Telegram did not take: doubling from the first to the
# longest; after GIVE_UP_AFTER it is settled as failed (an urgent flag still escalates).
RETRY_FIRST = timedelta(seconds=1)
RETRY_LONGEST = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(days=2)
# Waits between tries of recording a delivery while the database is unavailable (None: the
# last try).
SETTLE_WAITS = (0.5, 1.0, 2.0, None)


@dataclass(frozen=True)
class Outgoing:
    """A claimed notice: what to send, to whom, and which try this is."""

    id: int
    notice: Notice
    role: str
    attempts: int

    @property
    def to_fallback(self) -> bool:
        return self.role == OPERATORS


async def claim(
    app: Wegwijzer,
    channel: str,
    limit: int,
    *,
    urgent_only: bool = False,
    external_id: str | None = None,
) -> list[Outgoing]:
    """Up to `limit` notices due for people on `channel` (or for one of them), claimed for
    this sender."""
    now = app.clock()
    async with app.database.reading() as uow:
        # Looked at first without the write lock: most looks find nothing.
        if not await uow.outbox.any_due(
            channel, now, urgent_only=urgent_only, external_id=external_id
        ):
            return []
    async with app.database.transaction() as uow:
        rows = await uow.outbox.claim(
            channel,
            now,
            now + app.settings.outbox_lease,
            limit,
            urgent_only=urgent_only,
            external_id=external_id,
        )
    claimed, broken = [], []
    for row, person in rows:
        try:
            claimed.append(_outgoing(row, person))
        except (KeyError, TypeError, ValueError):  # a stored form this code cannot read
            broken.append(row.id)
    if broken:
        log.critical("notices unreadable", extra={"count": len(broken)})
        async with app.database.transaction() as uow:
            for notice_id in broken:
                unreadable = await uow.outbox.get(notice_id)
                if unreadable is not None:
                    await uow.outbox.settle(unreadable, "failed", now)
    return claimed


# The role a notice to the fallback chat is recorded with ("told the operators' chat").
OPERATORS = "operators"


def _outgoing(row: OutboxNotice, person: Person | None) -> Outgoing:
    if person is None:  # the fallback chat: nobody's language, the deployment's default
        recipient = Recipient(0, row.channel, row.chat or "", None)
    else:
        recipient = Recipient.of(person)
    return Outgoing(
        row.id,
        decode(row.body, recipient, urgent=row.urgent),
        OPERATORS if person is None else person.role,
        row.attempts,
    )


async def sent(app: Wegwijzer, *outs: Outgoing) -> None:
    """Telegram took them: recorded in one transaction (a batch of a fan-out), with a few
    tries while the database is briefly away — an unrecorded delivery would be sent again
    when its claim lapses."""
    for wait in SETTLE_WAITS:
        try:
            async with app.database.transaction() as uow:
                for out in outs:
                    await _settle(uow, out, "sent", app.clock())
            return
        except Unavailable:
            if wait is None:
                raise
            await asyncio.sleep(wait)


async def _settle(uow: UnitOfWork, out: Outgoing, state: str, now: datetime) -> OutboxNotice | None:
    """Settle a claimed notice (unless it was meanwhile) and write in the history of each
    flag it tells of whom it reached ("told"), or could not ("not_told")."""
    row = await _still_queued(uow, out)
    if row is None:
        return None
    await uow.outbox.settle(row, state, now)
    whom = None if out.to_fallback else out.notice.recipient.person_id
    for flag_id in out.notice.about:
        await audit.record(
            uow,
            audit.SYSTEM,
            "told" if state == "sent" else "not_told",
            at=now,
            flag_id=flag_id,
            detail={"to": whom, "role": out.role},
        )
    return row


async def not_sent(app: Wegwijzer, out: Outgoing, wait: timedelta | None = None) -> None:
    """Not taken this time; `wait` is what Telegram asked for (flood control), if it did."""
    now = app.clock()
    async with app.database.transaction() as uow:
        row = await _still_queued(uow, out)
        if row is None:
            return
        if now - row.queued_at > GIVE_UP_AFTER:
            await uow.outbox.settle(row, "failed", now)
            log.error("notice given up", extra={"person_id": row.person_id, "flag_id": row.flag_id})
            return
        backoff = min(RETRY_FIRST * 2 ** max(out.attempts - 1, 0), RETRY_LONGEST)
        await uow.outbox.retry_at(row, now + (wait if wait is not None else backoff))


async def failed(app: Wegwijzer, out: Outgoing) -> None:
    """Refused as it is: trying again would not change that."""
    now = app.clock()
    async with app.database.transaction() as uow:
        row = await _still_queued(uow, out)
        if row is not None:
            await uow.outbox.settle(row, "failed", now)
    log.critical("notice refused", extra={"person_id": out.notice.recipient.person_id})


async def unreachable(
    app: Wegwijzer, person_id: int, out: Outgoing | None = None
) -> list[Notice] | None:
    """The person blocked the bot (found by a notice `out`, or by a reply to them). In one
    transaction: they are marked unreachable; a family's cases get a "no contact" flag; their
    caseworkers (for a family) or the coordinators (for staff) are told; and each notice about
    a flag still waiting for them goes to the others who can act on it. Returns the notices
    telling of it; None when they were known to be unreachable already (nothing new)."""
    now = app.clock()
    async with app.database.transaction() as uow:
        if out is not None:
            row = await _settle(uow, out, "unreachable", now)
            if row is not None:
                await move_to_others(uow, row, now)
        person = await uow.people.get_by_id(person_id)
        caseworkers = await mark_unreachable(uow, person_id)
        if person is None or caseworkers is None:
            return None  # known already: everyone was told the first time
        log.warning("person unreachable", extra={"person_id": person_id, "event": person.role})
        for waiting in await uow.outbox.of_person(person_id, "queued"):
            await uow.outbox.settle(waiting, "unreachable", now)
            await move_to_others(uow, waiting, now)
        if person.role == "family":
            for case in await uow.cases.of_person(person_id):
                await no_contact(app, uow, case.id, {"unreachable": True}, now)
            told = [
                Notice(caseworker, texts.PERSON_UNREACHABLE.using(case=caseworker.case_code))
                for caseworker in caseworkers
            ]
        else:
            told = [
                Notice(
                    coordinator,
                    texts.STAFF_UNREACHABLE.using(person=texts.actor(person.role, person_id)),
                    plain=True,
                    urgent=True,
                )
                for coordinator in await flag_recipients(uow, None, caseworker=False)
                if coordinator.person_id != person_id
            ]
        await queue(uow, told, now)
        return told


async def withdraw_reminders(uow: UnitOfWork, person_id: int, now: datetime) -> int:
    """In the caller's transaction (consent withdrawn): the check-in reminders and follow-ups
    still waiting for the person are settled "withdrawn", never sent; returns how many.

    Only those. A family receives nothing else from the outbox: an emergency's help is a
    reply, sent at once and never queued, and flags go to staff. Whatever else waits for
    someone (staff withdraw too) may be about a child's safety: a flag's news, an
    escalation, something urgent — it stays, because stopping it could leave a danger
    unanswered. A reminder is recognised by its start button (`start_flow`), and must be
    neither urgent nor about a flag, so a future notice with a button and a flag is kept.
    """
    withdrawn = 0
    for waiting in await uow.outbox.of_person(person_id, "queued"):
        body = waiting.body
        if waiting.urgent or waiting.flag_id is not None or body.get("tells_of"):
            continue
        if not body.get("start_flow") or body.get("flag_ids"):
            continue
        await uow.outbox.settle(waiting, "withdrawn", now)
        withdrawn += 1
    return withdrawn


async def move_to_others(uow: UnitOfWork, row: OutboxNotice, now: datetime) -> None:
    """A notice about a flag its recipient cannot receive goes to the others who hear of that
    flag (its caseworker, its assignee, every coordinator) and have not had this news since
    — when it was meant for whoever acts on the flag (not "assigned to you", not a digest)."""
    if row.flag_id is None or not row.body.get("for_whoever_acts"):
        return
    flag = await uow.flags.get(row.flag_id)
    if flag is None or flag.status == "resolved":
        return
    since = {
        notice.person_id
        for notice in await uow.outbox.of_flags([flag.id])
        if notice.queued_at >= row.queued_at and notice.state in ("queued", "sent")
    }
    for recipient in await flag_recipients(uow, flag.case_id, extra=flag.assigned_to):
        if recipient.person_id in since or recipient.person_id == row.person_id:
            continue
        await uow.outbox.add(
            recipient.person_id,
            row.body,
            channel=recipient.channel,
            at=now,
            urgent=row.urgent,
            flag_id=row.flag_id,
        )


async def _still_queued(uow: UnitOfWork, out: Outgoing) -> OutboxNotice | None:
    """The notice, locked, while this sender's claim still holds: not settled meanwhile, nor
    claimed again by another sender after this one's lease lapsed (each claim counts a try).
    Otherwise the outcome is not this sender's to record."""
    row = await uow.outbox.get(out.id)
    if row is None or row.state != "queued" or row.attempts != out.attempts:
        return None
    return row
