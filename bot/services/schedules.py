"""Scheduled check-ins: reminders that arrive, and silence that gets noticed.

Each case can have a schedule per flow (the family check-in): a cadence in the family's local
time (`cadence.py`). When a reminder comes due, the family members of the case get a message
with a button to start. Who is in the middle of another flow is not interrupted: the reminder
waits until that flow ends (recorded in the audit log). One gentle follow-up goes out after
`reminder_follow_up` if the check-in was not done. A reminder not answered by the next one
counts as missed; after `missed_checkins_flag` in a row the case gets a "no contact" flag,
high when it already has an urgent or high flag open, medium otherwise. A family that blocked
the bot is unreachable at once: the same flag, straight away. A family that withdrew its
consent is neither reminded nor counted (their caseworker was told when they withdrew); giving
it again resumes from the next slot.

All of it lives in the schedule rows (next due time, last reminder, follow-up, missed count),
and due rows are claimed with SKIP LOCKED: after downtime each overdue reminder goes out once
(the next due time is computed from now, not from the missed slot), and several bot
processes on PostgreSQL send each reminder exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..app import Wegwijzer
from ..engine.events import JSONValue
from ..rules.access import NotAllowed, handles_case
from ..rules.cadence import Cadence, cadence_text, next_due
from ..rules.people import Participant
from ..storage import UnitOfWork
from ..storage.models import Schedule
from . import audit, texts
from .flags import raise_or_repeat
from .notices import Notice, queue
from .once import claim
from .people import Recipient

log = logging.getLogger(__name__)

NO_CONTACT_RULE = "no_contact"
SCHEDULES_FLOW = "schedules"  # the "flow" no-contact flags are raised by
BATCH = 500
# A run not answered for this long is no longer "in the middle": the reminder goes out.
IDLE_AFTER = timedelta(hours=2)
# A follow-up due while the family is answering is looked at again after this long.
LOOK_AGAIN = timedelta(minutes=15)


@dataclass(frozen=True)
class ScheduleView:
    case_code: str
    flow_id: str
    cadence: str
    timezone: str
    status: str
    paused_by: str | None
    next_due_at: datetime | None
    missed: int

    def as_dict(self) -> dict[str, JSONValue]:
        local = self.next_due_at.astimezone(ZoneInfo(self.timezone)) if self.next_due_at else None
        return {
            "case": self.case_code,
            "flow": self.flow_id,
            "cadence": self.cadence,
            "timezone": self.timezone,
            "status": self.status,
            "paused_by": self.paused_by,
            "next_due_utc": self.next_due_at.isoformat() if self.next_due_at else None,
            "next_due_local": local.isoformat() if local else None,
            "missed": self.missed,
        }


def schedule_view(schedule: Schedule, code: str) -> ScheduleView:
    cadence = Cadence.from_dict(schedule.cadence)
    return ScheduleView(
        case_code=code,
        flow_id=schedule.flow_id,
        cadence=cadence_text(cadence),
        timezone=cadence.timezone,
        status=schedule.status,
        paused_by=schedule.paused_by,
        next_due_at=schedule.next_due_at if schedule.status == "active" else None,
        missed=schedule.missed,
    )


# --- setting, listing, pausing ----------------------------------------------------------------


async def set_schedule(
    app: Wegwijzer,
    case_code: str,
    cadence: Cadence,
    *,
    by: Participant | None = None,
    once: str | None = None,
) -> ScheduleView:
    """Give a case a schedule of its family's check-in (or a new cadence); NotAllowed for
    someone else's case. LookupError when the deployment has no check-in flow."""
    checkin = app.flows.for_purpose("checkin")
    if checkin is None:
        raise LookupError("no flow with purpose 'checkin'")
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case = await uow.cases.by_code(case_code.strip().upper())
        if case is None or not handles_case(by, case):
            raise NotAllowed(case_code)
        schedule = await uow.schedules.set(
            case.id, checkin.id, cadence.as_dict(), next_due(cadence, now), now
        )
        await audit.record(
            uow,
            by or audit.OPERATOR,
            "schedule_set",
            at=now,
            case_id=case.id,
            detail={"cadence": cadence_text(cadence)},
        )
        return schedule_view(schedule, case.code)


async def list_schedules(app: Wegwijzer) -> list[ScheduleView]:
    async with app.database.reading() as uow:
        return [schedule_view(schedule, code) for schedule, code in await uow.schedules.listing()]


async def pause_schedule(
    app: Wegwijzer, case_code: str, *, by: Participant | None = None, once: str | None = None
) -> ScheduleView:
    """Stop a case's reminders (staff, or the operator) until resumed."""
    return await _set_paused(app, case_code, True, by, once)


async def resume_schedule(
    app: Wegwijzer, case_code: str, *, by: Participant | None = None, once: str | None = None
) -> ScheduleView:
    return await _set_paused(app, case_code, False, by, once)


