"""Correcting a wrong answer, in every channel: a case's run, one of its answers, the new value.

`/correct CODE` lists the case's recent runs; a run's answers are shown as the family saw
them (the question and the chosen answer, translated); an answer's options are offered as
buttons, a number or a text is asked for as the person's next message. A pressed option asks
to confirm (old → new), as a button is easily pressed by mistake; the confirmation, a typed
value and the typed `/correct RUN ANSWER VALUE` correct at once. Each step is decided again by
the service from the database (`bot.services.corrections`): a button names only ids, and a run
that is not the person's to correct gets one neutral answer, whoever asks and however. A
correction pressed again finds the answer already so and says that.
"""

from __future__ import annotations

from ..engine import AnswerRejected, Flow, Text, Value, describe_answer
from ..engine.model import ChoiceStep, ScaleStep, YesNoStep
from ..engine.runner import NO, YES
from ..rules.access import NotAllowed
from ..rules.people import Participant
from ..services import texts
from ..services.corrections import (
    TYPED_VALUE,
    AnswerToCorrect,
    Correction,
    NoSuchAnswer,
    RunToCorrect,
    answer_to_correct,
    answers_to_correct,
    correct_answer,
    runs_to_correct,
)
from ..services.flags import stop_waiting
from .exchange import Exchange, Typed
from .intents import Correct
from .outputs import Button, Joined, Line

__all__ = ["cancel_typed_value", "correct", "take_typed_value", "waits_for_value"]

# The answers' numbers, as buttons: this many a row.
NUMBERS_A_ROW = 6


async def correct(x: Exchange, wanted: Correct) -> None:
    if wanted.run_id is None:
        if wanted.case is None:
            await x.say(texts.CORRECT_USAGE)
        else:
            await _runs(x, wanted.case)
        return
    try:
        if not wanted.answer:
            await _answers(x, wanted.run_id)
        elif not wanted.value:
            await _answer(x, wanted.run_id, wanted.answer)
        elif not wanted.confirmed:
            await _confirm(x, wanted)
        else:
            await _correct(x, wanted.run_id, wanted.answer, wanted.value)
    except (NotAllowed, NoSuchAnswer):
        await x.answer(texts.NOT_AN_ANSWER_TO_CORRECT, alert=True)


async def _runs(x: Exchange, code: str) -> None:
    try:
        found = await runs_to_correct(x.app, x.member(), code, x.once)
    except NotAllowed:
        await x.say(texts.NOT_YOUR_CASE.using(case=code))
        return
    if not found:
        await x.say(texts.NO_ANSWERS_TO_CORRECT.using(case=code.upper()))
        return
    rows = tuple((Button(_run_label(run), Correct(None, run.run_id)),) for run in found)
    await x.say(texts.CHOOSE_RUN_TO_CORRECT.using(case=found[0].case_code), buttons=rows)


async def _answers(x: Exchange, run_id: int) -> None:
    """A run's answers, numbered, each as the question and the answer; a button per number
    (a question's text is too long for a button's label)."""
    listed = await answers_to_correct(x.app, x.member(), run_id, x.once)
    run = listed.run
    heading = texts.CHOOSE_ANSWER_TO_CORRECT.using(
        flow=Text(run.flow.title), date=run.started_at, case=run.case_code
    )
    lines: list[Line] = [heading]
    lines += [_answer_line(run.flow, each) for each in listed.answers]
    buttons = [
        Button(str(each.number), Correct(None, run.run_id, str(each.number)))
        for each in listed.answers
    ]
    rows = tuple(
        tuple(buttons[start : start + NUMBERS_A_ROW])
        for start in range(0, len(buttons), NUMBERS_A_ROW)
    )
    await x.say(*lines, buttons=rows)


async def _answer(x: Exchange, run_id: int, answer: str) -> None:
    """One answer: its question's options to choose from, or the new value asked for."""
    run, found = await answer_to_correct(x.app, x.member(), run_id, answer, x.once, ask_typed=True)
    options = _options(found)
    lines = _about(run.flow, found)
    if not options:  # a number or a text: typed as the next message
        await x.say(*lines, texts.TYPE_RIGHT_ANSWER)
        return
    number = str(found.number)
    rows = tuple(
        (Button(label, Correct(None, run.run_id, number, value, confirmed=0)),)
        for value, label in options
    )
    back = Button(texts.BACK_TO_ANSWERS, Correct(None, run.run_id))
    await x.say(*lines, texts.CHOOSE_RIGHT_ANSWER, buttons=(*rows, (back,)))


async def _confirm(x: Exchange, wanted: Correct) -> None:
    """A pressed option: old → new, to confirm."""
    assert wanted.run_id is not None
    run, found = await answer_to_correct(x.app, x.member(), wanted.run_id, wanted.answer, x.once)
    chosen = next((label for value, label in _options(found) if value == wanted.value), None)
    if chosen is None:  # not an option of this question: a forged or mistaken button
        raise NoSuchAnswer(wanted.answer)
    old = _shown(run.flow, found.key, found.value)
    if _named(found) == wanted.value:
        await x.say(texts.ALREADY_THE_ANSWER.using(answer=old))
        return
    number = str(found.number)
    rows = (
        (Button(texts.YES_CORRECT, Correct(None, run.run_id, number, wanted.value)),),
        (Button(texts.BACK_TO_ANSWERS, Correct(None, run.run_id)),),
    )
    confirm = texts.CONFIRM_CORRECTION.using(old=old, new=chosen)
    await x.say(*_about(run.flow, found)[:1], confirm, buttons=rows)


