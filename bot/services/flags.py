"""Flags: who may see them, what reviewers do with them, and the record of every step.

A flag is raised by a flow's rule or by the emergency route, and from then on it must reach a
person who can act (`duties.py` tells and escalates). Here is what those people do with it:
look at it, acknowledge it (which stops escalation), assign it to a caseworker, add notes,
resolve it with a note saying how, and reopen it. Every change, and every look at a flag's
evidence (which holds a family's answers), is written to the audit log in the same
transaction as the change itself.

Access is decided here, on the server, from the database — never from what a button says
(design.md, principle 8): coordinators see and act on every flag; a caseworker on the flags of
their own cases and those assigned to them, but only coordinators assign; families see none.
"No such flag" and "not yours" are the same answer, so flag ids cannot be probed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..app import Wegwijzer
from ..engine import Text, describe_answer
from ..engine.events import JSONValue, Plural
from ..i18n import Parts
from ..rules.access import NotAllowed, may_act_on_flag, may_see_flags, possible_id
from ..rules.alarm_reports import reported_kinds
from ..rules.people import Participant
from ..storage import Case, CaseErased, Flag, Person, UnitOfWork
from ..storage.erasure import ERASED
from ..storage.models import FLAG_LEVELS, FLAG_STATUSES, UNRESOLVED_FLAG_STATUSES
from ..storage.repositories import FlagNarrowing
from . import audit, texts
from .notices import Notice, queue
from .once import claim
from .people import Recipient

log = logging.getLogger(__name__)

# Levels that cannot wait for a digest: told at once (issue #5).
NOTIFY_AT_ONCE = ("urgent", "high")
# Repeats of an urgent or high flag (twenty presses of /sos) within this long after its last
# notice are told once, when the window is over, with their count; the first is told at once.
ALARM_STORM_WINDOW = timedelta(minutes=5)


def _real_id(value: int) -> int:
    if not possible_id(value):
        raise NotAllowed(value)
    return value


# The most characters a note or resolution may have, in the bot and the web view alike (the
# web form's `maxlength`): the bot shows notes in a flag's history, and Telegram cuts a
# message at 4096 characters.
NOTE_MAX = 4000


class NoteRequired(ValueError):
    """A note (or resolution) was empty."""


class NoteTooLong(ValueError):
    """A note (or resolution) was longer than NOTE_MAX characters."""


class NotAssignable(ValueError):
    """The person to assign a flag to is no active caseworker. Not a refusal: the one
    assigning may assign the flag, they chose someone who cannot take it."""


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    action: str
    actor_id: int | None
    actor_role: str
    note: str | None
    detail: Mapping[str, JSONValue]


@dataclass(frozen=True)
class FlagView:
    id: int
    level: str
    rule: str
    reason: str  # an English msgid, translated when shown
    status: str
    case_id: int | None
    case_code: str | None
    flow_id: str
    flow_version: int
    evidence: Mapping[str, JSONValue]
    raised_at: datetime
    due_at: datetime
    escalations: int
    assigned_to: int | None
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    resolution: str | None
    history: tuple[HistoryEntry, ...] = ()

    def overdue(self, now: datetime) -> bool:
        return self.status != "resolved" and now >= self.due_at

    def as_dict(self) -> dict[str, JSONValue]:
        """Plain values for JSON output (the command line's `flags --json`)."""
        return {
            "id": self.id,
            "case": self.case_code,
            "level": self.level,
            "status": self.status,
            "rule": self.rule,
            "flow": f"{self.flow_id}@{self.flow_version}",
            "reason": self.reason,
            "evidence": dict(self.evidence),
            "raised_at": self.raised_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "escalations": self.escalations,
            "assigned_to": self.assigned_to,
            "acknowledged_at": _iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": _iso(self.resolved_at),
            "resolved_by": self.resolved_by,
            "resolution": self.resolution,
            "history": [
                {
                    "at": entry.at.isoformat(),
                    "action": entry.action,
                    "actor_id": entry.actor_id,
                    "actor_role": entry.actor_role,
                    "note": entry.note,
                    "detail": dict(entry.detail),
                }
                for entry in self.history
            ],
        }


# --- raising ------------------------------------------------------------------------------


async def raise_or_repeat(
    app: Wegwijzer,
    uow: UnitOfWork,
    *,
    by: Participant | None,
    case_id: int | None,
    run_id: int | None,
    flow_id: str,
    flow_version: int,
    rule: str,
    level: str,
    reason: str,
    evidence: Mapping[str, JSONValue],
    now: datetime,
    kind: str | None = None,
) -> tuple[Flag, bool]:
    """Raise a flag, or add to the unresolved one of the same rule on the same case.

    Returns the flag and whether it is new. A repeat of an urgent or high flag is told again
    and needs acknowledging again. Nothing is raised on an erased case (CaseErased), except
    an urgent flag: an alarm is never lost, it is raised without the case, for the
    coordinators (someone who wrote before the erasure and whose alarm came after it).
    Either way it counts as an alarm of `level` and `kind` in the operations metrics: the
    rule's id, unless given (the emergency route names its kind of danger).
    """
    if case_id is not None:
        # The case row first: two triggers of one rule at once (two family members, or a
        # reminder round and a blocked bot) must not both find no flag and raise two.
        await uow.cases.lock(case_id)
        case = await uow.cases.by_id(case_id, erased=True)
        if case is not None and case.erased_at is not None:
            if level != "urgent":
                raise CaseErased(case.code, case.caseworker_id)
            log.warning("alarm about an erased case raised without it", extra={"event": rule})
            case_id = None
    uow.written.alarm(level, kind or rule)
    actor = by or audit.SYSTEM
    # Without a case (a staff member's own alarm) there is nothing to say two triggers are
    # about the same thing: each is a flag of its own.
    existing = None if case_id is None else await uow.flags.unresolved_for(case_id, flow_id, rule)
    if existing is not None and _more_serious(level, existing.level):
        # The same rule, now more serious (no contact while an urgent flag is open, say): the
        # flag takes the higher level and is told and due as a new one of that level.
        await uow.flags.raise_level(
            existing, level, due_at=now + app.settings.flag_due[level], now=now
        )
        await audit.record(
            uow,
            actor,
            "raised_level",
            at=now,
            case_id=case_id,
            flag_id=existing.id,
            detail={"level": level},
        )
    if existing is not None:
        repeat = {**evidence, "at": now.isoformat()}
        if run_id is not None:
            repeat["run_id"] = run_id
        await uow.flags.add_evidence(existing, repeat)
        if existing.level in NOTIFY_AT_ONCE:
            # New danger must be heard and handled again, even when someone already
            # acknowledged the first report: told again, and escalated again if nobody reacts.
            # Not yet told: it will be, with this repeat. Told: again, once the window is over.
            told = existing.notified_at or now
            await uow.flags.renotify(
                existing,
                escalate_at=now + app.settings.flag_due[existing.level],
                tell_at=max(now, told + ALARM_STORM_WINDOW),
            )
        await audit.record(
            uow,
            actor,
            "repeated",
            at=now,
            case_id=case_id,
            flag_id=existing.id,
            detail={"run_id": run_id},
        )
        return existing, False
    flag = await uow.flags.raise_flag(
        case_id=case_id,
        run_id=run_id,
        flow_id=flow_id,
        flow_version=flow_version,
        rule=rule,
        level=level,
        reason=reason,
        evidence=evidence,
        raised_at=now,
        due_at=now + app.settings.flag_due[level],
    )
    await audit.record(
        uow,
        actor,
        "raised",
        at=now,
        case_id=case_id,
        flag_id=flag.id,
        detail={"level": level, "rule": rule, "flow": f"{flow_id}@{flow_version}"},
    )
    log.info("flag raised", extra={"flag_id": flag.id, "level": level, "rule": rule})
    return flag, True


def _more_serious(level: str, than: str) -> bool:
    return FLAG_LEVELS.index(level) < FLAG_LEVELS.index(than)


# --- reading ------------------------------------------------------------------------------


async def review_queue(app: Wegwijzer, who: Participant) -> list[FlagView]:
    """The unresolved flags `who` may see: most serious first, then by due time."""
    await _may_review(app, who)
    async with app.database.reading() as uow:
        case_ids, assigned_to = await _reviewed_by(uow, who)
        flags = await uow.flags.open_flags(case_ids, assigned_to=assigned_to)
        return await views_of(uow, flags)


@dataclass(frozen=True)
class QueuePage:
    """A page of the flags someone may see: page `page` of `pages` (no pages: no flags)."""

    flags: tuple[FlagView, ...]
    page: int
    pages: int


@dataclass(frozen=True)
class QueueFilter:
    """What a reviewer narrows the queue to (the web view's filters); the default is the
    bot's `/flags`: every unresolved flag they may see. Only ever narrows: whose flags
    someone reviews is decided by `_reviewed_by`, whatever the filter says."""

    levels: tuple[str, ...] = ()
    statuses: tuple[str, ...] = UNRESOLVED_FLAG_STATUSES
    overdue: bool = False
    assignee: int | None = None
    programme: str | None = None
    case_code: str | None = None
    # One of FLAG_AGES' keys: raised so long before now (the overview's open flags by age).
    age: str | None = None
    # Raised in [raised_from, raised_to), escalated in [escalated_from, escalated_to).
    raised_from: datetime | None = None
    raised_to: datetime | None = None
    # The flags of this caseworker's cases.
    caseworker: int | None = None
    escalated_from: datetime | None = None
    escalated_to: datetime | None = None


# How old an unresolved flag is, in days, as the overview counts them and the queue's `age`
# filter narrows to them: (key, more than, at most; None: no end).
FLAG_AGES: tuple[tuple[str, int, int | None], ...] = (
    ("0-1", 0, 1),
    ("1-3", 1, 3),
    ("3-7", 3, 7),
    ("7-", 7, None),
)


def age_window(key: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The raising times of flags of an age (FLAG_AGES' key) at `now`: at or after the
    first, before the second (None: no bound); ValueError for an unknown key."""
    for name, older, younger in FLAG_AGES:
        if name == key:
            since = None if younger is None else now - timedelta(days=younger)
            before = None if older == 0 else now - timedelta(days=older)
            return since, before
    raise ValueError(key)


async def review_page(
    app: Wegwijzer,
    who: Participant,
    page: int,
    size: int,
    wanted: QueueFilter | None = None,
) -> QueuePage:
    """One page of `review_queue` (a page past the last shows the last). The flags are
    counted and only the page's are read: a large organisation's queue holds thousands."""
    await _may_review(app, who)
    wanted = wanted or QueueFilter()
    async with app.database.reading() as uow:
        case_ids, assigned_to = await _reviewed_by(uow, who)
        narrow = await _narrowing(app, uow, wanted)
        if narrow is None:
            return QueuePage((), 1, 0)
        statuses = wanted.statuses or UNRESOLVED_FLAG_STATUSES
        counted = await uow.flags.count(
            case_ids, statuses=statuses, assigned_to=assigned_to, narrow=narrow
        )
        pages = -(-counted // size)
        page = min(max(page, 1), max(pages, 1))
        flags = await uow.flags.open_flags(
            case_ids,
            statuses=statuses,
            assigned_to=assigned_to,
            limit=size,
            offset=(page - 1) * size,
            narrow=narrow,
        )
        return QueuePage(tuple(await views_of(uow, flags)), page, pages)


async def _narrowing(app: Wegwijzer, uow: UnitOfWork, wanted: QueueFilter) -> FlagNarrowing | None:
    """The filter in the repository's terms; None when it names a case that is not there."""
    case_id = None
    if wanted.case_code:
        case = await uow.cases.by_code(wanted.case_code.strip().upper(), erased=True)
        if case is None:
            return None
        case_id = case.id
    now = app.clock()
    since, before = wanted.raised_from, wanted.raised_to
    if wanted.age is not None:
        age_since, age_before = age_window(wanted.age, now)
        since = _bound(max, since, age_since)
        before = _bound(min, before, age_before)
    return FlagNarrowing(
        levels=tuple(level for level in wanted.levels if level in FLAG_LEVELS),
        overdue_at=now if wanted.overdue else None,
        assignee=wanted.assignee,
        programme=wanted.programme,
        case_id=case_id,
        raised_since=since,
        raised_before=before,
        caseworker=wanted.caseworker,
        escalated_since=wanted.escalated_from,
        escalated_before=wanted.escalated_to,
    )


def _bound(
    pick: Callable[[datetime, datetime], datetime], one: datetime | None, other: datetime | None
) -> datetime | None:
    """Two bounds of one side, as one (the narrower: `pick` is max or min); None: none."""
    if one is None or other is None:
        return one or other
    return pick(one, other)


async def _may_review(app: Wegwijzer, who: Participant) -> None:
    async with audit.refusal_recorded(app, who, "flags"):
        if not may_see_flags(who):
            raise NotAllowed("families do not see flags")


async def _reviewed_by(uow: UnitOfWork, who: Participant) -> tuple[list[int] | None, int | None]:
    """Whose flags `who` reviews: a caseworker those of their cases and those assigned to
    them (case ids, assignee); a coordinator every flag (None, None)."""
    if who.role == "caseworker":
        return await uow.cases.ids_assigned_to(who.person_id), who.person_id
    return None, None


async def all_flags(app: Wegwijzer, status: str | None = None) -> list[FlagView]:
    """Every flag (of one status), with history: for the operator's command line."""
    statuses = FLAG_STATUSES if status is None else (status,)
    async with app.database.reading() as uow:
        flags = await uow.flags.open_flags(statuses=statuses)
        return await views_of(uow, flags, history=True)


async def flag_detail(
    app: Wegwijzer, who: Participant, flag_id: int, once: str | None = None
) -> FlagView:
    """One flag with its evidence and history. The evidence holds a family's answers, so
    the look is recorded in the audit log."""

    async def look(uow: UnitOfWork, flag: Flag, now: datetime) -> dict[str, JSONValue] | None:
        return {}

    return (await _act(app, who, flag_id, "view", look, once, audit_action="viewed")).flag


async def assignable_caseworkers(
    app: Wegwijzer, who: Participant, flag_id: int
) -> list[tuple[int, list[str]]]:
    """The caseworkers a coordinator can assign a flag to, each with the codes of their first
    three cases (people are known by id only; their cases are what tells them apart)."""
    async with (
        audit.refusal_recorded(app, who, "flag", action="assign", flag_id=flag_id),
        app.database.reading() as uow,
    ):
        flag = await uow.flags.get(_real_id(flag_id))
        case = await _case_of(uow, flag)
        if flag is None or not may_act_on_flag(who, "assign", flag, case):
            raise NotAllowed(flag_id)
        people = [person.id for person in await uow.people.with_role("caseworker")]
        codes = await uow.cases.codes_by_caseworker(people)
        return [(person_id, codes[person_id]) for person_id in people]


# --- acting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    flag: FlagView
    changed: bool  # False when it was so already (acknowledged twice, say)


async def acknowledge(
    app: Wegwijzer, who: Participant, flag_id: int, once: str | None = None
) -> Outcome:
    async def change(uow: UnitOfWork, flag: Flag, now: datetime) -> dict[str, JSONValue] | None:
        if flag.status != "open":
            return None
        await uow.flags.acknowledge(flag, who.person_id, now)
        return {}

    return await _act(app, who, flag_id, "acknowledge", change, once, "acknowledged")


async def assign(
    app: Wegwijzer, who: Participant, flag_id: int, caseworker_id: int, once: str | None = None
) -> Outcome:
    """Assign a flag (coordinators; NotAllowed otherwise) to an active caseworker
    (NotAssignable otherwise, after the access check: it says nothing about the flag)."""

    async def change(uow: UnitOfWork, flag: Flag, now: datetime) -> dict[str, JSONValue] | None:
        person = await uow.people.get_by_id(caseworker_id) if possible_id(caseworker_id) else None
        if person is None or person.role != "caseworker" or person.status != "active":
            raise NotAssignable(caseworker_id)
        if flag.assigned_to == caseworker_id:
            return None
        await uow.flags.assign(flag, caseworker_id)
        await _tell_assignee(uow, flag, person, now)
        return {"to": caseworker_id}

    return await _act(app, who, flag_id, "assign", change, once, "assigned")


async def _tell_assignee(uow: UnitOfWork, flag: Flag, person: Person, now: datetime) -> None:
    """The caseworker a flag was just assigned to hears of it, with its buttons (queued in
    the assignment's transaction)."""
    if person.consent != "given":
        return
    code = (await uow.cases.codes([flag.case_id])).get(flag.case_id) if flag.case_id else None
    recipient = Recipient.of(person, code)
    text = texts.ASSIGNED_TO_YOU.using(
        id=flag.id, level=texts.LEVELS[flag.level], case=code or "—", reason=Text(flag.reason)
    )
    await queue(
        uow, [Notice(recipient, text, (flag.id,), urgent=flag.level in NOTIFY_AT_ONCE)], now
    )


async def add_note(
    app: Wegwijzer, who: Participant, flag_id: int, note: str, once: str | None = None
) -> Outcome:
    note = _required(note)

    async def change(uow: UnitOfWork, flag: Flag, now: datetime) -> dict[str, JSONValue] | None:
        await _answered(uow, who)
        return {}

    return await _act(app, who, flag_id, "note", change, once, "noted", note=note)


async def resolve(
    app: Wegwijzer, who: Participant, flag_id: int, resolution: str, once: str | None = None
) -> Outcome:
    """Resolve a flag; the resolution note saying how it was handled is required."""
    resolution = _required(resolution)

    async def change(uow: UnitOfWork, flag: Flag, now: datetime) -> dict[str, JSONValue] | Recorded:
        await _answered(uow, who)
        if flag.status == "resolved":
            # Resolved meanwhile by someone else: what they wrote is kept, as a note.
            return Recorded("noted")
        await uow.flags.resolve(flag, who.person_id, now, resolution)
        return {}

    return await _act(app, who, flag_id, "resolve", change, once, "resolved", note=resolution)


async def reopen(
    app: Wegwijzer, who: Participant, flag_id: int, once: str | None = None
) -> Outcome:
    """Open a resolved flag again, with a new due time from now (escalation starts over)."""

    async def change(uow: UnitOfWork, flag: Flag, now: datetime) -> dict[str, JSONValue] | None:
        if flag.status != "resolved":
            return None
        await uow.flags.reopen(flag, now + app.settings.flag_due[flag.level])
        return {}

    return await _act(app, who, flag_id, "reopen", change, once, "reopened")


# --- notes typed as the next message --------------------------------------------------------

# The actions whose text comes as the person's next message (`rules.people.NOTE_WAIT`).
TYPED = ("note", "resolve")


async def ask_for_text(
    app: Wegwijzer, who: Participant, flag_id: int, action: str, once: str | None = None
) -> None:
    """Remember that the person's next message is a note (or resolution) for this flag —
    after checking they may write one. Kept in the database, so any bot process takes it."""
    if action not in TYPED:
        raise ValueError(f"{action!r} takes no typed text")
    now = app.clock()
    async with (
        audit.refusal_recorded(app, who, "flag", action=action, flag_id=flag_id),
        app.database.transaction() as uow,
    ):
        await claim(uow, once, now)
        flag = await uow.flags.get(_real_id(flag_id))
        if flag is None or not may_act_on_flag(who, action, flag, await _case_of(uow, flag)):
            raise NotAllowed(flag_id)
        await uow.people.set_awaiting(
            who.person_id, {"action": action, "flag_id": flag_id, "at": now.isoformat()}
        )


async def take_typed_text(
    app: Wegwijzer, who: Participant, text: str, once: str | None = None
) -> tuple[str, Outcome]:
    """Use the person's message for the note they were asked for; returns the action and
    its outcome. NoteRequired for an empty text, NoteTooLong for one past NOTE_MAX (they are
    still asked for both); NotAllowed when they lost access meanwhile (then they are no
    longer asked)."""
    awaiting = who.awaiting or {}
    action, flag_id = awaiting.get("action"), awaiting.get("flag_id")
    if action not in TYPED or not isinstance(flag_id, int):
        await stop_waiting(app, who)
        raise NotAllowed(flag_id)
    try:
        if action == "note":
            return action, await add_note(app, who, flag_id, text, once)
        return action, await resolve(app, who, flag_id, text, once)
    except NotAllowed:
        await stop_waiting(app, who)
        raise


async def stop_waiting(app: Wegwijzer, who: Participant) -> None:
    async with app.database.transaction() as uow:
        await uow.people.set_awaiting(who.person_id, None)


async def _answered(uow: UnitOfWork, who: Participant) -> None:
    # A note written (by typing or otherwise) answers any request for one.
    if who.awaiting:
        await uow.people.set_awaiting(who.person_id, None)


# --- the one way every action goes ----------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """What a change goes into the audit log as, when not as the action itself (a resolution
    of a flag resolved meanwhile is kept as a note)."""

    action: str
    detail: dict[str, JSONValue] | None = field(default_factory=dict)


# A change returns the audit detail of what it did, None when it changed nothing, or a
# `Recorded` to be logged as another action.
Change = Callable[[UnitOfWork, Flag, datetime], Awaitable[dict[str, JSONValue] | Recorded | None]]


async def _act(
    app: Wegwijzer,
    who: Participant,
    flag_id: int,
    action: str,
    change: Change,
    once: str | None,
    audit_action: str,
    note: str | None = None,
) -> Outcome:
    """Check access, make the change, record it (when something changed), all in one
    transaction; return the flag as it is now, with its history, and whether it changed.
    A refusal is recorded too, in a transaction of its own."""
    now = app.clock()
    async with (
        audit.refusal_recorded(app, who, "flag", action=action, flag_id=flag_id),
        app.database.transaction() as uow,
    ):
        await claim(uow, once, now)
        flag = await uow.flags.get(_real_id(flag_id))
        case = await _case_of(uow, flag)
        if flag is None or not may_act_on_flag(who, action, flag, case):
            raise NotAllowed(flag_id)
        detail = await change(uow, flag, now)
        recorded = detail if isinstance(detail, Recorded) else Recorded(audit_action, detail)
        if detail is None and action != "view":
            # Nothing changed, but the flag's evidence (a family's answers) is shown again.
            recorded = Recorded("viewed", {})
        if recorded.detail is not None:
            await audit.record(
                uow,
                who,
                recorded.action,
                at=now,
                case_id=flag.case_id,
                flag_id=flag.id,
                note=None if recorded.action == "viewed" else note,
                detail=recorded.detail,
            )
            log.info(
                "flag " + recorded.action, extra={"flag_id": flag.id, "person_id": who.person_id}
            )
        (view,) = await views_of(uow, [flag], history=True)
        return Outcome(view, changed=recorded.action == audit_action)


async def _case_of(uow: UnitOfWork, flag: Flag | None) -> Case | None:
    if flag is None or flag.case_id is None:
        return None
    # A flag outlives its case's erasure (its rule, level and times): it is still reviewed.
    return await uow.cases.by_id(flag.case_id, erased=True)


def _required(note: str) -> str:
    """The note as stored; NoteRequired when empty, NoteTooLong past NOTE_MAX (checked
    here, in the service, so that neither the bot nor the web view can store more)."""
    note = (note or "").strip()
    if not note:
        raise NoteRequired("a note is required")
    if len(note) > NOTE_MAX:
        raise NoteTooLong(len(note))
    return note


async def views_of(uow: UnitOfWork, flags: list[Flag], history: bool = False) -> list[FlagView]:
    codes = await uow.cases.codes({flag.case_id for flag in flags if flag.case_id})
    entries: dict[int, list[HistoryEntry]] = {}
    if history:
        for event in await uow.audit.of_flags(flag.id for flag in flags):
            if event.flag_id is None:
                continue
            entries.setdefault(event.flag_id, []).append(
                HistoryEntry(
                    event.at,
                    event.action,
                    event.actor_id,
                    event.actor_role,
                    event.note,
                    dict(event.detail),
                )
            )
    return [
        FlagView(
            id=flag.id,
            level=flag.level,
            rule=flag.rule,
            reason=flag.reason,
            status=flag.status,
            case_id=flag.case_id,
            case_code=codes.get(flag.case_id) if flag.case_id is not None else None,
            flow_id=flag.flow_id,
            flow_version=flag.flow_version,
            evidence=dict(flag.evidence),
            raised_at=flag.raised_at,
            due_at=flag.due_at,
            escalations=flag.escalations,
            assigned_to=flag.assigned_to,
            acknowledged_at=flag.acknowledged_at,
            acknowledged_by=flag.acknowledged_by,
            resolved_at=flag.resolved_at,
            resolved_by=flag.resolved_by,
            resolution=flag.resolution,
            history=tuple(entries.get(flag.id, ())),
        )
        for flag in flags
    ]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# --- showing evidence ---------------------------------------------------------------------

# Evidence keys the emergency route, the schedules and repeats write, which are no answers to
# a question: each has its own text below.
_TRIGGER_KEYS = (
    "trigger",
    "kinds",
    "role",
    "repeats",
    "run_id",
    "at",
    "missed",
    "unreachable",
    "child",
    "child_label",
)


def evidence_lines(app: Wegwijzer, flag: FlagView) -> list[Text]:
    """The answers behind a flag as the family saw them: the question and the chosen answer,
    translatable; scores by name; the emergency trigger; and how often it repeated."""
    if flag.evidence.get(ERASED):
        return [texts.EVIDENCE_ERASED]  # erased with the family's data: only the shape stays
    flow = app.flows.find(flag.flow_id, flag.flow_version)
    lines: list[Text] = []
    for key, value in flag.evidence.items():
        if key in _TRIGGER_KEYS:
            continue
        given = value if isinstance(value, bool | int | float | str) else None
        described = (
            describe_answer(flow, key, given) if flow is not None and given is not None else None
        )
        if described is not None:
            question, answer = described
            lines.append(texts.EVIDENCE_ANSWER.using(question=question, answer=answer))
        else:
            shown = value if isinstance(value, str | int | float) else json.dumps(value)
            lines.append(texts.EVIDENCE_VALUE.using(key=key, value=shown))
    # A home visit rates one child (issue #14): the flag names the child, and each other
    # child whose rating triggered the same rule again.
    child = _child_named(flag.evidence)
    if child is not None:
        lines.append(texts.EVIDENCE_CHILD.using(child=child))
    repeats_of = flag.evidence.get("repeats")
    for repeat in repeats_of if isinstance(repeats_of, list) else []:
        again = _child_named(repeat) if isinstance(repeat, dict) else None
        if again is not None:
            lines.append(texts.EVIDENCE_CHILD_AGAIN.using(child=again))
    if "missed" in flag.evidence:
        lines.append(texts.EVIDENCE_MISSED.using(count=flag.evidence["missed"]))
    if flag.evidence.get("unreachable"):
        lines.append(texts.EVIDENCE_UNREACHABLE)
    trigger = flag.evidence.get("trigger")
    if isinstance(trigger, str):
        lines.append(texts.EVIDENCE_TRIGGER.using(trigger=texts.trigger(trigger)))
        # The kinds of danger of all its reports, most urgent first.
        kinds = Parts(
            tuple(texts.ALARM_KIND_NAMES[kind] for kind in reported_kinds(flag.evidence)), " · "
        )
        lines.append(texts.EVIDENCE_KINDS.using(kinds=kinds))
    repeated = flag.evidence.get("repeats")
    repeats = len(repeated) if isinstance(repeated, list) else 0
    if repeats:
        lines.append(
            Plural("Triggered again {count} time.", "Triggered again {count} times.", count=repeats)
        )
    return lines


def rule_source(app: Wegwijzer, flag: FlagView) -> str | None:
    """Where the rule that raised a flag comes from (its flow's `source:`, a citation shown as
    written), looked up in the flow version the flag was raised by; None for a flag no flow
    rule raised (the emergency route, a family gone silent) or a rule without one."""
    flow = app.flows.find(flag.flow_id, flag.flow_version)
    if flow is None:
        return None
    rule = next((rule for rule in flow.flags if rule.id == flag.rule), None)
    return None if rule is None else rule.source


def _child_named(evidence: Mapping[str, JSONValue]) -> Text | str | None:
    """The child a home visit's evidence is about: its label, or "child 2"."""
    number, label = evidence.get("child"), evidence.get("child_label")
    if isinstance(label, str):
        return label
    return texts.CHILD.using(number=number) if isinstance(number, int) else None


# --- who is told ----------------------------------------------------------------------------


async def flag_recipients(
    uow: UnitOfWork, case_id: int | None, *, caseworker: bool = True, extra: int | None = None
) -> list[Recipient]:
    """Who hears of a flag on a case: its caseworker (unless `caseworker` is False), the person
    it is assigned to (`extra`), and every coordinator — active people who agreed to the bot's
    terms, each once."""
    coordinators = await uow.people.with_role("coordinator")
    case = await uow.cases.by_id(case_id, erased=True) if case_id is not None else None
    first: list[int] = []
    if caseworker and case is not None and case.caseworker_id is not None:
        first.append(case.caseworker_id)
    if extra is not None:
        first.append(extra)
    named = []
    for person_id in first:
        person = await uow.people.get_by_id(person_id)
        if person is not None:
            named.append(person)
    return _recipients(named, coordinators, case)


async def flags_recipients(uow: UnitOfWork, flags: Sequence[Flag]) -> list[list[Recipient]]:
    """`flag_recipients(uow, flag.case_id, extra=flag.assigned_to)` of each flag, with one
    query per kind for all of them (the coordinators, the cases, the people named): a digest
    of a hundred flags would otherwise read the fifty coordinators a hundred times."""
    coordinators = await uow.people.with_role("coordinator")
    cases = await uow.cases.by_ids(
        {flag.case_id for flag in flags if flag.case_id is not None}, erased=True
    )
    firsts: list[list[int]] = []
    for flag in flags:
        case = cases.get(flag.case_id) if flag.case_id is not None else None
        first = [] if case is None or case.caseworker_id is None else [case.caseworker_id]
        if flag.assigned_to is not None:
            first.append(flag.assigned_to)
        firsts.append(first)
    people = await uow.people.by_ids(person_id for first in firsts for person_id in first)
    return [
        _recipients(
            [people[person_id] for person_id in first if person_id in people],
            coordinators,
            cases.get(flag.case_id) if flag.case_id is not None else None,
        )
        for flag, first in zip(flags, firsts, strict=True)
    ]


def _recipients(
    named: list[Person], coordinators: list[Person], case: Case | None
) -> list[Recipient]:
    """The people named first (caseworker, assignee), then the coordinators: those active who
    agreed to the bot's terms, each once."""
    seen: set[int] = set()
    recipients = []
    code = None if case is None else case.code
    for person in [*named, *coordinators]:
        if person.id in seen or person.status != "active" or person.consent != "given":
            continue
        seen.add(person.id)
        recipients.append(Recipient.of(person, code))
    return recipients


# --- delivery -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One notice about a flag: to whom (a person's id and role; none: the operators' fallback
    chat), whether it went, how often it was tried."""

    person_id: int | None
    role: str | None
    state: str
    urgent: bool
    queued_at: datetime
    done_at: datetime | None
    attempts: int


async def deliveries(app: Wegwijzer, who: Participant, flag_id: int) -> list[Delivery]:
    """The notices of a flag and how each went, for someone who may see the flag (the web
    view's flag page, beside the history's "told caseworker 4")."""
    async with (
        audit.refusal_recorded(app, who, "flag", flag_id=flag_id),
        app.database.reading() as uow,
    ):
        flag = await uow.flags.get(_real_id(flag_id))
        if flag is None or not may_act_on_flag(who, "view", flag, await _case_of(uow, flag)):
            raise NotAllowed(flag_id)
        found = []
        for notice in await uow.outbox.of_flags([flag.id]):
            person = (
                await uow.people.get_by_id(notice.person_id)
                if notice.person_id is not None
                else None
            )
            found.append(
                Delivery(
                    notice.person_id,
                    person.role if person is not None else None,
                    notice.state,
                    notice.urgent,
                    notice.queued_at,
                    notice.done_at,
                    notice.attempts,
                )
            )
        return found
