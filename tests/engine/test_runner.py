"""The runner, one step kind at a time: what each kind asks, what it accepts, what it records,
and how it refuses an input that does not answer it (Invalid, the same Ask again, no change).
"""

from __future__ import annotations

import pytest

from bot.engine import (
    AnswerRecorded,
    Ask,
    Choose,
    Engine,
    Invalid,
    NonText,
    Option,
    Reply,
    RunEnded,
    RunNotActive,
    Say,
    ScoreComputed,
    Sprint,
    Text,
)

from .conftest import HEADER, one_question

CHOOSE_AN_OPTION = Text("Please choose one of the options.")
ANSWER_A_NUMBER = Text("Please answer with a number.")
ANSWER_A_WHOLE_NUMBER = Text("Please answer with a whole number.")
ANSWER_AS_TEXT = Text("Please write your answer as text.")


def answered(engine: Engine, given) -> Sprint:
    """Resume the run of `demo` (waiting at its question) with one input."""
    return engine.resume(engine.start("demo").state, given)


def assert_refused(engine: Engine, given, message: Text) -> None:
    """The input is refused: Invalid with `message`, the same Ask again, the state unchanged."""
    started = engine.start("demo")
    sprint = engine.resume(started.state, given)
    (ask,) = started.of(Ask)
    assert sprint.events == (Invalid(ask.step_id, message), ask)
    assert sprint.state == started.state
    assert sprint.of(AnswerRecorded) == []


def assert_recorded(sprint: Sprint, key: str, value) -> None:
    (recorded,) = sprint.of(AnswerRecorded)
    assert recorded == AnswerRecorded("q", key, value)
    assert type(recorded.value) is type(value)
    assert dict(sprint.state.answers) == {key: value}


# --- message ------------------------------------------------------------------------------

MESSAGES = (
    HEADER.replace("start: q", "start: hello")
    + """\
context: [name]
steps:
  - id: hello
    kind: message
    text: Hello {name}.
  - id: about
    kind: message
    text: Two short questions.
  - id: q
    kind: yes_no
    key: demo.ready
    text: Ready?
  - id: done
    kind: end
    text: Done.
"""
)


def test_message_steps_are_said_and_the_run_moves_on_to_the_question(build_engine):
    sprint = build_engine(MESSAGES).start("demo", {"name": "Amira"})

    assert sprint.events[:2] == (
        Say(Text("Hello {name}.", {"name": "Amira"})),
        Say(Text("Two short questions.")),
    )
    assert [type(event) for event in sprint.events] == [Say, Say, Ask]
    assert sprint.state.step == "q"
    assert sprint.state.status == "active"
    assert not sprint.ended


# --- choice -------------------------------------------------------------------------------

CHOICE = one_question(
    """\
    - id: q
      kind: choice
      key: demo.colour
      text: Which colour?
      options:
        - {value: red, label: Red}
        - {value: green, label: Green}
        - {value: light_blue, label: Light blue}
    """
)


def test_choice_asks_with_its_options_in_order(build_engine):
    (ask,) = build_engine(CHOICE).start("demo").of(Ask)

    assert ask == Ask(
        step_id="q",
        kind="choice",
        key="demo.colour",
        text=Text("Which colour?"),
        options=(
            Option("red", Text("Red")),
            Option("green", Text("Green")),
            Option("light_blue", Text("Light blue")),
        ),
    )


@pytest.mark.parametrize(
    ("given", "value"),
    [
        (Choose("green"), "green"),
        (Reply("2"), "green"),
        (Reply(" 3 "), "light_blue"),
        (Reply("green"), "green"),
        (Reply("LIGHT_BLUE"), "light_blue"),
    ],
    ids=["choose-value", "reply-number", "reply-number-padded", "reply-value", "reply-casefold"],
)
def test_choice_accepts_the_value_or_the_option_number(build_engine, given, value):
    sprint = answered(build_engine(CHOICE), given)

    assert_recorded(sprint, "demo.colour", value)
    assert sprint.events[1:] == (Say(Text("Done.")), RunEnded("done"))


@pytest.mark.parametrize(
    "given",
    [Choose("purple"), Choose("Green"), Reply("0"), Reply("4"), Reply("-1"), Reply("Green!")],
    ids=["unknown-value", "label-not-value", "number-0", "number-past-end", "negative", "junk"],
)
def test_choice_refuses_what_is_not_an_option(build_engine, given):
    assert_refused(build_engine(CHOICE), given, CHOOSE_AN_OPTION)


