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
from typing import Literal, TypeAlias, TypeVar

Value = bool | int | float | str
# What stored states, evidence and answers are made of: a JSON value.
JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
StepKind = Literal["message", "choice", "scale", "yes_no", "number", "text", "checklist", "end"]


@dataclass(frozen=True)
class Text:
    """An English source string (gettext msgid) with the values of its {placeholders}."""

    msgid: str
    # Values are formatted for the reader when shown (numbers, dates, other Texts...).
    params: Mapping[str, object] = field(default_factory=dict)
    # The English plural form; the number that chooses the form is `params["count"]`.
    plural: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def using(self, **params: object) -> Text:
        """The same text with values for its placeholders: `NOT_FOR_ROLE.using(command=...)`."""
        return Text(self.msgid, {**self.params, **params}, self.plural)


def Plural(singular: str, plural: str, **params: object) -> Text:
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
    """Show a text; nothing is expected back. `lines` go under it, one per line."""

    text: Text
    lines: tuple[Text, ...] = ()


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
    # Lines under the text (a checklist's items with their status).
    lines: tuple[Text, ...] = ()
    # Which question of the step this is: 0, or for a checklist its list (0), an item's
    # status or an item's note. A button names it, so a press on an earlier question of the
    # same step is recognised as old rather than taken as an answer to this one.
    part: int = 0


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
class CaseUpdated:
    """Write a field of the run's case (stage, risk_level, closure). `reason` is the text the
    person gave for it, if the flow asked; `results` the flow's results at that moment, kept
    with the change so an override shows what it overrode."""

    name: str
    value: str
    reason: str | None = None
    results: Mapping[str, str] = field(default_factory=dict)
    # What the field was when the run started (or last changed it): a host can refuse a
    # change made on an outdated view (a stage moved meanwhile by someone else).
    was: str | None = None


@dataclass(frozen=True)
class RunEnded:
    step_id: str


Event = Say | Ask | Invalid | AnswerRecorded | ScoreComputed | FlagRaised | CaseUpdated | RunEnded


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
E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class RunState:
    """Everything the engine needs to continue a run; stored as JSON with the run."""

    flow_id: str
    version: int
    step: str
    answers: Mapping[str, Value] = field(default_factory=dict)
    raised: tuple[str, ...] = ()
    status: RunStatus = "active"
    # Where within the step the run is: a checklist's item ("status:ITEM" or "note:ITEM");
    # None at the step itself.
    part: str | None = None
    # What the run's case was when the run started (programme, country, stage, risk_level),
    # updated by the run's own case updates: what `case:` conditions look at.
    case: Mapping[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", MappingProxyType(dict(self.answers)))
        object.__setattr__(self, "raised", tuple(self.raised))
        object.__setattr__(self, "case", MappingProxyType(dict(self.case)))

    def to_dict(self) -> dict[str, JSONValue]:
        stored: dict[str, JSONValue] = {
            "flow_id": self.flow_id,
            "version": self.version,
            "step": self.step,
            "answers": dict(self.answers),
            "raised": list(self.raised),
            "status": self.status,
        }
        # Only when used, so that a check-in's state stays as small as it was.
        if self.part is not None:
            stored["part"] = self.part
        if self.case:
            stored["case"] = dict(self.case)
        return stored

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> RunState:
        """The state as `to_dict` stored it; ValueError for anything else."""
        flow_id, version, step = data.get("flow_id"), data.get("version"), data.get("step")
        status, part = data.get("status", "active"), data.get("part")
        if not (isinstance(flow_id, str) and isinstance(version, int) and isinstance(step, str)):
            raise ValueError("not a stored run state")
        if not (status in ("active", "completed") and (part is None or isinstance(part, str))):
            raise ValueError("not a stored run state")
        raised = data.get("raised", [])
        return cls(
            flow_id=flow_id,
            version=version,
            step=step,
            answers=_values(data.get("answers", {})),
            raised=tuple(_strings(raised if isinstance(raised, list) else [None])),
            status="completed" if status == "completed" else "active",
            part=part,
            case=_facts(data.get("case", {})),
        )


def _values(raw: JSONValue) -> dict[str, Value]:
    if not isinstance(raw, dict):
        raise ValueError("not a stored run state")
    values: dict[str, Value] = {}
    for key, value in raw.items():
        if not isinstance(value, bool | int | float | str):
            raise ValueError("not a stored run state")
        values[key] = value
    return values


def _strings(raw: list[JSONValue]) -> list[str]:
    if not all(isinstance(item, str) for item in raw):
        raise ValueError("not a stored run state")
    return [str(item) for item in raw]


def _facts(raw: JSONValue) -> dict[str, str | None]:
    if not isinstance(raw, dict):
        raise ValueError("not a stored run state")
    facts: dict[str, str | None] = {}
    for key, value in raw.items():
        if value is not None and not isinstance(value, str):
            raise ValueError("not a stored run state")
        facts[key] = value
    return facts


@dataclass(frozen=True)
class Sprint:
    events: tuple[Event, ...]
    state: RunState

    @property
    def ended(self) -> bool:
        return self.state.status == "completed"

    def of(self, kind: type[E]) -> list[E]:
        """The events of one kind, in order: `sprint.of(FlagRaised)`."""
        return [event for event in self.events if isinstance(event, kind)]