async def _correct(x: Exchange, run_id: int, answer: str, value: str) -> None:
    """Correct it now; a value the question would not take changes nothing, and says why."""
    try:
        done = await correct_answer(x.app, x.member(), run_id, answer, value, x.once)
    except AnswerRejected as rejected:
        await x.say(texts.CORRECTION_REFUSED.using(reason=rejected.text))
        return
    await _corrected(x, done)


async def _corrected(x: Exchange, done: Correction) -> None:
    flow = x.app.flows.get(done.flow_id, done.flow_version)
    question = flow.question_for(done.key)
    if not done.changed:
        await x.say(texts.ALREADY_THE_ANSWER.using(answer=_shown(flow, done.key, done.new)))
        return
    lines: list[Line] = [
        texts.CORRECT_QUESTION.using(question=Text(question.text if question else done.key)),
        texts.ANSWER_CORRECTED.using(
            old=_shown(flow, done.key, done.old), new=_shown(flow, done.key, done.new)
        ),
    ]
    lines += [
        texts.SCORE_NOW.using(score=name, value=_number(value))
        for name, value in sorted(done.scores.items())
    ]
    rules = {rule.id: rule for rule in flow.flags}
    lines += [
        texts.CORRECTION_RAISED_FLAG.using(
            level=texts.LEVELS.get(rules[rule].level, Text(rules[rule].level)),
            reason=Text(rules[rule].reason),
        )
        for rule in done.flags
        if rule in rules
    ]
    back = Button(texts.BACK_TO_ANSWERS, Correct(None, done.run_id))
    await x.say(*lines, buttons=((back,),))


# --- the value typed as the next message ----------------------------------------------------


def waits_for_value(who: Participant) -> bool:
    """Whether the person's next message is the new value of an answer."""
    return (who.awaiting or {}).get("action") == TYPED_VALUE


async def take_typed_value(x: Exchange) -> None:
    """The new value typed after choosing an answer: corrected, or — not taken by the
    question — said why, and asked again."""
    who = x.member()
    awaiting = who.awaiting or {}
    run_id, key = awaiting.get("run_id"), awaiting.get("key")
    said = x.incoming.said
    if not isinstance(said, Typed):
        await x.say(texts.ONLY_TEXT)
        return
    if not isinstance(run_id, int) or not isinstance(key, str):
        await stop_waiting(x.app, who)
        await x.say(texts.NOT_AN_ANSWER_TO_CORRECT)
        return
    try:
        done = await correct_answer(x.app, who, run_id, key, said.text, x.once)
    except AnswerRejected as rejected:
        await x.say(texts.CORRECTION_REFUSED.using(reason=rejected.text), texts.TYPE_RIGHT_ANSWER)
        return
    except (NotAllowed, NoSuchAnswer):
        await stop_waiting(x.app, who)
        await x.say(texts.NOT_AN_ANSWER_TO_CORRECT)
        return
    await stop_waiting(x.app, who)
    await _corrected(x, done)


async def cancel_typed_value(x: Exchange) -> None:
    await x.reply_once()
    await stop_waiting(x.app, x.member())
    await x.say(texts.CORRECTION_CANCELLED)


# --- how runs and answers are shown ---------------------------------------------------------


def _run_label(run: RunToCorrect) -> Text:
    return texts.RUN_LABEL.using(flow=Text(run.flow.title), date=run.started_at)


def _answer_line(flow: Flow, answer: AnswerToCorrect) -> Joined:
    question, shown = Text(answer.question.text), _shown(flow, answer.key, answer.value)
    return Joined(f"{answer.number}. ", question, " — ", shown)


def _about(flow: Flow, answer: AnswerToCorrect) -> list[Line]:
    return [
        texts.CORRECT_QUESTION.using(question=Text(answer.question.text)),
        texts.CORRECT_ANSWER_NOW.using(answer=_shown(flow, answer.key, answer.value)),
    ]


def _shown(flow: Flow, key: str, value: Value) -> Text:
    """An answer as the family saw it: the option's label, or the value itself."""
    described = describe_answer(flow, key, value)
    if described is None:
        return Text("{value}", {"value": str(value)})
    return described[1]


def _options(answer: AnswerToCorrect) -> list[tuple[str, Text]]:
    """A question's options as a correction names them (`Engine.correct`), with their
    labels; none for a number or a text."""
    question = answer.question
    if isinstance(question, YesNoStep):
        return [("yes", YES), ("no", NO)]
    if isinstance(question, ChoiceStep | ScaleStep):
        return [(str(option.value), Text(option.label)) for option in question.options]
    return []


def _named(answer: AnswerToCorrect) -> str:
    """The stored answer as a correction names it (the value of its option)."""
    if isinstance(answer.question, YesNoStep):
        return "yes" if answer.value is True else "no"
    return str(answer.value)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
