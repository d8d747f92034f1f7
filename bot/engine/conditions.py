"""Evaluating conditions and scores against the answers of a run.

Conditions use three-valued logic: a comparison on a question not yet answered, or on a
score not yet complete, is *unknown* (None), and `and`/`or`/`not` follow Kleene's rules. A
route is taken only when its condition is true; a flag rule fires only when its condition
is true — so "WHO-5 below 13" waits until all five items are answered instead of firing on
a half-finished score, while "any item at 0 or 1" can fire as soon as that item is in.
"""

from __future__ import annotations

from collections.abc import Mapping

from .events import Value
from .model import ChecklistItem, ChecklistStep, Condition, Flow, Scalar

# Answers, scores, results or case fields by name (a case field may be unset: None).
Facts = Mapping[str, Value | None]
_EMPTY: Facts = {}


def evaluate(
    condition: Condition,
    answers: Facts,
    scores: Facts,
    results: Facts = _EMPTY,
    case: Facts = _EMPTY,
) -> bool | None:
    """True, False, or None (unknown). `results` are the flow's declared results computed so
    far, `case` what the run's case is (programme, country, stage, risk_level); a case field
    the case does not have (no stage yet) is unknown."""
    if condition.and_ is not None:
        outcomes = [evaluate(child, answers, scores, results, case) for child in condition.and_]
        if False in outcomes:
            return False
        return None if None in outcomes else True
    if condition.or_ is not None:
        outcomes = [evaluate(child, answers, scores, results, case) for child in condition.or_]
        if True in outcomes:
            return True
        return None if None in outcomes else False
    if condition.not_ is not None:
        outcome = evaluate(condition.not_, answers, scores, results, case)
        return None if outcome is None else not outcome
    kind, name = _subject(condition)
    facts = {"answer": answers, "score": scores, "result": results, "case": case}[kind]
    if kind == "case" and facts.get(name) is None:
        return None if condition.operator != "answered" else not condition.answered
    if condition.operator == "answered":
        return (name in facts) is condition.answered
    if name not in facts:
        return None
    return _compare(facts[name], condition.operator, condition.operand)


def items_for(step: ChecklistStep, case: Facts) -> tuple[ChecklistItem, ...]:
    """The items of a checklist listed for a case: those without `only_if`, and those whose
    `only_if` holds (an item for one country is left out where the country is unknown)."""
    return tuple(
        item
        for item in step.items
        if item.only_if is None or evaluate(item.only_if, {}, {}, case=case) is True
    )


def _subject(condition: Condition) -> tuple[str, str]:
    subject = condition.subject
    if subject is None:
        raise ValueError("a combination (and, or, not) has no subject")
    return subject


def _compare(
    value: object, operator: str | None, operand: Scalar | tuple[Scalar, ...] | None
) -> bool:
    if operator == "equals":
        return _same(value, operand)
    if operator == "in":
        return isinstance(operand, tuple) and any(_same(value, one) for one in operand)
    # Ordering comparisons: the loader allows them only on numeric questions and scores.
    if not (_is_number(value) and _is_number(operand)):
        return False
    assert isinstance(value, int | float) and isinstance(operand, int | float)
    if operator == "lt":
        return value < operand
    if operator == "le":
        return value <= operand
    if operator == "gt":
        return value > operand
    if operator == "ge":
        return value >= operand
    raise ValueError(f"unknown operator {operator!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(value: object, operand: object) -> bool:
    # `True == 1` in Python; an answer "yes" must never match a scale value 1.
    if isinstance(value, bool) or isinstance(operand, bool):
        return type(value) is type(operand) and value == operand
    return value == operand


def compute_scores(flow: Flow, answers: Facts) -> dict[str, float]:
    """Every declared score whose answers are all in; incomplete scores are left out."""
    scores: dict[str, float] = {}
    for name, score in flow.scores.items():
        if all(key in answers for key in score.keys):
            if score.sum:
                scores[name] = sum(_number(answers[key]) for key in score.sum)
            else:
                scores[name] = sum(1 for key in score.count if answers[key] is True)
    return scores


def _number(value: Value | None) -> float:
    # The loader lets a score add up numeric answers only.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a score adds up numbers, not {value!r}")
    return value


def compute_results(
    flow: Flow, answers: Facts, scores: Facts, case: Facts = _EMPTY
) -> dict[str, str]:
    """Every declared result that is already decided: the value of the first rule that holds.
    A rule that cannot be told yet (its answers are not all in) leaves the result undecided,
    so a risk level never settles on "low" while a question about danger is still open."""
    decided: dict[str, str] = {}
    for name, result in flow.results.items():
        for rule in result.rules:
            holds = True if rule.when is None else evaluate(rule.when, answers, scores, case=case)
            if holds is None:
                break
            if holds:
                decided[name] = rule.value
                break
    return decided


def evidence(condition: Condition, answers: Facts, scores: Facts) -> dict[str, Value]:
    """The answers and scores a condition looked at, for the reviewer of a flag."""
    found: dict[str, Value] = {}
    for leaf in condition.comparisons():
        answer = answers.get(leaf.answer) if leaf.answer is not None else None
        score = scores.get(leaf.score) if leaf.score is not None else None
        if leaf.answer is not None and answer is not None:
            found[leaf.answer] = answer
        elif leaf.score is not None and score is not None:
            found[f"score.{leaf.score}"] = score
    return found
