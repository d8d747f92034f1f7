"""What a person asks the bot for: one value per command, whether typed or pressed.

A typed command (`/flag 12 ack`) and the button that does the same carry the same intent, so
both reach the same handler. A channel turns its input into an intent — the console and
Telegram parse typed commands with `parse_command`, Telegram also decodes the signed data of a
pressed button (`decode`) — and shows a button as it can: on Telegram as a button whose data
is `encode(intent)`, in the terminal as the command to type (`typed()`).

A button's data is the intent's `key` and its fields, joined by ":"; fields are short ids and
words (a case code, a flow id, a number), never a person's text.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "Answer",
    "Cancel",
    "Cases",
    "CheckIn",
    "Closure",
    "Correct",
    "Flags",
    "Guide",
    "Help",
    "Intent",
    "Invite",
    "Language",
    "OnFlag",
    "Privacy",
    "ResumeReminders",
    "Schedule",
    "ShowCase",
    "Sos",
    "Start",
    "StopReminders",
    "UnknownCommand",
    "Visit",
    "Web",
    "decode",
    "encode",
    "parse_command",
]


@dataclass(frozen=True)
class Intent:
    """What a person wants done. `command` is what they type for it (without the slash; empty
    for a button that has no typed form); `key` names it in a button's data."""

    command: ClassVar[str] = ""
    key: ClassVar[str] = ""

    @classmethod
    def parse(cls, argument: str) -> Intent:
        """The intent of the command typed with this argument (the text after the name)."""
        return cls()

    def words(self) -> tuple[str, ...]:
        """What is typed after the command's name for this intent."""
        return ()

    def typed(self) -> str | None:
        """The command a person types for it, or None for a button only (a question's
        option: in the terminal it is answered by its number)."""
        if not self.command:
            return None
        return " ".join(["/" + self.command, *(word for word in self.words() if word)])


def _first(argument: str) -> str | None:
    words = argument.split()
    return words[0] if words else None


def _code(argument: str) -> str | None:
    """A case code as people type it: the first word, in capitals."""
    first = _first(argument)
    return first.upper() if first else None


@dataclass(frozen=True)
class Sos(Intent):
    command, key = "sos", "s"


@dataclass(frozen=True)
class Help(Intent):
    command = "help"


@dataclass(frozen=True)
class Start(Intent):
    """Opening the bot, with the code of an invite (Telegram's deep link) or without."""

    command = "start"
    code: str | None = None

    @classmethod
    def parse(cls, argument: str) -> Start:
        return cls(_first(argument))


@dataclass(frozen=True)
class CheckIn(Intent):
    command, key = "checkin", "k"


@dataclass(frozen=True)
class Cancel(Intent):
    command = "cancel"


@dataclass(frozen=True)
class Language(Intent):
    """Choose a language (`code`), or be asked which (None)."""

    command, key = "language", "l"
    code: str | None = None

    @classmethod
    def parse(cls, argument: str) -> Language:
        first = _first(argument)
        return cls(first.lower() if first else None)

    def words(self) -> tuple[str, ...]:
        return (self.code or "",)


@dataclass(frozen=True)
class Privacy(Intent):
    """Read what is stored and why, and agree (`answer` "agree") or not ("refuse")."""

    command, key = "privacy", "c"
    ANSWERS: ClassVar[tuple[str, str]] = ("agree", "refuse")
    answer: str | None = None

    @classmethod
    def parse(cls, argument: str) -> Privacy:
        first = _first(argument)
        return cls(first.lower() if first else None)

    def words(self) -> tuple[str, ...]:
        return (self.answer or "",)


@dataclass(frozen=True)
class Cases(Intent):
    command = "cases"


@dataclass(frozen=True)
class ShowCase(Intent):
    command = "case"
    code: str | None = None

    @classmethod
    def parse(cls, argument: str) -> ShowCase:
        return cls(_code(argument))

    def words(self) -> tuple[str, ...]:
        return (self.code or "",)


@dataclass(frozen=True)
class Guide(Intent):
    """The guidance flows (`/guide`, or of one case: `/guide K7Q-4MX`), or one flow started
    for a case (`/guide reintegration K7Q-4MX`), the home visit for one child of it."""

    command, key = "guide", "g"
    flow_id: str | None = None
    case: str | None = None
    # The home visit rates one child: its number in the case (`/guide home_visit K7Q-4MX 2`).
    child: int | None = None

    @classmethod
    def parse(cls, argument: str) -> Guide:
        words = argument.split()
        flow_id = words[0].lower() if words else None
        case = words[1].upper() if len(words) > 1 else None
        third = words[2] if len(words) > 2 else ""
        # A case has a handful of children: a longer number is no child (and no database int).
        child = int(third) if third.isascii() and third.isdigit() and len(third) <= 3 else None
        return cls(flow_id, case, child)

    def words(self) -> tuple[str, ...]:
        return (self.flow_id or "", self.case or "", "" if self.child is None else str(self.child))


