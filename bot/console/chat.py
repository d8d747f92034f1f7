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
from ..services import runs, texts
from ..services.cases import caseworker_cases
from ..services.emergency import emergency_numbers, raise_alarm
from ..services.flags import visible_open_flags
from ..services.people import Participant, set_language
from ..services.texts import allowed

ReadLine = Callable[[], Awaitable[str | None]]


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
            self.say(texts.WELCOME_BACK)
            self.show(waiting.events)
        elif self.who.role == "family":
            await self.command("checkin", "")
        else:
            self.say(texts.HELLO_STAFF)

    async def handle(self, line: str) -> None:
        danger = self.app.danger.find(line)
        if danger is not None:
            await self.emergency_route(danger)
            return
        if line.startswith("/"):
            name, _, argument = line[1:].partition(" ")
            await self.command(name.lower(), argument.strip())
            return
        turn = await runs.answer(self.app, self.who, Reply(line), self._translate)
        if turn is None:
            self.say(texts.NOTHING_WAITING[self.who.role])
        else:
            self.show(turn.events)

    async def emergency_route(self, trigger: str) -> None:
        """The same route as on Telegram: numbers first, an urgent flag, the flow kept."""
        self.say(emergency_numbers(self.app.settings))
        await raise_alarm(self.app, self.who, trigger)
        self.say(texts.HELP_IS_COMING)
        waiting = await runs.waiting_question(self.app, self.who)
        if waiting is not None:
            self.say(texts.CONTINUE_WHEN_READY)
            self.show(waiting.events)

    # --- commands: the same table as the bot, of which the terminal offers these ---------------

    async def command(self, name: str, argument: str) -> None:
        method = _COMMANDS.get(name)
        if name not in texts.COMMANDS:
            self.say(texts.UNKNOWN_COMMAND.using(command=f"/{name}"))
        elif not allowed(self.who.role, name):
            self.say(texts.NOT_FOR_ROLE.using(command=f"/{name}"))
        elif method is None:
            await self._telegram_only(name)
        else:
            await method(self, argument)

    async def _help(self, _: str) -> None:
        self.say(texts.HELP_HEADER)
        for name in texts.ROLE_COMMANDS[self.who.role]:
            if name in _COMMANDS:
                self.say(
                    texts.HELP_LINE.using(command=f"/{name}", description=texts.COMMANDS[name])
                )

    async def _checkin(self, _: str) -> None:
        turn = await runs.start_flow(self.app, self.who, runs.CHECKIN_FLOW)
        self.show(turn.events)

    async def _cancel(self, _: str) -> None:
        stopped = await runs.pause(self.app, self.who)
        self.say(texts.STOPPED if stopped else texts.NOTHING_TO_STOP)

    async def _language(self, argument: str) -> None:
        catalogs = self.app.catalogs
        if argument not in catalogs.languages:
            if argument:
                self.say(texts.UNKNOWN_LANGUAGE.using(code=argument))
            self.say(texts.LANGUAGE_USAGE)
            for code in catalogs.languages:
                self.output.write(f"  {code} — {catalogs.native_name(code)}\n")
            return
        self.language = argument
        self._translate = catalogs.translator(argument, self.app.settings.timezone)
        await set_language(self.app, self.who.person_id, argument)
        self.say(texts.LANGUAGE_SET.using(language=catalogs.native_name(argument)))
        waiting = await runs.waiting_question(self.app, self.who)
        if waiting is not None:
            self.show(waiting.events)

    async def _flags(self, _: str) -> None:
        flags = await visible_open_flags(self.app, self.who)
        self.say_list(texts.OPEN_FLAGS, texts.NO_OPEN_FLAGS, [texts.flag_line(f) for f in flags])

    async def _cases(self, _: str) -> None:
        cases = await caseworker_cases(self.app, self.who)
        self.say_list(texts.YOUR_CASES, texts.NO_CASES, [texts.case_line(c) for c in cases])

    async def _guide(self, _: str) -> None:
        guides = runs.flows_for(self.app, self.who.role)
        self.say_list(texts.GUIDES, texts.NO_GUIDES, [Text(flow.title) for flow in guides])

    async def _telegram_only(self, name: str) -> None:
        self.say(texts.NOT_IN_TERMINAL.using(command=f"/{name}"))

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

    def say_list(self, header: Text, empty: Text, items: list[Text]) -> None:
        """A heading and one line per item, or the text for an empty list."""
        for text in [header, *items] if items else [empty]:
            self.say(text)


_COMMANDS: dict[str, Callable[..., Awaitable[None]]] = {
    "sos": lambda chat, _argument: chat.emergency_route("sos"),
    "help": ConsoleChat._help,
    "checkin": ConsoleChat._checkin,
    "cancel": ConsoleChat._cancel,
    "language": ConsoleChat._language,
    "flags": ConsoleChat._flags,
    "cases": ConsoleChat._cases,
    "guide": ConsoleChat._guide,
}