async def _set_paused(
    app: Wegwijzer, case_code: str, paused: bool, by: Participant | None, once: str | None
) -> ScheduleView:
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case = await uow.cases.by_code(case_code.strip().upper())
        if case is None or not handles_case(by, case):
            raise NotAllowed(case_code)
        schedule = await uow.schedules.of_case(case.id)
        if schedule is None:
            raise LookupError(case_code)
        await pause_or_resume(uow, schedule, paused, by, now)
        return schedule_view(schedule, case.code)


async def family_pause(
    app: Wegwijzer, who: Participant, paused: bool, once: str | None = None
) -> ScheduleView | None:
    """A family's own /stop and /resume, for their case; None when it has no schedule."""
    if who.role != "family" or who.case_id is None:
        raise NotAllowed(who.person_id)
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        schedule = await uow.schedules.of_case(who.case_id)
        if schedule is None:
            return None
        if paused and schedule.status != "paused":
            await _tell_caseworker_of_pause(uow, who.case_id, now)
        await pause_or_resume(uow, schedule, paused, who, now)
        return schedule_view(schedule, who.case_code or "")


async def _tell_caseworker_of_pause(uow: UnitOfWork, case_id: int, now: datetime) -> None:
    """Monitoring stops while a family's reminders are paused: their caseworker must know,
    not find out later (queued in the pause's transaction)."""
    case = await uow.cases.by_id(case_id)
    caseworker = (
        await uow.people.get_by_id(case.caseworker_id)
        if case is not None and case.caseworker_id
        else None
    )
    if (
        case is None
        or caseworker is None
        or caseworker.status != "active"
        or caseworker.consent != "given"
    ):
        return
    recipient = Recipient.of(caseworker, case.code)
    await queue(uow, [Notice(recipient, texts.FAMILY_PAUSED_REMINDERS.using(case=case.code))], now)


async def pause_or_resume(
    uow: UnitOfWork,
    schedule: Schedule,
    paused: bool,
    by: Participant | None,
    now: datetime,
    because: str | None = None,
) -> None:
    """Pause or resume, in the caller's transaction. `because` is kept as who paused it when
    it is not a person's own choice ("closure": the case was closed)."""
    if paused and schedule.status != "paused":
        schedule.status = "paused"
        schedule.paused_by = because or (by.role if by is not None else "operator")
        schedule.paused_at = now
        schedule.follow_up_at = schedule.deferred_since = None
        await audit.record(
            uow, by or audit.OPERATOR, "schedule_paused", at=now, case_id=schedule.case_id
        )
    elif not paused and schedule.status == "paused":
        schedule.status = "active"
        schedule.paused_by = schedule.paused_at = None
        # From now on: the slots that passed while paused are not made up for.
        schedule.next_due_at = next_due(Cadence.from_dict(schedule.cadence), now)
        # Counting starts afresh: a reminder from before the pause is not held against them.
        schedule.missed, schedule.reminded_at = 0, None
        await audit.record(
            uow, by or audit.OPERATOR, "schedule_resumed", at=now, case_id=schedule.case_id
        )


# --- due work ----------------------------------------------------------------------------------


async def reminder_notices(app: Wegwijzer) -> list[Notice]:
    """Reminders and follow-ups that have come due, claimed for this process; and the
    bookkeeping of missed check-ins (flags included), in the same transactions."""
    notices: list[Notice] = []
    now = app.clock()
    after: tuple[datetime, int] | None = None
    while True:
        async with app.database.transaction() as uow:
            due = await uow.schedules.due(now, BATCH, after)
            last = due[-1] if due else None
            if last is not None and last.next_due_at is not None:
                # Where this batch ends, taken before _remind moves the due times on.
                after = (last.next_due_at, last.id)
            reminders = [
                notice for schedule in due for notice in await _remind(app, uow, schedule, now)
            ]
            await queue(uow, reminders, now)
            notices += reminders
        if len(due) < BATCH:
            break
    async with app.database.transaction() as uow:
        for schedule in await uow.schedules.follow_ups_due(now, BATCH):
            family = await _family_of(uow, schedule.case_id)
            if [r for r in family if await _in_a_flow(uow, r.person_id, now)]:
                # Answering right now (the check-in itself, perhaps): look again shortly.
                schedule.follow_up_at = now + LOOK_AGAIN
                continue
            schedule.follow_up_at = None
            # No reminder on record (a row from before reminded_at was kept), or nobody to
            # follow up (consent withdrawn since): nothing to follow.
            if (
                not family
                or schedule.reminded_at is None
                or await uow.schedules.answered_since(
                    schedule.case_id, schedule.flow_id, schedule.reminded_at
                )
            ):
                continue
            follow_ups = [
                Notice(recipient, texts.REMINDER_FOLLOW_UP, start_flow=schedule.flow_id)
                for recipient in family
            ]
            await queue(uow, follow_ups, now)
            notices += follow_ups
            await audit.record(
                uow, audit.SYSTEM, "reminder_followed_up", at=now, case_id=schedule.case_id
            )
    return notices


