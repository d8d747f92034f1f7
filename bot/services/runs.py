"""Running flows for a person: start, answer, remind and pause, each in one transaction.

The pattern is the same everywhere (design.md, principle 4): read the person's run, let the
engine work out what happens, store the answers, scores, flags and the new state, commit —
and only then give the events back to the channel to show. A crash before the commit loses
the update without a trace; a crash after it loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..app import Wegwijzer
from ..engine import (
    AnswerRecorded,
    Ask,
    CaseUpdated,
    Choose,
    Event,
    FlagRaised,
    Flow,
    Input,
    Option,
    Reply,
    RunState,
    Say,
    ScoreComputed,
    Sprint,
    Text,
)
from ..engine.events import JSONValue
from ..rules.access import NotAllowed, handles_case
from ..rules.cadence import Cadence
from ..rules.guidance import applies, case_facts
from ..rules.people import Participant
from ..rules.replies import interpret
from ..storage import Case, CaseChild, Run, UnitOfWork
from ..storage.answering import AnsweredRow
from . import guidance, texts
from .children import Child, to_rate
from .emergency import help_lines, signpost
from .flags import raise_or_repeat
from .notices import Notice
from .once import AlreadyHandled, claim
from .people import participant_from, participant_of
from .visits import visit_done_by_flow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Turn:
    """The outcome of one update: what to show, and where the run now stands."""

    events: tuple[Event, ...]
    run_id: int
    state: RunState
    # Whom else it told (a closure proposal goes to the coordinators): queued already.
    notices: tuple[Notice, ...] = ()
    # A home visit that rated one child, of a case with children still to rate in this visit.
    children: ChildrenToRate | None = None


@dataclass(frozen=True)
class ChildrenToRate:
    """A case's children for the home visit, and which are rated in this visit already."""

    case_code: str
    flow_id: str
    children: tuple[Child, ...]
    rated: frozenset[int]

    @property
    def left(self) -> tuple[Child, ...]:
        return tuple(child for child in self.children if child.id not in self.rated)


class ChooseChild(Exception):
    """The home visit rates one child at a time: which one, of a case with children?"""

    def __init__(self, choice: ChildrenToRate):
        super().__init__(choice.case_code)
        self.choice = choice


class NoSuchChild(LookupError):
    """The case has no child of that number (removed since the button was shown, say)."""


def flow_of(app: Wegwijzer, run: Run) -> Flow:
    """The flow version a stored run is pinned to."""
    return app.flows.get(run.flow_id, run.flow_version)


def rates_children(flow: Flow) -> bool:
    """Whether runs of the flow are about one child of the case: the home visit's."""
    return flow.purpose == "home_visit"


async def _with_child(
    app: Wegwijzer, uow: UnitOfWork, run: Run, context: dict[str, object]
) -> dict[str, object]:
    """The context of a run about a child: `{child}` names the child (or "the child you
    visited" when the case has no children registered)."""
    if not rates_children(flow_of(app, run)):
        return context
    child = await uow.children.of_run(run.id)
    named = Child.of(child).described() if child is not None else texts.CHILD_UNNAMED
    return {**context, "child": named}


def flow_context(app: Wegwijzer, timezone: str | None = None) -> dict[str, object]:
    settings = app.settings
    local_today = app.clock().astimezone(ZoneInfo(timezone or settings.timezone)).date()
    return {
        "next_checkin": local_today + timedelta(days=settings.checkin_interval_days),
        "emergency_number": app.helplines.emergency_number,
        "advice_line": app.helplines.advice_line,
        "signpost": signpost(app),
        "self_harm_help": help_lines(app, "self_harm"),
    }


