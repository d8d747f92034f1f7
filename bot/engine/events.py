"""What the engine hands back: texts to translate, events to carry out, and the run's state.

A `Sprint` is the answer to `start` or `resume`: the events the channel must carry out, in
order (say, ask, store an answer, store a score, raise a flag, end), and the new `RunState`
to store in the same transaction. Texts are not translated here: a `Text` is an English
source string (a gettext msgid) with its parameters, rendered by `bot.i18n` in the reader's
language at the moment it is shown — so a language switch mid-flow re-renders the question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

Value = bool | int | float | str
StepKind = Literal["message", "choice", "scale", "yes_no", "number", "text", "end"]


@dataclass(frozen=True)
class Text:
    """An English source string (gettext msgid) with the values of its {placeholders}."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # The English plural form; the number that chooses the form is `params["count"]`.
    plural: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def using(self, **params: Any) -> Text:
        """The same text with values for its placeholders: `NOT_FOR_ROLE.using(command=...)`."""
        return Text(self.msgid, {**self.params, **params}, self.plural)


def Plural(singular: str, plural: str, **params: Any) -> Text:
    """A text with plural forms, chosen by `count` in each language's own plural rules:
    `Plural("{count} open flag", "{count} open flags", count=n)`."""
    return Text(singular, params, plural)


@dataclass(frozen=True)
class Option:
    value: Value
    label: Text


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """Show a text; nothing is expected back."""

    text: Text


@dataclass(frozen=True)
class Ask:
    """Ask a question and wait. `options` is empty for number and free-text steps."""

    step_id: str
    kind: StepKind
    key: str
    text: Text
    options: tuple[Option, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    # True when the question is repeated to someone coming back to it (resume, new language).
    reminder: bool = False


@dataclass(frozen=True)
class Invalid:
    """The input did not answer the question; the step's validation message explains why."""

    step_id: str
    text: Text


@dataclass(frozen=True)
class AnswerRecorded:
    step_id: str
    key: str
    value: Value


@dataclass(frozen=True)
class ScoreComputed:
    name: str
    value: float


@dataclass(frozen=True)
class FlagRaised:
    rule_id: str
    level: str
    reason: Text
    # The answers and scores the rule's condition looked at, by key: what a reviewer must see.
    evidence: Mapping[str, Value]


@dataclass(frozen=True)
class RunEnded:
    step_id: str


Event = Say | Ask | Invalid | AnswerRecorded | ScoreComputed | FlagRaised | RunEnded


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """Text typed by the person: a number, a free text, or an option's number or value."""

    text: str


@dataclass(frozen=True)
class Choose:
    """An option picked by value: a button press, or a typed label the channel recognised."""

    value: Value


@dataclass(frozen=True)
class NonText:
    """Something that is not text where text was expected: a photo, sticker, voice note…"""

    kind: str


Input = Reply | Choose | NonText


# --- state --------------------------------------------------------------------------------

RunStatus = Literal["active", "completed"]


@dataclass(frozen=True)
class RunState:
    """Everything the engine needs to continue a run; stored as JSON with the run."""

    flow_id: str
    version: int
    step: str
    answers: Mapping[str, Value] = field(default_factory=dict)
    raised: tuple[str, ...] = ()
    status: RunStatus = "active"

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", MappingProxyType(dict(self.answers)))
        object.__setattr__(self, "raised", tuple(self.raised))

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow_id": self.flow_id,
            "version": self.version,
            "step": self.step,
            "answers": dict(self.answers),
            "raised": list(self.raised),
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunState:
        return cls(
            flow_id=data["flow_id"],
            version=int(data["version"]),
            step=data["step"],
            answers=data.get("answers", {}),
            raised=tuple(data.get("raised", ())),
            status=data.get("status", "active"),
        )


@dataclass(frozen=True)
class Sprint:
    events: tuple[Event, ...]
    state: RunState

    @property
    def ended(self) -> bool:
        return self.state.status == "completed"

    def of(self, kind: type) -> list:
        """The events of one kind, in order: `sprint.of(FlagRaised)`."""
        return [event for event in self.events if isinstance(event, kind)]