def test_choice_refusal_uses_the_steps_own_message(build_engine):
    flow = CHOICE.replace("text: Which colour?", "text: Which colour?\n    invalid: Pick one.")

    assert_refused(build_engine(flow), Choose("purple"), Text("Pick one."))


def test_choice_refuses_a_superscript_digit_instead_of_crashing(build_engine):
    assert_refused(build_engine(CHOICE), Reply("²"), CHOOSE_AN_OPTION)


# --- scale --------------------------------------------------------------------------------

SCALE = (
    HEADER
    + """\
scores:
  mood_total: {sum: [demo.mood]}
steps:
  - id: q
    kind: scale
    key: demo.mood
    text: How are you?
    options:
      - {value: 3, label: Great}
      - {value: 2, label: Good}
      - {value: 1, label: Poor}
      - {value: 0, label: Bad}
    next:
      - when: {answer: demo.mood, ge: 3}
        goto: great
      - when: {answer: demo.mood, gt: 1}
        goto: good
      - when: {score: mood_total, le: 0}
        goto: bad
      - when: {answer: demo.mood, lt: 2}
        goto: poor
      - goto: unexpected
  - id: great
    kind: end
    text: Great.
  - id: good
    kind: end
    text: Good.
  - id: poor
    kind: end
    text: Poor.
  - id: bad
    kind: end
    text: "Bad, score {mood_total}."
  - id: unexpected
    kind: end
    text: Unexpected.
"""
)


@pytest.mark.parametrize(("value", "end"), [(3, "great"), (2, "good"), (1, "poor"), (0, "bad")])
def test_scale_values_drive_ordering_conditions_and_scores(build_engine, value, end):
    sprint = answered(build_engine(SCALE), Choose(value))

    assert_recorded(sprint, "demo.mood", value)
    assert sprint.of(ScoreComputed) == [ScoreComputed("mood_total", value)]
    assert sprint.of(RunEnded) == [RunEnded(end)]


def test_scale_score_fills_a_placeholder_in_a_later_text(build_engine):
    sprint = answered(build_engine(SCALE), Reply("4"))

    assert sprint.of(Say) == [Say(Text("Bad, score {mood_total}.", {"mood_total": 0}))]


def test_a_typed_number_on_a_scale_is_only_an_option_position(build_engine):
    # The channel shows options numbered from 1, so "1" is the first option (value 3), not
    # the option whose value is 1. A typed "0" is no position; reading it as the value 0
    # would make typed digits mean two different things on one question, so it is refused.
    engine = build_engine(SCALE)

    assert_recorded(answered(engine, Reply("1")), "demo.mood", 3)
    assert_refused(engine, Reply("0"), CHOOSE_AN_OPTION)


@pytest.mark.parametrize(
    "given",
    [Choose(True), Choose(5), Choose("3"), Choose(3.0), Reply("5")],
    ids=["true-is-not-1", "not-an-option", "string", "float", "number-past-end"],
)
def test_scale_refuses_values_that_are_not_exactly_an_options_value(build_engine, given):
    assert_refused(build_engine(SCALE), given, CHOOSE_AN_OPTION)


# --- yes_no -------------------------------------------------------------------------------

YES_NO = one_question(
    """\
    - id: q
      kind: yes_no
      key: demo.agree
      text: Do you agree?
    """
)


def test_yes_no_offers_yes_and_no(build_engine):
    (ask,) = build_engine(YES_NO).start("demo").of(Ask)

    assert ask.kind == "yes_no"
    assert ask.options == (Option(True, Text("Yes")), Option(False, Text("No")))


@pytest.mark.parametrize(
    ("given", "value"),
    [(Choose(True), True), (Choose(False), False), (Reply("1"), True), (Reply("2"), False)],
)
def test_yes_no_accepts_a_choice_or_the_option_number(build_engine, given, value):
    sprint = answered(build_engine(YES_NO), given)

    assert_recorded(sprint, "demo.agree", value)
    assert sprint.of(RunEnded) == [RunEnded("done")]


