"""What the conversation hands a channel to show: messages with buttons, and a few actions.

Everything a person reads is a `Text` (translated by the channel with the reader's
translator, which comes with each output) or a plain string shown as it is (a language's own
name, a case code). A channel renders each output as it can:

- `Message`: paragraphs of lines and rows of buttons. Telegram sends one message (paragraphs
  apart by a blank line) with signed buttons, and with `in_place` it replaces the message a
  pressed button was on (one that `must_arrive` it retries until delivered); the terminal
  prints every line, a question's options (numbered by the conversation, the same in every
  channel) and every other button as the command to type.
- `Toast`: the short answer to what was asked (Telegram shows a pressed button's answer as a
  notification; to a typed command it is a message).
- `Chosen`: what was chosen, shown on the message whose button was pressed, which loses its
  buttons; to a typed command it is shown only with `say_if_typed`.
- `Menu`, `Photo`: the command menu of a role and a picture with a caption (an invite's QR
  code), for channels that can; the terminal shows a photo's caption.

Notices to other people are no output of an update: they are queued in the outbox with the
change that causes them, and a sender delivers them (`bot.services.outbox`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..engine import Text
from ..i18n import Translator
from .intents import Answer, Intent

__all__ = [
    "Button",
    "Chosen",
    "Joined",
    "Line",
    "Menu",
    "Message",
    "Outbox",
    "Output",
    "Photo",
    "Toast",
    "render",
]


@dataclass(frozen=True)
class Joined:
    """Parts shown one after the other: "Open #12 · urgent · K7Q-4MX"."""

    parts: tuple[Text | str, ...]

    def __init__(self, *parts: Text | str) -> None:
        object.__setattr__(self, "parts", parts)


Line = Text | str | Joined


def render(translate: Translator, line: Line) -> str:
    if isinstance(line, str):
        return line
    if isinstance(line, Joined):
        return "".join(render(translate, part) for part in line.parts)
    return translate(line)


@dataclass(frozen=True)
class Button:
    label: Line
    intent: Intent
    # Always at hand as a command too (the "I need help now" button under every family
    # question is /sos): a channel of typed commands leaves it out.
    shortcut: bool = False

    @property
    def option(self) -> bool:
        """A question's option: its label starts with its number, which can be typed."""
        return isinstance(self.intent, Answer)


Paragraph = tuple[Line, ...]


@dataclass(frozen=True)
class Message:
    paragraphs: tuple[Paragraph, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()
    # Replaces the message a pressed button was on (a page turned, a flag acted on).
    in_place: bool = False
    # The emergency numbers: the channel keeps trying until the message is delivered, and
    # says nothing else in that chat before it is.
    must_arrive: bool = False

    @classmethod
    def of(
        cls,
        *lines: Line,
        buttons: tuple[tuple[Button, ...], ...] = (),
        in_place: bool = False,
        must_arrive: bool = False,
    ) -> Message:
        """One paragraph of lines."""
        return cls((lines,), buttons, in_place, must_arrive)


@dataclass(frozen=True)
class Toast:
    text: Text
    alert: bool = False


@dataclass(frozen=True)
class Chosen:
    """The pressed message shows `lines` (or its own text when None) and under it `mark`."""

    lines: Paragraph | None = None
    mark: Line | None = None
    say_if_typed: bool = False


@dataclass(frozen=True)
class Menu:
    role: str


@dataclass(frozen=True)
class Photo:
    png: bytes
    caption: Text


Output = Message | Toast | Chosen | Menu | Photo

# Where the conversation puts what it says, with the translator of the person it says it to.
Outbox = Callable[[Output, Translator], Awaitable[None]]
