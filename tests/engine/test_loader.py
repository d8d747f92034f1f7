"""The loader refuses every kind of broken flow with the file and the line of the problem.

One test per class of error. Each flow marks the line(s) where the error belongs with
`# <- here`; `expect_errors` checks that the errors are on exactly those lines, name the file,
and read `file:line: message`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import FlowLoadError, FlowRegistry, check_flows, load_flow_file, load_flows

from .conftest import FLOWS, HEADER, marked_lines

# --- the schema ---------------------------------------------------------------------------


def test_unknown_field_at_the_top_level(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        colour: blue  # <- here
        roles: [family]
        purpose: survey
        start: done
        steps:
          - {id: done, kind: end, text: Done.}
        """,
        "unknown field 'colour'",
    )


def test_unknown_field_in_a_step(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            colour: blue  # <- here
          - {id: done, kind: end, text: Done.}
        """,
        "unknown field 'steps.0.colour'",
    )


def test_unknown_field_in_an_option(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: choice
            key: demo.q
            text: Which?
            options:
              - {value: a, label: A}
              - value: b
                label: B
                colour: blue  # <- here
          - {id: done, kind: end, text: Done.}
        """,
        "unknown field 'steps.0.options.1.colour'",
    )


def test_unknown_field_in_a_condition(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        flags:
          - id: worried
            level: low
            reason: Worried.
            when:
              not:
                answer: demo.q
                equals: true
                colour: blue  # <- here
        steps:
          - {id: q, kind: yes_no, key: demo.q, text: Fine?}
          - {id: done, kind: end, text: Done.}
        """,
        "unknown field 'flags.0.when.not.colour'",
    )


def test_a_broken_item_in_a_list_is_one_error_not_two(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        flags:
          - id: worried
            level: low
            reason: Worried.
            when:
              and:
                - answer: demo.q
                  equals: false
                  colour: blue  # <- here
        steps:
          - {id: q, kind: yes_no, key: demo.q, text: Fine?}
          - {id: done, kind: end, text: Done.}
        """,
        "unknown field 'flags.0.when.and.0.colour'",
    )


def test_missing_field(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q  # <- here
            kind: yes_no
            text: Ready?
          - {id: done, kind: end, text: Done.}
        """,
        "missing field 'steps.0.key'",
    )


def test_missing_field_at_the_top_level_points_at_the_first_field(expect_errors):
    expect_errors(
        """\
        # A flow without a title.
        spec: 1  # <- here
        id: demo
        version: 1
        roles: [family]
        purpose: survey
        start: done
        steps:
          - {id: done, kind: end, text: Done.}
        """,
        "missing field 'title'",
    )


def test_missing_text_names_the_text_field(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q  # <- here
            kind: yes_no
            key: demo.q
          - {id: done, kind: end, text: Done.}
        """,
        "missing field 'steps.0.text'",
    )


def test_yaml_syntax_error(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
             kind: yes_no  # <- here
        """,
        "not valid YAML",
    )


def test_duplicate_mapping_key(expect_errors):
    errors = expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            text: Steady?  # <- here
          - {id: done, kind: end, text: Done.}
        """,
        "not valid YAML",
    )
    assert 'duplicate key "text"' in errors[0].message


def test_unknown_role(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles:
          - family
          - neighbour  # <- here
        purpose: survey
        start: done
        steps:
          - {id: done, kind: end, text: Done.}
        """,
        "roles.1",
    )


def test_unknown_step_kind(expect_errors):
    errors = expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q  # <- here
            kind: slider
            key: demo.q
            text: How much?
          - {id: done, kind: end, text: Done.}
        """,
        "steps.0",
    )
    assert "'slider'" in errors[0].message


def test_spec_version_other_than_1(expect_errors):
    expect_errors(
        """\
        spec: 2  # <- here
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: done
        steps:
          - {id: done, kind: end, text: Done.}
        """,
        "spec",
    )


