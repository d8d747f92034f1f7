"""The terminal channel: `wegwijzer chat` plays flows on the same engine and storage.

It reads one line at a time — typed, or piped on stdin so a conversation can be scripted —
turns it into an engine input or a command, and prints what comes back in the person's
language. Options are numbered and can be answered by number or by label. At the end of
input it stops; an unfinished flow stays stored and continues next time.

Staff review flags as on Telegram, where buttons do what is typed here: `/flags` lists them
with the command that opens each, `/flag ID` shows one (evidence and history), and
`/flag ID ack | note TEXT | resolve TEXT | reopen | assign PERSON` acts on it; `/case CODE`
shows a case. Caseworkers start a guidance flow for the terminal's case with `/guide FLOW_ID`
(`/guide` lists them). Access is decided by the same services, from the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TextIO

from ..app import Wegwijzer
from ..engine import Ask, Event, Invalid, Reply, Say, Text
from ..rules.access import NotAllowed
from ..rules.commands import ROLE_COMMANDS, allowed
from ..rules.guidance import flows_for
from ..services import flags, guidance, runs, texts
from ..services.case_view import case_view
from ..services.cases import caseworker_cases, own_case
from ..services.emergency import emergency_numbers, raise_alarm
from ..services.people import Participant, set_language
from ..services.review_texts import case_summary_lines, flag_detail_lines

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
        # As on Telegram: danger words are for families; staff write about danger in their
        # notes ("the child is not safe") and have /sos.
        danger = self.app.danger.find(line) if self.who.role == "family" else None
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
        if name == "flag":
            # Acting on one flag: buttons on Telegram, typed here; for whoever sees flags.
            if allowed(self.who.role, "flags"):
                await self._flag(argument)
            else:
                self.say(texts.NOT_FOR_ROLE.using(command="/flag"))
        elif name == "closure":
            # A coordinator's decision on closing a case: buttons on Telegram, typed here.
            if self.who.role == "coordinator":
                await self._closure(argument)
            else:
                self.say(texts.NOT_FOR_ROLE.using(command="/closure"))
        elif name not in texts.COMMANDS:
            self.say(texts.UNKNOWN_COMMAND.using(command=f"/{name}"))
        elif not allowed(self.who.role, name):
            self.say(texts.NOT_FOR_ROLE.using(command=f"/{name}"))
        elif method is None:
            await self._telegram_only(name)
        else:
            await method(self, argument)

    async def _help(self, _: str) -> None:
        self.say(texts.HELP_HEADER)
        for name in ROLE_COMMANDS[self.who.role]:
            if name in _COMMANDS:
                self.say(
                    texts.HELP_LINE.using(command=f"/{name}", description=texts.COMMANDS[name])
                )
            if name == "flags":
                self.say(texts.HELP_LINE.using(command="/flag", description=texts.FLAG_COMMAND))

    async def _checkin(self, _: str) -> None:
        turn = await runs.start_flow(self.app, self.who, self.app.flows.for_purpose("checkin").id)
        self.show(turn.events)

    async def _cancel(self, _: str) -> None:
        stopped = await runs.pause(self.app, self.who)
        self.say(texts.STOPPED[self.who.role] if stopped else texts.NOTHING_TO_STOP)

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
        queue = await flags.review_queue(self.app, self.who)
        self.say_list(texts.OPEN_FLAGS, texts.NO_OPEN_FLAGS, self._flag_items(queue))

    async def _case(self, argument: str) -> None:
        if not argument:
            self.say(texts.CASE_USAGE)
            return
        code = argument.split()[0].upper()
        try:
            view = await case_view(self.app, self.who, code)
        except NotAllowed:
            self.say(texts.NOT_YOUR_CASE.using(case=code))
            return
        for text in case_summary_lines(view):
            self.say(text)
        if view.next_step is not None and allowed(self.who.role, "guide"):
            title = Text(self.app.flows.get(view.next_step).title)
            self.say(texts.NEXT_STEP.using(step=title))
            self.say(
                texts.HELP_LINE.using(command=f"/guide {view.next_step} {code}", description=title)
            )
        if self.who.role == "coordinator" and view.closure_proposed_at and view.status != "closed":
            for action, label in (
                ("approve", texts.APPROVE_CLOSURE),
                ("return", texts.RETURN_CLOSURE),
            ):
                self.say(
                    texts.HELP_LINE.using(command=f"/closure {code} {action}", description=label)
                )
        elif self.who.role == "coordinator" and view.status == "closed":
            self.say(
                texts.HELP_LINE.using(
                    command=f"/closure {code} reopen", description=texts.REOPEN_CASE
                )
            )
        # The same heading as on Telegram; each flag with the command that opens it.
        items = self._flag_items(view.open_flags)
        for text in [texts.CASE_FLAGS_HEADER, *items] if items else []:
            self.say(text)

    # --- one flag: `/flag ID [ack | note TEXT | resolve TEXT | reopen | assign PERSON]` ------

    async def _flag(self, argument: str) -> None:
        number, _, rest = argument.partition(" ")
        action, _, text = rest.strip().partition(" ")
        number = number.removeprefix("#")
        if not (number.isascii() and number.isdigit()) or action.lower() not in _FLAG_ACTIONS:
            self.say(texts.FLAG_USAGE)
            return
        flag_id = int(number)
        try:
            await _FLAG_ACTIONS[action.lower()](self, flag_id, text.strip())
        except NotAllowed:
            self.say(texts.FLAG_NOT_AVAILABLE.using(id=flag_id))
        except flags.NoteRequired:
            self.say(texts.NOTE_EMPTY)

    async def _flag_show(self, flag_id: int, _: str) -> None:
        flag = await flags.flag_detail(self.app, self.who, flag_id)
        for text in flag_detail_lines(self.app, flag, self.app.clock()):
            self.say(text)

    async def _flag_acknowledge(self, flag_id: int, _: str) -> None:
        outcome = await flags.acknowledge(self.app, self.who, flag_id)
        if outcome.changed:
            self.say(texts.FLAG_ACKNOWLEDGED.using(id=flag_id))
        elif outcome.flag.status == "acknowledged":
            self.say(texts.ALREADY_ACKNOWLEDGED.using(id=flag_id))
        else:
            self._nothing_changed(outcome)

    async def _flag_note(self, flag_id: int, note: str) -> None:
        await flags.add_note(self.app, self.who, flag_id, note)
        self.say(texts.NOTE_ADDED.using(id=flag_id))

    async def _flag_resolve(self, flag_id: int, resolution: str) -> None:
        outcome = await flags.resolve(self.app, self.who, flag_id, resolution)
        # Resolved already (by someone else, say): the text was kept as a note.
        done = texts.FLAG_RESOLVED if outcome.changed else texts.NOTE_ADDED
        self.say(done.using(id=flag_id))

    async def _flag_reopen(self, flag_id: int, _: str) -> None:
        outcome = await flags.reopen(self.app, self.who, flag_id)
        self._answer(outcome, texts.FLAG_REOPENED.using(id=flag_id))

    async def _flag_assign(self, flag_id: int, person: str) -> None:
        # Checks first that this person may assign the flag at all (NotAllowed otherwise).
        caseworkers = await flags.assignable_caseworkers(self.app, self.who, flag_id)
        if not (person.isascii() and person.isdigit()) or int(person) not in {
            found for found, _ in caseworkers
        }:
            self._choose_caseworker(flag_id, caseworkers)
            return
        outcome = await flags.assign(self.app, self.who, flag_id, int(person))
        self._answer(outcome, texts.FLAG_ASSIGNED.using(id=flag_id, person=int(person)))

    def _choose_caseworker(self, flag_id: int, caseworkers: list[tuple[int, list[str]]]) -> None:
        if not caseworkers:
            self.say(texts.NO_CASEWORKERS)
            return
        self.say(texts.CHOOSE_CASEWORKER.using(id=flag_id))
        for person, codes in caseworkers:
            label = texts.CASEWORKER_LABEL.using(
                person=person, cases=", ".join(codes) if codes else texts.NO_CASES_YET
            )
            self.say(
                texts.HELP_LINE.using(command=f"/flag {flag_id} assign {person}", description=label)
            )

    def _answer(self, outcome: flags.Outcome, done: Text) -> None:
        if outcome.changed:
            self.say(done)
        else:
            self._nothing_changed(outcome)

    def _nothing_changed(self, outcome: flags.Outcome) -> None:
        self.say(
            texts.NOTHING_CHANGED.using(
                id=outcome.flag.id, status=texts.STATUSES[outcome.flag.status]
            )
        )

    def _flag_items(self, shown: Iterable[flags.FlagView]) -> list[Text]:
        """Flag lines, overdue ones marked, each after the command that opens it."""
        now = self.app.clock()
        return [
            texts.HELP_LINE.using(
                command=f"/flag {flag.id}", description=texts.flag_line(flag, now)
            )
            for flag in shown
        ]

    async def _cases(self, _: str) -> None:
        cases = await caseworker_cases(self.app, self.who)
        self.say_list(texts.YOUR_CASES, texts.NO_CASES, [texts.case_line(c) for c in cases])

    async def _guide(self, argument: str) -> None:
        """`/guide` lists the guidance flows, each with the command that starts it; `/guide
        FLOW_ID [CASE]` starts (or picks up) that flow for the terminal's case, or the case
        named (which must be one of the person's)."""
        own = await own_case(self.app, self.who)
        guides = flows_for(
            self.app.flows, self.who.role, own[0] if own else None, self.app.settings.country
        )
        flow_id, _, code = argument.strip().partition(" ")
        if flow_id.lower() in {flow.id for flow in guides}:
            try:
                turn = await runs.start_flow(
                    self.app, self.who, flow_id.lower(), case_code=code.strip() or None
                )
            except NotAllowed:
                self.say(texts.NOT_YOUR_CASE.using(case=code.strip() or self.who.case_code))
                return
            self.show(turn.events)
            return
        items = [
            texts.HELP_LINE.using(command=f"/guide {flow.id}", description=Text(flow.title))
            for flow in guides
        ]
        self.say_list(texts.GUIDES, texts.NO_GUIDES, items)

    async def _closure(self, argument: str) -> None:
        """A coordinator's decision: `/closure CODE approve | return NOTE | reopen`."""
        code, _, rest = argument.strip().partition(" ")
        action, _, note = rest.strip().partition(" ")
        try:
            if action == "approve":
                decision = await guidance.approve_closure(self.app, self.who, code)
            elif action == "reopen":
                decision = await guidance.reopen_case(self.app, self.who, code)
            elif action == "return" and note.strip():
                decision = await guidance.return_closure(self.app, self.who, code, note)
            else:
                self.say(texts.CLOSURE_USAGE)
                return
        except NotAllowed:
            self.say(texts.NOT_YOUR_CASE.using(case=code))
            return
        except guidance.NotProposed:
            self.say(texts.NO_CLOSURE_WAITING.using(case=code))
            return
        except guidance.OwnProposal:
            self.say(texts.OWN_PROPOSAL.using(case=code))
            return
        self.say(decision.text)

    async def _telegram_only(self, name: str) -> None:
        self.say(texts.NOT_IN_TERMINAL.using(command=f"/{name}"))

    # --- output -----------------------------------------------------------------------------

    def show(self, events: tuple[Event, ...]) -> None:
        for event in events:
            if isinstance(event, Say | Invalid):
                self.say(event.text)
                for line in getattr(event, "lines", ()):
                    self.say(line)
            elif isinstance(event, Ask):
                self.say(event.text)
                for line in event.lines:
                    self.say(line)
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
    "case": ConsoleChat._case,
    "cases": ConsoleChat._cases,
    "guide": ConsoleChat._guide,
}

# `/flag ID` and what may follow the id (only in the terminal; on Telegram these are buttons).
_FLAG_ACTIONS: dict[str, Callable[..., Awaitable[None]]] = {
    "": ConsoleChat._flag_show,
    "ack": ConsoleChat._flag_acknowledge,
    "acknowledge": ConsoleChat._flag_acknowledge,
    "note": ConsoleChat._flag_note,
    "resolve": ConsoleChat._flag_resolve,
    "reopen": ConsoleChat._flag_reopen,
    "assign": ConsoleChat._flag_assign,
}
