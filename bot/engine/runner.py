"""Running a flow: `start` and `resume` turn a run state and an input into a sprint.

One `transitions` machine is built per flow version (states are step ids, one `proceed`
trigger per route, guarded by the route's condition in order). A conversation is a small
model whose state is restored from the stored `RunState`, moved by the machine, and
dropped again: nothing per person lives in memory between updates. The engine sends and
stores nothing; it returns the events the channel must carry out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from transitions import Machine
from transitions.core import EventData

from .conditions import compute_results, compute_scores, evaluate, evidence, items_for
from .events import (
    AnswerRecorded,
    Ask,
    CaseUpdated,
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
    RunStatus,
    Say,
    ScoreComputed,
    Sprint,
    Text,
    Value,
)
from .loader import FlowRegistry
from .model import (
    NOTE_MAX_LENGTH,
    STATUS_LABELS,
    ChecklistStep,
    ChoiceStep,
    Condition,
    EndStep,
    Flow,
    MessageStep,
    NumberStep,
    Question,
    ScaleStep,
    TextStep,
    YesNoStep,
    placeholders,
)
from .vocabulary import CASE_FACTS, ITEM_STATUSES

# Default validation messages, used when a step declares no `invalid` text of its own.
CHOOSE_AN_OPTION = Text("Please choose one of the options.")
ANSWER_A_NUMBER = Text("Please answer with a number.")
ANSWER_A_WHOLE_NUMBER = Text("Please answer with a whole number.")
ANSWER_AS_TEXT = Text("Please write your answer as text.")
YES = Text("Yes")
NO = Text("No")

# A checklist: its list, then per item its status and a note.
FINISH = "finish"
SKIP = "skip"
FINISH_LIST = Text("Finished with this list")
SKIP_NOTE = Text("Skip")
ITEM_BUTTON = Text("{mark} {item}")
ESSENTIAL_ITEM = Text("{item} (essential)")
ITEM_NOTE = Text("    note: {note}")
ITEM_STATUS_QUESTION = Text("{item}\n\nWhat is its status now?")
ITEM_NOTE_QUESTION = Text("Add a note on “{item}”? Type it, or press Skip.")
ITEM_WHY_NOT_APPLICABLE = Text("Why does “{item}” not apply here? Please type a short note.")
WRITE_WHY_NOT_APPLICABLE = Text("Please type why this item does not apply.")
ESSENTIALS_MISSING = Text("These essential items are not done yet:")
MARKS = {"done": "✅", "not_yet": "⬜", "not_applicable": "➖", None: "⬜"}
# Under its item a note is shown cut to this length.
NOTE_SHOWN = 120
TOO_LONG = Text("Please keep your answer under {max_length} characters.")


_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


class RunNotActive(Exception):
    """`resume` was called on a run that has already ended."""


class AnswerRejected(ValueError):
    """A corrected answer the question would not take; `text` says why, translatable."""

    def __init__(self, text: Text):
        super().__init__(text.msgid)
        self.text = text


# The values a host gives flows for their {placeholders} (dates, numbers, words).
Context = Mapping[str, object]
# What a run's case is, for `case:` conditions.
CaseFacts = Mapping[str, str | None]


class _Conversation:
    """The model the machine moves: the current step plus what conditions look at."""

    # Kept by the `transitions` machine the model is added to (with its `proceed` trigger).
    state: str

    def __init__(self, flow: Flow, state: RunState):
        self.answers = state.answers
        self.scores = compute_scores(flow, state.answers)
        self.results = compute_results(flow, state.answers, self.scores, state.case)
        self.case = state.case

    def holds(self, condition: Condition) -> bool:
        return evaluate(condition, self.answers, self.scores, self.results, self.case) is True


class _Rejected(Exception):
    def __init__(self, text: Text):
        self.text = text


class Engine:
    def __init__(self, registry: FlowRegistry):
        self.registry = registry
        self._machines: dict[tuple[str, int], Machine] = {}

    # --- public ---------------------------------------------------------------------------

    def start(
        self,
        flow_id: str,
        context: Context | None = None,
        case: CaseFacts | None = None,
        remembered: Mapping[str, Value] | None = None,
    ) -> Sprint:
        """Start a run. `case` is what the run's case is (programme, country, stage,
        risk_level) for `case:` conditions; `remembered` the case's last answers under the
        keys that belong to the case rather than to one run (a checklist's statuses)."""
        flow = self.registry.get(flow_id)
        keep = set(flow.remembered_keys())
        known = {key: value for key, value in (remembered or {}).items() if key in keep}
        state = RunState(
            flow_id=flow.id, version=flow.version, step=flow.start, answers=known, case=case or {}
        )
        return self._enter(flow, state, [], context or {})

    def resume(self, state: RunState, given: Input, context: Context | None = None) -> Sprint:
        context = context or {}
        flow, step = self._waiting(state)
        try:
            if isinstance(step, ChecklistStep):
                return self._checklist(flow, step, state, given, context)
            value = _parse(step, given)
        except _Rejected as rejected:
            return Sprint(
                (Invalid(step.id, rejected.text), self._ask(flow, step, state, context)), state
            )
        events: list[Event] = []
        state = self._take(flow, state, step.id, {step.key: value}, events)
        return self._enter(flow, _moved(state, self._proceed(flow, state)), events, context)

    def remind(self, state: RunState, context: Context | None = None) -> Sprint:
        """Ask the current question again, for someone coming back to it."""
        return Sprint((self.question(state, context),), state)

    def question(self, state: RunState, context: Context | None = None) -> Ask:
        """The question an active run waits for, as it is asked again."""
        flow, step = self._waiting(state)
        return self._ask(flow, step, state, context or {}, reminder=True)

    def correct(self, state: RunState, key: str, typed: str) -> Sprint:
        """A run's answer under `key` set to `typed`, checked as its question checks it: an
        option's value ("not_always", "3", "yes"/"no" for a yes-no question), a number within
        the bounds, or text within the length. The run stays where it is (a route it took on
        the old answer is not taken again); the sprint records the answer, the scores it
        changes and the flags whose rules hold now and had not been raised yet.

        KeyError when the run has no answer under `key` that a question asks;
        AnswerRejected when the question would not take the value."""
        flow = self.registry.get(state.flow_id, state.version)
        step = flow.question_for(key)
        if step is None or key not in state.answers or isinstance(step, ChecklistStep):
            raise KeyError(key)
        try:
            if isinstance(step, ChoiceStep | ScaleStep | YesNoStep):
                value = _corrected_option(step, typed)
            else:
                value = _parse(step, Reply(typed))
        except _Rejected as rejected:
            raise AnswerRejected(rejected.text) from None
        events: list[Event] = []
        corrected = self._take(flow, state, step.id, {key: value}, events)
        return Sprint(tuple(events), corrected)

    def _waiting(self, state: RunState) -> tuple[Flow, Question]:
        """The flow and the question an active run waits at."""
        if state.status != "active":
            raise RunNotActive(f"run of {state.flow_id} has ended")
        flow = self.registry.get(state.flow_id, state.version)
        step = flow.step(state.step)
        if not isinstance(step, Question):
            raise RunNotActive(f"run of {state.flow_id} waits at no question ({state.step})")
        return flow, step

    def machine(self, flow: Flow) -> Machine:
        """The state machine of one flow version, built once and shared by all its runs."""
        ref = (flow.id, flow.version)
        if ref not in self._machines:
            self._machines[ref] = _build_machine(flow)
        return self._machines[ref]

    # --- moving through the flow ------------------------------------------------------------

    def _take(
        self,
        flow: Flow,
        state: RunState,
        step_id: str,
        recorded: Mapping[str, Value],
        events: list[Event],
    ) -> RunState:
        """Add answers to the run: record them, and the scores and flags they complete."""
        answers = {**state.answers, **recorded}
        events += [AnswerRecorded(step_id, key, value) for key, value in recorded.items()]
        before = compute_scores(flow, state.answers)
        scores = compute_scores(flow, answers)
        events += [
            ScoreComputed(name, total)
            for name, total in scores.items()
            if before.get(name) != total
        ]
        results = compute_results(flow, answers, scores, state.case)
        raised = list(state.raised)
        for rule in flow.flags:
            if rule.id in raised:
                continue
            if evaluate(rule.when, answers, scores, results, state.case) is True:
                raised.append(rule.id)
                events.append(
                    FlagRaised(
                        rule.id,
                        rule.level,
                        Text(rule.reason),
                        evidence(rule.when, answers, scores),
                    )
                )
        return replace(state, answers=answers, raised=tuple(raised))

    def _proceed(self, flow: Flow, state: RunState) -> str:
        """The step the current one's routes lead to."""
        machine = self.machine(flow)
        conversation = _Conversation(flow, state)
        machine.add_model(conversation, initial=state.step)
        try:
            # The machine gave the model its trigger (transitions has no types for it).
            proceed: Callable[[], bool] = getattr(conversation, "proceed")  # noqa: B009
            if not proceed():  # the loader guarantees a fallback route
                raise RuntimeError(f"{flow.ref}: no route from step {state.step!r}")
            return conversation.state
        finally:
            machine.remove_model(conversation)

    def _enter(self, flow: Flow, state: RunState, events: list[Event], context: Context) -> Sprint:
        """Show every step from `state.step` on until one waits for an answer or ends."""
        while True:
            step = flow.step(state.step)
            if step.only_if is not None and not _Conversation(flow, state).holds(step.only_if):
                state = _moved(state, self._proceed(flow, state))
                continue
            if isinstance(step, Question):
                events.append(self._ask(flow, step, state, context))
                return Sprint(tuple(events), state)
            state = self._update_case(flow, step, state, events)
            events.append(Say(_flow_text(flow, step.text, context, state)))
            if step.kind == "end":
                events.append(RunEnded(step.id))
                return Sprint(tuple(events), _moved(state, step.id, status="completed"))
            state = _moved(state, self._proceed(flow, state))

    def _update_case(
        self, flow: Flow, step: MessageStep | EndStep, state: RunState, events: list[Event]
    ) -> RunState:
        """Carry out a step's `set_case`; a value not there (an unanswered question, an
        undecided result) is left out."""
        if not step.set_case:
            return state
        facts = _Conversation(flow, state)
        case = dict(state.case)
        for update in step.set_case:
            value: Value | None
            if update.value is not None:
                value = update.value
            elif update.answer is not None:
                value = state.answers.get(update.answer)
            else:
                value = facts.results.get(update.result or "")
            if not isinstance(value, str):
                continue
            reason = state.answers.get(update.reason) if update.reason else None
            events.append(
                CaseUpdated(
                    update.field,
                    value,
                    reason if isinstance(reason, str) else None,
                    dict(facts.results),
                    was=case.get(update.field),
                )
            )
            if update.field in CASE_FACTS:
                case[update.field] = value
        return replace(state, case=case)

    # --- checklists -----------------------------------------------------------------------

    def _checklist(
        self,
        flow: Flow,
        step: ChecklistStep,
        state: RunState,
        given: Input,
        context: Context,
    ) -> Sprint:
        """One input to a checklist: pick an item (or finish), set its status, add a note."""
        events: list[Event] = []
        kind, _, item_id = (state.part or "").partition(":")
        item = step.item(item_id)
        if item is None:  # the list itself
            invalid = _invalid_text(step, CHOOSE_AN_OPTION)
            chosen = _parse_choice(_checklist_options(step, state), given, invalid)
            if chosen != FINISH:
                return self._ask_next(flow, step, replace(state, part=f"status:{chosen}"), context)
            listed = items_for(step, state.case)
            complete = step.complete(state.answers, listed)
            state = self._take(flow, state, step.id, {step.complete_key: complete}, events)
            if not complete:
                missing = tuple(
                    ITEM_BUTTON.using(mark=MARKS[None], item=Text(item.label))
                    for item in listed
                    if item.essential and not step.settled(state.answers, item.id)
                )
                events.append(Say(ESSENTIALS_MISSING, missing))
            state = replace(state, part=None)
            return self._enter(flow, _moved(state, self._proceed(flow, state)), events, context)
        if kind == "status":
            status = _parse_choice(_status_options(), given, CHOOSE_AN_OPTION)
            state = self._take(flow, state, step.id, {step.status_key(item.id): status}, events)
            return self._ask_next(
                flow, step, replace(state, part=f"note:{item.id}"), context, events
            )
        # The note: typed, or skipped (not for an item that does not apply: that needs a why).
        needs_note = state.answers.get(step.status_key(item.id)) == "not_applicable"
        if not needs_note and _picks(given, (Option(SKIP, SKIP_NOTE),)):
            return self._ask_next(flow, step, replace(state, part=None), context)
        if needs_note and (not isinstance(given, Reply) or not given.text.strip()):
            raise _Rejected(WRITE_WHY_NOT_APPLICABLE)
        # Read like any free-text answer (empty, too long, a photo): the note's own question.
        question = flow.question_for(step.note_key(item.id))
        if question is None:
            raise RuntimeError(f"{flow.ref}: checklist {step.id} has no note for {item.id}")
        note = _parse(question, given)
        state = self._take(flow, state, step.id, {step.note_key(item.id): note}, events)
        return self._ask_next(flow, step, replace(state, part=None), context, events)

    def _ask_next(
        self,
        flow: Flow,
        step: ChecklistStep,
        state: RunState,
        context: Context,
        events: list[Event] | None = None,
    ) -> Sprint:
        asked = [*(events or []), self._ask(flow, step, state, context)]
        return Sprint(tuple(asked), state)

    def _ask(
        self,
        flow: Flow,
        step: Question,
        state: RunState,
        context: Context,
        reminder: bool = False,
    ) -> Ask:
        if isinstance(step, ChecklistStep):
            return _checklist_question(flow, step, state, context, reminder)
        return Ask(
            step_id=step.id,
            kind=step.kind,
            key=step.key,
            text=_flow_text(flow, step.text, context, state),
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
            guard = None if route.when is None else _guard(route.when)
            machine.add_transition("proceed", step.id, route.goto, conditions=guard)
    return machine


def _guard(condition: Condition) -> Callable[[EventData], bool]:
    def holds(event: EventData) -> bool:
        model = event.model
        if not isinstance(model, _Conversation):
            raise TypeError("a route's guard on a model that is not a conversation")
        return model.holds(condition)

    return holds


def _moved(state: RunState, step_id: str, status: RunStatus = "active") -> RunState:
    return replace(state, step=step_id, status=status, part=None)


def _flow_text(flow: Flow, text: str, context: Context, state: RunState) -> Text:
    params: dict[str, object] = {}
    used = placeholders(text)
    needs_facts = used & (set(flow.scores) | set(flow.results))
    facts = _Conversation(flow, state) if needs_facts else None
    for name in used:
        if facts is not None and name in flow.scores:
            # A score shows once all its answers are in; before that, a dash.
            params[name] = facts.scores.get(name, "–")
        elif facts is not None and name in flow.results:
            params[name] = _result_label(flow, name, facts.results.get(name))
        elif name in context:
            params[name] = context[name]
        else:
            # The loader allows only declared context names: a missing one is a host bug.
            raise KeyError(f"{flow.ref}: the host gave no value for {{{name}}}")
    return Text(text, params)


def _result_label(flow: Flow, name: str, value: str | None) -> Text | str:
    for rule in flow.results[name].rules:
        if rule.value == value:
            return Text(rule.label)
    return "–"


def _checklist_options(step: ChecklistStep, state: RunState) -> tuple[Option, ...]:
    items = tuple(
        Option(
            item.id,
            ITEM_BUTTON.using(
                mark=_mark(state.answers.get(step.status_key(item.id))), item=Text(item.label)
            ),
        )
        for item in items_for(step, state.case)
    )
    return (*items, Option(FINISH, FINISH_LIST))


def _status_options() -> tuple[Option, ...]:
    return tuple(
        Option(status, label) for status, label in zip(ITEM_STATUSES, STATUS_LABELS, strict=True)
    )


def _mark(status: Value | None) -> str:
    return MARKS.get(status if isinstance(status, str) else None, MARKS[None])


def _checklist_question(
    flow: Flow, step: ChecklistStep, state: RunState, context: Context, reminder: bool
) -> Ask:
    """The question a checklist waits for: its list, an item's status, or an item's note."""
    kind, _, item_id = (state.part or "").partition(":")
    item = step.item(item_id)
    if item is None:
        lines = []
        for each in items_for(step, state.case):
            label = Text(each.label)
            shown = ESSENTIAL_ITEM.using(item=label) if each.essential else label
            mark = _mark(state.answers.get(step.status_key(each.id)))
            lines.append(ITEM_BUTTON.using(mark=mark, item=shown))
            note = state.answers.get(step.note_key(each.id))
            if isinstance(note, str):
                cut = note if len(note) <= NOTE_SHOWN else note[: NOTE_SHOWN - 1] + "…"
                lines.append(ITEM_NOTE.using(note=cut))
        return Ask(
            step_id=step.id,
            kind="checklist",
            key=step.key,
            text=_flow_text(flow, step.text, context, state),
            options=_checklist_options(step, state),
            reminder=reminder,
            lines=tuple(lines),
        )
    position = step.items.index(item)
    label = Text(item.label)
    if kind == "status":
        return Ask(
            step_id=step.id,
            kind="choice",
            key=step.status_key(item.id),
            text=ITEM_STATUS_QUESTION.using(item=label),
            options=_status_options(),
            reminder=reminder,
            part=1 + 2 * position,
        )
    needs_note = state.answers.get(step.status_key(item.id)) == "not_applicable"
    return Ask(
        step_id=step.id,
        kind="text",
        key=step.note_key(item.id),
        text=(ITEM_WHY_NOT_APPLICABLE if needs_note else ITEM_NOTE_QUESTION).using(item=label),
        options=() if needs_note else (Option(SKIP, SKIP_NOTE),),
        max_length=NOTE_MAX_LENGTH,
        reminder=reminder,
        part=2 + 2 * position,
    )


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
            raise _Rejected(_invalid_text(step, TOO_LONG.using(**step.invalid_params())))
        return text
    raise TypeError(f"not a question: {step.kind}")


# How a corrected yes-no answer may be typed (the values themselves are true and false).
_YES_NO = {"yes": True, "true": True, "no": False, "false": False}


def _corrected_option(step: ChoiceStep | ScaleStep | YesNoStep, typed: str) -> Value:
    """The option a correction names by its value; a number is a value here, never a
    position (a scale's "3" is the answer 3, whichever place it has in the list)."""
    wanted = typed.strip().casefold()
    if isinstance(step, YesNoStep):
        if wanted in _YES_NO:
            return _YES_NO[wanted]
    else:
        for option in step.options:
            if str(option.value).casefold() == wanted:
                return option.value
    raise _Rejected(_invalid_text(step, CHOOSE_AN_OPTION))


def _parse_option(step: Question, given: Input) -> Value:
    return _parse_choice(_options(step), given, _invalid_text(step, CHOOSE_AN_OPTION))


def _picks(given: Input, options: tuple[Option, ...]) -> bool:
    """Whether the input picks one of these options (a button, "1", or the option's value)."""
    try:
        _parse_choice(options, given, CHOOSE_AN_OPTION)
    except _Rejected:
        return False
    return True


def _parse_choice(options: tuple[Option, ...], given: Input, invalid: Text) -> Value:
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
    raise _Rejected(invalid)


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
