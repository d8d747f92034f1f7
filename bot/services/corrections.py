"""Correcting a wrong answer: the right to rectification, used by the case's caseworker.

A family tells their caseworker an answer was wrong (a mistyped number, the wrong button); the
caseworker (or a coordinator) corrects it. The new value is checked as the question checks an
answer (`Engine.correct`), the answer row and the run's stored state change together (the
engine and the case views read either), the scores are recomputed from the corrected answers,
and a rule that holds only now raises its flag as if the answer had been given so: a
correction can reveal a danger. Flags raised on the old answer stay as they are (they copied
their evidence): a person resolves them. The audit log keeps the old value, sealed in the
event's note, never in its detail.

The caseworker finds the answer in the bot (`bot.conversation.corrections`): a case's recent
runs (`runs_to_correct`), one run's answers as the family saw them (`answers_to_correct`),
one answer (`answer_to_correct`), whose new value — a number or a text — can be asked for
as the next message. A button names an answer by its number among its flow's
questions (`question_keys`): a run is pinned to its flow's version, so the number always
names the same question, and a key can be longer than a button's data holds. Every look at a
run's answers is audited, and a refused one too. Correcting an answer to the value it already
has changes nothing and is not logged (a button pressed twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ..app import Wegwijzer
from ..engine import AnswerRecorded, FlagRaised, Flow, RunState, ScoreComputed, Value
from ..engine.events import JSONValue
from ..engine.model import ChecklistStep, NumberStep, Question, TextStep
from ..rules.access import NotAllowed, handles_case, possible_id
from ..rules.people import Participant
from ..storage import Case, Run, UnitOfWork
from . import audit
from .once import claim
from .runs import raise_flag_of

__all__ = [
    "AnswerToCorrect",
    "Correction",
    "NoSuchAnswer",
    "RunAnswers",
    "RunToCorrect",
    "answer_to_correct",
    "answers_to_correct",
    "correct_answer",
    "question_keys",
    "runs_to_correct",
]

# How many of a case's most recent runs are offered for a correction.
RUNS_SHOWN = 8
# What `Participant.awaiting` says while the new value is to come as the next message.
TYPED_VALUE = "correct"
# The questions whose new value is typed, not chosen.
TYPED_QUESTIONS = (NumberStep, TextStep)


class NoSuchAnswer(LookupError):
    """The run has no answer under that key to correct (or no question asks it)."""


@dataclass(frozen=True)
class Correction:
    run_id: int
    key: str
    old: Value
    new: Value
    scores: dict[str, float]  # the scores that changed, with their new values
    flags: tuple[str, ...]  # the rules that raised a flag on the corrected answer
    # False: the answer already had this value; nothing was written or logged.
    changed: bool = True
    number: int = 0  # the answer's number among its flow's questions (`question_keys`)
    flow_id: str = ""
    flow_version: int = 0


@dataclass(frozen=True)
class RunToCorrect:
    """A run of a case, as a caseworker picks it: which flow, and when."""

    run_id: int
    case_code: str
    flow: Flow
    started_at: datetime
    status: str


@dataclass(frozen=True)
class AnswerToCorrect:
    number: int  # its place among the flow's questions (`question_keys`), from 1
    key: str
    value: Value
    question: Question


@dataclass(frozen=True)
class RunAnswers:
    run: RunToCorrect
    answers: tuple[AnswerToCorrect, ...]


def question_keys(flow: Flow) -> tuple[str, ...]:
    """The keys of a flow's questions whose answers can be corrected, in the file's order
    (a checklist's items are set again in the flow itself, not corrected)."""
    return tuple(
        step.key
        for step in flow.steps
        if isinstance(step, Question) and not isinstance(step, ChecklistStep)
    )


def _key(flow: Flow, answer: str) -> str:
    """The key an answer is named by: itself, or its number among the flow's questions."""
    answer = answer.strip()
    if answer.isascii() and answer.isdigit():
        keys = question_keys(flow)
        number = int(answer) if len(answer) <= 4 else 0
        if not 0 < number <= len(keys):
            raise NoSuchAnswer(answer)
        return keys[number - 1]
    return answer.lower()


async def _handled_run(
    app: Wegwijzer, uow: UnitOfWork, who: Participant, run_id: int
) -> tuple[Run, Case, Flow]:
    """The run, its case and its flow version, if `who` handles the case; NotAllowed for a
    run that is not theirs or does not exist (one answer: run ids cannot be probed)."""
    run = await uow.runs.get(run_id) if possible_id(run_id) else None
    case = await uow.cases.by_id(run.case_id) if run and run.case_id is not None else None
    flow = app.flows.find(run.flow_id, run.flow_version) if run is not None else None
    if run is None or case is None or flow is None or not handles_case(who, case):
        raise NotAllowed(run_id)
    return run, case, flow


def _listed(run: Run, case: Case, flow: Flow) -> RunToCorrect:
    return RunToCorrect(run.id, case.code, flow, run.started_at, run.status)


def _answers(flow: Flow, state: RunState) -> tuple[AnswerToCorrect, ...]:
    listed = []
    for number, key in enumerate(question_keys(flow), start=1):
        question = flow.question_for(key)
        if key in state.answers and question is not None:
            listed.append(AnswerToCorrect(number, key, state.answers[key], question))
    return tuple(listed)


async def runs_to_correct(
    app: Wegwijzer, who: Participant, code: str, once: str | None = None
) -> tuple[RunToCorrect, ...]:
    """The case's most recent runs that have an answer to correct, newest first; NotAllowed
    (recorded) unless `who` handles the case, the same for a code that names none."""
    async with (
        audit.refusal_recorded(app, who, "case", action="correct", case_code=code),
        app.database.transaction() as uow,
    ):
        await claim(uow, once, app.clock())
        case = await uow.cases.by_code(code.strip().upper())
        if case is None or not handles_case(who, case):
            raise NotAllowed(code)
        found = []
        for run in await uow.runs.of_case(case.id, RUNS_SHOWN * 3):
            flow = app.flows.find(run.flow_id, run.flow_version)
            if flow is not None and _answers(flow, RunState.from_dict(run.state)):
                found.append(_listed(run, case, flow))
        return tuple(found[:RUNS_SHOWN])


async def answers_to_correct(
    app: Wegwijzer, who: Participant, run_id: int, once: str | None = None
) -> RunAnswers:
    """A run's answers as they are now, in the flow's order; the look is audited.
    NotAllowed (recorded) unless `who` handles the run's case."""
    async with (
        audit.refusal_recorded(app, who, "run", action="correct"),
        app.database.transaction() as uow,
    ):
        await claim(uow, once, app.clock())
        run, case, flow = await _handled_run(app, uow, who, run_id)
        answers = _answers(flow, RunState.from_dict(run.state))
        await _looked(uow, who, run, app.clock())
        return RunAnswers(_listed(run, case, flow), answers)


async def answer_to_correct(
    app: Wegwijzer,
    who: Participant,
    run_id: int,
    answer: str,
    once: str | None = None,
    *,
    ask_typed: bool = False,
) -> tuple[RunToCorrect, AnswerToCorrect]:
    """One answer of a run (named by key or number), as it is now; the look is audited.
    With `ask_typed`, an answer typed rather than chosen (a number, a text) is asked for as
    the person's next message (the ids and the key are kept, never a value). NotAllowed
    (recorded) as `answers_to_correct`; NoSuchAnswer."""
    async with (
        audit.refusal_recorded(app, who, "run", action="correct"),
        app.database.transaction() as uow,
    ):
        now = app.clock()
        await claim(uow, once, now)
        run, case, flow = await _handled_run(app, uow, who, run_id)
        found = _one_answer(flow, RunState.from_dict(run.state), answer)
        await _looked(uow, who, run, now)
        if ask_typed and isinstance(found.question, TYPED_QUESTIONS):
            waiting: dict[str, JSONValue] = {"action": TYPED_VALUE, "run_id": run.id}
            waiting |= {"key": found.key, "at": now.isoformat()}
            await uow.people.set_awaiting(who.person_id, waiting)
        return _listed(run, case, flow), found


def _one_answer(flow: Flow, state: RunState, answer: str) -> AnswerToCorrect:
    key = _key(flow, answer)
    found = next((each for each in _answers(flow, state) if each.key == key), None)
    if found is None:
        raise NoSuchAnswer(key)
    return found


async def _looked(uow: UnitOfWork, who: Participant, run: Run, now: datetime) -> None:
    """A run's answers shown to staff: a look at a family's answers, on record."""
    await audit.record(
        uow, who, "answers_viewed", at=now, case_id=run.case_id, detail={"run": run.id}
    )


async def correct_answer(
    app: Wegwijzer,
    who: Participant,
    run_id: int,
    key: str,
    value: str,
    once: str | None = None,
) -> Correction:
    """Set a run's answer under `key` (or the question's number, `question_keys`) to `value`
    (typed as the question's option value, a number or text). NotAllowed unless `who` handles
    the run's case (its caseworker, or a coordinator), the same for a run that does not exist;
    NoSuchAnswer; AnswerRejected (bot.engine) when the question would not take the value. A
    value the answer already has changes nothing (`Correction.changed` False)."""
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        run, case, flow = await _handled_run(app, uow, who, run_id)
        key = _key(flow, key)
        number = question_keys(flow).index(key) + 1 if key in question_keys(flow) else 0
        state = RunState.from_dict(run.state)
        stored = await uow.rights.answer(run.id, key)
        if stored is None or key not in state.answers:
            raise NoSuchAnswer(key)
        try:
            sprint = app.engine.correct(state, key, value)
        except KeyError:
            raise NoSuchAnswer(key) from None
        old = stored.value
        new = sprint.state.answers[key]
        if type(old) is type(new) and old == new:
            return Correction(
                run.id, key, old, new, {}, (), False, number, run.flow_id, run.flow_version
            )
        scores: dict[str, float] = {}
        rules: list[str] = []
        child = await uow.children.of_run(run.id)
        for event in sprint.events:
            if isinstance(event, AnswerRecorded):
                # The row keeps when it was answered: the correction's moment is in the log.
                stored.value = event.value
            elif isinstance(event, ScoreComputed):
                await uow.scores.record(run.id, event.name, event.value, now)
                scores[event.name] = event.value
            elif isinstance(event, FlagRaised):
                await raise_flag_of(app, uow, who, run, event, child, now)
                rules.append(event.rule_id)
        await uow.runs.update(
            run, step=run.step, state=sprint.state.to_dict(), status=run.status, now=now
        )
        changed: list[JSONValue] = [*sorted(scores)]
        raised: list[JSONValue] = [*rules]
        detail: dict[str, JSONValue] = {"run": run.id, "key": key, "scores": changed}
        detail["flags"] = raised
        await audit.record(
            uow,
            who,
            "answer_corrected",
            at=now,
            case_id=case.id,
            note=json.dumps(old, ensure_ascii=False),
            detail=detail,
        )
        return Correction(
            run.id, key, old, new, scores, tuple(rules), True, number, run.flow_id, run.flow_version
        )
