"""A mermaid state diagram of a flow, generated from its definition and never drawn by hand.

`wegwijzer flows graph FLOW_ID` prints it; paste it into any mermaid viewer (GitHub renders
```mermaid blocks) to review a flow's routes with the people who know the work.
"""

from __future__ import annotations

from .model import Condition, Flow, Question

_SYMBOLS = {"equals": "=", "lt": "<", "le": "≤", "gt": ">", "ge": "≥"}


def mermaid(flow: Flow) -> str:
    lines = ["stateDiagram-v2", f"    %% {flow.ref}: {flow.title}"]
    for step in flow.steps:
        what = f"{step.kind}: {step.key}" if isinstance(step, Question) else step.kind
        described = f"{step.id} ({what})"
        if step.only_if is not None:
            described += f" only if {describe(step.only_if)}"
        for update in getattr(step, "set_case", ()):
            source = update.value or update.answer or f"result {update.result}"
            described += f" sets {update.field} = {source}"
        lines.append(f'    state "{described}" as {step.id}')
    lines.append(f"    [*] --> {flow.start}")
    for step in flow.steps:
        for route in step.next:
            label = "" if route.when is None else f": {describe(route.when)}"
            lines.append(f"    {step.id} --> {route.goto}{label}")
        if step.kind == "end":
            lines.append(f"    {step.id} --> [*]")
    return "\n".join(lines) + "\n"


def describe(condition: Condition) -> str:
    """A condition in one short line, for diagrams and messages."""
    if condition.and_ is not None:
        return " and ".join(_grouped(child) for child in condition.and_)
    if condition.or_ is not None:
        return " or ".join(_grouped(child) for child in condition.or_)
    if condition.not_ is not None:
        return f"not {_grouped(condition.not_)}"
    kind, name = condition.subject or ("", "")
    subject = name if kind in ("answer", "score") else f"{kind} {name}"
    operator, operand = condition.operator, condition.operand
    if operator == "answered":
        return f"{subject} answered" if operand else f"{subject} not answered"
    if isinstance(operand, tuple):
        return f"{subject} in {', '.join(_value(value) for value in operand)}"
    return f"{subject} {_SYMBOLS.get(operator or '', operator)} {_value(operand)}"


def _grouped(condition: Condition) -> str:
    text = describe(condition)
    return f"({text})" if condition.and_ or condition.or_ else text


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