@pytest.mark.parametrize(
    "given",
    [Choose(1), Choose(0), Choose("yes"), Reply("3"), Reply("0")],
    ids=["one-is-not-true", "zero-is-not-false", "string", "number-past-end", "number-0"],
)
def test_yes_no_refuses_anything_but_true_or_false(build_engine, given):
    assert_refused(build_engine(YES_NO), given, CHOOSE_AN_OPTION)


# --- number -------------------------------------------------------------------------------

BOUNDED = one_question(
    """\
    - id: q
      kind: number
      key: demo.children
      text: How many children live with you?
      min: 0
      max: 10
    """
)
UNBOUNDED_WHOLE = one_question(
    """\
    - id: q
      kind: number
      key: demo.count
      text: How many?
    """
)
UNBOUNDED_DECIMAL = one_question(
    """\
    - id: q
      kind: number
      key: demo.hours
      text: How many hours?
      integer: false
    """
)
FROM_ZERO = one_question(
    """\
    - id: q
      kind: number
      key: demo.count
      text: How many?
      min: 0
    """
)
BETWEEN = Text(
    "Please answer with a number from {minimum} to {maximum}.", {"minimum": 0, "maximum": 10}
)


def test_number_asks_with_its_bounds(build_engine):
    (ask,) = build_engine(BOUNDED).start("demo").of(Ask)

    assert (ask.kind, ask.options, ask.minimum, ask.maximum) == ("number", (), 0, 10)


@pytest.mark.parametrize(("typed", "value"), [("0", 0), ("10", 10), (" 7 ", 7), ("3.0", 3)])
def test_number_accepts_whole_numbers_within_bounds(build_engine, typed, value):
    assert_recorded(answered(build_engine(BOUNDED), Reply(typed)), "demo.children", value)


@pytest.mark.parametrize(("typed", "value"), [("3,5", 3.5), ("3.5", 3.5), ("-2", -2.0)])
def test_number_accepts_decimals_with_comma_or_point_when_not_integer(build_engine, typed, value):
    assert_recorded(answered(build_engine(UNBOUNDED_DECIMAL), Reply(typed)), "demo.hours", value)


@pytest.mark.parametrize(
    ("flow", "typed", "message"),
    [
        (BOUNDED, "-1", BETWEEN),
        (BOUNDED, "11", BETWEEN),
        (BOUNDED, "3,5", ANSWER_A_WHOLE_NUMBER),
        (BOUNDED, "nan", BETWEEN),
        (BOUNDED, "inf", BETWEEN),
        (BOUNDED, "five", BETWEEN),
        (BOUNDED, "", BETWEEN),
        (UNBOUNDED_WHOLE, "3,5", ANSWER_A_WHOLE_NUMBER),
        (UNBOUNDED_WHOLE, "NaN", ANSWER_A_WHOLE_NUMBER),
        (UNBOUNDED_WHOLE, "-infinity", ANSWER_A_WHOLE_NUMBER),
        (UNBOUNDED_WHOLE, "1e999", ANSWER_A_WHOLE_NUMBER),
        (UNBOUNDED_WHOLE, "two", ANSWER_A_WHOLE_NUMBER),
        (UNBOUNDED_DECIMAL, "nan", ANSWER_A_NUMBER),
        (UNBOUNDED_DECIMAL, "inf", ANSWER_A_NUMBER),
        (UNBOUNDED_DECIMAL, "3,5,1", ANSWER_A_NUMBER),
        (UNBOUNDED_DECIMAL, "three", ANSWER_A_NUMBER),
    ],
)
def test_number_refuses_with_the_fitting_default_message(build_engine, flow, typed, message):
    assert_refused(build_engine(flow), Reply(typed), message)


def test_number_refusal_uses_the_steps_message_with_its_bounds(build_engine):
    flow = BOUNDED.replace(
        "max: 10", "max: 10\n    invalid: Between {minimum} and {maximum}, please."
    )
    message = Text("Between {minimum} and {maximum}, please.", {"minimum": 0, "maximum": 10})

    assert_refused(build_engine(flow), Reply("12"), message)
    assert_refused(build_engine(flow), Reply("1,5"), message)


def test_number_below_a_lone_minimum_is_refused_with_a_message_about_the_minimum(build_engine):
    sprint = answered(build_engine(FROM_ZERO), Reply("-3"))

    (invalid,) = sprint.of(Invalid)
    assert invalid.text != ANSWER_A_WHOLE_NUMBER
    assert invalid.text.params.get("minimum") == 0