def test_number_with_min_above_max(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q  # <- here
            kind: number
            key: demo.q
            text: How many?
            min: 10
            max: 1
          - {id: done, kind: end, text: Done.}
        """,
        "'min' is greater than 'max'",
    )


TOO_LONG_TEXT = """\
spec: 1
id: demo
version: 1
title: Demo
roles: [family]
purpose: survey
start: q
steps:
  - id: q
    kind: text
    key: demo.q
    text: Tell us.
    max_length: 4097  # <- here
  - {id: done, kind: end, text: Done.}
"""


def test_text_longer_than_a_telegram_message_is_refused(write_flow):
    path = write_flow(TOO_LONG_TEXT)

    flow, (error,) = load_flow_file(path)

    assert flow is None
    assert error.file == str(path)
    assert error.message == "steps.0.max_length: Input should be less than or equal to 4096"


def test_text_longer_than_a_telegram_message(expect_errors):
    expect_errors(TOO_LONG_TEXT, "steps.0.max_length")


def test_a_max_length_of_exactly_4096_is_allowed(build_flow):
    flow = build_flow(
        HEADER
        + """\
steps:
  - {id: q, kind: text, key: demo.q, text: Tell us., max_length: 4096}
  - {id: done, kind: end, text: Done.}
"""
    )

    assert flow.step("q").max_length == 4096


@pytest.mark.parametrize(
    "when",
    ["{answer: demo.q, equals: true, in: [true]}", "{answer: demo.q}"],
    ids=["two-operators", "no-operator"],
)
def test_malformed_condition(expect_errors, when):
    expect_errors(
        f"""\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            next:
              - when: {when}  # <- here
                goto: done
              - goto: done
          - {{id: done, kind: end, text: Done.}}
        """,
        "a comparison needs exactly one of",
    )


def test_condition_with_two_subjects(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        flags:
          - id: odd
            level: low
            reason: Odd.
            when: {answer: demo.q, score: total, equals: 1}  # <- here
        scores:
          total: {sum: [demo.q]}
        steps:
          - {id: q, kind: number, key: demo.q, text: How many?}
          - {id: done, kind: end, text: Done.}
        """,
        "a condition needs exactly one of",
    )


# --- uniqueness ---------------------------------------------------------------------------


def test_duplicate_step_id(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - {id: q, kind: yes_no, key: demo.q, text: Ready?}
          - {id: done, kind: end, text: Done.}
          - id: done  # <- here
            kind: end
            text: Done again.
        """,
        "duplicate step id 'done'",
    )


def test_duplicate_answer_key(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - {id: q, kind: yes_no, key: demo.q, text: Ready?}
          - id: again
            kind: yes_no
            key: demo.q  # <- here
            text: Still ready?
          - {id: done, kind: end, text: Done.}
        """,
        "answer key 'demo.q' is also used by step 'q'",
    )


def test_duplicate_option_value(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: scale
            key: demo.q
            text: How much?
            options:
              - {value: 2, label: Much}
              - {value: 1, label: Some}
              - {value: 2, label: Lots}  # <- here
          - {id: done, kind: end, text: Done.}
        """,
        "duplicate option value 2",
    )


def test_duplicate_flag_rule_id(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        flags:
          - {id: worried, level: low, reason: Worried., when: {answer: demo.q, equals: false}}
          - id: worried  # <- here
            level: high
            reason: Very worried.
            when: {answer: demo.q, equals: false}
        steps:
          - {id: q, kind: yes_no, key: demo.q, text: Fine?}
          - {id: done, kind: end, text: Done.}
        """,
        "duplicate flag rule id 'worried'",
    )


SAME_FLOW = """\
# {comment}
spec: 1
id: demo  # <- here
version: 1  # <- here
title: Demo
roles: [family]
purpose: survey
start: done
steps:
  - {{id: done, kind: end, text: Done.}}
"""


def test_duplicate_flow_id_and_version_across_two_files(write_flow, tmp_path):
    first = write_flow(SAME_FLOW.format(comment="the first copy"), "a.yaml")
    second = write_flow(SAME_FLOW.format(comment="the second copy"), "b.yaml")

    flows, errors = check_flows(first.parent)

    assert [flow.ref for flow in flows] == ["demo@1"]
    (error,) = errors
    assert error.file == str(second)
    assert error.message == f"flow demo@1 is also defined in {first}"
    with pytest.raises(FlowLoadError) as raised:
        load_flows(first.parent)
    assert str(raised.value).startswith(f"{second}:")


def test_duplicate_flow_id_and_version_points_at_the_id(write_flow):
    write_flow(SAME_FLOW.format(comment="the first copy"), "a.yaml")
    second = write_flow(SAME_FLOW.format(comment="the second copy"), "b.yaml")

    _, (error,) = check_flows(second.parent)

    assert error.line in marked_lines(second)


# --- the graph ----------------------------------------------------------------------------


