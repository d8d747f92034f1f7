"""Reading flow files and refusing broken ones, with the file and line of every problem.

A flow is parsed with ruamel.yaml (which keeps line numbers and rejects duplicate keys),
checked against the typed models in `model`, and then checked as a graph: targets exist,
every step is reachable from the start and can reach an end, conditions name real answer
keys and values their options contain, scores add up numeric answers, and texts only use
placeholders the flow can fill. Every error carries a path into the document; the line is
looked up from that path, so schema errors and graph errors point into the file alike.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .model import (
    ChecklistStep,
    ChoiceStep,
    Condition,
    Flow,
    NumberStep,
    Question,
    ScaleStep,
    TextStep,
    YesNoStep,
)
from .model import placeholders as placeholders_of
from .vocabulary import CASE_FACTS, CASE_UPDATES, PURPOSES

# Option values a checklist uses for itself: an item cannot be called that.
_CHECKLIST_WORDS = ("finish", "skip", "complete")
_COUNTRY = re.compile(r"[A-Z]{2}")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class FlowError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FlowLoadError(Exception):
    """One or more flow files are broken; `errors` lists each problem with file and line."""

    def __init__(self, errors: Iterable[FlowError]):
        self.errors = sorted(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


class FlowRegistry:
    """Every loaded flow version; runs are pinned to the version they started on."""

    def __init__(self, flows: Iterable[Flow] = ()):
        self._versions: dict[tuple[str, int], Flow] = {}
        for flow in flows:
            self._versions[(flow.id, flow.version)] = flow
        # Loaded once and never changed: the newest versions are worked out once.
        newest: dict[str, Flow] = {}
        for flow in self._versions.values():
            if flow.id not in newest or flow.version > newest[flow.id].version:
                newest[flow.id] = flow
        self._latest = sorted(newest.values(), key=lambda flow: flow.id)
        self._by_purpose: dict[str, Flow] = {}
        for flow in self._latest:
            self._by_purpose.setdefault(flow.purpose, flow)

    def get(self, flow_id: str, version: int | None = None) -> Flow:
        """A flow by id: the given version, or the newest one. KeyError when absent."""
        if version is None:
            versions = [v for (fid, v) in self._versions if fid == flow_id]
            if not versions:
                raise KeyError(flow_id)
            version = max(versions)
        return self._versions[(flow_id, version)]

    def find(self, flow_id: str, version: int) -> Flow | None:
        """A flow version, or None when it is not loaded (a flag of a removed flow, say)."""
        return self._versions.get((flow_id, version))

    def latest(self) -> list[Flow]:
        return list(self._latest)

    def for_role(self, role: str) -> list[Flow]:
        return [flow for flow in self.latest() if role in flow.roles]

    def for_purpose(self, purpose: str) -> Flow | None:
        """The newest version of the flow for a purpose the host starts by itself (the
        check-in, the screening, ...); None when the deployment has no such flow."""
        return self._by_purpose.get(purpose)

    def __iter__(self) -> Iterator[Flow]:
        return iter(self._versions.values())

    def __len__(self) -> int:
        return len(self._versions)


def load_flows(directory: Path) -> FlowRegistry:
    """Load every `*.yaml` under `directory`; raise FlowLoadError listing all problems."""
    flows, errors = check_flows(directory)
    if errors:
        raise FlowLoadError(errors)
    return FlowRegistry(flows)


def check_flows(directory: Path) -> tuple[list[Flow], list[FlowError]]:
    directory = Path(directory)
    files = sorted(directory.rglob("*.yaml"))
    if not files:
        return [], [FlowError(str(directory), 0, "no flow files (*.yaml) found")]
    flows: list[Flow] = []
    errors: list[FlowError] = []
    seen: dict[tuple[str, int], str] = {}
    # A purpose the host starts by itself (the check-in, say) names one flow, in any versions.
    purposes: dict[str, tuple[str, str]] = {}
    for path in files:
        flow, file_errors, lines = _load_file(path)
        errors.extend(file_errors)
        if flow is None:
            continue
        first = seen.setdefault((flow.id, flow.version), str(path))
        if first != str(path):
            message = f"flow {flow.ref} is also defined in {first}"
            errors.append(FlowError(str(path), lines.of(("id",)), message))
            continue
        if PURPOSES[flow.purpose].single:
            other_id, other_file = purposes.setdefault(flow.purpose, (flow.id, str(path)))
            if other_id != flow.id:
                message = (
                    f"flow '{flow.id}' has purpose '{flow.purpose}', like '{other_id}' in "
                    f"{other_file}: a deployment has one flow for it"
                )
                errors.append(FlowError(str(path), lines.of(("purpose",)), message))
                continue
        flows.append(flow)
    return flows, errors


def load_flow_file(path: Path) -> tuple[Flow | None, list[FlowError]]:
    flow, errors, _ = _load_file(path)
    return flow, errors


def _load_file(path: Path) -> tuple[Flow | None, list[FlowError], _LineIndex]:
    source = str(path)
    nowhere = _LineIndex(CommentedMap())
    try:
        document = YAML(typ="rt", pure=True).load(Path(path).read_text(encoding="utf-8"))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = f"not valid YAML: {error.problem or error}"
        return None, [FlowError(source, line, problem)], nowhere
    except (YAMLError, OSError, UnicodeDecodeError) as error:
        return None, [FlowError(source, 1, f"cannot read flow: {error}")], nowhere
    if not isinstance(document, CommentedMap):
        return None, [FlowError(source, 1, "a flow file must be a mapping of fields")], nowhere

    lines = _LineIndex(document)
    data = _plain(document)
    if isinstance(data, dict):
        _default_next(data)
    try:
        flow = Flow.model_validate(data)
    except ValidationError as invalid:
        found = []
        for detail in invalid.errors():
            if _follows_from_another(detail):
                continue
            at, where = _locate(data, detail["loc"])
            found.append(FlowError(source, lines.of(at), _describe(detail, where)))
        return None, found, lines
    problems = list(_GraphCheck(flow).problems())
    errors = [FlowError(source, lines.of(at), message) for at, message in problems]
    return (None if problems else flow), errors, lines


# --- line numbers -------------------------------------------------------------------------


class _LineIndex:
    """Line (1-based) of every key and list item, found by its path in the document."""

    def __init__(self, document: CommentedMap):
        self._lines: dict[Path_, int] = {(): (document.lc.line or 0) + 1}
        self._walk(document, ())

    def _walk(self, node: object, path: Path_) -> None:
        if isinstance(node, CommentedMap):
            for key in node:
                child = (*path, str(key))
                self._lines[child] = node.lc.key(key)[0] + 1
                self._walk(node[key], child)
        elif isinstance(node, CommentedSeq):
            for index, item in enumerate(node):
                child = (*path, index)
                self._lines[child] = node.lc.item(index)[0] + 1
                self._walk(item, child)

    def of(self, path: Path_) -> int:
        # The nearest enclosing element that has a line: a missing field points at its owner.
        while path not in self._lines:
            path = path[:-1]
        return self._lines[path]


def _plain(node: object) -> object:
    """ruamel's round-trip types as plain dicts, lists and scalars."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _default_next(data: dict[str, object]) -> None:
    """A step without `next` continues with the step written after it."""
    steps = data.get("steps")
    if not isinstance(steps, list):
        return
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if (
            isinstance(step, dict)
            and "next" not in step
            and step.get("kind") != "end"
            and isinstance(following, dict)
            and isinstance(following.get("id"), str)
        ):
            step["next"] = following["id"]