async def start_flow(
    app: Wegwijzer,
    who: Participant,
    flow_id: str,
    once: str | None = None,
    case_code: str | None = None,
    child: int | None = None,
) -> Turn:
    """Start a flow, or pick up the person's unfinished run of it where they left it.

    The home visit rates one child (`child`, its number in the case): for a case with
    children and none named, ChooseChild says which there are (an unfinished run of the
    visit for the case is picked up instead); NoSuchChild for a number the case has not.

    A family's flow is about their own case; a caseworker's guidance is about the case they
    name (`case_code`), which must be one of theirs: NotAllowed otherwise, the same for a
    case that does not exist or a flow that is not for them. An unfinished run of another flow
    (or of this flow for another case) is paused; it can be resumed later.
    """
    try:
        flow = app.flows.get(flow_id)
    except KeyError:
        raise NotAllowed(flow_id) from None
    if who.role not in flow.roles:
        raise NotAllowed(flow.id)
    context = flow_context(app)
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case_id = who.case_id
        if case_code is not None:
            case = await uow.cases.by_code(case_code.strip().upper())
            if case is None or not handles_case(who, case):
                raise NotAllowed(case_code)
            case_id = case.id
        elif case_id is not None and (flow.only_if or flow.uses_case or flow.remembered_keys()):
            case = await uow.cases.by_id(case_id)
        else:
            case = None  # a family's check-in needs nothing of its case
        if flow.only_if is not None and not applies(flow, case, app.settings.country):
            raise NotAllowed(flow.id)
        current = await uow.runs.current(who.person_id)
        about = None
        if rates_children(flow) and case is not None:
            about = await _child_to_rate(app, uow, flow, case, child, current, now)
        same = current is not None and (current.flow_id, current.case_id) == (flow.id, case_id)
        if same and current is not None and about is not None and child is not None:
            same = await uow.children.of_run(current.id) == about
        if same and current is not None:
            context = await _with_child(app, uow, current, context)
            sprint = app.engine.remind(RunState.from_dict(current.state), context)
            await uow.runs.update(
                current, step=current.step, state=current.state, status="active", now=now
            )
            log.info("run resumed", extra={"run_id": current.id, "flow": flow.ref})
            return Turn(sprint.events, current.id, sprint.state)
        if current is not None:
            await uow.runs.pause(current, now)
            log.info("run paused", extra={"run_id": current.id})
        facts = case_facts(case, app.settings.country, now) if case and flow.uses_case else None
        known = await guidance.remembered(uow, case.id, flow) if case is not None else None
        if rates_children(flow):
            named = Child.of(about).described() if about is not None else texts.CHILD_UNNAMED
            context = {**context, "child": named}
        sprint = app.engine.start(flow.id, context, case=facts, remembered=known)
        run = await uow.runs.start(
            who.person_id,
            case_id,
            flow.id,
            flow.version,
            sprint.state.step,
            sprint.state.to_dict(),
            now,
        )
        if about is not None:
            await uow.children.link_run(run.id, about.id)
        turn = await _store(app, uow, who, run, sprint, now)
        log.info("run started", extra={"run_id": run.id, "flow": flow.ref})
        return turn


async def answer(
    app: Wegwijzer,
    who: Participant,
    given: Input,
    translate: Callable[[Text], str] | None = None,
    once: str | None = None,
) -> Turn | None:
    """Resume the person's active run with an input; None when no flow is in progress.

    With `translate`, a typed reply that names an option's label in the person's language
    counts as choosing that option.
    """
    now = app.clock()
    context = flow_context(app)
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        run = await uow.runs.current(who.person_id)
        if run is None or run.status != "active":
            return None
        state = RunState.from_dict(run.state)
        lost = await _case_lost(uow, who, run)
        if lost is not None:
            # The case went to someone else while the run was open: it stops here, nothing
            # of this answer is recorded (statuses and notes would count for the case).
            await uow.runs.pause(run, now)
            return Turn((Say(texts.NOT_YOUR_CASE.using(case=lost)),), run.id, state)
        context = await _with_child(app, uow, run, context)
        if isinstance(given, Reply) and translate is not None:
            given = interpret(given, app.engine.question(state, context), translate)
        sprint = app.engine.resume(state, given, context)
        return await _store(app, uow, who, run, sprint, now)


async def waiting_question(app: Wegwijzer, who: Participant) -> Turn | None:
    """The question the person's active run waits for, asked again (after a restart, or in
    a new language). None when no flow is in progress."""
    async with app.database.reading() as uow:
        run = await uow.runs.current(who.person_id)
        if run is None or run.status != "active":
            return None
        context = await _with_child(app, uow, run, flow_context(app))
        sprint = app.engine.remind(RunState.from_dict(run.state), context)
        return Turn(sprint.events, run.id, sprint.state)


