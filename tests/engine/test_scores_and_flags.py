"""Scores and flag rules during a run: a score appears once it is complete and again only
when it changes; a rule fires as soon as it holds, once per run, with exactly its evidence.
"""

from __future__ import annotations

from bot.engine import Ask, Choose, FlagRaised, RunEnded, ScoreComputed, Text

from .conftest import HEADER, events_of

# Two scale items summed into `total`; `again` loops back to ask both once more.
LOOPING = (
    HEADER.replace("start: q", "start: one")
    + """\
scores:
  total: {sum: [m.one, m.two]}
flags:
  - id: one_low
    level: high
    reason: The first item is low.
    when: {answer: m.one, le: 1}
  - id: total_low
    level: medium
    reason: The total is low.
    when: {score: total, lt: 3}
  - id: both_low
    level: low
    reason: The first item and the total are low.
    when:
      and:
        - {answer: m.one, le: 1}
        - {score: total, lt: 3}
steps:
  - id: one
    kind: scale
    key: m.one
    text: First?
    options: &items
      - {value: 3, label: Very}
      - {value: 2, label: Quite}
      - {value: 1, label: A little}
      - {value: 0, label: Not}
  - id: two
    kind: scale
    key: m.two
    text: Second?
    options: *items
  - id: again
    kind: yes_no
    key: m.again
    text: Once more?
    next:
      - when: {answer: m.again, equals: true}
        goto: one
      - goto: done
  - id: done
    kind: end
    text: "Total {total}."
"""
)


def test_a_score_is_computed_once_when_its_last_answer_comes_in(build_engine, play):
    sprints = play(build_engine(LOOPING), "demo", [Choose(3), Choose(2), Choose(False)])

    assert [sprint.of(ScoreComputed) for sprint in sprints] == [
        [],
        [],
        [ScoreComputed("total", 5)],
        [],
    ]
    assert sprints[-1].of(RunEnded) == [RunEnded("done")]


def test_a_score_is_computed_again_only_when_its_value_changes(build_engine, play):
    inputs = [Choose(3), Choose(2), Choose(True)]
    same = play(build_engine(LOOPING), "demo", [*inputs, Choose(3), Choose(2), Choose(False)])
    changed = play(build_engine(LOOPING), "demo", [*inputs, Choose(2), Choose(2), Choose(False)])

    assert events_of(same, ScoreComputed) == [ScoreComputed("total", 5)]
    assert [sprint.of(ScoreComputed) for sprint in changed[3:]] == [
        [],
        [ScoreComputed("total", 4)],
        [],
        [],
    ]
    assert events_of(changed, ScoreComputed) == [
        ScoreComputed("total", 5),
        ScoreComputed("total", 4),
    ]


def test_a_rule_on_an_answer_fires_in_the_sprint_of_that_answer(build_engine, play):
    sprints = play(build_engine(LOOPING), "demo", [Choose(1)])

    assert sprints[-1].of(FlagRaised) == [
        FlagRaised("one_low", "high", Text("The first item is low."), {"m.one": 1})
    ]
    assert sprints[-1].state.raised == ("one_low",)
    assert sprints[-1].of(Ask)[0].step_id == "two"


def test_a_rule_on_a_score_waits_for_the_complete_score(build_engine, play):
    # After the first 0 a partial total would already be below 3: the rule must not fire yet.
    sprints = play(build_engine(LOOPING), "demo", [Choose(0), Choose(0)])

    assert [flag.rule_id for flag in sprints[1].of(FlagRaised)] == ["one_low"]
    assert sprints[2].of(FlagRaised) == [
        FlagRaised("total_low", "medium", Text("The total is low."), {"score.total": 0}),
        FlagRaised(
            "both_low",
            "low",
            Text("The first item and the total are low."),
            {"m.one": 0, "score.total": 0},
        ),
    ]


def test_evidence_holds_exactly_the_answers_and_scores_the_rule_names(build_engine, play):
    last = play(build_engine(LOOPING), "demo", [Choose(0), Choose(1)])[-1]

    total_low, both_low = last.of(FlagRaised)
    assert total_low.evidence == {"score.total": 1}
    # `m.two` is answered and part of the total, but the rule does not name it.
    assert both_low.evidence == {"m.one": 0, "score.total": 1}
    assert both_low.level == "low"


def test_a_rule_fires_once_per_run_even_when_it_holds_again(build_engine, play):
    inputs = [Choose(0), Choose(0), Choose(True), Choose(1), Choose(1), Choose(False)]
    sprints = play(build_engine(LOOPING), "demo", inputs)

    assert [flag.rule_id for flag in events_of(sprints, FlagRaised)] == [
        "one_low",
        "total_low",
        "both_low",
    ]
    assert sprints[-1].state.raised == ("one_low", "total_low", "both_low")
    assert sprints[-1].of(ScoreComputed) == []
    # On the second pass the total is recomputed with each new answer (1 + 0, then 1 + 1).
    assert events_of(sprints, ScoreComputed) == [
        ScoreComputed("total", 0),
        ScoreComputed("total", 1),
        ScoreComputed("total", 2),
    ]