@dataclass(frozen=True)
class Invite(Intent):
    command = "invite"
    case: str | None = None

    @classmethod
    def parse(cls, argument: str) -> Invite:
        return cls(_code(argument))

    def words(self) -> tuple[str, ...]:
        return (self.case or "",)


@dataclass(frozen=True)
class Flags(Intent):
    """The review queue, one page of it."""

    command, key = "flags", "p"
    page: int = 1

    @classmethod
    def parse(cls, argument: str) -> Flags:
        first = _first(argument) or ""
        return cls(int(first) if first.isascii() and first.isdigit() else 1)

    def words(self) -> tuple[str, ...]:
        return (str(self.page) if self.page != 1 else "",)


@dataclass(frozen=True)
class OnFlag(Intent):
    """One flag: open it (`verb` ""), or `ack`, `note [TEXT]`, `resolve [TEXT]`, `reopen`,
    `assign [CASEWORKER]`. Without a text a note or resolution is asked for as the next
    message; without a caseworker the choice of caseworkers is shown."""

    command, key = "flag", "f"
    VERBS: ClassVar[tuple[str, ...]] = ("", "ack", "note", "resolve", "reopen", "assign")
    flag_id: int | None = None
    verb: str = ""
    text: str = ""

    @classmethod
    def parse(cls, argument: str) -> OnFlag:
        number, _, rest = argument.strip().partition(" ")
        verb, _, text = rest.strip().partition(" ")
        number = number.removeprefix("#")
        flag_id = int(number) if number.isascii() and number.isdigit() else None
        verb = verb.lower()
        return cls(flag_id, "ack" if verb == "acknowledge" else verb, text.strip())

    def words(self) -> tuple[str, ...]:
        return (str(self.flag_id or ""), self.verb, self.text)


@dataclass(frozen=True)
class Closure(Intent):
    """A coordinator's decision on a proposed closure: `approve`, `return [NOTE]` (without
    a note it is asked for next), or `reopen` a closed case. A button also names the
    `proposal` it was made for, so it cannot decide a newer one."""

    command, key = "closure", "z"
    VERBS: ClassVar[tuple[str, ...]] = ("approve", "return", "reopen")
    case: str | None = None
    verb: str = ""
    proposal: int | None = None
    note: str = ""

    @classmethod
    def parse(cls, argument: str) -> Closure:
        code, _, rest = argument.strip().partition(" ")
        verb, _, note = rest.strip().partition(" ")
        return cls(code.upper() or None, verb.lower(), None, note.strip())

    def words(self) -> tuple[str, ...]:
        return (self.case or "", self.verb, self.note)


@dataclass(frozen=True)
class Correct(Intent):
    """Correcting a wrong answer in a case's run (a check-in, a home visit): `/correct CODE`
    lists the case's recent runs, `/correct RUN` the answers of one, `/correct RUN ANSWER`
    offers the question's options (or asks for the new value as the next message), and
    `/correct RUN ANSWER VALUE` corrects it. ANSWER is the answer's key (`who5.calm`) or its
    number among the flow's questions: a button carries the number, as a key can be longer
    than a button's data holds. A pressed option asks to confirm first (`confirmed` 0); the
    confirmation, like a typed command, corrects."""

    command, key = "correct", "r"
    case: str | None = None
    run_id: int | None = None
    answer: str = ""
    value: str = ""
    confirmed: int = 1

    @classmethod
    def parse(cls, argument: str) -> Correct:
        words = argument.split(maxsplit=2)
        if not words:
            return cls()
        first = words[0]
        if not (first.isascii() and first.isdigit()):
            return cls(first.upper())
        answer = words[1].lower() if len(words) > 1 else ""
        value = words[2].strip() if len(words) > 2 else ""
        # A longer number is no run (and no database int): refused like any unknown run.
        return cls(None, int(first) if len(first) <= 12 else 0, answer, value)

    def words(self) -> tuple[str, ...]:
        run = "" if self.run_id is None else str(self.run_id)
        return (self.case or "", run, self.answer, self.value)


