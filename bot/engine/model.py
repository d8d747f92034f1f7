"""The flow format (spec 1) as typed, immutable models.

A flow file is parsed into these models by `loader`, which adds what a schema cannot check
(targets exist, every step is reachable and can reach an end, conditions name real keys and
real option values). Unknown fields are errors (`extra="forbid"`), so a typo in a flow never
silently changes what a family is asked. The format is described for authors in the README.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .events import Text
from .vocabulary import CASE_UPDATES, ITEM_STATUSES, PurposeName, Stage

SPEC_VERSION = 1
ROLES = ("family", "caseworker", "coordinator")

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
# Answer keys are stable names for stored data (`who5.cheerful`), independent of step ids.
AnswerKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=128)]
Role = Literal["family", "caseworker", "coordinator"]
Level = Literal["urgent", "high", "medium", "low"]
NonEmptyText = Annotated[str, Field(min_length=1)]
# A flag value, a choice value, a number or a boolean: what an answer can be.
Scalar = bool | int | float | str

# Telegram refuses messages over 4096 characters; a free-text answer can never be longer.
TELEGRAM_MESSAGE_LIMIT = 4096


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def placeholders(text: str) -> set[str]:
    """The {names} a text uses; positional or formatted fields count by their name."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


# --- conditions ---------------------------------------------------------------------------

_SUBJECTS = ("answer", "score", "result", "case", "and_", "or_", "not_")
_COMPARED = ("answer", "score", "result", "case")
CaseFact = Literal["programme", "country", "stage", "risk_level", "reevaluation", "screening"]
_OPERATORS = ("equals", "in_", "lt", "le", "gt", "ge", "answered")


class Condition(_Strict):
    """A structured test on answers and scores; never code.

    Either a comparison — `{answer: KEY, equals|in|lt|le|gt|ge: VALUE}` or the same with
    `score: NAME`, `result: NAME` (a declared result, like a risk level) or `case: FIELD` (what
    the run's case is: programme, country, stage, risk_level); `{answer: KEY, answered: true}`
    asks whether a question was answered at all — or a combination: `{and: [...]}`,
    `{or: [...]}`, `{not: {...}}`.
    """

    answer: AnswerKey | None = None
    score: Identifier | None = None
    result: Identifier | None = None
    case: CaseFact | None = None
    equals: Scalar | None = None
    in_: tuple[Scalar, ...] | None = Field(default=None, alias="in", min_length=1)
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None
    answered: bool | None = None
    and_: tuple[Condition, ...] | None = Field(default=None, alias="and", min_length=1)
    or_: tuple[Condition, ...] | None = Field(default=None, alias="or", min_length=1)
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_shape(self) -> Condition:
        given = self.model_fields_set
        subjects = [name for name in _SUBJECTS if name in given]
        operators = [name for name in _OPERATORS if name in given]
        if len(subjects) != 1:
            raise ValueError(
                "a condition needs exactly one of "
                "'answer', 'score', 'result', 'case', 'and', 'or', 'not'"
            )
        if subjects[0] in _COMPARED:
            if len(operators) != 1:
                raise ValueError(
                    "a comparison needs exactly one of "
                    "'equals', 'in', 'lt', 'le', 'gt', 'ge', 'answered'"
                )
        elif operators:
            raise ValueError("'and', 'or' and 'not' take conditions, not comparisons")
        return self

    @property
    def operator(self) -> str | None:
        for name in _OPERATORS:
            if name in self.model_fields_set:
                return name.rstrip("_")
        return None

    @property
    def operand(self) -> Scalar | tuple[Scalar, ...] | None:
        name = self.operator
        return None if name is None else getattr(self, name if name != "in" else "in_")

    @property
    def values(self) -> tuple[Scalar | None, ...]:
        """What a comparison compares with: the `in` list, or its one value."""
        operand = self.operand
        return operand if isinstance(operand, tuple) else (operand,)

    @property
    def subject(self) -> tuple[str, str] | None:
        """What a comparison looks at, like ("answer", "who5.calm"); None for and/or/not."""
        for name in _COMPARED:
            value = getattr(self, name)
            if value is not None:
                return name, value
        return None

    def children(self) -> tuple[Condition, ...]:
        if self.and_ is not None:
            return self.and_
        if self.or_ is not None:
            return self.or_
        if self.not_ is not None:
            return (self.not_,)
        return ()

    def comparisons(self) -> list[Condition]:
        """Every leaf comparison, depth first: what the validator and evidence look at."""
        if self.subject is not None:
            return [self]
        return [leaf for child in self.children() for leaf in child.comparisons()]