async def pause(app: Wegwijzer, who: Participant, once: str | None = None) -> bool:
    """Leave the current flow without losing it; False when there was nothing to leave."""
    async with app.database.transaction() as uow:
        await claim(uow, once, app.clock())
        run = await uow.runs.current(who.person_id)
        if run is None or run.status != "active":
            return False
        await uow.runs.pause(run, app.clock())
        log.info("run paused", extra={"run_id": run.id})
        return True


@dataclass(frozen=True)
class ButtonAnswer:
    """A pressed option, accepted: the question it answered, the option, and what follows."""

    question: Ask
    chosen: Option
    turn: Turn


async def answer_option(
    app: Wegwijzer,
    who: Participant,
    run_id: int,
    step_index: int,
    option_index: int,
    once: str | None = None,
    part: int = 0,
) -> ButtonAnswer | None:
    """Answer the question a button belongs to — only if it is still the person's open
    question (the step, and within a checklist the same `part` of it). None for a button on
    an old question, a finished run, or someone else's run: nothing is recorded then."""
    now = app.clock()
    context = flow_context(app)
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        return await take_option(
            app, uow, who, run_id, step_index, option_index, part, context, now
        )


@dataclass(frozen=True)
class PressedBy:
    """A button pressed by someone `answer_option_of` found: who, and what was taken (None:
    nothing, as `answer_option` says)."""

    who: Participant
    answered: ButtonAnswer | None


async def answer_option_of(
    app: Wegwijzer,
    channel: str,
    external_id: str,
    may_answer: Callable[[Participant], bool],
    run_id: int,
    step_index: int,
    option_index: int,
    once: str | None = None,
    part: int = 0,
) -> PressedBy | None:
    """`answer_option` for the person with this id on this channel, found in the same
    transaction (one transaction per answer, where finding them first would take one more).
    None, with nothing written, when `may_answer` says the person found (None: nobody) is not
    one whose press goes straight to the answer (or nobody is found): the caller then takes
    the long way."""
    now = app.clock()
    context = flow_context(app)
    if once is not None:
        plainly = await _answer_plainly(
            app, channel, external_id, may_answer, run_id, step_index, option_index, once,
            part, context, now,
        )  # fmt: skip
        if not isinstance(plainly, _NotPlain):
            return plainly
    async with app.database.transaction() as uow:
        # Locked at once (on PostgreSQL), as `take_option` would lock them next: one
        # statement fewer.
        who = await participant_of(uow, channel, external_id, lock=True)
        if who is None or not may_answer(who):
            return None
        await claim(uow, once, now)
        answered = await take_option(
            app, uow, who, run_id, step_index, option_index, part, context, now, locked=True
        )
        return PressedBy(who, answered)


class _NotPlain:
    """An answer `_answer_plainly` leaves to the repositories' way."""


_NOT_PLAIN = _NotPlain()
# What a plain answer's sprint may hold: its answers, and what it says and asks next.
_PLAIN_EVENTS = (AnswerRecorded, Say, Ask)