def test_goto_to_a_step_that_does_not_exist(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            next:
              - when: {answer: demo.q, equals: true}
                goto: done
              - goto: nowhere  # <- here
          - {id: done, kind: end, text: Done.}
        """,
        "goto 'nowhere' from step 'q' is not a step",
    )


def test_goto_in_a_conditional_route_points_at_the_goto_line(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            next:
              - when: {answer: demo.q, equals: true}
                goto: nowhere  # <- here
              - goto: done
          - {id: done, kind: end, text: Done.}
        """,
        "goto 'nowhere' from step 'q' is not a step",
    )


def test_goto_in_the_short_form_to_a_step_that_does_not_exist(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            next: nowhere  # <- here
          - {id: done, kind: end, text: Done.}
        """,
        "goto 'nowhere' from step 'q' is not a step",
    )


def test_unknown_start_step(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: begin  # <- here
        steps:
          - {id: done, kind: end, text: Done.}
        """,
        "start step 'begin' does not exist",
    )


def test_fallback_route_that_is_not_last(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            next:
              - goto: yes_end  # <- here
              - goto: no_end
          - {id: yes_end, kind: end, text: Good.}
          - {id: no_end, kind: end, text: Later.}
        """,
        "a route without 'when' must come last",
    )


def test_routes_without_a_fallback(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            next:  # <- here
              - when: {answer: demo.q, equals: true}
                goto: yes_end
              - when: {answer: demo.q, equals: false}
                goto: no_end
          - {id: yes_end, kind: end, text: Good.}
          - {id: no_end, kind: end, text: Later.}
        """,
        "the last route needs no 'when'",
    )


def test_last_step_without_next_that_is_not_an_end(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            next:
              - when: {answer: demo.q, equals: true}
                goto: done
              - goto: goodbye
          - {id: done, kind: end, text: Done.}
          - id: goodbye  # <- here
            kind: message
            text: Goodbye.
        """,
        "step 'goodbye' has no next step and is not an end step",
    )


def test_unreachable_step(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - {id: q, kind: yes_no, key: demo.q, text: Ready?, next: done}
          - id: orphan  # <- here
            kind: message
            text: Nobody sees this.
          - {id: done, kind: end, text: Done.}
        """,
        "step 'orphan' cannot be reached from start",
    )


def test_questions_in_a_cycle_with_no_way_to_an_end(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            next:
              - when: {answer: demo.q, equals: false}
                goto: done
              - goto: ping
          - id: ping  # <- here
            kind: text
            key: demo.ping
            text: Ping?
          - id: pong  # <- here
            kind: text
            key: demo.pong
            text: Pong?
            next: ping
          - {id: done, kind: end, text: Done.}
        """,
        "no end step can be reached from",
    )


def test_a_loop_of_message_steps(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - {id: q, kind: yes_no, key: demo.q, text: Ready?}
          - id: tick  # <- here
            kind: message
            text: Tick.
          - id: tock  # <- here
            kind: message
            text: Tock.
            next:
              - when: {answer: demo.q, equals: true}
                goto: done
              - goto: tick
          - {id: done, kind: end, text: Done.}
        """,
        "is in a loop of message steps that never waits for an answer",
    )


