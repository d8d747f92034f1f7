"""What caseworkers' guidance flows change on their case, and the coordinator's part in it.

A guidance flow writes its case through `set_case` (flows are data; the engine only says what
to write): the reintegration navigator moves the case's stage once the stage's essential items
are done — or with a recorded reason — the risk screening sets the risk level, which decides
the next review and how often home visits come, and the closure readiness check proposes
closing the case. Closing is a coordinator's decision (domain.md: "approved by a supervisor"):
they approve, which closes the case and stops its reminders, or return it with a note. A
closed case can be reopened. Every change is in the audit log with who, when and why.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..app import Wegwijzer
from ..engine import Flow, Say, Text
from ..engine.events import CaseUpdated, Value
from ..engine.vocabulary import REEVALUATION_WEEKS, REINTEGRATION_STAGES
from ..rules.access import NotAllowed, decides_closure, handles_case
from ..rules.guidance import applies, local_day, proposal_id, reevaluation_due
from ..rules.people import Participant
from ..rules.visits import next_visit
from ..storage import Case, UnitOfWork
from . import audit, texts
from .flags import flag_recipients
from .notices import Notice, queue
from .once import claim
from .people import Recipient
from .schedules import pause_or_resume
from .visits import record_stage_move

log = logging.getLogger(__name__)

# A review reminder not followed by a new screening comes back after this long.
REVIEW_REMIND_AGAIN = timedelta(days=2)
BATCH = 200


class NotProposed(Exception):
    """The case has no closure waiting for approval (or is not closed, for a reopening)."""


# --- what flows read of their case -----------------------------------------------------------


async def remembered(uow: UnitOfWork, case_id: int, flow: Flow) -> dict[str, Value]:
    """The case's last answers under the keys that belong to the case (a checklist's
    statuses and notes), from any earlier run; read only for flows that have such keys."""
    keys = flow.remembered_keys()
    return await uow.answers.latest_for_case(case_id, keys, flow.id) if keys else {}


# --- what flows write -------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """What a case update showed the person, and whom else it told (queued already)."""

    said: Say
    notices: tuple[Notice, ...] = ()


async def apply(
    app: Wegwijzer,
    uow: UnitOfWork,
    who: Participant,
    case_id: int | None,
    update: CaseUpdated,
    now: datetime,
) -> Applied | None:
    """Carry out a flow's case update in the flow's transaction, the case's row locked so that
    a concurrent change is seen; None when the run has no case."""
    case = await uow.cases.by_id(case_id, for_update=True) if case_id is not None else None
    if case is None:
        return None
    if not handles_case(who, case):
        # They lost the case meanwhile (it was given to another caseworker).
        log.warning("case update refused", extra={"event": update.name})
        return Applied(Say(texts.NOT_YOUR_CASE.using(case=case.code)))
    if case.status == "closed":
        return Applied(Say(texts.CASE_CLOSED_NO_CHANGE.using(case=case.code)))
    if update.name == "stage" and case.stage != update.was:
        # The run began in another stage than the case is in now (someone moved it
        # meanwhile): its gate was passed for that stage, not this one.
        moved = texts.STAGE_CHANGED_MEANWHILE.using(case=case.code, **stage_params(case.stage))
        return Applied(Say(moved))
    if update.name == "stage":
        return await _move_stage(app, uow, who, case, update, now)
    if update.name == "risk_level":
        return await _set_risk(app, uow, who, case, update, now)
    if update.name == "reevaluate_in":
        return await _plan_reevaluation(app, uow, who, case, update, now)
    return await _propose_closure(app, uow, who, case, update, now)


async def _move_stage(
    app: Wegwijzer,
    uow: UnitOfWork,
    who: Participant,
    case: Case,
    update: CaseUpdated,
    now: datetime,
) -> Applied:
    # A reason is an override of the gate when the case moves on along the stages; leaving
    # them (returning home is not in the child's best interests) or coming back to them has a
    # reason too, but overrides nothing.
    leaving = update.value == "alternative_care"
    returning = case.stage == "alternative_care"
    override = update.reason is not None and not (leaving or returning)
    await record_stage_move(
        app, uow, who, case, update.value, now, update.reason, override=override
    )
    if leaving:
        said = texts.ALTERNATIVE_CARE_CHOSEN
    else:
        said = texts.STAGE_MOVED_OVERRIDE if override else texts.STAGE_MOVED
    return Applied(Say(said.using(case=case.code, **stage_params(update.value))))


def stage_params(stage: str | None) -> dict[str, object]:
    """{number} and {stage} for texts naming a stage: "stage 2 of 5: preparation" (no number
    for alternative care, which is not one of the five)."""
    if stage not in REINTEGRATION_STAGES:
        return {"number": "–", "stage": texts.STAGES.get(stage or "", texts.NO_STAGE)}
    return {"number": REINTEGRATION_STAGES.index(stage) + 1, "stage": texts.STAGES[stage]}


async def _set_risk(
    app: Wegwijzer,
    uow: UnitOfWork,
    who: Participant,
    case: Case,
    update: CaseUpdated,
    now: datetime,
) -> Applied:
    level = update.value
    case.risk_level, case.risk_set_at = level, now
    case.review_due_at = now + timedelta(days=app.settings.review_days[level])
    case.review_reminded_at = None
    case.visit_due_at = next_visit(app.settings, case, now)
    computed = update.results.get("risk_level")
    overridden = update.reason is not None and computed not in (None, level)
    await audit.record(
        uow,
        who,
        "risk_level_set",
        at=now,
        case_id=case.id,
        note=update.reason,
        detail={"level": level, "computed": computed, "override": overridden},
    )
    params = {"case": case.code, "level": texts.LEVELS[level], "date": case.review_due_at.date()}
    if overridden and computed is not None:
        said = texts.RISK_LEVEL_OVERRIDDEN.using(computed=texts.LEVELS[computed], **params)
    else:
        said = texts.RISK_LEVEL_SET.using(**params)
    return Applied(Say(said))


async def _plan_reevaluation(
    app: Wegwijzer,
    uow: UnitOfWork,
    who: Participant,
    case: Case,
    update: CaseUpdated,
    now: datetime,
) -> Applied | None:
    """The Meldcode's re-evaluation (afwegingskader, question 5), planned a number of weeks
    ahead, or none ("none"): the case's one planned re-evaluation is replaced either way, so
    every finished walkthrough leaves the plan its own decision made. None when there was
    nothing to cancel (nothing to say)."""
    timezone = app.settings.timezone
    before = case.reevaluation_due_at
    weeks = REEVALUATION_WEEKS.get(update.value)
    case.reevaluation_reminded_at = None
    if weeks is None:
        case.reevaluation_due_at = None
        if before is None:
            return None
        await audit.record(uow, who, "reevaluation_cancelled", at=now, case_id=case.id, detail={})
        said = texts.REEVALUATION_CANCELLED.using(case=case.code, date=local_day(before, timezone))
        return Applied(Say(said))
    case.reevaluation_due_at = reevaluation_due(now, weeks, timezone)
    await audit.record(
        uow,
        who,
        "reevaluation_planned",
        at=now,
        case_id=case.id,
        detail={"weeks": weeks, "due": case.reevaluation_due_at.isoformat()},
    )
    day = local_day(case.reevaluation_due_at, timezone)
    return Applied(Say(texts.REEVALUATION_PLANNED.using(case=case.code, date=day)))


async def _propose_closure(
    app: Wegwijzer,
    uow: UnitOfWork,
    who: Participant,
    case: Case,
    update: CaseUpdated,
    now: datetime,
) -> Applied:
    if case.closure_proposed_at is not None:  # already waiting: the coordinators know
        return Applied(Say(texts.CLOSURE_WAITING.using(date=case.closure_proposed_at.date())))
    closure = app.flows.for_purpose("closure")
    if closure is not None and not applies(closure, case, app.settings.country):
        # The check is no longer for this case (its `only_if`: moved out of the closure stage
        # while the check ran, say): its answers were given for another situation.
        moved = texts.STAGE_CHANGED_MEANWHILE.using(case=case.code, **stage_params(case.stage))
        return Applied(Say(moved))
    case.closure_proposed_at, case.closure_proposed_by = now, who.person_id
    await audit.record(
        uow, who, "closure_proposed", at=now, case_id=case.id, note=update.reason, detail={}
    )
    summary = update.reason or "—"
    coordinators = [
        person
        for person in await flag_recipients(uow, case.id, caseworker=False)
        if person.person_id != who.person_id
    ]
    notices = tuple(
        Notice(
            person,
            texts.CLOSURE_PROPOSAL.using(case=case.code, summary=summary),
            closure=(case.code, proposal_id(case.closure_proposed_at)),
        )
        for person in coordinators
    )
    await queue(uow, notices, now)
    return Applied(Say(texts.CLOSURE_PROPOSED.using(case=case.code)), notices)


# --- the coordinator's decision ---------------------------------------------------------------


class OwnProposal(Exception):
    """A coordinator may not approve a closure they proposed themselves: it needs a second
    person (domain.md: "approved by a supervisor")."""


@dataclass(frozen=True)
class Decision:
    case_code: str
    text: Text  # what the coordinator is told
    notices: tuple[Notice, ...]  # the caseworker is told (queued already)


async def approve_closure(
    app: Wegwijzer,
    who: Participant,
    code: str,
    once: str | None = None,
    proposal: int | None = None,
) -> Decision:
    """Close the case: its check-in reminders, visit and review reminders stop. `proposal`
    (from a button) must be the proposal still waiting."""
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case = await _waiting_proposal(uow, who, code, proposal)
        if case.closure_proposed_by == who.person_id:
            raise OwnProposal(code)
        case.status, case.closed_at = "closed", now
        case.closure_proposed_at = case.closure_proposed_by = None
        case.visit_due_at = case.review_due_at = None
        schedule = await uow.schedules.of_case(case.id)
        if schedule is not None:
            await pause_or_resume(uow, schedule, True, who, now, because="closure")
        await audit.record(uow, who, "case_closed", at=now, case_id=case.id)
        told = await _caseworker_told(uow, case, texts.CLOSURE_APPROVED.using(case=case.code), now)
        return Decision(case.code, texts.CASE_NOW_CLOSED.using(case=case.code), told)


async def return_closure(
    app: Wegwijzer,
    who: Participant,
    code: str,
    note: str,
    once: str | None = None,
    proposal: int | None = None,
) -> Decision:
    """Send the proposal back to the caseworker with what still needs doing (a note is
    required: a return without a reason helps nobody)."""
    note = note.strip()
    if not note:
        raise ValueError("a returned closure needs a note")
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case = await _waiting_proposal(uow, who, code, proposal)
        case.closure_proposed_at = case.closure_proposed_by = None
        await audit.record(uow, who, "closure_returned", at=now, case_id=case.id, note=note)
        if who.awaiting:
            await uow.people.set_awaiting(who.person_id, None)
        closure = app.flows.for_purpose("closure")
        told = await _caseworker_told(
            uow,
            case,
            texts.CLOSURE_RETURNED_NOTICE.using(case=case.code, note=note),
            now,
            guide=(closure.id, case.code) if closure else None,
        )
        return Decision(case.code, texts.CLOSURE_RETURNED.using(case=case.code), told)


async def reopen_case(
    app: Wegwijzer, who: Participant, code: str, once: str | None = None
) -> Decision:
    """Open a closed case again, with its reminders on: a case that went through the
    reintegration stages is back in follow-up support; a case without stages (family
    strengthening) simply open."""
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case = await _coordinated_case(uow, who, code)
        if case.status != "closed":
            raise NotProposed(code)
        case.status, case.closed_at = "open", None
        if case.stage is not None:
            await record_stage_move(app, uow, who, case, "follow_up", now)
        if case.risk_level is not None:
            case.review_due_at, case.review_reminded_at = now, None  # screened afresh
        schedule = await uow.schedules.of_case(case.id)
        if schedule is not None and schedule.paused_by == "closure":
            await pause_or_resume(uow, schedule, False, who, now)
        await audit.record(uow, who, "case_reopened", at=now, case_id=case.id)
        told = await _caseworker_told(uow, case, texts.CASE_REOPENED.using(case=case.code), now)
        return Decision(case.code, texts.CASE_REOPENED.using(case=case.code), told)


async def ask_for_return_note(
    app: Wegwijzer,
    who: Participant,
    code: str,
    once: str | None = None,
    proposal: int | None = None,
) -> None:
    """Remember that the coordinator's next message is the note for returning this closure
    (this proposal: a newer one is not returned by a note meant for the old one)."""
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case = await _waiting_proposal(uow, who, code, proposal)
        await uow.people.set_awaiting(
            who.person_id,
            {
                "action": "return_closure",
                "case": case.code,
                "proposal": proposal_id(case.closure_proposed_at),
                "at": now.isoformat(),
            },
        )


async def _coordinated_case(uow: UnitOfWork, who: Participant, code: str) -> Case:
    """Only coordinators decide on closing and reopening (domain.md: a supervisor approves).
    The case's row is locked: two coordinators deciding at once are taken one after the
    other, and the second finds the first one's decision."""
    case = await uow.cases.by_code(code.strip().upper(), for_update=True)
    if case is None or not decides_closure(who) or not handles_case(who, case):
        raise NotAllowed(code)
    return case