async def _answer_plainly(
    app: Wegwijzer,
    channel: str,
    external_id: str,
    may_answer: Callable[[Participant], bool],
    run_id: int,
    step_index: int,
    option_index: int,
    once: str,
    part: int,
    context: dict[str, object],
    now: datetime,
) -> PressedBy | _NotPlain | None:
    """`answer_option_of` for the most common press, in one transaction on the driver
    (`Database.answering`: the person and the run read and locked together, the update's
    key, the answer and the run's state written together): the person's own active run, at
    the question pressed, an option that only records answers and asks the next question.
    The same checks as `take_option`; any answer that would do more (end the run, a score, a
    flag, a case change, a child's rating, the day of the next check-in, an option no longer
    valid), nobody found, or a run not theirs is rolled back with nothing written, and
    `_NOT_PLAIN` sends it the repositories' way."""
    async with app.database.answering(channel, external_id, run_id) as tx:
        run = tx.run
        if tx.person is None or run is None:
            return _NOT_PLAIN  # nobody, no such run, or not theirs: the long way says so
        who = participant_from(tx.person)
        if not may_answer(who):
            return None
        if run.status != "active":
            return _NOT_PLAIN
        if run.case_id is not None and (who.role != "family" or who.case_id != run.case_id):
            return _NOT_PLAIN  # a staff run, or a case left: `_case_lost` looks
        flow = app.flows.get(run.flow_id, run.flow_version)
        if not 0 <= step_index < len(flow.steps) or flow.steps[step_index].id != run.step:
            return _NOT_PLAIN
        if rates_children(flow):
            return _NOT_PLAIN
        state = RunState.from_dict(run.state)
        question = app.engine.question(state, context)
        if question.part != part or not 0 <= option_index < len(question.options):
            return _NOT_PLAIN
        chosen = question.options[option_index]
        sprint = app.engine.resume(state, Choose(chosen.value), context)
        events = sprint.events
        if sprint.ended or any(
            not isinstance(event, _PLAIN_EVENTS) or _says_when(event) for event in events
        ):
            return _NOT_PLAIN
        answers = [
            AnsweredRow(event.key, event.value, event.step_id)
            for event in events
            if isinstance(event, AnswerRecorded)
        ]
        if not await tx.store(once, answers, sprint.state.step, sprint.state.to_dict(), now):
            raise AlreadyHandled(once)
        turn = Turn(tuple(events), run.id, sprint.state)
        return PressedBy(who, ButtonAnswer(question, chosen, turn))


async def take_option(
    app: Wegwijzer,
    uow: UnitOfWork,
    who: Participant,
    run_id: int,
    step_index: int,
    option_index: int,
    part: int,
    context: dict[str, object],
    now: datetime,
    locked: bool = False,
) -> ButtonAnswer | None:
    """The body of `answer_option`, in the caller's transaction (the update claimed;
    `locked`: the person's row too)."""
    run = await uow.runs.get(run_id, person_locked=locked)
    if run is None or run.person_id != who.person_id or run.status != "active":
        return None
    if await _case_lost(uow, who, run) is not None:
        await uow.runs.pause(run, now)
        return None
    flow = flow_of(app, run)
    if not 0 <= step_index < len(flow.steps) or flow.steps[step_index].id != run.step:
        return None
    state = RunState.from_dict(run.state)
    context = await _with_child(app, uow, run, context)
    question = app.engine.question(state, context)
    if question.part != part or not 0 <= option_index < len(question.options):
        return None
    chosen = question.options[option_index]
    sprint = app.engine.resume(state, Choose(chosen.value), context)
    return ButtonAnswer(question, chosen, await _store(app, uow, who, run, sprint, now))


async def _case_lost(uow: UnitOfWork, who: Participant, run: Run) -> str | None:
    """The code of the run's case when the person no longer handles it (a caseworker whose
    case was given to another, a family member who left it); None while it is still theirs."""
    if run.case_id is None:
        return None
    if who.role == "family":
        return None if who.case_id == run.case_id else "—"
    case = await uow.cases.by_id(run.case_id)
    if case is None:
        return "—"
    return None if handles_case(who, case) else case.code


async def _store(
    app: Wegwijzer, uow: UnitOfWork, who: Participant, run: Run, sprint: Sprint, now: datetime
) -> Turn:
    """Write what a sprint decided, in the caller's transaction; return what to show."""
    events: list[Event] = []
    notices: list[Notice] = []
    child = await uow.children.of_run(run.id) if rates_children(flow_of(app, run)) else None
    for event in sprint.events:
        events.append(event)
        if isinstance(event, CaseUpdated):
            # Said right where the flow changed the case, so the person sees it happen.
            applied = await guidance.apply(app, uow, who, run.case_id, event, now)
            if applied is not None:
                events.append(applied.said)
                notices += applied.notices
        elif isinstance(event, AnswerRecorded):
            await uow.answers.record(run.id, event.key, event.value, event.step_id, now)
            uow.written.answers += 1
        elif isinstance(event, ScoreComputed):
            await uow.scores.record(run.id, event.name, event.value, now)
        elif isinstance(event, FlagRaised):
            await raise_flag_of(app, uow, who, run, event, child, now)
    status = "completed" if sprint.ended else "active"
    await uow.runs.update(
        run, step=sprint.state.step, state=sprint.state.to_dict(), status=status, now=now
    )
    left = None
    if sprint.ended:
        log.info("run completed", extra={"run_id": run.id})
        if flow_of(app, run).purpose == "home_visit" and run.case_id is not None:
            await visit_done_by_flow(app, uow, who, run.case_id, run.flow_id, now)
            if child is not None:
                left = await _children_left(uow, run, now)
    shown = await _next_checkin_as_scheduled(uow, run.case_id, tuple(events))
    return Turn(shown, run.id, sprint.state, tuple(notices), left)


