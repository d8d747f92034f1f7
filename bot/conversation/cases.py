"""Keeping cases going: a caseworker's case list, invites for families, check-in schedules,
a family pausing its reminders, and home visits recorded."""

from __future__ import annotations

import logging

from ..rules.access import NotAllowed
from ..rules.cadence import parse_cadence
from ..services import invites, schedules, texts, visits
from ..services.cases import caseworker_cases
from .exchange import Exchange
from .intents import Cases, Invite, ResumeReminders, Schedule, StopReminders, Visit
from .outputs import Photo

log = logging.getLogger(__name__)


async def case_list(x: Exchange, _: Cases) -> None:
    await x.reply_once()
    cases = await caseworker_cases(x.app, x.member())
    if cases:
        await x.say(texts.YOUR_CASES, *(texts.case_line(case) for case in cases))
    else:
        await x.say(texts.NO_CASES)


async def invite(x: Exchange, wanted: Invite) -> None:
    """An invite for a family of one of the caseworker's cases: the link and its QR code."""
    if wanted.case is None:
        await x.say(texts.INVITE_USAGE)
        return
    username = x.incoming.bot_username
    if username is None:
        await x.say(texts.INVITE_NEEDS_USERNAME)
        return
    who = x.member()
    try:
        made = await invites.create_invite(x.app, "family", wanted.case, by=who, once=x.once)
    except NotAllowed:
        # The same answer for a case that does not exist and one that is not theirs: the bot
        # does not confirm which case codes exist.
        await x.say(texts.NOT_YOUR_CASE.using(case=wanted.case))
        return
    link = made.link(username)
    caption = texts.INVITE_CREATED.using(case=wanted.case, expires=made.expires_at, link=link)
    await x.show(Photo(invites.invite_qr_png(link), caption))
    log.info("invite created", extra={"person_id": who.person_id, "event": "family"})


async def schedule(x: Exchange, wanted: Schedule) -> None:
    """`/schedule CODE weekly mon 18:00`: when a family is reminded of their check-in."""
    if wanted.case is None or not wanted.when:
        await x.say(texts.SCHEDULE_USAGE)
        return
    app = x.app
    try:
        cadence = parse_cadence(wanted.when, app.settings.timezone, starts_on=app.clock().date())
    except ValueError as problem:
        # The parser's message is English; it quotes what was typed, to the one who typed it.
        await x.say(texts.SCHEDULE_NOT_UNDERSTOOD.using(problem=str(problem)), texts.SCHEDULE_USAGE)
        return
    try:
        view = await schedules.set_schedule(app, wanted.case, cadence, by=x.member(), once=x.once)
    except NotAllowed:
        await x.say(texts.NOT_YOUR_CASE.using(case=wanted.case))
        return
    except LookupError:
        await x.say(texts.NO_CHECKIN)
        return
    done = texts.SCHEDULE_SET.using(
        case=view.case_code, cadence=view.cadence, when=view.next_due_at or "—"
    )
    await x.say(done)


async def stop_reminders(x: Exchange, _: StopReminders) -> None:
    await _family_reminders(x, paused=True)


async def resume_reminders(x: Exchange, _: ResumeReminders) -> None:
    await _family_reminders(x, paused=False)


async def _family_reminders(x: Exchange, *, paused: bool) -> None:
    who = x.member()
    view = await schedules.family_pause(x.app, who, paused, once=x.once)
    if view is None:
        await x.say(texts.NO_REMINDERS)
        return
    if paused:
        await x.say(texts.REMINDERS_PAUSED)
    else:
        await x.say(texts.REMINDERS_RESUMED.using(when=view.next_due_at or "—"))


async def visit(x: Exchange, wanted: Visit) -> None:
    """A home visit done: recorded, and the next one planned."""
    if wanted.case is None:
        await x.say(texts.VISIT_USAGE)
        return
    try:
        plan = await visits.record_visit(x.app, wanted.case, by=x.member(), once=x.once)
    except NotAllowed:
        await x.say(texts.NOT_YOUR_CASE.using(case=wanted.case))
        return
    if plan.visit_due_at:
        await x.say(texts.VISIT_RECORDED.using(case=wanted.case, when=plan.visit_due_at))
    else:
        await x.say(texts.VISIT_RECORDED_NO_NEXT.using(case=wanted.case))