# --- text ---------------------------------------------------------------------------------

TEXT = one_question(
    """\
    - id: q
      kind: text
      key: demo.note
      text: Anything else?
      max_length: 10
    """
)
TOO_LONG = Text("Please keep your answer under {max_length} characters.", {"max_length": 10})


def test_text_asks_with_its_maximum_length(build_engine):
    (ask,) = build_engine(TEXT).start("demo").of(Ask)

    assert (ask.kind, ask.options, ask.max_length) == ("text", (), 10)


@pytest.mark.parametrize(
    ("typed", "value"), [("all fine", "all fine"), ("  padded  ", "padded"), ("x" * 10, "x" * 10)]
)
def test_text_records_the_stripped_text_up_to_the_maximum_length(build_engine, typed, value):
    assert_recorded(answered(build_engine(TEXT), Reply(typed)), "demo.note", value)


@pytest.mark.parametrize(
    ("typed", "message"), [("", ANSWER_AS_TEXT), ("  \n ", ANSWER_AS_TEXT), ("x" * 11, TOO_LONG)]
)
def test_text_refuses_empty_and_too_long_answers(build_engine, typed, message):
    assert_refused(build_engine(TEXT), Reply(typed), message)


def test_text_refusal_uses_the_steps_message_with_its_maximum_length(build_engine):
    flow = TEXT.replace("max_length: 10", "max_length: 10\n    invalid: At most {max_length}.")
    message = Text("At most {max_length}.", {"max_length": 10})

    assert_refused(build_engine(flow), Reply("x" * 11), message)
    assert_refused(build_engine(flow), Reply(""), message)


def test_text_refuses_a_button_press(build_engine):
    assert_refused(build_engine(TEXT), Choose("all fine"), ANSWER_AS_TEXT)


# --- end ----------------------------------------------------------------------------------

ONLY_AN_END = (
    HEADER.replace("start: q", "start: hello")
    + """\
context: [when]
steps:
  - id: hello
    kind: message
    text: Hello.
  - id: bye
    kind: end
    text: See you {when}.
"""
)


def test_end_says_its_text_ends_the_run_and_completes_the_state(build_engine):
    sprint = build_engine(ONLY_AN_END).start("demo", {"when": "Monday"})

    assert sprint.events == (
        Say(Text("Hello.")),
        Say(Text("See you {when}.", {"when": "Monday"})),
        RunEnded("bye"),
    )
    assert sprint.state.step == "bye"
    assert sprint.state.status == "completed"
    assert sprint.ended


def test_resume_after_the_end_raises_run_not_active(build_engine):
    engine = build_engine(YES_NO)
    ended = answered(engine, Choose(True))
    assert ended.ended

    with pytest.raises(RunNotActive):
        engine.resume(ended.state, Choose(True))


# --- non-text input and reminders ---------------------------------------------------------


@pytest.mark.parametrize(
    ("flow", "message"),
    [
        (CHOICE, CHOOSE_AN_OPTION),
        (SCALE, CHOOSE_AN_OPTION),
        (YES_NO, CHOOSE_AN_OPTION),
        (BOUNDED, BETWEEN),
        (UNBOUNDED_DECIMAL, ANSWER_A_NUMBER),
        (TEXT, ANSWER_AS_TEXT),
    ],
    ids=["choice", "scale", "yes_no", "number", "decimal", "text"],
)
def test_a_photo_is_refused_by_every_question_kind(build_engine, flow, message):
    assert_refused(build_engine(flow), NonText("photo"), message)


def test_remind_asks_the_current_question_again_as_a_reminder(build_engine):
    engine = build_engine(CHOICE)
    started = engine.start("demo")
    (ask,) = started.of(Ask)

    reminded = engine.remind(started.state)

    assert reminded.events == (
        Ask(ask.step_id, ask.kind, ask.key, ask.text, ask.options, reminder=True),
    )
    assert reminded.state == started.state
    assert not ask.reminder


def test_remind_after_the_end_raises_run_not_active(build_engine):
    engine = build_engine(YES_NO)
    ended = answered(engine, Choose(True))

    with pytest.raises(RunNotActive):
        engine.remind(ended.state)
