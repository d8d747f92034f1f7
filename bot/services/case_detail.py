"""A case in full, for the web view's case page: the case view of the bot's `/case`
(`case_view.read_case`, with more check-ins and home visits), and what a page has room for
beside it: the risk level's history, the closure's steps, the flags resolved, the visits,
and a timeline of the last weeks (check-ins, reminders answered or missed, flags, visits,
changes of stage and risk level, closure).

The same access check as `/case` (`case_view.handled_case`: the case's caseworker and the
coordinators; anyone else is told it is not one of their cases, and the refusal recorded),
and the same audit record of the look (`case_viewed`).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..app import Wegwijzer
from ..engine.events import JSONValue
from ..rules.people import Participant
from ..storage import UnitOfWork
from ..storage.models import AuditEvent
from . import audit
from .case_view import CLOSURE_ACTIONS, CaseView, handled_case, read_case
from .flags import FlagView, views_of

# How far back the timeline goes, and how much of the rest a page shows.
TIMELINE_WEEKS = 26
TIMELINE_MOST = 200
CHECKINS_SHOWN = 26
VISITS_SHOWN = 8
RESOLVED_SHOWN = 10
RISK_CHANGES_SHOWN = 10
VISITS_LISTED = 10

# The case's events the timeline shows, besides check-ins (the runs themselves).
REMINDER_ACTIONS = ("reminder_sent", "reminder_followed_up")
TIMELINE_ACTIONS = (
    *REMINDER_ACTIONS,
    "raised",
    "resolved",
    "visit_recorded",
    "risk_level_set",
    "stage_set",
    "schedule_paused",
    "schedule_resumed",
    *CLOSURE_ACTIONS,
)


# The bot's verdicts on reminders (`schedules._remind`), and what ends a reminder's wait
# without one: the reminders paused (their count starts afresh on resuming), consent
# withdrawn, the case closed.
VERDICT_ACTIONS = ("reminder_missed", "consent_withdrawn")
WAIT_ENDED = ("schedule_paused", "consent_withdrawn", "case_closed")


@dataclass(frozen=True)
class Happening:
    """One entry of the timeline: what happened (`kind`: "checkin", "reminder",
    "reminder_missed", "reminder_waiting", "reminder_unanswered", or an audit action), when,
    by whom (a role and a number, none for the bot), and what else there is to say about it
    (`detail`: a check-in's score, a flag's id and level, a stage, a risk level)."""

    at: datetime
    kind: str
    actor_role: str | None = None
    actor_id: int | None = None
    detail: dict[str, JSONValue] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskChange:
    """The risk level set (by a screening, or by hand): when, by whom, to what, what the
    screening computed and whether it was overridden, and why (the caseworker's words)."""

    at: datetime
    level: str
    actor_role: str
    actor_id: int | None
    computed: str | None
    override: bool
    reason: str | None


@dataclass(frozen=True)
class ClosureStep:
    """A step of the case's closure: proposed, returned (with the coordinator's note),
    closed, reopened."""

    at: datetime
    action: str
    actor_role: str
    actor_id: int | None
    note: str | None


@dataclass(frozen=True)
class CaseDetail:
    view: CaseView
    since: datetime  # where the timeline begins
    timeline: tuple[Happening, ...] = ()  # newest first
    risk_changes: tuple[RiskChange, ...] = ()  # newest first
    closure_steps: tuple[ClosureStep, ...] = ()  # newest first
    resolved_flags: tuple[FlagView, ...] = ()  # the last resolved first
    visits: tuple[Happening, ...] = ()  # the home visits recorded, newest first
    last_visit_at: datetime | None = None
    # Check-in reminders in the timeline's weeks that were not answered before the next.
    missed: tuple[datetime, ...] = ()


async def case_detail(app: Wegwijzer, who: Participant, code: str) -> CaseDetail:
    """Everything the case page shows of the case with this code, if `who` handles it."""
    async with audit.refusal_recorded(app, who, "case", case_code=code):
        now = app.clock()
        async with app.database.transaction() as uow:
            case = await handled_case(uow, who, code)
            view = await read_case(
                app, uow, case, now, checkins=CHECKINS_SHOWN, visits=VISITS_SHOWN
            )
            since = now - timedelta(weeks=TIMELINE_WEEKS)
            detail = CaseDetail(view, since)
            if case.erased_at is None:
                detail = await _more(app, uow, view, case.id, since, case.last_visit_at)
            await audit.record(uow, who, "case_viewed", at=now, case_id=case.id)
            return detail


async def _more(
    app: Wegwijzer,
    uow: UnitOfWork,
    view: CaseView,
    case_id: int,
    since: datetime,
    last_visit_at: datetime | None,
) -> CaseDetail:
    events = await uow.audit.of_case(case_id, TIMELINE_ACTIONS, since=since, limit=TIMELINE_MOST)
    verdicts = await uow.audit.of_case(case_id, VERDICT_ACTIONS, since=since, limit=TIMELINE_MOST)
    risk = await uow.audit.of_case(case_id, ("risk_level_set",), limit=RISK_CHANGES_SHOWN)
    closure = await uow.audit.of_case(case_id, CLOSURE_ACTIONS, limit=RISK_CHANGES_SHOWN)
    visits = await uow.audit.of_case(case_id, ("visit_recorded",), limit=VISITS_LISTED)
    resolved = await views_of(uow, await uow.flags.resolved_of(case_id, RESOLVED_SHOWN))
    checkin = app.flows.for_purpose("checkin")
    checkins = (
        await uow.schedules.answered_between(case_id, checkin.id, since, TIMELINE_MOST)
        if checkin
        else []
    )
    timeline, missed = _timeline(view, events, checkins, verdicts)
    return CaseDetail(
        view,
        since,
        timeline=timeline,
        risk_changes=tuple(_risk_change(event) for event in risk),
        closure_steps=tuple(
            ClosureStep(e.at, e.action, e.actor_role, e.actor_id, e.note) for e in closure
        ),
        resolved_flags=tuple(resolved),
        visits=tuple(_happening(event) for event in visits),
        last_visit_at=last_visit_at,
        missed=missed,
    )


def _risk_change(event: AuditEvent) -> RiskChange:
    detail = event.detail or {}
    level, computed = detail.get("level"), detail.get("computed")
    return RiskChange(
        event.at,
        level if isinstance(level, str) else "",
        event.actor_role,
        event.actor_id,
        computed if isinstance(computed, str) else None,
        bool(detail.get("override")),
        event.note,
    )


def _happening(event: AuditEvent, kind: str | None = None) -> Happening:
    actor = event.actor_role if event.actor_role != "system" else None
    return Happening(
        event.at,
        kind or event.action,
        actor,
        event.actor_id,
        {**(event.detail or {}), **({"flag": event.flag_id} if event.flag_id else {})},
    )


def _timeline(
    view: CaseView,
    events: list[AuditEvent],
    checkins: list[datetime],
    verdicts: list[AuditEvent],
) -> tuple[tuple[Happening, ...], tuple[datetime, ...]]:
    """The case's events and check-ins in one list, newest first, each reminder marked as
    the bot counts it: answered (a check-in finished before the next reminder), missed (the
    bot's `reminder_missed` verdict on it), still waiting (the last one, while the bot may
    still count it), or unanswered without counting (the reminders were paused, consent
    withdrawn or the case closed before the next); and the missed reminders, oldest first."""
    scores = {each.at: each.well_being for each in view.checkins}
    reminders = sorted(e.at for e in events if e.action == "reminder_sent")
    ended = sorted(
        e.at for e in (*events, *verdicts) if e.action in WAIT_ENDED
    )  # a reminder's wait ended without a verdict
    # Each verdict is on the last reminder sent before it (the next comes with the verdict).
    counted = {
        reminders[before - 1]
        for verdict in verdicts
        if verdict.action == "reminder_missed"
        and (before := bisect_left(reminders, verdict.at)) > 0
    }
    waiting = view.status != "closed" and (
        view.schedule is None or view.schedule.status == "active"
    )
    happenings = [
        Happening(at, "checkin", "family", None, {"score": scores.get(at)}) for at in checkins
    ]
    missed: list[datetime] = []
    for event in events:
        if event.action != "reminder_sent":
            happenings.append(_happening(event))
            continue
        after = bisect_left(reminders, event.at) + 1
        until = reminders[after] if after < len(reminders) else None
        stop = bisect_left(ended, event.at)
        end = ended[stop] if stop < len(ended) else None
        limit = min((t for t in (until, end) if t is not None), default=None)
        first = bisect_left(checkins, event.at)
        answered = first < len(checkins) and (limit is None or checkins[first] < limit)
        if answered:
            kind = "reminder"
        elif event.at in counted:
            kind = "reminder_missed"
            missed.append(event.at)
        elif until is None and end is None and waiting:
            kind = "reminder_waiting"
        else:
            kind = "reminder_unanswered"
        happenings.append(_happening(event, kind))
    happenings.sort(key=lambda each: each.at, reverse=True)
    return tuple(happenings), tuple(sorted(missed))
