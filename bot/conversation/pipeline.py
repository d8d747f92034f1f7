"""The one way every input is answered, for every channel: the order of checks and the
table of commands.

`Conversation.handle` takes what a channel received (`Incoming`) and says what to show
through the channel's outbox, in this order:

1. **Emergency first, from memory.** `/sos`, the "I need help now" button, or danger words
   in a message from anyone but staff: the emergency route (`emergency`), whatever else was
   going on, before any database read. In a group chat, and to an edited message, nothing
   else is answered.
2. **Who is writing.** The person is read from the database; someone who left is a stranger
   again, someone marked unreachable is reachable again. `/start` (with an invite) is how a
   stranger joins; to anything else a stranger gets a short explanation and the numbers.
3. **Language, then consent.** Until a person has chosen a language they are asked for it,
   and until they agreed to what is stored they are asked for that (`/language` and
   `/privacy` themselves always work). Someone who withdrew their consent is told that
   nothing is started or stored for them until they give it again with `/privacy` (the
   emergency route, step 1, still works for them).
4. **Role.** A command the person's role does not have is refused (`rules.commands`).
5. **What is waiting.** A command is handled by its handler (the table below); a message
   is the note a reviewer was asked for, or else the answer to the flow's waiting question.

A question's button pressed by someone steps 2 to 4 let through takes a shortcut with the same
outcome: who they are is read in the answer's own transaction (`_answer_at_once`).

A command is one row of `COMMANDS`: its intent (typed or pressed, `intents`), its handler,
and whether it comes before the language and consent checks. Adding a command there gives
it to every channel.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from ..app import Wegwijzer
from ..rules.access import handles_case
from ..rules.commands import allowed
from ..rules.people import STAFF, Participant, waiting_for_text
from ..services import texts
from ..services.emergency import Trigger
from ..services.flags import stop_waiting
from ..services.once import AlreadyHandled
from ..services.people import find_participant, mark_reachable
from ..services.runs import answer_option_of
from ..storage import CaseErased
from . import cases, corrections, flows, people, review, web
from .emergency import Acquaintances, Known, Recogniser, emergency
from .exchange import Exchange, Incoming, Opened, Pressed, Typed
from .intents import (
    Answer,
    Cancel,
    Cases,
    CheckIn,
    Closure,
    Correct,
    Flags,
    Guide,
    Help,
    Intent,
    Invite,
    Language,
    OnFlag,
    Privacy,
    ResumeReminders,
    Schedule,
    ShowCase,
    Start,
    StopReminders,
    UnknownCommand,
    Visit,
    Web,
    parse_command,
)
from .outputs import Outbox
from .people import StrangerThrottle

__all__ = ["COMMANDS", "Command", "Conversation"]

log = logging.getLogger(__name__)

AnIntent = TypeVar("AnIntent", bound=Intent)


@dataclass(frozen=True)
class Command:
    intent: type[Intent]
    handle: Callable[[Exchange, Intent], Awaitable[None]]
    # Answered before the language and consent are settled (they are how they get settled).
    onboarding: bool = False


def command(
    intent: type[AnIntent],
    handle: Callable[[Exchange, AnIntent], Awaitable[None]],
    onboarding: bool = False,
) -> Command:
    """A row of the table: the handler gets the intent of its own command only."""

    async def handled(x: Exchange, given: Intent) -> None:
        if not isinstance(given, intent):
            raise TypeError(f"{type(given).__name__} is not a {intent.__name__}")
        await handle(x, given)

    return Command(intent, handled, onboarding)


COMMANDS: dict[type[Intent], Command] = {
    row.intent: row
    for row in (
        command(Help, people.help_),
        command(Language, people.language, onboarding=True),
        command(Privacy, people.privacy, onboarding=True),
        command(CheckIn, flows.checkin),
        command(Cancel, flows.cancel),
        command(Answer, flows.answer_button),
        command(Guide, flows.guide),
        command(Flags, review.queue),
        command(OnFlag, review.on_flag),
        command(ShowCase, review.show_case),
        command(Closure, review.closure),
        command(Correct, corrections.correct),
        command(Cases, cases.case_list),
        command(Invite, cases.invite),
        command(Schedule, cases.schedule),
        command(StopReminders, cases.stop_reminders),
        command(ResumeReminders, cases.resume_reminders),
        command(Visit, cases.visit),
        command(Web, web.sign_in_link),
    )
}


class Conversation:
    """Answers every input of every channel. What it keeps in memory is bounded: the stranger
    throttle, and the people met most recently (for the emergency route)."""

    def __init__(self, app: Wegwijzer):
        self.app = app
        self.strangers = StrangerThrottle()
        self.acquaintances = Acquaintances()
        self.recogniser = Recogniser(app)

    def emergency(self, incoming: Incoming) -> Trigger | None:
        """What makes this input an emergency ("sos", "button", the danger phrase, with the
        alarm's kinds), decided from memory: a channel asks it to let an emergency overtake
        everything else."""
        return self.recogniser.trigger(incoming.said, self.acquaintances.of(incoming))

    async def remember_staff(self) -> None:
        """Learn who the staff are before they write, so that a note of theirs about danger is
        not taken for an alarm after a restart (at start-up; without a database, later)."""
        async with self.app.database.reading() as uow:
            staff = [person for role in STAFF for person in await uow.people.with_role(role)]
        for person in staff:
            if person.status != "left":
                known = Known(person.role, person.language)
                self.acquaintances.remember(person.channel, person.external_id, known)

    async def handle(self, incoming: Incoming, out: Outbox) -> None:
        said = incoming.said
        # 1. Emergency first, from memory.
        trigger = self.emergency(incoming)
        if trigger is not None:
            x = Exchange(self.app, incoming, None, out)
            await emergency(x, trigger, self._identify, self.acquaintances)
            return
        if incoming.group or incoming.edited:
            return
        intent = said.intent if isinstance(said, Pressed) else None
        if isinstance(said, Typed):
            intent = parse_command(said.text)
        if isinstance(intent, Answer) and await self._answer_at_once(incoming, intent, out):
            return
        who = await self._who(incoming)
        x = Exchange(self.app, incoming, who, out)
        # 2. Who is writing.
        if isinstance(intent, Start):
            await people.start(x, intent, self.strangers)
            return
        if who is None:
            await people.stranger(x, self.strangers)
            return
        if isinstance(said, Opened):
            if not await people.held_back(x, who):
                await people.opened(x)
            return
        if intent is None and who.awaiting and who.staff and who.consented:
            if waiting_for_text(who, self.app.clock()):
                await review.take_typed_text(x)
                return
            await stop_waiting(self.app, who)  # asked too long ago: an ordinary message
            x.speak_to(replace(who, awaiting=None))
        command = COMMANDS.get(type(intent)) if intent is not None else None
        # 3. Language, then consent.
        if (command is None or not command.onboarding) and await people.held_back(x, who):
            return
        # 4. Role.
        if isinstance(intent, UnknownCommand):
            await x.say(texts.UNKNOWN_COMMAND.using(command=f"/{intent.name}"))
            return
        if intent is not None and intent.command and not allowed(who.role, intent.command):
            await review.record_refused_look(x, intent)
            await x.answer(texts.NOT_FOR_ROLE.using(command=f"/{intent.command}"))
            return
        # 5. The command, or what is waiting.
        async with self._settled(x, intent):
            if command is not None and intent is not None:
                await command.handle(x, intent)
            else:
                await flows.answer_message(x)

    async def _answer_at_once(self, incoming: Incoming, pressed: Answer, out: Outbox) -> bool:
        """A question's button, pressed by someone steps 2 to 4 have nothing to say to (known,
        reachable, with a language and consent; an answer needs no role), is answered in the
        transaction that finds who pressed it: the most common update, in one transaction
        instead of two. False, with nothing done, for anyone else: they take the long way,
        which says what they need to hear."""
        x = Exchange(self.app, incoming, None, out)

        def may_answer(who: Participant) -> bool:
            if who.status != "active" or who.language is None or not who.consented:
                return False
            x.speak_to(who)
            known = Known(who.role, who.language)
            self.acquaintances.remember(incoming.channel, incoming.external_id, known)
            return True

        async with self._settled(x, pressed):
            pressed_by = await answer_option_of(
                self.app,
                incoming.channel,
                incoming.external_id,
                may_answer,
                pressed.run_id,
                pressed.step,
                pressed.option,
                incoming.once,
                pressed.part,
            )
            if pressed_by is None:
                return False
            await flows.show_answer(x, pressed_by.answered)
        return True

    @contextlib.asynccontextmanager
    async def _settled(self, x: Exchange, intent: Intent | None) -> AsyncIterator[None]:
        """What a handler raises that every handler's person hears the same way."""
        try:
            yield
        except CaseErased as erased:
            # Whatever named it (a code typed, a button, a run), nothing is done with an
            # erased case. Whoever handled it is told so; anyone else hears what they hear of
            # any case not theirs, so that codes cannot be probed.
            known = handles_case(x.member(), erased)
            text = texts.CASE_ERASED if known else texts.NOT_YOUR_CASE
            await x.answer(text.using(case=erased.code))
        except AlreadyHandled:
            if x.incoming.again and (intent is None or isinstance(intent, Answer)):
                # An answer stored before a crash: the reply it got may never have been
                # sent, so the question now waiting is asked again.
                await flows.show_waiting(x, x.member())
            raise

    async def _identify(self, incoming: Incoming) -> Participant | None:
        """The person writing (None: a stranger), read only, and remembered."""
        found = await find_participant(self.app, incoming.channel, incoming.external_id)
        if found is not None and found.status == "left":
            found = None  # someone who left the programme is a stranger again
        known = Known(found.role, found.language) if found is not None else None
        self.acquaintances.remember(incoming.channel, incoming.external_id, known)
        return found

    async def _who(self, incoming: Incoming) -> Participant | None:
        found = await self._identify(incoming)
        if found is not None and found.status == "unreachable":
            # They wrote (or pressed) again, so messages reach them again.
            await mark_reachable(self.app, found.person_id)
            return replace(found, status="active")
        return found
