"""The emergency route: danger in a message gets the help for that danger first, always.

Whatever the bot is doing — a question waiting, onboarding half done, nobody known at all —
a message that signals danger (`/sos`, the "I need help now" button, or words from the
per-language danger lists in `locales/<lang>/danger_words.txt`) is answered at once with the
helplines for its kind of alarm (`rules.alarms`: immediate danger, violence at home,
self-harm, a child speaking; `locales/helplines.yaml`), in the person's language. For a known
person it also raises an urgent flag on their case that names the kind, so a human follows
up; a repeated alarm while that flag is open adds to its evidence instead of making another.
The interrupted flow is left as it was and can be continued.

The alarm is never lost: it is written to the alarm journal first (`storage.journal`), then
recorded as a flag; when the database cannot take it, the `replay_alarms` duty records it
later, at its own time.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ..app import Wegwijzer
from ..engine import Text
from ..engine.events import JSONValue
from ..i18n import Localized, Parts
from ..i18n.helplines import Helpline
from ..rules.alarm_reports import IMMEDIATE, reported_kinds
from ..rules.alarms import ALARM_KINDS, AlarmKind
from ..rules.people import Participant
from ..storage import Unavailable
from ..storage.journal import JournaledAlarm
from . import texts
from .flags import raise_or_repeat
from .notices import Notice, queue_for_fallback
from .once import AlreadyHandled, claim
from .people import find_participant

log = logging.getLogger(__name__)

EMERGENCY_FLOW = "emergency"


# What a person sets off on purpose; anything else is a phrase of the danger lists.
CALLS_FOR_HELP = ("sos", "button")


@dataclass(frozen=True)
class Trigger:
    """What set an alarm off — "sos", "button" or the matched danger phrase, never the whole
    message — and its kinds, most urgent first."""

    cause: str
    kinds: tuple[AlarmKind, ...] = IMMEDIATE


def emergency_numbers(app: Wegwijzer) -> Text:
    """The general help, where the bot says nothing more (a stranger, a group chat): the
    emergency number and the advice line, as one text in the reader's language."""
    helplines = app.helplines
    return texts.EMERGENCY.using(
        emergency_number=helplines.emergency_number, advice_line=helplines.advice_line
    )


def help_for(app: Wegwijzer, kinds: Iterable[AlarmKind]) -> tuple[tuple[Text, ...], ...]:
    """The help for each kind of alarm, most urgent first: a paragraph per kind, its caring
    first line and then its helplines (each helpline once)."""
    return tuple(
        (texts.HELP_INTROS[kind], *(helpline_text(line) for line in lines))
        for kind, lines in app.helplines.for_kinds(kinds)
    )


def signpost(app: Wegwijzer) -> Parts:
    """The help for a worry that is not urgent (the GP, a crisis line), one per line: what
    flows show as {signpost}."""
    return _one_per_line(app.helplines.signpost)


def help_lines(app: Wegwijzer, kind: AlarmKind) -> Parts:
    """The helplines for one kind of alarm, one per line: what flows show as, say,
    {self_harm_help} (the home visit, for a child who may wish to die)."""
    return _one_per_line(app.helplines.for_kinds([kind])[0][1])


def _one_per_line(lines: Iterable[Helpline]) -> Parts:
    return Parts(tuple(helpline_text(line) for line in lines), "\n")


def helpline_text(line: Helpline) -> Text:
    """One helpline as a family reads it: "• 113 Zelfmoordpreventie — if you think about
    ending your life…: 0800-0113 or 113. Free and anonymous, day and night. Chat: 113.nl"."""
    details: list[Text] = []
    if line.hours is not None:
        details.append(
            texts.HELPLINE_HOURS[(line.free, line.anonymous)].using(hours=Localized(line.hours))
        )
    if line.ages is not None:
        details.append(texts.HELPLINE_AGES.using(youngest=line.ages[0], oldest=line.ages[1]))
    if line.chat is not None:
        details.append(texts.HELPLINE_CHAT.using(chat=line.chat))
    name, purpose = Localized(line.name), Localized(line.purpose)
    if line.numbers:
        numbers: str | Text = line.numbers[-1]
        for number in reversed(line.numbers[:-1]):
            numbers = texts.NUMBERS_OR.using(first=number, second=numbers)
        return texts.HELPLINE.using(
            name=name, purpose=purpose, numbers=numbers, details=Parts(tuple(details))
        )
    if details:
        return texts.HELPLINE_NO_NUMBER.using(
            name=name, purpose=purpose, details=Parts(tuple(details))
        )
    return texts.HELPLINE_NAME_ONLY.using(name=name, purpose=purpose)


