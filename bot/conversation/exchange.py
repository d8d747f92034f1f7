"""One exchange: a person's input being answered, and what the handlers need for it.

The pipeline makes an `Exchange` for each input (who is writing, in which language, on which
channel, whether by a pressed button) and hands it to the handler of the intent; handlers say
things through it, so every output goes to the channel with the reader's translator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..app import Wegwijzer
from ..engine import Text
from ..i18n import Translator
from ..rules.people import Participant
from ..services.once import AlreadyHandled, first_time
from .intents import Intent
from .outputs import Button, Line, Message, Outbox, Output, Toast

__all__ = ["Incoming", "Opened", "Other", "Pressed", "Said", "Typed"]


@dataclass(frozen=True)
class Typed:
    """A text message (a command when it starts with "/")."""

    text: str


@dataclass(frozen=True)
class Pressed:
    """A button, decoded by the channel (its data was genuine)."""

    intent: Intent


@dataclass(frozen=True)
class Other:
    """A message that is not text: a photo, a sticker, a voice message… and its caption,
    which only the emergency route reads."""

    kind: str
    caption: str | None = None


@dataclass(frozen=True)
class Opened:
    """A session opened (the terminal starting): greet, and pick up where the person was."""


Said = Typed | Pressed | Other | Opened


@dataclass(frozen=True)
class Incoming:
    """An input as the channel received it."""

    channel: str  # "telegram", "console"
    external_id: str  # the person's id on that channel
    said: Said
    # The update's key for handling it once ("telegram:<update id>"); None: no redelivery.
    once: str | None = None
    # The language the person's app uses, before they chose one (Telegram's language_code).
    language_hint: str | None = None
    # The case a staff member's guidance is about when they name none (the terminal's case).
    default_case: str | None = None
    # For invite links: the bot's @username.
    bot_username: str | None = None
    # Written in a group chat: only the emergency route answers there, and stores nothing.
    group: bool = False
    # A message changed after it was sent (its text or caption): only the emergency route
    # looks at it.
    edited: bool = False
    # Taken before a crash and handled again now: what it changed may be stored already,
    # but the reply it got may never have been sent.
    again: bool = False


@dataclass
class Exchange:
    app: Wegwijzer
    incoming: Incoming
    who: Participant | None
    out: Outbox
    translate: Translator = field(init=False)

    def __post_init__(self) -> None:
        self.speak_to(self.who)

    @property
    def once(self) -> str | None:
        return self.incoming.once

    def speak_to(self, who: Participant | None) -> None:
        """The person as they are now (after choosing a language, say)."""
        self.who = who
        preferred = who.language if who is not None and who.language else None
        self.speak_in(preferred or self.incoming.language_hint)

    def speak_in(self, language: str | None) -> None:
        """Say things in this language (the nearest shipped one; the default for None)."""
        settings = self.app.settings
        self.translate = self.app.catalogs.translator_for(
            language, settings.default_language, settings.timezone
        )

    async def show(self, output: Output) -> None:
        await self.out(output, self.translate)

    async def say(self, *lines: Line, buttons: tuple[tuple[Button, ...], ...] = ()) -> None:
        """One message of lines (and buttons)."""
        await self.show(Message.of(*lines, buttons=buttons))

    async def answer(self, text: Text, alert: bool = False) -> None:
        """The answer to what was asked: a pressed button's notification, or a message."""
        await self.show(Toast(text, alert))

    async def reply_once(self) -> None:
        """For inputs whose only effect is a reply (/help, a list): recorded on their own, so
        a second delivery does not answer twice."""
        if not await first_time(self.app, self.once):
            raise AlreadyHandled(self.once)

    def member(self) -> Participant:
        """The person, known (the pipeline lets only known people reach member handlers)."""
        if self.who is None:
            raise RuntimeError("a member's command reached the handler without a person")
        return self.who