def test_routes_out_of_an_end_step_are_refused(write_flow):
    path = write_flow(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - {id: q, kind: yes_no, key: demo.q, text: Ready?}
          - id: done
            kind: end
            text: Done.
            next:
              - goto: never_shown
          - {id: never_shown, kind: message, text: Never shown., next: done}
        """
    )

    flow, errors = load_flow_file(path)

    assert flow is None
    assert errors != []


# --- meaning: conditions, scores, placeholders --------------------------------------------

QUESTIONS = """\
spec: 1
id: demo
version: 1
title: Demo
roles: [family]
purpose: survey
start: agree
scores:
  total: {{sum: [demo.level, demo.count]}}
flags:
  - id: rule
    level: low
    reason: A rule.
    when: {when}  # <- here
steps:
  - {{id: agree, kind: yes_no, key: demo.agree, text: Agree?}}
  - id: level
    kind: scale
    key: demo.level
    text: Level?
    options:
      - {{value: 1, label: High}}
      - {{value: 0, label: Low}}
  - id: pick
    kind: choice
    key: demo.pick
    text: Pick?
    options:
      - {{value: red, label: Red}}
      - {{value: blue, label: Blue}}
  - {{id: count, kind: number, key: demo.count, text: How many?}}
  - {{id: note, kind: text, key: demo.note, text: Anything else?}}
  - {{id: done, kind: end, text: Done.}}
"""


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("{answer: demo.nothing, equals: true}", "condition on unknown answer key 'demo.nothing'"),
        ("{answer: demo.nothing, answered: true}", "condition on unknown key 'demo.nothing'"),
        ("{score: nothing, lt: 3}", "condition on unknown score 'nothing'"),
        ("{score: total, equals: high}", "score 'total' is a number; compare it with numbers"),
        (
            "{answer: demo.pick, in: [red, green]}",
            "condition on 'demo.pick' uses 'green', which is not one of its options "
            "('red', 'blue')",
        ),
        ("{answer: demo.level, equals: 2}", "uses 2, which is not one of its options (1, 0)"),
        ("{answer: demo.level, equals: true}", "uses True, which is not one of its options"),
        ("{answer: demo.pick, lt: 3}", "'demo.pick' is a choice without order: use 'equals'"),
        ("{answer: demo.agree, equals: 'yes'}", "'demo.agree' is a yes/no answer: compare it"),
        ("{answer: demo.agree, in: [true, 1]}", "'demo.agree' is a yes/no answer: compare it"),
        ("{answer: demo.agree, ge: 1}", "'demo.agree' is a yes/no answer: compare it"),
        ("{answer: demo.note, equals: help}", "condition on free-text answer 'demo.note'"),
        ("{answer: demo.count, equals: many}", "'demo.count' is a number answer"),
    ],
    ids=[
        "unknown-answer-key",
        "answered-on-unknown-key",
        "unknown-score",
        "score-with-a-string",
        "value-not-an-option",
        "scale-value-not-an-option",
        "scale-compared-with-true",
        "ordering-on-a-choice",
        "yes-no-with-a-string",
        "yes-no-with-a-number",
        "ordering-on-a-yes-no",
        "free-text",
        "number-with-a-string",
    ],
)
def test_condition_that_does_not_fit_its_subject(expect_errors, when, fragment):
    expect_errors(QUESTIONS.format(when=when), fragment)


@pytest.mark.parametrize(
    "when",
    [
        "{answer: demo.level, le: 0}",
        "{answer: demo.count, gt: 2.5}",
        "{score: total, in: [1, 2]}",
        "{answer: demo.note, answered: true}",
        "{answer: demo.pick, in: [red, blue]}",
        "{not: {answer: demo.agree, equals: false}}",
    ],
)
def test_conditions_that_fit_their_subject_load(write_flow, when):
    text = QUESTIONS.format(when=when)

    flow, errors = load_flow_file(write_flow(text))

    assert errors == []
    assert flow is not None


def test_condition_in_a_route_on_an_unknown_key(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: yes_no
            key: demo.q
            text: Ready?
            next:
              - when: {answer: demo.other, equals: true}  # <- here
                goto: done
              - goto: done
          - {id: done, kind: end, text: Done.}
        """,
        "condition on unknown answer key 'demo.other'",
    )


def test_score_over_an_unknown_key(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        scores:
          total:
            sum:
              - demo.q
              - demo.missing  # <- here
        steps:
          - {id: q, kind: number, key: demo.q, text: How many?}
          - {id: done, kind: end, text: Done.}
        """,
        "score 'total' adds up unknown answer key 'demo.missing'",
    )


def test_score_over_an_answer_that_is_not_a_number(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        scores:
          total:
            sum:
              - demo.q
              - demo.agree  # <- here
        steps:
          - {id: q, kind: number, key: demo.q, text: How many?}
          - {id: agree, kind: yes_no, key: demo.agree, text: Agree?}
          - {id: done, kind: end, text: Done.}
        """,
        "score 'total' adds up 'demo.agree', which is a yes_no answer, not a number",
    )


def test_unknown_placeholder_in_a_text(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: hello
        context: [name]
        steps:
          - id: hello
            kind: message
            text: Hello {name}, see you {when}.  # <- here
          - {id: done, kind: end, text: Done.}
        """,
        "placeholder '{when}' is not known (known: name)",
    )


def test_placeholder_in_invalid_that_the_step_does_not_provide(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        context: [name]
        steps:
          - id: q
            kind: text
            key: demo.q
            text: Tell us, {name}.
            invalid: At most {max_length} characters, {name}.  # <- here
          - {id: done, kind: end, text: Done.}
        """,
        "placeholder '{name}' is not known (known: max_length)",
    )


