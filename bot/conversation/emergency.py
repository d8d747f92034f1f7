"""The emergency route: recognised and answered from memory, before anything else.

Whatever the bot is doing — a question waiting, onboarding half done, someone without an
invite, the database down or locked — a message that signals danger gets the help for its
kind of danger at once (the deployment's helplines for each kind the danger words name, most
urgent first; `/sos` and the button are immediate danger), in the person's language.
Recognising it needs no database (`Recogniser`: `/sos`, the "I need help now" button, that
button's label typed in any shipped language, a bare "SOS", a phrase of the danger lists in
a text, a caption or an edited message), and neither does answering it: the language comes
from what the bot remembers of the person (`Acquaintances`) or from their app, the helplines
were loaded at start-up. The numbers go out first and the channel keeps trying until they
arrive.

Then the alarm, which is never lost: for someone who may be a member it is written to the
journal, recorded as an urgent flag on their case, and the staff who must act are told; the
interrupted question is asked again. When the database cannot take it, the family is told
honestly that it is saved but not yet with the team, and the journal's replay records it
later. Nothing is stored about a stranger. In a group the general help (the emergency number
and the advice line) comes with an invitation to write privately, and nothing else is said
or stored.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..app import Wegwijzer
from ..i18n.danger import words_of
from ..rules.people import STAFF, Participant
from ..services import texts
from ..services.emergency import (
    Trigger,
    counts_as_alarm,
    emergency_numbers,
    help_for,
    journal_alarm,
    record_alarm,
    someone_will_hear,
)
from ..storage import Unavailable
from .exchange import Exchange, Incoming, Other, Pressed, Said, Typed
from .flows import show_waiting, tell_staff_now
from .intents import Sos, Start, parse_command
from .outputs import Message

__all__ = ["Acquaintances", "Known", "Recogniser", "emergency"]

log = logging.getLogger(__name__)

# How the pipeline finds the person writing (None: a stranger); raises Unavailable.
FindPerson = Callable[[Incoming], Awaitable[Participant | None]]


@dataclass(frozen=True)
class Known:
    """What the bot remembers of someone it has met: enough to answer an alarm without the
    database (their language; staff write about danger in notes, so their words are no
    alarm)."""

    role: str
    language: str | None


class Acquaintances:
    """The people the bot met most recently, in memory and bounded (the oldest are forgotten
    first): the emergency route's only source when the database cannot be asked.

    Kept small, as it holds up to `capacity` people of each channel: an entry is the
    person's id on the channel (the string the channel made anyway) and a `Known` shared by
    everyone with the same role and language, so a person costs their id and a place in the
    order, about 150 bytes (bounded: `tests/telegram/test_memory_bounds.py`)."""

    def __init__(self, capacity: int = 50_000):
        self.capacity = capacity
        self._known: dict[str, OrderedDict[str, Known]] = {}
        # One Known per role and language: a few dozen, however many people.
        self._shared: dict[Known, Known] = {}

    def remember(self, channel: str, external_id: str, known: Known | None) -> None:
        """Remember someone as they are now; None forgets them (a stranger, or gone)."""
        people = self._known.setdefault(channel, OrderedDict())
        if known is None:
            people.pop(external_id, None)
            return
        people[external_id] = self._shared.setdefault(known, known)
        people.move_to_end(external_id)
        while len(people) > self.capacity:
            people.popitem(last=False)

    def of(self, incoming: Incoming) -> Known | None:
        people = self._known.get(incoming.channel)
        return people.get(incoming.external_id) if people is not None else None

    def __len__(self) -> int:
        return sum(len(people) for people in self._known.values())


class Recogniser:
    """What counts as an emergency, decided from the message alone."""

    def __init__(self, app: Wegwijzer):
        self.danger = app.danger
        # The SOS button's label as someone might type it, in every shipped language, and a
        # bare "SOS": the whole message, whatever the case, emoji or punctuation.
        catalogs, zone = app.catalogs, app.settings.timezone
        labels = {
            tuple(words_of(catalogs.translator(code, zone)(texts.SOS_BUTTON)))
            for code in catalogs.languages
        }
        # The 🆘 reads as "sos" (`words_of`): the label typed without it counts the same.
        bare = {label[1:] for label in labels if label[:1] == ("sos",)}
        self.calls_for_help = frozenset(labels | bare | {("sos",)}) - {()}

    def trigger(self, said: Said, known: Known | None) -> Trigger | None:
        """What set the alarm off — "sos", "button" or the danger phrase, with its kinds — or
        None."""
        if isinstance(said, Pressed):
            return Trigger("button") if isinstance(said.intent, Sos) else None
        text = said.text if isinstance(said, Typed) else None
        if isinstance(said, Other):
            text = said.caption
        if text is None:
            return None
        command = parse_command(text) if isinstance(said, Typed) else None
        if isinstance(command, Sos):
            return Trigger("sos")
        if isinstance(command, Start):
            return None  # its argument is an invite's code, random letters nobody wrote
        words = words_of(text)
        if tuple(words) in self.calls_for_help:
            return Trigger("sos")  # as good as /sos, from staff too
        if known is not None and known.role in STAFF:
            return None  # staff write about danger in their notes; they have /sos
        match = self.danger.find(text)
        return Trigger(match.phrase, match.kinds) if match is not None else None


async def emergency(
    x: Exchange, called: Trigger, find: FindPerson, acquaintances: Acquaintances
) -> None:
    """The help for the alarm's kinds first, from memory; then the alarm: journaled, recorded
    as a flag naming its kind, the staff told at once, and the interrupted question asked
    again."""
    known = acquaintances.of(x.incoming)
    if known is not None and known.language:
        x.speak_in(known.language)
    incoming = x.incoming
    if incoming.group:
        # Nothing about the person in a group: the general help, and an invitation.
        await x.show(Message.of(emergency_numbers(x.app), must_arrive=True))
    else:
        await x.show(Message(help_for(x.app, called.kinds), must_arrive=True))
    trigger, kinds = called.cause, called.kinds
    if incoming.group:
        link = f"https://t.me/{incoming.bot_username}" if incoming.bot_username else ""
        await x.say(texts.WRITE_PRIVATELY.using(link=link))
        return
    try:
        who = await find(incoming)
    except Unavailable:
        # Who it is cannot be asked now: journaled as it is, sorted out when it is replayed.
        await journal_alarm(
            x.app,
            incoming.channel,
            incoming.external_id,
            trigger,
            x.once,
            recording=False,
            kinds=kinds,
        )
        await _not_yet_with_the_team(x)
        return
    if who is None or not counts_as_alarm(who, trigger):
        return  # a stranger (nothing is stored: the numbers are what they need), or staff
    x.speak_to(who)
    journaled = await journal_alarm(
        x.app, incoming.channel, incoming.external_id, trigger, x.once, kinds=kinds
    )
    try:
        alarm = await record_alarm(x.app, who, journaled)
    except Unavailable:
        await _not_yet_with_the_team(x)
        return
    await tell_staff_now(x.app)
    try:
        heard = await someone_will_hear(x.app, who, alarm)
    except Unavailable:
        heard = False
    # "The team has been alerted" only when someone who can act has it: never to nobody.
    await x.say(texts.HELP_IS_COMING if heard else texts.ALARM_SAVED_NOT_SENT)
    if who.consented:
        await show_waiting(x, who, texts.CONTINUE_WHEN_READY)


async def _not_yet_with_the_team(x: Exchange) -> None:
    """The alarm is in the journal, not yet a flag: no promise that anybody knows."""
    log.error("alarm journaled, database unavailable", extra={"event": "journal"})
    await x.say(texts.ALARM_SAVED_NOT_SENT)