def reason_to_tell(
    flow_id: str, reason: str, evidence: Mapping[str, JSONValue], since: datetime | None
) -> Text:
    """What a notice about a flag says it is about: for an alarm, the most urgent kind among
    the reports not told yet (self-harm words after an SOS are named as such)."""
    if flow_id == EMERGENCY_FLOW:
        kinds = reported_kinds(evidence, since)
        if kinds:
            return texts.ALARM_REASONS[kinds[0]]
    return Text(reason)


def counts_as_alarm(who: Participant, trigger: str) -> bool:
    """Someone who left is a stranger again: nothing is recorded about them. Staff write about
    danger in their notes ("the child is not safe"): only their own /sos is an alarm. (The
    numbers they may have got first, from memory, do no harm.)"""
    return who.status != "left" and (not who.staff or trigger in CALLS_FOR_HELP)


@dataclass(frozen=True)
class Alarm:
    flag_id: int | None
    new: bool  # False when it added to an unresolved emergency flag of the same case
    kinds: tuple[AlarmKind, ...] = IMMEDIATE


async def raise_alarm(
    app: Wegwijzer,
    who: Participant,
    trigger: str,
    once: str | None = None,
    at: datetime | None = None,
    kinds: tuple[AlarmKind, ...] = IMMEDIATE,
) -> Alarm:
    """Record an urgent flag on the person's case (or add to the open one), raised `at` the
    alarm's time (now, unless it waited in the journal).

    `trigger` is what set it off — "sos", "button" or the matched danger phrase — never the
    whole message: the reviewer sees why, the logs see nothing. `kinds` (most urgent first)
    go into the evidence, and the most urgent kind of all its reports is the flag's reason.
    """
    now = at or app.clock()
    kinds = tuple(kind for kind in ALARM_KINDS if kind in kinds) or IMMEDIATE
    async with app.database.transaction() as uow:
        await claim(uow, once, app.clock())
        flag, new = await raise_or_repeat(
            app,
            uow,
            by=who,
            case_id=who.case_id,
            run_id=None,
            flow_id=EMERGENCY_FLOW,
            flow_version=1,
            rule=EMERGENCY_FLOW,
            level="urgent",
            reason=texts.ALARM_REASONS[kinds[0]].msgid,
            evidence={"trigger": trigger, "kinds": list(kinds), "role": who.role},
            now=now,
            kind=kinds[0],
        )
        most_urgent = texts.ALARM_REASONS[reported_kinds(flag.evidence)[0]].msgid
        if not new and flag.reason != most_urgent:
            await uow.flags.set_reason(flag, most_urgent)
        flag_id = flag.id
    log.warning(
        "emergency route",
        extra={"flag_id": flag_id, "person_id": who.person_id, "event": ",".join(kinds)},
    )
    return Alarm(flag_id, new, kinds)


