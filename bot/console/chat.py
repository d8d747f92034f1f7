"""The terminal channel: `wegwijzer chat` plays flows on the same engine and storage.

It reads one line at a time — typed, or piped on stdin so a conversation can be scripted —
turns it into an engine input or a command, and prints what comes back in the person's
language. Options are numbered and can be answered by number or by label. At the end of
input it stops; an unfinished flow stays stored and continues next time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TextIO

from ..bootstrap import Wegwijzer
from ..engine import Ask, Event, Invalid, Reply, Say, Text
from ..services import runs
from ..services.flags import visible_open_flags
from ..services.people import Participant, set_language

ReadLine = Callable[[], Awaitable[str | None]]

CHECKIN_FLOW = "family_checkin"


class ConsoleChat:
    def __init__(
        self, app: Wegwijzer, who: Participant, language: str, output: TextIO, echo: bool = False
    ):
        self.app = app
        self.who = who
        self.language = language
        self.output = output
        self.echo = echo
        self._translate = app.catalogs.translator(language, app.settings.timezone)

    # --- the loop ---------------------------------------------------------------------------

    async def run(self, read_line: ReadLine) -> None:
        await self.open()
        while (line := await read_line()) is not None:
            line = line.strip()
            if self.echo:
                self.output.write(f"> {line}\n")
            if line:
                await self.handle(line)

    async def open(self) -> None:
        """Greet, and pick up where the person left off — or start a family's check-in."""
        waiting = await runs.waiting_question(self.app, self.who)
        if waiting is not None:
            self.say(Text("Welcome back. We were here:"))
            self.show(waiting.events)
        elif self.who.role == "family":
            await self.command("/checkin", "")
        else:
            self.say(Text("Hello. Type /help to see what you can do."))

    async def handle(self, line: str) -> None:
        if line.startswith("/"):
            name, _, argument = line.partition(" ")
            await self.command(name.lower(), argument.strip())
            return
        turn = await runs.answer(self.app, self.who, Reply(line), self._translate)
        if turn is None:
            self.say(self._nothing_waiting())
        else:
            self.show(turn.events)

    # --- commands ---------------------------------------------------------------------------

    async def command(self, name: str, argument: str) -> None:
        handler = _COMMANDS.get(name)
        if handler is None:
            self.say(
                Text(
                    "Unknown command {command}. Type /help to see what you can do.",
                    {"command": name},
                )
            )
            return
        roles, method = handler
        if self.who.role not in roles:
            self.say(Text("{command} is not available for your role.", {"command": name}))
            return
        await method(self, argument)

    async def _help(self, _: str) -> None:
        self.say(Text("You can use these commands:"))
        for name, (roles, _method) in _COMMANDS.items():
            if self.who.role in roles:
                self.say(
                    Text(
                        "{command} — {description}",
                        {"command": name, "description": _DESCRIPTIONS[name]},
                    )
                )

    async def _checkin(self, _: str) -> None:
        turn = await runs.start_flow(self.app, self.who, CHECKIN_FLOW)
        self.show(turn.events)

    async def _cancel(self, _: str) -> None:
        if await runs.pause(self.app, self.who):
            self.say(
                Text(
                    "Stopped for now. Your answers so far are kept: type /checkin to "
                    "continue where you left off."
                )
            )
        else:
            self.say(Text("There is nothing to stop."))

    async def _language(self, argument: str) -> None:
        catalogs = self.app.catalogs
        if argument not in catalogs.languages:
            if argument:
                self.say(Text("Unknown language {code}.", {"code": argument}))
            self.say(Text("Choose a language: type /language and its code, e.g. /language en."))
            for code in catalogs.languages:
                self.output.write(f"  {code} — {catalogs.native_name(code)}\n")
            return
        self.language = argument
        self._translate = catalogs.translator(argument, self.app.settings.timezone)
        await set_language(self.app, self.who.person_id, argument)
        self.say(
            Text("The language is now {language}.", {"language": catalogs.native_name(argument)})
        )
        waiting = await runs.waiting_question(self.app, self.who)
        if waiting is not None:
            self.show(waiting.events)

    async def _flags(self, _: str) -> None:
        flags = await visible_open_flags(self.app, self.who)
        if not flags:
            self.say(Text("There are no open flags."))
            return
        self.say(Text("Open flags, most urgent first:"))
        for flag in flags:
            self.say(
                Text(
                    "[{level}] case {case} — {reason} (due {due})",
                    {
                        "level": _LEVEL_NAMES[flag.level],
                        "case": flag.case_code or "—",
                        "reason": Text(flag.reason),
                        "due": flag.due_at,
                    },
                )
            )

    # --- output -----------------------------------------------------------------------------

    def show(self, events: tuple[Event, ...]) -> None:
        for event in events:
            if isinstance(event, Say | Invalid):
                self.say(event.text)
            elif isinstance(event, Ask):
                self.say(event.text)
                for number, option in enumerate(event.options, start=1):
                    self.output.write(f"  {number}. {self._translate(option.label)}\n")

    def say(self, text: Text) -> None:
        self.output.write(self._translate(text) + "\n")

    def _nothing_waiting(self) -> Text:
        if self.who.role == "family":
            return Text("There is no question waiting. Type /checkin to start your check-in.")
        return Text("There is no question waiting. Type /help to see what you can do.")


_EVERYONE = ("family", "caseworker", "coordinator")
_STAFF = ("caseworker", "coordinator")
_COMMANDS: dict[str, tuple[tuple[str, ...], Callable[..., Awaitable[None]]]] = {
    "/help": (_EVERYONE, ConsoleChat._help),
    "/checkin": (("family",), ConsoleChat._checkin),
    "/cancel": (_EVERYONE, ConsoleChat._cancel),
    "/language": (_EVERYONE, ConsoleChat._language),
    "/flags": (_STAFF, ConsoleChat._flags),
}
_DESCRIPTIONS = {
    "/help": Text("this list"),
    "/checkin": Text("start your check-in, or continue it"),
    "/cancel": Text("stop for now; you can continue later"),
    "/language": Text("choose your language"),
    "/flags": Text("open flags for your cases"),
}
_LEVEL_NAMES = {
    "urgent": Text("urgent"),
    "high": Text("high"),
    "medium": Text("medium"),
    "low": Text("low"),
}
