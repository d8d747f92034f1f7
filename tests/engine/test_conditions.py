"""`bot.engine.conditions` on its own: comparisons, Kleene's three-valued `and`/`or`/`not`,
scores that exist only when complete, and the evidence a flag rule shows its reviewer.
"""

from __future__ import annotations

import pytest

from bot.engine.conditions import compute_scores, evaluate, evidence
from bot.engine.model import Condition

ANSWERS = {"a.yes": True, "a.no": False, "a.level": 1, "a.pick": "red", "a.hours": 2.5}
SCORES = {"total": 12}

UNKNOWN = {"answer": "a.never", "equals": True}
TRUE = {"answer": "a.yes", "equals": True}
FALSE = {"answer": "a.no", "equals": True}


def holds(condition: dict, answers=ANSWERS, scores=SCORES) -> bool | None:
    return evaluate(Condition.model_validate(condition), answers, scores)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"answer": "a.pick", "equals": "red"}, True),
        ({"answer": "a.pick", "equals": "blue"}, False),
        ({"answer": "a.pick", "in": ["blue", "red"]}, True),
        ({"answer": "a.pick", "in": ["blue", "green"]}, False),
        ({"answer": "a.yes", "equals": True}, True),
        ({"answer": "a.no", "equals": False}, True),
        ({"answer": "a.level", "lt": 1}, False),
        ({"answer": "a.level", "le": 1}, True),
        ({"answer": "a.level", "gt": 1}, False),
        ({"answer": "a.level", "ge": 1}, True),
        ({"answer": "a.hours", "gt": 2}, True),
        ({"answer": "a.hours", "equals": 2.5}, True),
        ({"score": "total", "lt": 13}, True),
        ({"score": "total", "le": 11}, False),
        ({"score": "total", "equals": 12}, True),
        ({"score": "total", "in": [7, 12]}, True),
        ({"answer": "a.pick", "answered": True}, True),
        ({"answer": "a.pick", "answered": False}, False),
        ({"answer": "a.never", "answered": True}, False),
        ({"answer": "a.never", "answered": False}, True),
        ({"score": "total", "answered": True}, True),
        ({"score": "incomplete", "answered": False}, True),
    ],
)
def test_comparisons_on_known_facts(condition, expected):
    assert holds(condition) is expected


@pytest.mark.parametrize(
    "condition",
    [
        {"answer": "a.never", "equals": "red"},
        {"answer": "a.never", "in": ["red"]},
        {"answer": "a.never", "lt": 3},
        {"answer": "a.never", "ge": 3},
        {"score": "incomplete", "le": 7},
        {"score": "incomplete", "equals": 0},
    ],
)
def test_a_comparison_on_an_unanswered_key_or_incomplete_score_is_unknown(condition):
    assert holds(condition) is None


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"not": UNKNOWN}, None),
        ({"not": TRUE}, False),
        ({"not": FALSE}, True),
        ({"or": [TRUE, UNKNOWN]}, True),
        ({"or": [UNKNOWN, TRUE]}, True),
        ({"or": [FALSE, UNKNOWN]}, None),
        ({"or": [FALSE, FALSE]}, False),
        ({"and": [FALSE, UNKNOWN]}, False),
        ({"and": [UNKNOWN, FALSE]}, False),
        ({"and": [TRUE, UNKNOWN]}, None),
        ({"and": [TRUE, TRUE]}, True),
        ({"not": {"and": [TRUE, UNKNOWN]}}, None),
        ({"not": {"or": [FALSE, UNKNOWN]}}, None),
        ({"and": [{"not": UNKNOWN}, {"or": [TRUE, UNKNOWN]}]}, None),
        ({"or": [{"not": UNKNOWN}, {"not": FALSE}]}, True),
    ],
)
def test_and_or_not_follow_kleenes_three_valued_logic(condition, expected):
    assert holds(condition) is expected


@pytest.mark.parametrize(
    ("condition", "answers"),
    [
        ({"answer": "a.x", "equals": 1}, {"a.x": True}),
        ({"answer": "a.x", "equals": True}, {"a.x": 1}),
        ({"answer": "a.x", "equals": 0}, {"a.x": False}),
        ({"answer": "a.x", "equals": False}, {"a.x": 0}),
        ({"answer": "a.x", "in": [1, 2]}, {"a.x": True}),
        ({"answer": "a.x", "in": [True]}, {"a.x": 1}),
        ({"answer": "a.x", "ge": 1}, {"a.x": True}),
    ],
)
def test_true_never_equals_the_number_1(condition, answers):
    assert holds(condition, answers) is False


def test_numbers_of_different_types_compare_by_value():
    assert holds({"answer": "a.x", "equals": 3}, {"a.x": 3.0}) is True


def test_a_score_exists_only_once_every_answer_it_adds_up_is_in(build_flow):
    flow = build_flow(
        """\
        spec: 1
        id: demo
        version: 1
        title: Demo
        roles: [family]
        purpose: survey
        start: one
        scores:
          pair: {sum: [s.one, s.two]}
          single: {sum: [s.one]}
        steps:
          - {id: one, kind: number, key: s.one, text: One?}
          - {id: two, kind: number, key: s.two, text: Two?, integer: false}
          - {id: done, kind: end, text: Done.}
        """
    )

    assert compute_scores(flow, {}) == {}
    assert compute_scores(flow, {"s.one": 4}) == {"single": 4}
    assert compute_scores(flow, {"s.one": 4, "s.two": 0.5}) == {"pair": 4.5, "single": 4}
    assert compute_scores(flow, {"s.two": 0.5}) == {}


def test_evidence_holds_exactly_the_answers_and_scores_the_condition_names():
    condition = Condition.model_validate(
        {
            "and": [
                {"not": {"score": "total", "le": 7}},
                {"or": [{"answer": "a.level", "le": 1}, {"answer": "a.never", "le": 1}]},
                {"answer": "a.pick", "answered": True},
            ]
        }
    )

    assert evidence(condition, ANSWERS, SCORES) == {
        "score.total": 12,
        "a.level": 1,
        "a.pick": "red",
    }


def test_evidence_leaves_out_incomplete_scores():
    condition = Condition.model_validate({"score": "incomplete", "lt": 3})

    assert evidence(condition, ANSWERS, SCORES) == {}