async def someone_will_hear(app: Wegwijzer, who: Participant, alarm: Alarm) -> bool:
    """Whether a person who can act has the alarm's notice, or has it coming: a notice about
    its flag, waiting or delivered, to someone reachable other than the one who raised it.
    Only then may the family be told that the team knows. When nobody has, the deployment's
    fallback chat is told (once) and the log says so at CRITICAL."""
    if alarm.flag_id is None:
        return False
    async with app.database.transaction() as uow:
        notices = await uow.outbox.of_flags([alarm.flag_id])
        for notice in notices:
            if notice.person_id in (None, who.person_id) or notice.state not in ("queued", "sent"):
                continue
            person = await uow.people.get_by_id(notice.person_id)
            if person is not None and person.status == "active":
                return True
        if not any(notice.person_id is None for notice in notices):
            code = (
                (await uow.cases.codes([who.case_id])).get(who.case_id, "—")
                if who.case_id is not None
                else "—"
            )
            text = texts.NEW_FLAG.using(
                level=texts.LEVELS["urgent"], case=code, reason=texts.ALARM_REASONS[alarm.kinds[0]]
            )
            chat = app.settings.alarm_fallback_chat
            await queue_for_fallback(uow, chat, text, alarm.flag_id, app.clock())
    return False


async def journal_alarm(
    app: Wegwijzer,
    channel: str,
    external_id: str,
    trigger: str,
    once: str | None,
    *,
    recording: bool = True,
    kinds: tuple[AlarmKind, ...] = IMMEDIATE,
) -> JournaledAlarm:
    """Write the alarm to the journal and wait until it is on disk: from here on it cannot
    be lost. Its key is the update's (a redelivery is the same alarm) or one of its own.
    `recording`: the caller goes on to `record_alarm` it (the replay leaves it alone till
    then); otherwise it is the replay's."""
    key = once or f"alarm:{uuid.uuid4().hex}"
    # The same update handled again after a crash is the same alarm, at its first time.
    earlier = [alarm for alarm in await app.journal.pending() if alarm.key == key] if once else []
    if earlier:
        alarm = earlier[0]
        app.journal.resume(alarm.key)
    else:
        alarm = JournaledAlarm(key, app.clock(), channel, external_id, trigger, kinds)
        await app.journal.record(alarm)
    if not recording:
        app.journal.release(alarm.key)
    return alarm


async def record_alarm(app: Wegwijzer, who: Participant, alarm: JournaledAlarm) -> Alarm:
    """The journaled alarm as a flag; then it leaves the journal. Raises `Unavailable` when
    the database cannot take it (it stays in the journal for `replay_alarms`), and
    `AlreadyHandled` for an alarm recorded before (an update delivered twice)."""
    try:
        recorded = await raise_alarm(
            app, who, alarm.trigger, once=alarm.key, at=alarm.at, kinds=alarm.alarm_kinds
        )
    except AlreadyHandled:
        await app.journal.settle([alarm.key])
        raise
    except BaseException:
        app.journal.release(alarm.key)  # left for the replay
        raise
    await app.journal.settle([alarm.key])
    return recorded


async def replay_alarms(app: Wegwijzer) -> list[Notice]:
    """A duty: the alarms the database could not take when they came, recorded now as flags
    at their own time (the flag duties then tell staff). An alarm of someone who is not a
    member is dropped; one already recorded is not recorded again. While the database is
    still unavailable, everything waits for the next round."""
    settled: list[str] = []
    try:
        for alarm in await app.journal.pending():
            if app.journal.being_recorded(alarm.key):
                continue  # this process is recording it right now
            try:
                await _replay(app, alarm)
            except Unavailable:
                raise
            except Exception as failed:  # one bad alarm must not hold up the others
                log.error("alarm not replayed", extra={"event": type(failed).__name__})
                continue
            settled.append(alarm.key)
    except Unavailable:
        log.error("alarms wait in the journal: database unavailable", extra={"event": "journal"})
    finally:
        await app.journal.settle(settled)
    return []


async def _replay(app: Wegwijzer, alarm: JournaledAlarm) -> None:
    who = await find_participant(app, alarm.channel, alarm.external_id)
    if who is None or not counts_as_alarm(who, alarm.trigger):
        return  # nobody we know, or a note of staff: no trace is kept
    try:
        await raise_alarm(
            app, who, alarm.trigger, once=alarm.key, at=alarm.at, kinds=alarm.alarm_kinds
        )
    except AlreadyHandled:
        return
    log.warning(
        "alarm replayed from the journal", extra={"person_id": who.person_id, "event": "journal"}
    )