async def _waiting_proposal(
    uow: UnitOfWork, who: Participant, code: str, proposal: int | None
) -> Case:
    case = await _coordinated_case(uow, who, code)
    waiting = case.closure_proposed_at is not None and case.status != "closed"
    if not waiting or (proposal is not None and proposal != proposal_id(case.closure_proposed_at)):
        raise NotProposed(code)
    return case


async def _caseworker_told(
    uow: UnitOfWork,
    case: Case,
    text: Text,
    now: datetime,
    guide: tuple[str, str] | None = None,
) -> tuple[Notice, ...]:
    """The case's caseworker told of a decision (queued in the decision's transaction); with
    `guide`, a button to the flow to go on with (the closure check again, after a return)."""
    person = await uow.people.get_by_id(case.caseworker_id) if case.caseworker_id else None
    if person is None or person.status != "active" or person.consent != "given":
        return ()
    recipient = Recipient.of(person, case.code)
    told = (Notice(recipient, text, guide=guide, plain=guide is None),)
    await queue(uow, told, now)
    return told


# --- reviews that come due --------------------------------------------------------------------


async def _reminded(uow: UnitOfWork, case: Case) -> tuple[list[Recipient], bool]:
    """Who is reminded of a case's due review or re-evaluation: its caseworker when active,
    else every coordinator, so that a case without a caseworker is not silently forgotten
    (True: it is the caseworker)."""
    person = await uow.people.get_by_id(case.caseworker_id) if case.caseworker_id else None
    if person is not None and person.status == "active":
        recipient = Recipient.of(person, case.code)
        return [recipient], True
    return await flag_recipients(uow, case.id, caseworker=False), False