def test_placeholder_in_invalid_for_a_bound_the_number_does_not_have(expect_errors):
    expect_errors(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: q
        steps:
          - id: q
            kind: number
            key: demo.q
            text: How many?
            min: 0
            invalid: From {minimum} to {maximum}.  # <- here
          - {id: done, kind: end, text: Done.}
        """,
        "placeholder '{maximum}' is not known (known: minimum)",
    )


# --- directories --------------------------------------------------------------------------


def test_empty_flows_directory(tmp_path: Path):
    flows, errors = check_flows(tmp_path)

    assert flows == []
    assert [str(error) for error in errors] == [f"{tmp_path}:0: no flow files (*.yaml) found"]
    with pytest.raises(FlowLoadError, match="no flow files"):
        load_flows(tmp_path)


def test_load_flows_lists_every_error_of_every_file(write_flow):
    good = write_flow(SAME_FLOW.format(comment="fine"), "good.yaml")
    broken = write_flow("spec: 1\nid: broken\n  version: 1\n", "broken.yaml")
    also = write_flow(
        HEADER.replace("start: q", "start: nowhere")
        + "steps:\n  - {id: done, kind: end, text: Done.}\n",
        "also.yaml",
    )

    with pytest.raises(FlowLoadError) as raised:
        load_flows(good.parent)

    errors = raised.value.errors
    assert [(error.file, error.line) for error in errors] == [(str(also), 7), (str(broken), 3)]
    assert str(raised.value) == "\n".join(str(error) for error in errors)


def test_the_real_flows_load_without_errors():
    flows, errors = check_flows(FLOWS)

    assert errors == []
    assert "family_checkin" in {flow.id for flow in flows}
    registry = FlowRegistry(flows)
    assert registry.get("family_checkin").start == "consent"


# --- what a flow is for ---------------------------------------------------------------------


def _with_purpose(purpose: str, roles: str, wrong: str = "purpose") -> str:
    """A small flow with a purpose; the line of the field that is `wrong` is marked."""
    mark = {"roles": "", "purpose": ""}
    mark[wrong] = "  # <- here"
    return f"""\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [{roles}]{mark["roles"]}
        purpose: {purpose}{mark["purpose"]}
        start: done
        steps:
          - {{id: done, kind: end, text: Done.}}
        """


def test_an_unknown_purpose(expect_errors):
    expect_errors(_with_purpose("gardening", "family"), "purpose")


def test_a_family_purpose_needs_families(expect_errors):
    expect_errors(_with_purpose("checkin", "caseworker", "roles"), "'checkin' flow is for families")


def test_a_staff_purpose_is_not_for_families(expect_errors):
    expect_errors(
        _with_purpose("meldcode", "family, caseworker", "roles"),
        "'meldcode' flow is for staff",
    )


@pytest.mark.parametrize(
    ("purpose", "field"),
    [("screening", "risk_level"), ("navigator", "stage"), ("closure", "closure")],
)
def test_a_purpose_the_host_relies_on_must_write_its_case(expect_errors, purpose, field):
    expect_errors(
        _with_purpose(purpose, "caseworker"),
        f"a '{purpose}' flow must write its case's {field}",
    )


def test_one_flow_per_purpose_the_host_starts_by_itself(write_flow, tmp_path):
    write_flow(SAME_FLOW.format(comment="a survey").replace("survey", "checkin"), "a.yaml")
    other = (
        SAME_FLOW.format(comment="another").replace("survey", "checkin").replace("demo", "other")
    )
    second = write_flow(other, "b.yaml")

    flows, errors = check_flows(second.parent)

    assert [flow.ref for flow in flows] == ["demo@1"]
    assert [(error.file, error.line) for error in errors] == [(str(second), 7)]
    assert "has purpose 'checkin', like 'demo'" in errors[0].message


def test_versions_of_one_flow_share_its_purpose(write_flow):
    first = write_flow(SAME_FLOW.format(comment="v1").replace("survey", "checkin"), "a.yaml")
    write_flow(
        SAME_FLOW.format(comment="v2")
        .replace("survey", "checkin")
        .replace("version: 1", "version: 2"),
        "b.yaml",
    )

    registry = load_flows(first.parent)

    assert registry.for_purpose("checkin").ref == "demo@2"
    assert registry.for_purpose("screening") is None
