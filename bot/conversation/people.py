"""Who is talking, and what they need before anything else: strangers, joining by invite,
the language, consent, the welcome and /help. (The emergency route, before all of these, is
in `emergency`.)"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from ..rules.commands import ROLE_COMMANDS
from ..rules.people import Participant
from ..services import onboarding, texts
from ..services.emergency import emergency_numbers
from .exchange import Exchange
from .flows import checkin, show_waiting, sos_button
from .intents import CheckIn, Help, Language, Privacy, Start
from .outputs import Button, Chosen, Joined, Menu, Message

log = logging.getLogger(__name__)


class StrangerThrottle:
    """At most one answer per stranger per interval, remembered in memory only.

    design.md: nothing is stored about someone without an invite beyond what is needed to
    rate-limit. The memory is bounded: the oldest entries are forgotten first.
    """

    def __init__(self, interval_seconds: float = 60.0, capacity: int = 10_000):
        self.interval = interval_seconds
        self.capacity = capacity
        self._last: OrderedDict[str, float] = OrderedDict()

    def allow(self, key: str, now: float) -> bool:
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self.capacity:
            self._last.popitem(last=False)
        return True


# --- strangers and joining ----------------------------------------------------------------


async def stranger(x: Exchange, throttle: StrangerThrottle) -> None:
    """Someone without an invite: what this is, and the emergency numbers; nothing stored."""
    key = f"{x.incoming.channel}:{x.incoming.external_id}"
    if throttle.allow(key, time.monotonic()):
        await x.say(texts.STRANGER, emergency_numbers(x.app))


async def start(x: Exchange, wanted: Start, throttle: StrangerThrottle) -> None:
    """Opening the bot: with a valid invite someone joins (then language, consent); someone
    registered already is picked up where they were."""
    who = x.who
    if who is None and not wanted.code:
        await stranger(x, throttle)
        return
    if who is None:
        assert wanted.code is not None
        try:
            who = await onboarding.join(
                x.app, x.incoming.channel, x.incoming.external_id, wanted.code, once=x.once
            )
        except onboarding.InviteNotValid:
            log.info("invite refused", extra={"event": "invite"})
            await stranger(x, throttle)
            return
        log.info("person joined", extra={"person_id": who.person_id, "event": who.role})
        x.speak_to(who)
    else:
        await x.reply_once()
    if who.language is None:
        await ask_language(x)
    elif not who.consented:
        await ask_consent(x, who)
    elif not await show_waiting(x, who, texts.WELCOME_BACK):
        await x.say(texts.ALREADY_REGISTERED)


async def opened(x: Exchange) -> None:
    """A terminal session starts: pick up where the person left off, or start a family's
    check-in."""
    who = x.member()
    if await show_waiting(x, who, texts.WELCOME_BACK):
        return
    if who.role == "family":
        await checkin(x, CheckIn())
    else:
        await x.say(texts.HELLO_STAFF)


# --- language and consent -----------------------------------------------------------------


async def ask_language(x: Exchange) -> None:
    catalogs = x.app.catalogs
    rows = tuple(
        (Button(catalogs.native_name(code), Language(code)),) for code in catalogs.languages
    )
    await x.say(texts.CHOOSE_LANGUAGE, buttons=rows)


async def language(x: Exchange, wanted: Language) -> None:
    """Choose a language (also mid-flow: the question is asked again in it)."""
    who = x.member()
    if wanted.code is None:
        await x.reply_once()
        await ask_language(x)
        return
    if wanted.code not in x.app.catalogs.languages:
        await x.reply_once()
        await x.say(texts.UNKNOWN_LANGUAGE.using(code=wanted.code))
        await ask_language(x)
        return
    first_choice = who.language is None
    who = await onboarding.choose_language(x.app, who, wanted.code, x.once)
    x.speak_to(who)
    chosen = texts.LANGUAGE_SET.using(language=x.app.catalogs.native_name(wanted.code))
    await x.show(Chosen((chosen,), say_if_typed=True))
    if not who.consented:
        await ask_consent(x, who)
        return
    await x.show(Menu(who.role))
    if not first_choice:
        await show_waiting(x, who)


async def held_back(x: Exchange, who: Participant) -> bool:
    """Whether the person must first settle their language, then their consent, before
    anything is done for them (True: they were asked, or told why not). Without consent
    nothing is started or stored: someone who withdrew it is told so and how to give it again
    (the emergency route came before this, and always works)."""
    if who.language is None:
        await ask_language(x)
        return True
    if who.consented:
        return False
    if who.consent == "withdrawn":
        await x.say(texts.CONSENT_WITHDRAWN_NOTE)
    else:
        await x.say(texts.CONSENT_FIRST)
        await ask_consent(x, who)
    return True


async def ask_consent(x: Exchange, who: Participant) -> None:
    """What is stored, why, who sees it, who is responsible and on which basis, how long, the
    rights and where to ask (the last from the deployment's privacy policy); agree or not."""
    privacy = texts.PRIVACY_FAMILY if who.role == "family" else texts.PRIVACY_STAFF
    rows = (
        (Button(texts.AGREE, Privacy("agree")),),
        (Button(texts.DISAGREE, Privacy("refuse")),),
    )
    paragraphs = ((privacy,), *texts.privacy_policy(x.app.privacy), (texts.DO_YOU_AGREE,))
    await x.show(Message(paragraphs, rows))


async def privacy(x: Exchange, wanted: Privacy) -> None:
    """What is stored and why; agreeing or not is recorded (refusing stops the check-in;
    refusing after having agreed withdraws consent: see `onboarding.record_consent`)."""
    who = x.member()
    if wanted.answer not in Privacy.ANSWERS:
        await x.reply_once()
        await ask_consent(x, who)
        return
    given = wanted.answer == "agree"
    recorded = await onboarding.record_consent(x.app, who, given, x.once)
    who = recorded.who
    x.speak_to(who)
    await x.show(Chosen(mark=Joined("✅ ", texts.AGREE if given else texts.DISAGREE)))
    log.info("consent recorded", extra={"person_id": who.person_id, "event": who.consent})
    if given:
        await welcome(x, who)
    elif who.consent == "withdrawn":
        await withdrawn(x, told=recorded.told > 0)
    else:
        await x.say(texts.CONSENT_REFUSED)


async def withdrawn(x: Exchange, told: bool) -> None:
    """After withdrawing: what it means, what is kept and why, where to ask for a copy or
    erasure, and how to give consent again."""
    policy = x.app.privacy
    await x.show(
        Message(
            (
                (texts.CONSENT_WITHDRAWN, *((texts.CONSENT_WITHDRAWN_TOLD,) if told else ())),
                (
                    texts.CONSENT_WITHDRAWN_KEPT.using(term=texts.term(policy.retention.case_file)),
                    texts.LEGAL_BASES[policy.legal_basis],
                ),
                (texts.CONSENT_WITHDRAWN_ASK.using(contact=policy.contact),),
            )
        )
    )


async def welcome(x: Exchange, who: Participant) -> None:
    await x.show(Menu(who.role))
    start = ((Button(texts.START_CHECKIN, CheckIn()),),) if who.role == "family" else ()
    await x.say(texts.WELCOME[who.role], buttons=start)


async def help_(x: Exchange, _: Help) -> None:
    await x.reply_once()
    lines = [
        texts.HELP_LINE.using(command=f"/{name}", description=texts.COMMANDS[name])
        for name in ROLE_COMMANDS[x.member().role]
    ]
    await x.say(texts.HELP_HEADER, *lines, buttons=((sos_button(),),))