@dataclass(frozen=True)
class _Due:
    """Something a case comes due for, and how its reminder reads: the risk screening's review,
    the Meldcode's re-evaluation."""

    event: str  # for the log and the audit ("review_reminded")
    purpose: str  # the flow its button starts
    reminded: str  # the case's column for when it was last reminded
    cases: Callable[[UnitOfWork, datetime], Awaitable[Sequence[Case]]]
    text: Callable[[Wegwijzer, Case], Text | None]  # None: nothing due after all


def _review_text(app: Wegwijzer, case: Case) -> Text:
    level = texts.LEVELS.get(case.risk_level or "", texts.NO_STAGE)
    return texts.REVIEW_DUE.using(case=case.code, level=level)


def _reevaluation_text(app: Wegwijzer, case: Case) -> Text | None:
    if case.reevaluation_due_at is None:
        return None
    day = local_day(case.reevaluation_due_at, app.settings.timezone)
    return texts.REEVALUATION_DUE.using(case=case.code, date=day)


_REVIEW = _Due(
    "review",
    "screening",
    "review_reminded_at",
    lambda uow, now: uow.cases.reviews_due(now, now - REVIEW_REMIND_AGAIN, BATCH),
    _review_text,
)
_REEVALUATION = _Due(
    "reevaluation",
    "meldcode",
    "reevaluation_reminded_at",
    lambda uow, now: uow.cases.reevaluations_due(now, now - REVIEW_REMIND_AGAIN, BATCH),
    _reevaluation_text,
)


