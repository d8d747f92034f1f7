"""Running a flow: `start` and `resume` turn a run state and an input into a sprint.

One `transitions` machine is built per flow version (states are step ids, one `proceed`
trigger per route, guarded by the route's condition in order). A conversation is a small
model whose state is restored from the stored `RunState`, moved by the machine, and
dropped again: nothing per person lives in memory between updates. The engine sends and
stores nothing; it returns the events the channel must carry out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from transitions import Machine

from .conditions import compute_scores, evaluate, evidence
from .events import (
    AnswerRecorded,
    Ask,
    Choose,
    Event,
    FlagRaised,
    Input,
    Invalid,
    NonText,
    Option,
    Reply,
    RunEnded,
    RunState,
    Say,
    ScoreComputed,
    Sprint,
    Text,
    Value,
)
from .loader import FlowRegistry
from .model import (
    ChoiceStep,
    Flow,
    NumberStep,
    Question,
    ScaleStep,
    TextStep,
    YesNoStep,
    placeholders,
)

# Default validation messages, used when a step declares no `invalid` text of its own.
CHOOSE_AN_OPTION = Text("Please choose one of the options.")
ANSWER_A_NUMBER = Text("Please answer with a number.")
ANSWER_A_WHOLE_NUMBER = Text("Please answer with a whole number.")
ANSWER_AS_TEXT = Text("Please write your answer as text.")
YES = Text("Yes")
NO = Text("No")


_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


class RunNotActive(Exception):
    """`resume` was called on a run that has already ended."""


class _Conversation:
    """The model the machine moves: the current step plus what conditions look at."""

    def __init__(self, answers: Mapping[str, Value], scores: Mapping[str, float]):
        self.answers = answers
        self.scores = scores


class _Rejected(Exception):
    def __init__(self, text: Text):
        self.text = text


class Engine:
    def __init__(self, registry: FlowRegistry):
        self.registry = registry
        self._machines: dict[tuple[str, int], Machine] = {}

    # --- public ---------------------------------------------------------------------------

    def start(self, flow_id: str, context: Mapping[str, Any] | None = None) -> Sprint:
        flow = self.registry.get(flow_id)
        state = RunState(flow_id=flow.id, version=flow.version, step=flow.start)
        return self._enter(flow, state, [], context or {})

    def resume(
        self, state: RunState, given: Input, context: Mapping[str, Any] | None = None
    ) -> Sprint:
        if state.status != "active":
            raise RunNotActive(f"run of {state.flow_id} has ended")
        context = context or {}
        flow = self.registry.get(state.flow_id, state.version)
        step = flow.step(state.step)
        try:
            value = _parse(step, given)
        except _Rejected as rejected:
            return Sprint(
                (Invalid(step.id, rejected.text), self._ask(flow, step, state, context)), state
            )

        answers = {**state.answers, step.key: value}
        events: list[Event] = [AnswerRecorded(step.id, step.key, value)]
        before = compute_scores(flow, state.answers)
        scores = compute_scores(flow, answers)
        events += [
            ScoreComputed(name, total)
            for name, total in scores.items()
            if before.get(name) != total
        ]
        raised = list(state.raised)
        for rule in flow.flags:
            if rule.id not in raised and evaluate(rule.when, answers, scores) is True:
                raised.append(rule.id)
                events.append(
                    FlagRaised(
                        rule.id,
                        rule.level,
                        Text(rule.reason),
                        evidence(rule.when, answers, scores),
                    )
                )
        state = RunState(flow.id, flow.version, step.id, answers, tuple(raised))
        following = self._proceed(flow, step.id, answers, scores)
        return self._enter(flow, _moved(state, following), events, context)

    def remind(self, state: RunState, context: Mapping[str, Any] | None = None) -> Sprint:
        """Ask the current question again, for someone coming back to it."""
        if state.status != "active":
            raise RunNotActive(f"run of {state.flow_id} has ended")
        flow = self.registry.get(state.flow_id, state.version)
        step = flow.step(state.step)
        return Sprint((self._ask(flow, step, state, context or {}, reminder=True),), state)

    def machine(self, flow: Flow) -> Machine:
        """The state machine of one flow version, built once and shared by all its runs."""
        ref = (flow.id, flow.version)
        if ref not in self._machines:
            self._machines[ref] = _build_machine(flow)
        return self._machines[ref]

    # --- moving through the flow ------------------------------------------------------------

    def _proceed(
        self, flow: Flow, step_id: str, answers: Mapping[str, Value], scores: Mapping[str, float]
    ) -> str:
        machine = self.machine(flow)
        conversation = _Conversation(answers, scores)
        machine.add_model(conversation, initial=step_id)
        try:
            if not conversation.proceed():  # the loader guarantees a fallback route
                raise RuntimeError(f"{flow.ref}: no route from step {step_id!r}")
            return conversation.state
        finally:
            machine.remove_model(conversation)

    def _enter(
        self, flow: Flow, state: RunState, events: list[Event], context: Mapping[str, Any]
    ) -> Sprint:
        """Show every step from `state.step` on until one waits for an answer or ends."""
        scores = compute_scores(flow, state.answers)
        while True:
            step = flow.step(state.step)
            if step.asks:
                events.append(self._ask(flow, step, state, context))
                return Sprint(tuple(events), state)
            events.append(Say(_flow_text(flow, step.text, context, scores)))
            if step.kind == "end":
                events.append(RunEnded(step.id))
                return Sprint(tuple(events), _moved(state, step.id, status="completed"))
            state = _moved(state, self._proceed(flow, step.id, state.answers, scores))

    def _ask(
        self,
        flow: Flow,
        step: Question,
        state: RunState,
        context: Mapping[str, Any],
        reminder: bool = False,
    ) -> Ask:
        scores = compute_scores(flow, state.answers)
        return Ask(
            step_id=step.id,
            kind=step.kind,
            key=step.key,
            text=_flow_text(flow, step.text, context, scores),
            options=_options(step),
            minimum=getattr(step, "min", None),
            maximum=getattr(step, "max", None),
            max_length=getattr(step, "max_length", None),
            reminder=reminder,
        )


def _build_machine(flow: Flow) -> Machine:
    machine = Machine(
        model=None,
        states=[step.id for step in flow.steps],
        initial=flow.start,
        auto_transitions=False,
        send_event=True,
    )
    for step in flow.steps:
        for route in step.next:
            conditions = [] if route.when is None else [_guard(route.when)]
            machine.add_transition("proceed", step.id, route.goto, conditions=conditions)
    return machine


def _guard(condition: Any) -> Any:
    def holds(event: Any) -> bool:
        model = event.model
        return evaluate(condition, model.answers, model.scores) is True

    return holds


def _moved(state: RunState, step_id: str, status: str = "active") -> RunState:
    return RunState(state.flow_id, state.version, step_id, state.answers, state.raised, status)


def _flow_text(
    flow: Flow, text: str, context: Mapping[str, Any], scores: Mapping[str, float]
) -> Text:
    params: dict[str, Any] = {}
    for name in placeholders(text):
        if name in flow.scores:
            # A score shows once all its answers are in; before that, a dash.
            params[name] = scores.get(name, "–")
        elif name in context:
            params[name] = context[name]
        else:
            # The loader allows only declared context names: a missing one is a host bug.
            raise KeyError(f"{flow.ref}: the host gave no value for {{{name}}}")
    return Text(text, params)


def describe_answer(flow: Flow, key: str, value: Value) -> tuple[Text, Text] | None:
    """The question a stored answer belongs to and the answer as the person saw it (an
    option's label, or the value itself), for showing evidence to a reviewer; None when the
    flow asks nothing under `key`."""
    step = flow.question_for(key)
    if step is None:
        return None
    for option in _options(step):
        if option.value == value and type(option.value) is type(value):
            return Text(step.text), option.label
    shown = value if isinstance(value, str | int | float) else repr(value)
    return Text(step.text), Text("{value}", {"value": shown})


def _options(step: Question) -> tuple[Option, ...]:
    if isinstance(step, YesNoStep):
        return (Option(True, YES), Option(False, NO))
    if isinstance(step, ChoiceStep | ScaleStep):
        return tuple(Option(option.value, Text(option.label)) for option in step.options)
    return ()


# --- reading an answer --------------------------------------------------------------------


def _parse(step: Question, given: Input) -> Value:
    if isinstance(step, ChoiceStep | ScaleStep | YesNoStep):
        return _parse_option(step, given)
    if isinstance(given, NonText | Choose):
        raise _Rejected(_invalid_text(step, _default_invalid(step)))
    text = given.text.strip()
    if isinstance(step, NumberStep):
        return _parse_number(step, text)
    if isinstance(step, TextStep):
        if not text:
            raise _Rejected(_invalid_text(step, ANSWER_AS_TEXT))
        if len(text) > step.max_length:
            too_long = Text(
                "Please keep your answer under {max_length} characters.", step.invalid_params()
            )
            raise _Rejected(_invalid_text(step, too_long))
        return text
    raise TypeError(f"not a question: {step.kind}")


def _parse_option(step: Question, given: Input) -> Value:
    options = _options(step)
    if isinstance(given, Choose):
        for option in options:
            if _same(option.value, given.value):
                return option.value
    elif isinstance(given, Reply):
        typed = given.text.strip()
        # A typed number is the option's position as shown ("1." first). Only identifier
        # values can be typed as such: a scale value "0" next to position "5" would be ambiguous.
        if _DIGITS.fullmatch(typed) and 1 <= int(typed) <= len(options):
            return options[int(typed) - 1].value
        for option in options:
            if isinstance(option.value, str) and typed.casefold() == option.value.casefold():
                return option.value
    raise _Rejected(_invalid_text(step, CHOOSE_AN_OPTION))


def _parse_number(step: NumberStep, text: str) -> int | float:
    # Both decimal separators occur among the families' languages; nothing else is a number
    # here (no "1_000", "1e3", "inf" or "nan", which float() would take).
    if not _NUMBER.fullmatch(text):
        raise _Rejected(_invalid_text(step, _default_invalid(step)))
    number = float(text.replace(",", "."))
    if step.integer and not number.is_integer():
        raise _Rejected(_invalid_text(step, ANSWER_A_WHOLE_NUMBER))
    low = step.min if step.min is not None else float("-inf")
    high = step.max if step.max is not None else float("inf")
    if not low <= number <= high:
        raise _Rejected(_invalid_text(step, _default_invalid(step)))
    return int(number) if step.integer else number


def _default_invalid(step: Question) -> Text:
    if isinstance(step, NumberStep):
        bounds = step.invalid_params()
        if step.min is not None and step.max is not None:
            return Text("Please answer with a number from {minimum} to {maximum}.", bounds)
        if step.min is not None:
            return Text("Please answer with a number of at least {minimum}.", bounds)
        if step.max is not None:
            return Text("Please answer with a number of at most {maximum}.", bounds)
        return ANSWER_A_WHOLE_NUMBER if step.integer else ANSWER_A_NUMBER
    if isinstance(step, TextStep):
        return ANSWER_AS_TEXT
    return CHOOSE_AN_OPTION


def _invalid_text(step: Question, default: Text) -> Text:
    """The step's own validation message when it has one; the specific default otherwise."""
    if step.invalid is None:
        return default
    params = step.invalid_params()
    return Text(step.invalid, {name: params.get(name) for name in placeholders(step.invalid)})


def _same(left: Value, right: Value) -> bool:
    return type(left) is type(right) and left == right