def _locate(data: object, loc: tuple[int | str, ...]) -> tuple[Path_, str]:
    """A pydantic error location as (path into the document, readable field name).

    pydantic puts the chosen union member into the location: `function-after[...]` parts,
    and a step's kind right after the step (`steps.3.text.max_length` for a text step).
    Those are dropped; the path stops where the document stops (a missing field).
    """
    path: list[str | int] = []
    names: list[str] = []
    node, reached, fresh = data, True, True
    for part in loc:
        if isinstance(part, str) and "[" in part:
            continue
        if reached and fresh and isinstance(node, dict) and part == node.get("kind"):
            fresh = False  # the step kind used as a union tag, not the field of that name
            continue
        names.append(str(part))
        fresh = True
        child = _child(node, part) if reached else _MISSING
        if child is _MISSING:
            reached = False
        else:
            node = child
            path.append(part)
    return tuple(path), ".".join(names)


_MISSING = object()


def _child(node: object, part: int | str) -> object:
    """The element of a mapping or list at `part`, or _MISSING."""
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return _MISSING


def _follows_from_another(error: ErrorDetails) -> bool:
    # When an item of a list with a minimum length is broken, pydantic also reports the list
    # as too short "after validation": that error only repeats the item's own.
    given = error.get("input")
    minimum = (error.get("ctx") or {}).get("min_length", 0)
    return error["type"] == "too_short" and isinstance(given, list) and len(given) >= minimum


