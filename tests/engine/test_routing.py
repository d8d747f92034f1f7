"""Routes through a flow: conditional routes in order, the fallback, the `next: step` short
form, the step written next as the default, and conditions that are not yet known.
"""

from __future__ import annotations

import pytest

from bot.engine import Ask, Choose, Reply, RunEnded, Say, Text

from .conftest import HEADER

ORDERED = (
    HEADER
    + """\
steps:
  - id: q
    kind: choice
    key: demo.pick
    text: Pick one.
    options:
      - {value: a, label: A}
      - {value: b, label: B}
      - {value: c, label: C}
      - {value: d, label: D}
    next:
      - when: {answer: demo.pick, in: [a, b]}
        goto: first
      - when: {answer: demo.pick, in: [b, c]}
        goto: second
      - goto: fallback
  - id: first
    kind: end
    text: First.
  - id: second
    kind: end
    text: Second.
  - id: fallback
    kind: end
    text: Fallback.
"""
)


@pytest.mark.parametrize(
    ("value", "end"), [("a", "first"), ("b", "first"), ("c", "second"), ("d", "fallback")]
)
def test_the_first_route_whose_condition_holds_is_taken(build_engine, play, value, end):
    # "b" meets the first and the second condition: the first written wins.
    last = play(build_engine(ORDERED), "demo", [Choose(value)])[-1]

    assert last.of(RunEnded) == [RunEnded(end)]
    assert last.state.step == end


# `ask_a` routes; `ask_b` has no `next` (so the step written after it follows); `ask_c` uses
# the short form to jump over `near`, which only the fallback of `ask_a` leads to.
SHAPES = (
    HEADER.replace("start: q", "start: intro")
    + """\
steps:
  - id: intro
    kind: message
    text: Intro.
  - id: ask_a
    kind: yes_no
    key: demo.a
    text: A?
    next:
      - when: {answer: demo.a, equals: true}
        goto: ask_b
      - goto: near
  - id: ask_b
    kind: yes_no
    key: demo.b
    text: B?
  - id: ask_c
    kind: yes_no
    key: demo.c
    text: C?
    next: far
  - id: near
    kind: end
    text: Near.
  - id: far
    kind: end
    text: Far.
"""
)


def test_steps_without_next_continue_with_the_step_written_after_them(build_engine, play):
    sprints = play(build_engine(SHAPES), "demo", [Choose(True), Choose(True)])

    assert sprints[0].events[0] == Say(Text("Intro."))
    assert [ask.step_id for sprint in sprints for ask in sprint.of(Ask)] == [
        "ask_a",
        "ask_b",
        "ask_c",
    ]


def test_the_short_form_goes_to_the_named_step_not_the_next_one(build_engine, play):
    last = play(build_engine(SHAPES), "demo", [Choose(True), Choose(False), Choose(False)])[-1]

    assert last.of(RunEnded) == [RunEnded("far")]


def test_the_fallback_is_taken_when_no_condition_holds(build_engine, play):
    last = play(build_engine(SHAPES), "demo", [Choose(False)])[-1]

    assert last.of(RunEnded) == [RunEnded("near")]
    assert dict(last.state.answers) == {"demo.a": False}


# A message step routes on what was answered before it, with every kind of combination.
COMBINED = (
    HEADER
    + """\
steps:
  - id: q
    kind: yes_no
    key: demo.a
    text: A?
    next:
      - when: {answer: demo.a, equals: true}
        goto: ask_b
      - goto: ask_note
  - id: ask_b
    kind: yes_no
    key: demo.b
    text: B?
  - id: ask_note
    kind: yes_no
    key: demo.wants_note
    text: Leave a note?
    next:
      - when: {answer: demo.wants_note, equals: true}
        goto: note
      - goto: sort
  - id: note
    kind: text
    key: demo.note
    text: Your note.
  - id: sort
    kind: message
    text: Sorting.
    next:
      - when: {and: [{answer: demo.a, equals: true}, {answer: demo.b, equals: true}]}
        goto: both
      - when: {not: {answer: demo.b, equals: false}}
        goto: not_b_false
      - when: {or: [{answer: demo.note, answered: true}, {answer: demo.a, equals: true}]}
        goto: note_or_a
      - goto: nothing
  - id: both
    kind: end
    text: Both.
  - id: not_b_false
    kind: end
    text: B was not false.
  - id: note_or_a
    kind: end
    text: A note, or A.
  - id: nothing
    kind: end
    text: Nothing.
"""
)


@pytest.mark.parametrize(
    ("inputs", "end"),
    [
        # and: both true.
        ([Choose(True), Choose(True), Choose(False)], "both"),
        # and is false (b false); not(b == false) is false; or: a is true.
        ([Choose(True), Choose(False), Choose(False)], "note_or_a"),
        # b never asked: not(unknown) is unknown, so not taken; or(answered note) is true.
        ([Choose(False), Choose(True), Reply("hi")], "note_or_a"),
        # b never asked, no note, a false: every condition is false or unknown.
        ([Choose(False), Choose(False)], "nothing"),
    ],
    ids=["and", "or-after-false-and", "not-unknown-is-not-taken", "fallback"],
)
def test_combined_conditions_route_with_three_valued_logic(build_engine, play, inputs, end):
    last = play(build_engine(COMBINED), "demo", inputs)[-1]

    assert last.of(RunEnded) == [RunEnded(end)]


# A scale with value 1 next to a yes/no: `true` must never be taken for the scale's 1.
TRUE_IS_NOT_ONE = (
    HEADER
    + """\
steps:
  - id: q
    kind: yes_no
    key: demo.agree
    text: Agree?
  - id: level
    kind: scale
    key: demo.level
    text: Level?
    options:
      - {value: 1, label: High}
      - {value: 0, label: Low}
    next:
      - when: {answer: demo.level, equals: 1}
        goto: high
      - goto: low
  - id: high
    kind: end
    text: High.
  - id: low
    kind: end
    text: Low.
"""
)


def test_a_scale_value_1_is_not_true_and_true_is_not_1(build_engine, play):
    engine = build_engine(TRUE_IS_NOT_ONE)
    started = engine.start("demo")
    level = engine.resume(started.state, Choose(True))

    assert engine.resume(level.state, Choose(True)).of(Ask)[0].step_id == "level"
    assert play(engine, "demo", [Choose(True), Choose(1)])[-1].of(RunEnded) == [RunEnded("high")]
    assert play(engine, "demo", [Choose(True), Choose(0)])[-1].of(RunEnded) == [RunEnded("low")]
