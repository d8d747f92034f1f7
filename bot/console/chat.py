"""The terminal channel: `wegwijzer chat` goes through the same conversation as the bot.

It reads one line at a time — typed, or piped on stdin so a conversation can be scripted —
hands it to the conversation as this terminal person's message, and prints what comes back
in the person's language: every line of a message, a question's options with their numbers as
on a Telegram button (answer by number or by typing the label), and every other button as the
command that does the same (`/flag 12 ack — Acknowledge`). At the end of input it stops; an
unfinished flow stays stored and continues next time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TextIO

from ..app import Wegwijzer
from ..conversation import (
    Chosen,
    Conversation,
    Incoming,
    Message,
    Opened,
    Output,
    Photo,
    Toast,
    Typed,
    notice_message,
    render,
)
from ..i18n import Translator, negotiate
from ..services import outbox, texts
from ..services.people import set_language
from ..storage import Unavailable

ReadLine = Callable[[], Awaitable[str | None]]

CHANNEL = "console"
# Notices shown after one answer at most; the rest after the next.
NOTICES_AT_ONCE = 20


class ConsoleChat:
    def __init__(
        self,
        app: Wegwijzer,
        external_id: str,
        output: TextIO,
        *,
        case_code: str | None = None,
        echo: bool = False,
    ):
        self.app = app
        self.external_id = external_id
        self.case_code = case_code
        self.output = output
        self.echo = echo
        self.conversation = Conversation(app)
        # The language the conversation last spoke in (for an apology without a database).
        self.spoken: Translator | None = None

    async def run(self, read_line: ReadLine) -> None:
        await self._answer(Opened())
        while (line := await read_line()) is not None:
            line = line.strip()
            if self.echo:
                self.output.write(f"> {line}\n")
            if line:
                await self._answer(Typed(line))

    async def _notices(self) -> None:
        """What the outbox holds for the person at the terminal (a new flag, a closure to
        decide), shown after their own answer, each settled once shown."""
        for out in await outbox.claim(
            self.app, CHANNEL, NOTICES_AT_ONCE, external_id=self.external_id
        ):
            tr = self._translator(out.notice.recipient.language)
            self.write(tr(texts.NOTICE_HEADER))
            await self.show(notice_message(out.notice, self.app.flows), tr)
            await outbox.sent(self.app, out)

    async def _answer(self, said: Typed | Opened) -> None:
        """Answer one line. The database being unavailable (the bot holding SQLite's lock too
        long, say) costs that line an apology, not the session; nothing was stored."""
        try:
            await self.conversation.handle(self._incoming(said), self.show)
            await self._notices()
        except Unavailable:
            self.write((self.spoken or self._translator(None))(texts.SOMETHING_WENT_WRONG))

    def _translator(self, language: str | None) -> Translator:
        settings = self.app.settings
        return self.app.catalogs.translator_for(
            language, settings.default_language, settings.timezone
        )

    def _incoming(self, said: Typed | Opened) -> Incoming:
        return Incoming(
            CHANNEL,
            self.external_id,
            said,
            default_case=self.case_code,
            bot_username=self.app.settings.bot_username,
        )

    async def show(self, output: Output, tr: Translator) -> None:
        self.spoken = tr
        if isinstance(output, Message):
            for paragraph in output.paragraphs:
                for line in paragraph:
                    self.write(render(tr, line))
            self._buttons(output, tr)
        elif isinstance(output, Toast):
            self.write(tr(output.text))
        elif isinstance(output, Chosen):
            if output.say_if_typed and output.lines:
                for line in output.lines:
                    self.write(render(tr, line))
        elif isinstance(output, Photo):
            self.write(tr(output.caption))
        # A command menu is the bot's to show.

    def _buttons(self, message: Message, tr: Translator) -> None:
        for row in message.buttons:
            for button in row:
                label = render(tr, button.label)
                typed = button.intent.typed()
                if button.option:  # numbered by the conversation, as on a Telegram button
                    self.output.write(f"  {label}\n")
                elif not button.shortcut and typed is not None:
                    self.write(tr(texts.HELP_LINE.using(command=typed, description=label)))

    def write(self, text: str) -> None:
        self.output.write(text + "\n")


async def open_chat(app: Wegwijzer, external_id: str, language: str | None) -> None:
    """Before a terminal session: the person speaks the language asked for (or the one they
    chose last time, or the deployment's)."""
    settings, languages = app.settings, app.catalogs.languages
    async with app.database.reading() as uow:
        person = await uow.people.get(CHANNEL, external_id)
    if person is None:
        return
    chosen = negotiate(language or person.language, languages, settings.default_language)
    if chosen != person.language:
        await set_language(app, person.id, chosen)
