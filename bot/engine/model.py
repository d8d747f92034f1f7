"""The flow format (spec 1) as typed, immutable models.

A flow file is parsed into these models by `loader`, which adds what a schema cannot check
(targets exist, every step is reachable and can reach an end, conditions name real keys and
real option values). Unknown fields are errors (`extra="forbid"`), so a typo in a flow never
silently changes what a family is asked. The format is described for authors in the README.
"""

from __future__ import annotations

import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

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

_SUBJECTS = ("answer", "score", "and_", "or_", "not_")
_OPERATORS = ("equals", "in_", "lt", "le", "gt", "ge", "answered")


class Condition(_Strict):
    """A structured test on answers and scores; never code.

    Either a comparison — `{answer: KEY, equals|in|lt|le|gt|ge: VALUE}` or the same with
    `score: NAME`; `{answer: KEY, answered: true}` asks whether a question was answered at
    all — or a combination: `{and: [...]}`, `{or: [...]}`, `{not: {...}}`.
    """

    answer: AnswerKey | None = None
    score: Identifier | None = None
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
                "a condition needs exactly one of 'answer', 'score', 'and', 'or', 'not'"
            )
        if subjects[0] in ("answer", "score"):
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
    def operand(self) -> Any:
        name = self.operator
        return None if name is None else getattr(self, name if name != "in" else "in_")

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
        if self.answer is not None or self.score is not None:
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


class _Step(_Strict):
    id: Identifier
    text: NonEmptyText
    next: tuple[Route, ...] = ()

    @field_validator("next", mode="before")
    @classmethod
    def _single_target(cls, value: Any) -> Any:
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

    def invalid_params(self) -> dict[str, Any]:
        """Values the validation message may use as {placeholders}."""
        return {}


class MessageStep(_Step):
    kind: Literal["message"]


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

    def invalid_params(self) -> dict[str, Any]:
        bounds = {"minimum": self.min, "maximum": self.max}
        return {name: value for name, value in bounds.items() if value is not None}


class TextStep(_Question):
    kind: Literal["text"]
    max_length: int = Field(default=1000, ge=1, le=TELEGRAM_MESSAGE_LIMIT)

    def invalid_params(self) -> dict[str, Any]:
        return {"max_length": self.max_length}


class EndStep(_Strict):
    id: Identifier
    kind: Literal["end"]
    text: NonEmptyText

    @property
    def next(self) -> tuple[Route, ...]:
        # An end step ends: it has no routes (and `next:` in its YAML is an unknown field).
        return ()

    @property
    def asks(self) -> bool:
        return False


Step = Annotated[
    MessageStep | ChoiceStep | ScaleStep | YesNoStep | NumberStep | TextStep | EndStep,
    Field(discriminator="kind"),
]
Question = ChoiceStep | ScaleStep | YesNoStep | NumberStep | TextStep


# --- scores and flags ---------------------------------------------------------------------


class Score(_Strict):
    """The sum of numeric answers; defined only once every one of them is answered."""

    sum: tuple[AnswerKey, ...] = Field(min_length=1)


class FlagRule(_Strict):
    id: Identifier
    level: Level
    reason: NonEmptyText
    when: Condition


# --- the flow -----------------------------------------------------------------------------


class Flow(_Strict):
    spec: Literal[1]
    id: Identifier
    version: int = Field(ge=1)
    title: NonEmptyText
    roles: tuple[Role, ...] = Field(min_length=1)
    start: Identifier
    # Values the host provides for {placeholders} (e.g. next_checkin); checked at load.
    context: tuple[Identifier, ...] = ()
    metadata: dict[str, Any] = Field(default_factory=dict)
    scores: dict[Identifier, Score] = Field(default_factory=dict)
    flags: tuple[FlagRule, ...] = ()
    steps: tuple[Step, ...] = Field(min_length=1)

    _by_id: dict[str, Any] = PrivateAttr(default_factory=dict)
    _by_key: dict[str, Any] = PrivateAttr(default_factory=dict)
    _index: dict[str, int] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._by_id = {step.id: step for step in self.steps}
        self._by_key = {step.key: step for step in self.steps if step.asks}
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

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"
