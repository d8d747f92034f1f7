"""Correcting a wrong answer: the right to rectification, used by the case's caseworker.

A family tells their caseworker an answer was wrong (a mistyped number, the wrong button); the
caseworker (or a coordinator) corrects it. The new value is checked as the question checks an
answer (`Engine.correct`), the answer row and the run's stored state change together (the
engine and the case views read either), the scores are recomputed from the corrected answers,
and a rule that holds only now raises its flag as if the answer had been given so: a
correction can reveal a danger. Flags raised on the old answer stay as they are (they copied
their evidence): a person resolves them. The audit log keeps the old value, sealed in the
event's note, never in its detail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..app import Wegwijzer
from ..engine import AnswerRecorded, FlagRaised, RunState, ScoreComputed, Value
from ..engine.events import JSONValue
from ..rules.access import NotAllowed, handles_case
from ..rules.people import Participant
from . import audit
from .flags import raise_or_repeat

__all__ = ["Correction", "NoSuchAnswer", "correct_answer"]


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


async def correct_answer(
    app: Wegwijzer, who: Participant, run_id: int, key: str, value: str
) -> Correction:
    """Set a run's answer under `key` to `value` (typed as the question's option value, a
    number or text). NotAllowed unless `who` handles the run's case (its caseworker, or a
    coordinator), the same for a run that does not exist; NoSuchAnswer; AnswerRejected
    (bot.engine) when the question would not take the value."""
    now = app.clock()
    async with app.database.transaction() as uow:
        run = await uow.runs.get(run_id)
        case = await uow.cases.by_id(run.case_id) if run and run.case_id is not None else None
        if run is None or case is None or not handles_case(who, case):
            raise NotAllowed(run_id)
        state = RunState.from_dict(run.state)
        stored = await uow.rights.answer(run.id, key)
        if stored is None or key not in state.answers:
            raise NoSuchAnswer(key)
        try:
            sprint = app.engine.correct(state, key, value)
        except KeyError:
            raise NoSuchAnswer(key) from None
        old = stored.value
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
                about: dict[str, JSONValue] = {} if child is None else {"child": child.number}
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
                    evidence={**event.evidence, **about},
                    now=now,
                )
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
        return Correction(run.id, key, old, sprint.state.answers[key], scores, tuple(rules))