async def review_notices(app: Wegwijzer) -> list[Notice]:
    """A case whose risk screening is due for review: its caseworker is reminded, with a
    button to start it; again after `REVIEW_REMIND_AGAIN` until the screening is done."""
    return await _remind(app, _REVIEW)


async def reevaluation_notices(app: Wegwijzer) -> list[Notice]:
    """A case whose Meldcode re-evaluation has come due: its caseworker is reminded, with a
    button to the Meldcode (which offers the re-evaluation first); again after
    `REVIEW_REMIND_AGAIN` until a Meldcode run for the case plans anew."""
    return await _remind(app, _REEVALUATION)


async def _remind(app: Wegwijzer, due: _Due) -> list[Notice]:
    """The caseworker of each case that came due (the coordinators when it has none), with a
    button to the flow when the one reminded may run it."""
    now = app.clock()
    notices: list[Notice] = []
    flow = app.flows.for_purpose(due.purpose)
    async with app.database.transaction() as uow:
        for case in await due.cases(uow, now):
            setattr(case, due.reminded, now)
            recipients, caseworker = await _reminded(uow, case)
            text = due.text(app, case)
            if not recipients or text is None:
                log.warning("due, nobody to remind", extra={"event": due.event})
                continue
            # A button only for who may run the flow (only a caseworker walks the Meldcode).
            may_run = flow is not None and (caseworker or "coordinator" in flow.roles)
            guide = (flow.id, case.code) if flow is not None and may_run else None
            notices += [Notice(r, text, guide=guide, plain=guide is None) for r in recipients]
            await audit.record(uow, audit.SYSTEM, f"{due.event}_reminded", at=now, case_id=case.id)
        await queue(uow, notices, now)
    return notices