def _describe(error: ErrorDetails, where: str) -> str:
    if error["type"] == "extra_forbidden":
        return f"unknown field '{where}'"
    if error["type"] == "missing":
        return f"missing field '{where}'"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


# --- graph and meaning --------------------------------------------------------------------


class _GraphCheck:
    def __init__(self, flow: Flow):
        self.flow = flow
        self.index = {step.id: position for position, step in enumerate(flow.steps)}

    def problems(self) -> Iterator[tuple[Path_, str]]:
        yield from self._unique()
        targets = list(self._targets())
        yield from targets
        if not targets:  # reachability is meaningless while routes point nowhere
            yield from self._reachability()
        yield from self._scores()
        yield from self._results()
        yield from self._conditions()
        yield from self._case_updates()
        yield from self._purpose()
        yield from self._placeholders()

    def _step_path(self, step_id: str) -> Path_:
        return ("steps", self.index[step_id])

    def _unique(self) -> Iterator[tuple[Path_, str]]:
        seen_steps: set[str] = set()
        seen_keys: dict[str, str] = {}
        seen_stages: set[str | None] = {None}
        for position, step in enumerate(self.flow.steps):
            path: Path_ = ("steps", position)
            if step.id in seen_steps:
                yield (*path, "id"), f"duplicate step id '{step.id}'"
            seen_steps.add(step.id)
            if isinstance(step, Question):
                if step.key in seen_keys:
                    yield (
                        (*path, "key"),
                        (f"answer key '{step.key}' is also used by step '{seen_keys[step.key]}'"),
                    )
                seen_keys.setdefault(step.key, step.id)
            if isinstance(step, ChecklistStep):
                yield from self._checklist_unique(path, step, seen_keys)
                if "family" in self.flow.roles:
                    # Its statuses belong to the case: families do not write their case.
                    yield path, f"step '{step.id}': a flow families use cannot have a checklist"
                if step.stage is not None and step.stage in seen_stages:
                    yield (
                        (*path, "stage"),
                        f"step '{step.id}': stage '{step.stage}' already has a checklist",
                    )
                seen_stages.add(step.stage)
            values = [option.value for option in getattr(step, "options", ())]
            for number, value in enumerate(values):
                if value in values[:number]:
                    yield (
                        (*path, "options", number),
                        (f"step '{step.id}': duplicate option value {value!r}"),
                    )
        seen_flags: set[str] = set()
        for position, rule in enumerate(self.flow.flags):
            if rule.id in seen_flags:
                yield ("flags", position, "id"), f"duplicate flag rule id '{rule.id}'"
            seen_flags.add(rule.id)
        for name in self.flow.scores:
            if self.flow.question_for(name) is not None:
                yield ("scores", name), f"score '{name}' has the name of an answer key"
        for name in self.flow.results:
            if name in self.flow.scores or self.flow.question_for(name) is not None:
                yield ("results", name), f"result '{name}' has the name of a score or answer key"

    def _checklist_unique(
        self, path: Path_, step: ChecklistStep, seen_keys: dict[str, str]
    ) -> Iterator[tuple[Path_, str]]:
        seen_items: set[str] = set()
        for number, item in enumerate(step.items):
            where = (*path, "items", number, "id")
            if item.id in seen_items:
                yield where, f"step '{step.id}': duplicate item id '{item.id}'"
            if item.id in _CHECKLIST_WORDS:
                yield where, f"step '{step.id}': an item cannot be called '{item.id}'"
            seen_items.add(item.id)
        for derived in step.derived_questions():
            # A duplicate item id is reported above, not again as a key clash with itself.
            if derived.key in seen_keys and seen_keys[derived.key] != step.id:
                yield (
                    (*path, "key"),
                    (
                        f"checklist '{step.id}' stores '{derived.key}', which step "
                        f"'{seen_keys[derived.key]}' also uses"
                    ),
                )
            seen_keys.setdefault(derived.key, step.id)

    def _targets(self) -> Iterator[tuple[Path_, str]]:
        if not self.flow.has_step(self.flow.start):
            yield ("start",), f"start step '{self.flow.start}' does not exist"
        for position, step in enumerate(self.flow.steps):
            if step.kind == "end":
                continue
            path: Path_ = ("steps", position)
            if not step.next:
                yield path, f"step '{step.id}' has no next step and is not an end step"
            for number, route in enumerate(step.next):
                route_path = (*path, "next", number)
                if not self.flow.has_step(route.goto):
                    yield (
                        (*route_path, "goto"),
                        (f"goto '{route.goto}' from step '{step.id}' is not a step"),
                    )
                if route.when is None and number != len(step.next) - 1:
                    yield (
                        route_path,
                        (
                            f"step '{step.id}': a route without 'when' must come last; "
                            "the routes after it can never be taken"
                        ),
                    )
            if step.next and step.next[-1].when is not None:
                yield (
                    (*path, "next"),
                    (
                        f"step '{step.id}': the last route needs no 'when' (the fallback), "
                        "so that some route is always taken"
                    ),
                )

    def _edges(self, step_id: str) -> list[str]:
        step = self.flow.step(step_id)
        return [route.goto for route in step.next if self.flow.has_step(route.goto)]

    def _reachability(self) -> Iterator[tuple[Path_, str]]:
        if not self.flow.has_step(self.flow.start):
            return
        reached = _closure([self.flow.start], self._edges)
        for step in self.flow.steps:
            if step.id not in reached:
                yield self._step_path(step.id), f"step '{step.id}' cannot be reached from start"

        incoming: dict[str, list[str]] = {step.id: [] for step in self.flow.steps}
        for step in self.flow.steps:
            for target in self._edges(step.id):
                incoming[target].append(step.id)
        ends = [step.id for step in self.flow.steps if step.kind == "end"]
        finishing = _closure(ends, lambda step_id: incoming[step_id])
        for step in self.flow.steps:
            if step.id in reached and step.id not in finishing:
                yield self._step_path(step.id), f"no end step can be reached from '{step.id}'"

        # Message steps do not wait for an answer, and a step shown only sometimes may be
        # passed without one: a loop of such steps could never stop.
        said = {
            step.id
            for step in self.flow.steps
            if step.kind == "message" or step.only_if is not None
        }
        for step_id in said:
            onward = [target for target in self._edges(step_id) if target in said]
            if step_id in _closure(onward, lambda s: [t for t in self._edges(s) if t in said]):
                yield (
                    self._step_path(step_id),
                    (
                        f"step '{step_id}' is in a loop of message steps that never waits "
                        "for an answer"
                    ),
                )

    def _scores(self) -> Iterator[tuple[Path_, str]]:
        for name, score in self.flow.scores.items():
            for number, key in enumerate(score.count):
                path: Path_ = ("scores", name, "count", number)
                question = self.flow.question_for(key)
                if not isinstance(question, YesNoStep):
                    yield path, f"score '{name}' counts '{key}', which is not a yes/no answer"
            for number, key in enumerate(score.sum):
                path = ("scores", name, "sum", number)
                question = self.flow.question_for(key)
                if question is None:
                    yield path, f"score '{name}' adds up unknown answer key '{key}'"
                elif not isinstance(question, ScaleStep | NumberStep):
                    yield (
                        path,
                        (
                            f"score '{name}' adds up '{key}', which is a {question.kind} answer, "
                            "not a number"
                        ),
                    )

    def _results(self) -> Iterator[tuple[Path_, str]]:
        for name, result in self.flow.results.items():
            last = len(result.rules) - 1
            for number, rule in enumerate(result.rules):
                path: Path_ = ("results", name, "rules", number)
                if rule.when is None and number != last:
                    yield path, f"result '{name}': only the last rule may be without 'when'"
                if rule.when is not None and number == last:
                    yield path, f"result '{name}': the last rule needs no 'when' (the fallback)"
                if rule.when is not None and _uses(rule.when, "result"):
                    yield (*path, "when"), f"result '{name}' cannot depend on another result"

    def _all_conditions(self) -> Iterator[tuple[Path_, Condition]]:
        if self.flow.only_if is not None:
            yield ("only_if",), self.flow.only_if
        for position, step in enumerate(self.flow.steps):
            if step.only_if is not None:
                yield ("steps", position, "only_if"), step.only_if
            for number, route in enumerate(step.next):
                if route.when is not None:
                    yield ("steps", position, "next", number, "when"), route.when
        for position, step in enumerate(self.flow.steps):
            for number, item in enumerate(getattr(step, "items", ())):
                if item.only_if is not None:
                    yield ("steps", position, "items", number, "only_if"), item.only_if
        for position, flag_rule in enumerate(self.flow.flags):
            yield ("flags", position, "when"), flag_rule.when
        for name, result in self.flow.results.items():
            for number, rule in enumerate(result.rules):
                if rule.when is not None:
                    yield ("results", name, "rules", number, "when"), rule.when

    def _purpose(self) -> Iterator[tuple[Path_, str]]:
        """A flow's purpose fits who uses it and what it writes (the host relies on both)."""
        purpose = PURPOSES[self.flow.purpose]
        families = "family" in self.flow.roles
        if purpose.for_families and not families:
            yield ("roles",), f"a '{self.flow.purpose}' flow is for families: roles [family]"
        if not purpose.for_families and families:
            yield ("roles",), f"a '{self.flow.purpose}' flow is for staff: families cannot use it"
        if purpose.writes is not None and purpose.writes not in {
            update.field for step in self.flow.steps for update in getattr(step, "set_case", ())
        }:
            yield (
                ("purpose",),
                f"a '{self.flow.purpose}' flow must write its case's {purpose.writes} "
                "(set_case on a step)",
            )

    def _case_updates(self) -> Iterator[tuple[Path_, str]]:
        """What a flow writes to its case must be a value the case can take, and only
        professionals' flows write."""
        if self.flow.only_if is not None and any(
            leaf.case is None for leaf in self.flow.only_if.comparisons()
        ):
            yield ("only_if",), "a flow's 'only_if' can only look at the case ('case: ...')"
        for position, step in enumerate(self.flow.steps):
            for number, item in enumerate(getattr(step, "items", ())):
                if item.only_if is not None and any(
                    leaf.case is None for leaf in item.only_if.comparisons()
                ):
                    yield (
                        ("steps", position, "items", number, "only_if"),
                        "an item's 'only_if' can only look at the case ('case: ...')",
                    )
        for position, step in enumerate(self.flow.steps):
            for number, update in enumerate(getattr(step, "set_case", ())):
                path: Path_ = ("steps", position, "set_case", number)
                if "family" in self.flow.roles:
                    yield path, "a flow families use cannot change their case"
                allowed = CASE_UPDATES[update.field]
                if update.answer is not None:
                    question = self.flow.question_for(update.answer)
                    values = [o.value for o in getattr(question, "options", ())]
                    if not isinstance(question, ChoiceStep) or set(values) - set(allowed):
                        yield (
                            (*path, "answer"),
                            (
                                f"'{update.answer}' must be a choice whose options are "
                                f"{update.field} values ({', '.join(allowed)})"
                            ),
                        )
                if update.result is not None:
                    result = self.flow.results.get(update.result)
                    values = [rule.value for rule in result.rules] if result else []
                    if result is None or set(values) - set(allowed):
                        yield (
                            (*path, "result"),
                            (
                                f"'{update.result}' must be a result whose values are "
                                f"{update.field} values ({', '.join(allowed)})"
                            ),
                        )
                if update.reason is not None and not isinstance(
                    self.flow.question_for(update.reason), TextStep
                ):
                    yield (
                        (*path, "reason"),
                        f"reason '{update.reason}' must be the key of a free-text answer",
                    )

    def _conditions(self) -> Iterator[tuple[Path_, str]]:
        for path, condition in self._all_conditions():
            for leaf in condition.comparisons():
                problem = self._leaf_problem(leaf)
                if problem:
                    yield path, problem

    def _leaf_problem(self, leaf: Condition) -> str | None:
        operator = leaf.operator
        ordering = operator in ("lt", "le", "gt", "ge")
        if leaf.case is not None or leaf.result is not None:
            return self._named_value_problem(leaf, ordering)
        if operator == "answered":
            known = (
                leaf.score in self.flow.scores
                if leaf.score
                else self.flow.question_for(leaf.answer or "")
            )
            return None if known else f"condition on unknown key '{leaf.answer or leaf.score}'"
        if leaf.score is not None:
            if leaf.score not in self.flow.scores:
                return f"condition on unknown score '{leaf.score}'"
            if not ordering and not _all_numbers(leaf.values):
                return f"score '{leaf.score}' is a number; compare it with numbers"
            return None
        question = self.flow.question_for(leaf.answer or "")
        if question is None:
            return f"condition on unknown answer key '{leaf.answer}'"
        if isinstance(question, ChecklistStep):
            return (
                f"'{leaf.answer}' is a checklist: compare its items ('{leaf.answer}.ITEM') "
                f"or '{leaf.answer}.complete'"
            )
        values = leaf.values
        if isinstance(question, TextStep):
            return f"condition on free-text answer '{leaf.answer}': free text cannot be compared"
        if isinstance(question, YesNoStep):
            if ordering or not all(isinstance(value, bool) for value in values):
                return f"'{leaf.answer}' is a yes/no answer: compare it with true or false"
            return None
        if isinstance(question, NumberStep):
            if not ordering and not _all_numbers(values):
                return f"'{leaf.answer}' is a number answer: compare it with numbers"
            return None
        if ordering and isinstance(question, ChoiceStep):
            return f"'{leaf.answer}' is a choice without order: use 'equals' or 'in'"
        if ordering:
            return None
        allowed = [option.value for option in question.options]
        unknown = [value for value in values if not any(_same_value(value, a) for a in allowed)]
        if unknown:
            listed = ", ".join(repr(value) for value in allowed)
            return (
                f"condition on '{leaf.answer}' uses {', '.join(map(repr, unknown))}, "
                f"which is not one of its options ({listed})"
            )
        return None

    def _named_value_problem(self, leaf: Condition, ordering: bool) -> str | None:
        """A condition on the case or on a result: `equals`/`in` with values it can have."""
        if leaf.case is not None:
            subject, allowed = f"case field '{leaf.case}'", CASE_FACTS[leaf.case]
        else:
            result = self.flow.results.get(leaf.result or "")
            if result is None:
                return f"condition on unknown result '{leaf.result}'"
            subject = f"result '{leaf.result}'"
            allowed = tuple(rule.value for rule in result.rules)
        if leaf.operator == "answered":
            return None
        if ordering:
            return f"{subject} has no order: use 'equals' or 'in'"
        values = [value for value in leaf.values if isinstance(value, str)]
        if len(values) != len(leaf.values):
            return f"{subject} is compared with words, not numbers or yes/no"
        if leaf.case == "country" and not all(_COUNTRY.fullmatch(value) for value in values):
            return "a country is its two-letter code in capitals, like NL (COUNTRY)"
        unknown = [value for value in values if allowed is not None and value not in allowed]
        if unknown:
            return (
                f"condition on {subject} uses {', '.join(map(repr, unknown))}, "
                f"which it cannot be ({', '.join(allowed or ())})"
            )
        return None

    def _placeholders(self) -> Iterator[tuple[Path_, str]]:
        known = set(self.flow.context) | set(self.flow.scores) | set(self.flow.results)
        texts: list[tuple[Path_, str, set[str]]] = [(("title",), self.flow.title, set())]
        for position, step in enumerate(self.flow.steps):
            path: Path_ = ("steps", position)
            texts.append(((*path, "text"), step.text, known))
            if isinstance(step, Question) and step.invalid is not None:
                texts.append(((*path, "invalid"), step.invalid, set(step.invalid_params())))
            for number, option in enumerate(getattr(step, "options", ())):
                texts.append(((*path, "options", number, "label"), option.label, set()))
            for number, item in enumerate(getattr(step, "items", ())):
                texts.append(((*path, "items", number, "label"), item.label, set()))
        for position, flag_rule in enumerate(self.flow.flags):
            texts.append((("flags", position, "reason"), flag_rule.reason, set()))
        for name, result in self.flow.results.items():
            for number, rule in enumerate(result.rules):
                texts.append((("results", name, "rules", number, "label"), rule.label, set()))
        for path, text, allowed in texts:
            try:
                used = placeholders_of(text)
            except ValueError as error:
                yield path, f"text has a broken placeholder: {error}"
                continue
            for name in sorted(used - allowed):
                hint = ", ".join(sorted(allowed)) or "none here"
                yield path, f"placeholder '{{{name}}}' is not known (known: {hint})"


def _uses(condition: Condition, subject: str) -> bool:
    return any(getattr(leaf, subject) is not None for leaf in condition.comparisons())


def _closure(starts: Iterable[str], neighbours: Callable[[str], Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    queue = deque(starts)
    while queue:
        current = queue.popleft()
        if current in seen:
            continue
        seen.add(current)
        queue.extend(neighbours(current))
    return seen


def _all_numbers(values: Iterable[object]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _same_value(value: object, allowed: object) -> bool:
    return type(value) is type(allowed) and value == allowed
