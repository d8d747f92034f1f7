"""The work that comes due with time: telling people of flags, the digest, escalation,
and removing what the retention terms make due (`UPKEEP_DUTIES`).

No flag may get lost (issue #5): every flag is told to the people who must act, and a flag
nobody acknowledged by its due time goes to every coordinator, again and again at an interval,
until somebody does. The state of that work is in the flag rows (`notified_at`,
`escalate_at`), not in memory, so it survives restarts; each piece is claimed in a transaction
(with SKIP LOCKED on PostgreSQL) so that several bot processes never tell anybody twice.

Each duty claims what is due, records it and queues its notices in the outbox, all in one
transaction (`notices.queue`); a sender delivers them from there and marks each one sent
only once the channel took it (`bot.services.outbox`), so a crash loses no notice and sends
none twice. The duties return what they queued, for the tests and the log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..app import Wegwijzer
from ..engine import Text
from ..engine.events import Plural
from ..storage import Flag, UnitOfWork
from . import audit, texts
from .emergency import reason_to_tell, replay_alarms
from .flags import NOTIFY_AT_ONCE, flag_recipients, flags_recipients
from .guidance import reevaluation_notices, review_notices
from .notices import Notice, queue, queue_for_fallback
from .people import Recipient
from .retention import daily_retention
from .schedules import reminder_notices
from .visits import visit_notices
from .web_login import purge_web_logins

log = logging.getLogger(__name__)

DIGEST_LEVELS = ("medium", "low")


async def due_notices(app: Wegwijzer) -> list[Notice]:
    """Everything due now, in one list (for tests and one-off use; the bot runs each duty on
    its own, see `FLAG_DUTIES` and `CONTACT_DUTIES`)."""
    return [notice for duty in (*FLAG_DUTIES, *CONTACT_DUTIES) for notice in await duty(app)]


async def immediate_notices(app: Wegwijzer) -> list[Notice]:
    """Urgent and high flags nobody has been told about yet, for the case's caseworker, the
    assignee and every coordinator — each in their own language (the channel translates)."""
    now = app.clock()
    notices: list[Notice] = []
    async with app.database.transaction() as uow:
        flags = await uow.flags.to_notify(NOTIFY_AT_ONCE, raised_before=now + _MOMENT)
        told_before = {
            event.flag_id
            for event in await uow.audit.of_flags(flag.id for flag in flags)
            if event.action == "notified"
        }
        for flag in flags:
            again = flag.id in told_before
            template = texts.FLAG_AGAIN if again else texts.NEW_FLAG
            reports = _reports_since_told(flag) if again else 0
            count = (texts.REPORTS_SINCE.using(count=reports),) if reports > 1 else ()
            # An alarm's notice names the kind of danger of the reports it tells of.
            reason = reason_to_tell(
                flag.flow_id, flag.reason, flag.evidence, flag.notified_at if again else None
            )
            text = template.using(
                level=texts.LEVELS[flag.level], case=await _code_of(uow, flag), reason=reason
            )
            recipients = await flag_recipients(uow, flag.case_id, extra=flag.assigned_to)
            for recipient in recipients:
                notices.append(
                    Notice(
                        recipient,
                        text,
                        (flag.id,),
                        lines=count,
                        urgent=True,
                        for_whoever_acts=True,
                    )
                )
            if not recipients:
                await queue_for_fallback(uow, app.settings.alarm_fallback_chat, text, flag.id, now)
            await audit.record(
                uow,
                audit.SYSTEM,
                "notified",
                at=now,
                case_id=flag.case_id,
                flag_id=flag.id,
                detail={"again": again},
            )
        await uow.flags.notified(flags, now)
        await queue(uow, notices, now)
    return notices


async def _code_of(uow: UnitOfWork, flag: Flag) -> str:
    if flag.case_id is None:
        return "—"
    return (await uow.cases.codes([flag.case_id])).get(flag.case_id, "—")


def _reports_since_told(flag: Flag) -> int:
    """How many repeats the flag had since its people were last told (an alarm storm)."""
    repeats, told = flag.evidence.get("repeats"), flag.notified_at
    if told is None or not isinstance(repeats, list):
        return 0
    return sum(
        1
        for repeat in repeats
        if isinstance(repeat, dict)
        and isinstance(repeat.get("at"), str)
        and datetime.fromisoformat(str(repeat["at"])) > told
    )


async def digest_notices(app: Wegwijzer) -> list[Notice]:
    """Once a day, at the configured local time: one message per person listing the medium
    and low flags raised before that time that they have not been told about yet. After
    downtime the digest that was missed goes out at once, and only once."""
    now = app.clock()
    slot = last_digest_time(app, now)
    by_person: dict[int, tuple[Recipient, list[Flag]]] = {}
    async with app.database.transaction() as uow:
        flags = await uow.flags.to_notify(DIGEST_LEVELS, raised_before=slot)
        for flag, recipients in zip(flags, await flags_recipients(uow, flags), strict=True):
            for recipient in recipients:
                by_person.setdefault(recipient.person_id, (recipient, []))[1].append(flag)
            await audit.record(
                uow,
                audit.SYSTEM,
                "digested",
                at=now,
                case_id=flag.case_id,
                flag_id=flag.id,
                detail={},
                flush=False,  # all of them with the flags' flush just below
            )
        await uow.flags.notified(flags, now)
        codes = await uow.cases.codes({flag.case_id for flag in flags if flag.case_id})
        notices = []
        for recipient, theirs in by_person.values():
            lines = tuple(
                texts.FLAG_LINE.using(
                    level=texts.LEVELS[flag.level],
                    case=codes.get(flag.case_id, "—") if flag.case_id is not None else "—",
                    reason=Text(flag.reason),
                    due=flag.due_at,
                )
                for flag in theirs
            )
            header = Plural(
                "Daily digest: {count} new flag.",
                "Daily digest: {count} new flags.",
                count=len(theirs),
            )
            about = tuple(flag.id for flag in theirs)
            notices.append(Notice(recipient, header, lines=lines, tells_of=about))
        await queue(uow, notices, now)
    if flags:
        log.info("digest", extra={"event": "digest", "count": len(flags)})
    return notices


async def escalation_notices(app: Wegwijzer) -> list[Notice]:
    """Flags still not acknowledged at their escalation time go to every coordinator; the
    next escalation is set one interval later, and each one is in the audit log."""
    now = app.clock()
    notices: list[Notice] = []
    async with app.database.transaction() as uow:
        for flag in await uow.flags.to_escalate(now):
            await uow.flags.escalated(flag, now + app.settings.escalation_repeat[flag.level])
            await audit.record(
                uow,
                audit.SYSTEM,
                "escalated",
                at=now,
                case_id=flag.case_id,
                flag_id=flag.id,
                detail={"count": flag.escalations},
            )
            # Every coordinator, and whoever the flag is assigned to; with no coordinator to
            # tell, the case's caseworker rather than nobody.
            recipients = await flag_recipients(
                uow, flag.case_id, caseworker=False, extra=flag.assigned_to
            ) or await flag_recipients(uow, flag.case_id)
            text = texts.ESCALATED.using(
                level=texts.LEVELS[flag.level],
                case=await _code_of(uow, flag),
                reason=Text(flag.reason),
                due=flag.due_at,
                count=flag.escalations,
            )
            for recipient in recipients:
                notices.append(
                    Notice(recipient, text, (flag.id,), urgent=True, for_whoever_acts=True)
                )
            if not recipients:
                # Nobody to escalate to is itself an emergency of the deployment.
                await queue_for_fallback(uow, app.settings.alarm_fallback_chat, text, flag.id, now)
            log.warning("flag escalated", extra={"flag_id": flag.id, "count": flag.escalations})
        await queue(uow, notices, now)
    return notices


def last_digest_time(app: Wegwijzer, now: datetime) -> datetime:
    """The most recent moment (at or before `now`) the digest was due, in UTC; computed in the
    deployment's timezone, so 08:00 stays 08:00 across daylight-saving changes."""
    zone = ZoneInfo(app.settings.timezone)
    local = now.astimezone(zone)
    slot = datetime.combine(local.date(), app.settings.digest_time, tzinfo=zone)
    if slot > local:
        slot = datetime.combine(local.date() - timedelta(days=1), app.settings.digest_time, zone)
    return slot.astimezone(now.tzinfo)


# A flag raised in this very transaction's second counts as raised "before now".
_MOMENT = timedelta(seconds=1)


# A duty: claim the work that has come due (committed), and return who must be told what.
Duty = Callable[[Wegwijzer], Awaitable[list[Notice]]]

# The duties the bot runs, each claimed, committed and then delivered on its own, so that one
# failing cannot take the notices of another with it. Flags have their own loop: a morning's
# reminders, paced to Telegram's limit, must not hold up an escalation.
# Journaled alarms first: the flags they become are told in the same round.
FLAG_DUTIES = (replay_alarms, immediate_notices, digest_notices, escalation_notices)
CONTACT_DUTIES = (reminder_notices, visit_notices, review_notices, reevaluation_notices)
# Upkeep tells nobody anything: the retention run, once a day, in a loop of its own so that a
# long first run (batch after batch) holds up neither flags nor reminders; and the web view's
# sign-in links and sessions that ended, removed every few minutes.
UPKEEP_DUTIES = (daily_retention, purge_web_logins)