async def _remind(
    app: Wegwijzer, uow: UnitOfWork, schedule: Schedule, now: datetime
) -> list[Notice]:
    case = await uow.cases.by_id(schedule.case_id)
    cadence = Cadence.from_dict(schedule.cadence)
    if case is None or case.status == "closed":
        schedule.next_due_at = None  # a closed case asks nothing more
        return []
    family = await _family_of(uow, case.id)
    if not family and await _withdrew(uow, case.id):
        # Consent withdrawn: no reminder, and the silence is not held against them (no
        # missed count, no "no contact" flag; their caseworker was told of the withdrawal).
        # Counting starts afresh when they give it again, from the next slot.
        schedule.deferred_since = schedule.reminded_at = schedule.follow_up_at = None
        schedule.missed = 0
        schedule.next_due_at = next_due(cadence, now)
        return []
    busy = [r for r in family if await _in_a_flow(uow, r.person_id, now)]
    if busy:
        if schedule.deferred_since is None:
            schedule.deferred_since = now
            await audit.record(uow, audit.SYSTEM, "reminder_deferred", at=now, case_id=case.id)
        return []  # still due: looked at again at the next round, until the flow ends
    schedule.deferred_since = None
    # The slot is taken up now: was the last reminder answered (also while this one waited)?
    if schedule.reminded_at is not None:
        if await uow.schedules.answered_since(case.id, schedule.flow_id, schedule.reminded_at):
            schedule.missed = 0
        else:
            schedule.missed += 1
            # The bot's verdict on record, for the case page's timeline to show as the bot
            # counts (not its own guess): which reminder, and the count it makes.
            await audit.record(
                uow,
                audit.SYSTEM,
                "reminder_missed",
                at=now,
                case_id=case.id,
                detail={"reminded_at": schedule.reminded_at.isoformat(), "missed": schedule.missed},
            )
            if schedule.missed >= app.settings.missed_checkins_flag:
                await no_contact(app, uow, case.id, {"missed": schedule.missed}, now)
    due = schedule.next_due_at or now
    if await uow.schedules.answered_since(case.id, schedule.flow_id, due):
        # Done since it came due (the reminder waited while they were doing it): no reminder,
        # and no follow-up of the last one either.
        schedule.reminded_at, schedule.missed, schedule.follow_up_at = None, 0, None
        schedule.next_due_at = next_due(cadence, now)
        return []
    schedule.reminded_at = now
    schedule.follow_up_at = now + app.settings.reminder_follow_up
    # From now, not from the slot: after downtime one reminder, not one per missed slot.
    schedule.next_due_at = next_due(cadence, now)
    await audit.record(
        uow, audit.SYSTEM, "reminder_sent", at=now, case_id=case.id, detail={"to": len(family)}
    )
    return [Notice(recipient, texts.REMINDER, start_flow=schedule.flow_id) for recipient in family]


async def no_contact(
    app: Wegwijzer, uow: UnitOfWork, case_id: int, evidence: dict[str, JSONValue], now: datetime
) -> None:
    """The "no contact" flag: high when the case already has an urgent or high flag open."""
    serious = any(f.level in ("urgent", "high") for f in await uow.flags.open_flags([case_id]))
    await raise_or_repeat(
        app,
        uow,
        by=None,
        case_id=case_id,
        run_id=None,
        flow_id=SCHEDULES_FLOW,
        flow_version=1,
        rule=NO_CONTACT_RULE,
        level="high" if serious else "medium",
        reason=texts.NO_CONTACT.msgid,
        evidence=evidence,
        now=now,
    )


async def _family_of(uow: UnitOfWork, case_id: int) -> list[Recipient]:
    code = (await uow.cases.codes([case_id])).get(case_id)
    return [
        Recipient.of(person, code)
        for person in await uow.cases.members(case_id)
        if person.role == "family" and person.status == "active" and person.consent == "given"
    ]


async def _withdrew(uow: UnitOfWork, case_id: int) -> bool:
    """Whether a family member of the case withdrew their consent (and is not gone)."""
    return any(
        person.role == "family" and person.status == "active" and person.consent == "withdrawn"
        for person in await uow.cases.members(case_id)
    )


async def _in_a_flow(uow: UnitOfWork, person_id: int, now: datetime) -> bool:
    """Whether the person is in the middle of a flow: an active run that moved recently. A
    paused run does not count, nor one left untouched for `IDLE_AFTER` (abandoned half-way:
    waiting for it to end would silence the reminders, and the missed count, for ever)."""
    run = await uow.runs.open_of(person_id)
    return run is not None and run.status == "active" and now - run.updated_at < IDLE_AFTER