@dataclass(frozen=True)
class Schedule(Intent):
    command = "schedule"
    case: str | None = None
    when: str = ""

    @classmethod
    def parse(cls, argument: str) -> Schedule:
        code, _, when = argument.strip().partition(" ")
        return cls(code.upper() or None, when.strip())

    def words(self) -> tuple[str, ...]:
        return (self.case or "", self.when)


@dataclass(frozen=True)
class StopReminders(Intent):
    command = "stop"


@dataclass(frozen=True)
class ResumeReminders(Intent):
    command = "resume"


@dataclass(frozen=True)
class Visit(Intent):
    """A home visit done, recorded for a case."""

    command, key = "visit", "v"
    case: str | None = None

    @classmethod
    def parse(cls, argument: str) -> Visit:
        return cls(_code(argument))

    def words(self) -> tuple[str, ...]:
        return (self.case or "",)


@dataclass(frozen=True)
class Web(Intent):
    """A one-time link to sign in to the web view (staff)."""

    command = "web"


@dataclass(frozen=True)
class Answer(Intent):
    """An option of a question pressed: the run, the step (its place in the flow file), the
    option's place and which question of the step (a checklist asks several)."""

    key = "a"
    run_id: int
    step: int
    option: int
    part: int = 0


@dataclass(frozen=True)
class UnknownCommand(Intent):
    """A typed command the bot does not have."""

    name: str = ""


_TYPED: dict[str, type[Intent]] = {
    kind.command: kind
    for kind in (
        Sos,
        Help,
        Start,
        CheckIn,
        Cancel,
        Language,
        Privacy,
        Cases,
        ShowCase,
        Guide,
        Invite,
        Flags,
        OnFlag,
        Closure,
        Correct,
        Schedule,
        StopReminders,
        ResumeReminders,
        Visit,
        Web,
    )
}
_PRESSABLE: list[type[Intent]] = [*_TYPED.values(), Answer]
_BY_KEY: dict[str, type[Intent]] = {kind.key: kind for kind in _PRESSABLE if kind.key}


def parse_command(text: str) -> Intent | None:
    """The intent of a typed line starting with "/" (`/flags@wegwijzer_bot 2` too); None
    for a line that is not a command."""
    if not text.startswith("/"):
        return None
    head, _, argument = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    kind = _TYPED.get(name)
    return UnknownCommand(name) if kind is None else kind.parse(argument.strip())


# --- a button's data ------------------------------------------------------------------------

_SEPARATOR = ":"


def encode(intent: Intent) -> tuple[str, ...]:
    """The key and fields of an intent, for a button's (signed) data; trailing fields that
    have their default value are left out (Telegram allows 64 bytes)."""
    if not intent.key:
        raise ValueError(f"{type(intent).__name__} has no button form")
    declared = dataclasses.fields(intent)
    values = [getattr(intent, field.name) for field in declared]
    while values and values[-1] == declared[len(values) - 1].default:
        values.pop()
    fields = ["" if value is None else str(value) for value in values]
    if any(_SEPARATOR in field for field in fields):
        raise ValueError(f"a button cannot carry {_SEPARATOR!r} in a field")
    return (intent.key, *fields)


def decode(key: str, fields: list[str]) -> Intent:
    """The intent a button's data names; ValueError when it names none (or not well)."""
    kind = _BY_KEY.get(key)
    if kind is None:
        raise ValueError(f"unknown button kind {key!r}")
    declared = _fields(kind)
    if len(fields) > len(declared):
        raise ValueError("too many fields")
    values = {name: _value(hint, raw) for (name, hint), raw in zip(declared, fields, strict=False)}
    try:
        return kind(**values)
    except TypeError as missing:  # a field the intent needs is not there
        raise ValueError(str(missing)) from None


# An intent's fields with their types, read once per kind: every press decodes one.
_FIELDS: dict[type[Intent], tuple[tuple[str, object], ...]] = {}


def _fields(kind: type[Intent]) -> tuple[tuple[str, object], ...]:
    if kind not in _FIELDS:
        hints = typing.get_type_hints(kind)
        _FIELDS[kind] = tuple((field.name, hints[field.name]) for field in dataclasses.fields(kind))
    return _FIELDS[kind]


def _value(hint: object, raw: str) -> object:
    optional = type(None) in typing.get_args(hint)
    if raw == "" and optional:
        return None
    base = int if int in (hint, *typing.get_args(hint)) else str
    if base is int:
        if not (raw.isascii() and raw.isdigit()):
            raise ValueError("not a number")
        return int(raw)
    return raw