async def raise_flag_of(
    app: Wegwijzer,
    uow: UnitOfWork,
    who: Participant | None,
    run: Run,
    event: FlagRaised,
    child: CaseChild | None,
    now: datetime,
) -> None:
    """Raise (or repeat) the flag a run's rule raised, with the child it is about."""
    await raise_or_repeat(
        app,
        uow,
        by=who,
        case_id=run.case_id,
        run_id=run.id,
        flow_id=run.flow_id,
        flow_version=run.flow_version,
        rule=event.rule_id,
        level=event.level,
        reason=event.reason.msgid,
        evidence={**event.evidence, **_about(child)},
        now=now,
    )


def _about(child: CaseChild | None) -> dict[str, JSONValue]:
    """What a flag's evidence says of the child its run is about: number and label."""
    if child is None:
        return {}
    about: dict[str, JSONValue] = {"child": child.number}
    if child.label:
        about["child_label"] = child.label
    return about


async def _child_to_rate(
    app: Wegwijzer,
    uow: UnitOfWork,
    flow: Flow,
    case: Case,
    number: int | None,
    current: Run | None,
    now: datetime,
) -> CaseChild | None:
    """The child a home visit is to rate: the one named, or the case's only child; none for
    a case without children (the visit rates the child visited, unnamed). ChooseChild for a
    case with several children and none named, unless the person has an unfinished visit of
    this case to pick up."""
    if number is not None:
        row = await uow.children.by_number(case.id, number)
        if row is None:
            raise NoSuchChild(number)
        return row
    if current is not None and (current.flow_id, current.case_id) == (flow.id, case.id):
        return await uow.children.of_run(current.id)
    children, rated = await to_rate(uow, case.id, flow.id, now)
    if len(children) == 1:  # nothing to choose
        return await uow.children.by_number(case.id, children[0].number)
    if children:
        raise ChooseChild(ChildrenToRate(case.code, flow.id, tuple(children), frozenset(rated)))
    return None


async def _children_left(uow: UnitOfWork, run: Run, now: datetime) -> ChildrenToRate | None:
    """After one child's visit: the case's children, when some are still to rate."""
    case = await uow.cases.by_id(run.case_id) if run.case_id is not None else None
    if case is None:
        return None
    children, rated = await to_rate(uow, case.id, run.flow_id, now)
    choice = ChildrenToRate(case.code, run.flow_id, tuple(children), frozenset(rated))
    return choice if choice.left else None


async def _next_checkin_as_scheduled(
    uow: UnitOfWork, case_id: int | None, events: tuple[Event, ...]
) -> tuple[Event, ...]:
    """A text that tells the family when their next check-in is says the day their schedule
    will remind them, where the case has one (else the default interval stays). Looked up
    only for such a text, so other answers pay nothing for it."""
    if case_id is None or not any(_says_when(event) for event in events):
        return events
    schedule = await uow.schedules.of_case(case_id, for_update=False)
    if schedule is None or schedule.status != "active" or schedule.next_due_at is None:
        return events
    zone = ZoneInfo(Cadence.from_dict(schedule.cadence).timezone)
    day = schedule.next_due_at.astimezone(zone).date()
    return tuple(_with_day(event, day) for event in events)


def _says_when(event: Event) -> bool:
    return isinstance(event, Say | Ask) and "next_checkin" in event.text.params


def _with_day(event: Event, day: date) -> Event:
    if isinstance(event, Say | Ask) and _says_when(event):
        return replace(event, text=event.text.using(next_checkin=day))
    return event