class Route(_Strict):
    """Go to `goto` when `when` holds; a route without `when` is the fallback and comes last."""

    when: Condition | None = None
    goto: Identifier


# --- steps --------------------------------------------------------------------------------


class Option(_Strict):
    value: Scalar
    label: NonEmptyText


class ChoiceOption(Option):
    value: Identifier


class ScaleOption(Option):
    value: int


class CaseUpdate(_Strict):
    """Write one field of the run's case when the step is reached: a fixed `value`, the
    value of an `answer` (a choice) or of a `result`. `reason` names a free-text answer kept
    with the change as its recorded reason (an override says why)."""

    field: Literal["stage", "risk_level", "closure", "reevaluate_in"]
    value: Identifier | None = None
    answer: AnswerKey | None = None
    result: Identifier | None = None
    reason: AnswerKey | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CaseUpdate:
        given = [name for name in ("value", "answer", "result") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("a case update needs exactly one of 'value', 'answer', 'result'")
        if self.value is not None and self.value not in CASE_UPDATES[self.field]:
            allowed = ", ".join(CASE_UPDATES[self.field])
            raise ValueError(f"'{self.value}' is not a {self.field} (one of: {allowed})")
        return self


class _Step(_Strict):
    id: Identifier
    text: NonEmptyText
    next: tuple[Route, ...] = ()
    # Shown only when this holds (a step for some programmes or countries); otherwise the run
    # goes on along the step's routes as if it had been passed.
    only_if: Condition | None = None

    @field_validator("next", mode="before")
    @classmethod
    def _single_target(cls, value: object) -> object:
        # `next: some_step` is the short form of one unconditional route.
        return ({"goto": value},) if isinstance(value, str) else value

    @property
    def asks(self) -> bool:
        return False


class _Question(_Step):
    key: AnswerKey
    # The validation message shown when an answer does not fit; a default per kind otherwise.
    invalid: NonEmptyText | None = None

    @property
    def asks(self) -> bool:
        return True

    def invalid_params(self) -> Mapping[str, object]:
        """Values the validation message may use as {placeholders}."""
        return {}


class MessageStep(_Step):
    kind: Literal["message"]
    set_case: tuple[CaseUpdate, ...] = ()


class ChoiceStep(_Question):
    kind: Literal["choice"]
    options: tuple[ChoiceOption, ...] = Field(min_length=1)


class ScaleStep(_Question):
    """Ordered options with numeric values (most positive first), usable in scores."""

    kind: Literal["scale"]
    options: tuple[ScaleOption, ...] = Field(min_length=2)


class YesNoStep(_Question):
    kind: Literal["yes_no"]


class NumberStep(_Question):
    kind: Literal["number"]
    min: float | None = None
    max: float | None = None
    integer: bool = True

    @model_validator(mode="after")
    def _bounds_in_order(self) -> NumberStep:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is greater than 'max'")
        return self

    def invalid_params(self) -> Mapping[str, object]:
        bounds = {"minimum": self.min, "maximum": self.max}
        return {name: value for name, value in bounds.items() if value is not None}


class TextStep(_Question):
    kind: Literal["text"]
    max_length: int = Field(default=1000, ge=1, le=TELEGRAM_MESSAGE_LIMIT)

    def invalid_params(self) -> Mapping[str, object]:
        return {"max_length": self.max_length}


class ChecklistItem(_Strict):
    id: Identifier
    label: NonEmptyText
    # The items a stage cannot be left without (done, or not applicable with a note).
    essential: bool = False
    # Listed (and counted) only for cases where this holds: a country's legal frame, say
    # (conditions on `case:` only; `conditions.items_for` applies it).
    only_if: Condition | None = None


class ChecklistStep(_Question):
    """A list of items, each done, not yet, or not applicable, with a note.

    The person picks an item, sets its status and may add a note, as often as they like, and
    finishes the list. Stored under `KEY.ITEM` (the status), `KEY.ITEM.note` and, when the
    list is finished, `KEY.complete`: true when every essential item is done or does not
    apply. The statuses belong to the case: a new run starts from the case's last ones.
    """

    kind: Literal["checklist"]
    items: tuple[ChecklistItem, ...] = Field(min_length=1)
    # The reintegration stage whose steps these are: the case view shows the list of the
    # case's current stage, with what is still missing.
    stage: Stage | None = None

    @property
    def complete_key(self) -> str:
        return f"{self.key}.complete"

    def status_key(self, item: str) -> str:
        return f"{self.key}.{item}"

    def note_key(self, item: str) -> str:
        return f"{self.key}.{item}.note"

    def item(self, item_id: str) -> ChecklistItem | None:
        return next((item for item in self.items if item.id == item_id), None)

    def remembered_keys(self) -> list[str]:
        """The keys a new run takes over from the case's earlier runs."""
        return [
            key for item in self.items for key in (self.status_key(item.id), self.note_key(item.id))
        ]

    def settled(self, answers: Mapping[str, object], item_id: str) -> bool:
        """Done, or not applicable with a note saying why (a "not applicable" left without
        its note — the person went away at the question — does not count)."""
        status = answers.get(self.status_key(item_id))
        return status == "done" or (
            status == "not_applicable" and bool(answers.get(self.note_key(item_id)))
        )

    def complete(
        self, answers: Mapping[str, object], items: tuple[ChecklistItem, ...] | None = None
    ) -> bool:
        """Every essential item settled (of `items`: those listed for the case, when given)."""
        listed = self.items if items is None else items
        return all(self.settled(answers, item.id) for item in listed if item.essential)

    def derived_questions(self) -> list[Question]:
        """The answers a checklist stores, as questions: what conditions and evidence see."""
        statuses = tuple(
            ChoiceOption(value=status, label=label.msgid)
            for status, label in zip(ITEM_STATUSES, STATUS_LABELS, strict=True)
        )
        derived: list[Question] = [
            YesNoStep(id=self.id, kind="yes_no", key=self.complete_key, text=self.text)
        ]
        for item in self.items:
            derived.append(
                ChoiceStep(
                    id=self.id,
                    kind="choice",
                    key=self.status_key(item.id),
                    text=item.label,
                    options=statuses,
                )
            )
            derived.append(
                TextStep(
                    id=self.id,
                    kind="text",
                    key=self.note_key(item.id),
                    text=item.label,
                    max_length=NOTE_MAX_LENGTH,
                )
            )
        return derived


# A checklist item's note is a line or two for the case file.
NOTE_MAX_LENGTH = 1000

# The labels of the item statuses, in the order of ITEM_STATUSES.
STATUS_LABELS = (Text("Done"), Text("Not yet"), Text("Not applicable"))


class EndStep(_Strict):
    id: Identifier
    kind: Literal["end"]
    text: NonEmptyText
    set_case: tuple[CaseUpdate, ...] = ()

    @property
    def next(self) -> tuple[Route, ...]:
        # An end step ends: it has no routes (and `next:` in its YAML is an unknown field).
        return ()

    @property
    def asks(self) -> bool:
        return False

    @property
    def only_if(self) -> None:
        # An end is never skipped: a run must be able to end.
        return None


Step = Annotated[
    MessageStep
    | ChoiceStep
    | ScaleStep
    | YesNoStep
    | NumberStep
    | TextStep
    | ChecklistStep
    | EndStep,
    Field(discriminator="kind"),
]
Question = ChoiceStep | ScaleStep | YesNoStep | NumberStep | TextStep | ChecklistStep


# --- scores and flags ---------------------------------------------------------------------


class Score(_Strict):
    """The sum of numeric answers (`sum`), or how many yes/no answers are yes (`count`);
    defined only once every one of them is answered."""

    sum: tuple[AnswerKey, ...] = ()
    count: tuple[AnswerKey, ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> Score:
        if bool(self.sum) == bool(self.count):
            raise ValueError("a score needs exactly one of 'sum' and 'count' (a list of keys)")
        return self

    @property
    def keys(self) -> tuple[str, ...]:
        return self.sum or self.count


class ResultRule(_Strict):
    value: Identifier
    label: NonEmptyText
    when: Condition | None = None


class Result(_Strict):
    """A named outcome, like a risk level: the first rule whose `when` holds gives its value;
    the last rule has no `when` and is the outcome when none of the others hold. `source`
    says where the rules come from, for the people who review them."""

    source: NonEmptyText
    rules: tuple[ResultRule, ...] = Field(min_length=1)


class FlagRule(_Strict):
    id: Identifier
    level: Level
    reason: NonEmptyText
    when: Condition
    # Where the rule comes from (a guideline, an instrument's manual, the organisation's own
    # choice): shown to staff with the flag, so they can weigh it. Every current flow has one
    # (tests/engine/test_sources.py); optional only for archived versions that predate it.
    source: NonEmptyText | None = None


# --- the flow -----------------------------------------------------------------------------


class Flow(_Strict):
    spec: Literal[1]
    id: Identifier
    version: int = Field(ge=1)
    title: NonEmptyText
    # What the flow is for (vocabulary.PURPOSES): the host finds flows by purpose, not by id.
    purpose: PurposeName
    roles: tuple[Role, ...] = Field(min_length=1)
    start: Identifier
    # Values the host provides for {placeholders} (e.g. next_checkin); checked at load.
    context: tuple[Identifier, ...] = ()
    # Offered only for cases where this holds (conditions on `case:` only).
    only_if: Condition | None = None
    metadata: dict[str, object] = Field(default_factory=dict)
    scores: dict[Identifier, Score] = Field(default_factory=dict)
    results: dict[Identifier, Result] = Field(default_factory=dict)
    flags: tuple[FlagRule, ...] = ()
    steps: tuple[Step, ...] = Field(min_length=1)

    _by_id: dict[str, MessageStep | Question | EndStep] = PrivateAttr(default_factory=dict)
    _by_key: dict[str, Question] = PrivateAttr(default_factory=dict)
    _index: dict[str, int] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object, /) -> None:
        self._by_id = {step.id: step for step in self.steps}
        self._by_key = {step.key: step for step in self.steps if isinstance(step, Question)}
        for step in self.checklists():
            for derived in step.derived_questions():
                self._by_key.setdefault(derived.key, derived)
        self._index = {step.id: number for number, step in enumerate(self.steps)}

    def step(self, step_id: str) -> MessageStep | Question | EndStep:
        return self._by_id[step_id]

    def index_of(self, step_id: str) -> int:
        """A step's position in the file: a compact, stable name within one flow version."""
        return self._index[step_id]

    def has_step(self, step_id: str) -> bool:
        return step_id in self._by_id

    def question_for(self, key: str) -> Question | None:
        return self._by_key.get(key)

    def checklists(self) -> list[ChecklistStep]:
        return [step for step in self.steps if isinstance(step, ChecklistStep)]

    def stage_checklist(self, stage: str | None) -> ChecklistStep | None:
        """The checklist of a reintegration stage's steps, if this flow has it."""
        return next((step for step in self.checklists() if step.stage == stage), None)

    @property
    def uses_case(self) -> bool:
        """Whether runs need their case's facts: a `case:` condition anywhere, or a step that
        writes the case (whose `was` is the case's value). Other flows' runs do without."""
        conditions = [self.only_if, *(rule.when for rule in self.flags)]
        conditions += [rule.when for result in self.results.values() for rule in result.rules]
        conditions += [item.only_if for step in self.checklists() for item in step.items]
        for step in self.steps:
            if getattr(step, "set_case", ()):
                return True
            conditions += [step.only_if, *(route.when for route in step.next)]
        return any(
            leaf.case is not None
            for condition in conditions
            if condition is not None
            for leaf in condition.comparisons()
        )

    def remembered_keys(self) -> list[str]:
        """The answers of this flow that belong to the case rather than to one run."""
        return [key for step in self.checklists() for key in step.remembered_keys()]

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"
