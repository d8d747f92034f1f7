"""Flows in a conversation: showing what a run says and asks, starting, answering, stopping.

A turn of a run (what the engine said and asked, stored by `services.runs`) becomes messages:
what it says in one message, each question in one of its own with its options as buttons —
and under a family's question the "I need help now" button. Starting the check-in, answering
by button or by typing, stopping for now and the guidance menu are here too.
"""

from __future__ import annotations

import logging

from ..app import Wegwijzer
from ..engine import Ask, FlagRaised, Invalid, NonText, Reply, Say, Text
from ..rules.access import NotAllowed
from ..rules.guidance import CaseFacts, flows_for
from ..rules.people import Participant
from ..services import runs, texts
from ..services.cases import cases_to_guide
from ..services.duties import immediate_notices
from ..services.notices import Notice
from ..storage import Case
from .exchange import Exchange, Other, Typed
from .intents import Answer, Cancel, CheckIn, Guide, Sos
from .outputs import Button, Chosen, Joined, Message, Paragraph
from .review import cancel_typed_text

log = logging.getLogger(__name__)

# At most this many buttons in /guide (flows × cases); `/guide CODE` narrows it to one case.
GUIDE_BUTTONS = 30


def sos_button() -> Button:
    """The "I need help now" button offered in family flows and in /help."""
    return Button(texts.SOS_BUTTON, Sos(), shortcut=True)


def numbered(index: int, label: Text) -> Joined:
    """An option as every channel shows it: its number, then its label ("3. More than half of
    the time"). A typed number answers by position (`bot.engine`), so the number must be on
    the button too — in Telegram as in the terminal — or someone who types "1" on the WHO-5,
    meaning "some of the time", would record "all of the time"."""
    return Joined(f"{index + 1}. ", label)


def turn_messages(x: Exchange, turn: runs.Turn) -> list[Message]:
    """What a turn says, one message; each question a message of its own with its buttons."""
    flow = x.app.flows.get(turn.state.flow_id, turn.state.version)
    messages: list[Message] = []
    said: list[Paragraph] = []
    for event in turn.events:
        if isinstance(event, Invalid):
            said.append((event.text,))
        elif isinstance(event, Say):
            said.append((event.text, *event.lines))
        elif isinstance(event, Ask):
            if said:
                messages.append(Message(tuple(said)))
                said = []
            step = flow.index_of(event.step_id)
            rows = tuple(
                (
                    Button(
                        numbered(number, option.label),
                        Answer(turn.run_id, step, number, event.part),
                    ),
                )
                for number, option in enumerate(event.options)
            )
            if event.options and "family" in flow.roles:
                rows += ((sos_button(),),)
            messages.append(Message(((event.text, *event.lines),), rows))
    if said:
        messages.append(Message(tuple(said)))
    return messages


async def tell_staff_now(app: Wegwijzer) -> list[Notice]:
    """A flag was raised or repeated: its notices to the staff who must hear at once are
    queued now rather than at the next round of duties; what was queued is returned."""
    try:
        return await immediate_notices(app)
    except Exception as failed:  # the flag is stored: the next round of duties tells them
        log.error("staff not told yet", extra={"event": type(failed).__name__})
        return []


async def show_waiting(x: Exchange, who: Participant, intro: Text | None = None) -> bool:
    """Ask the question the person's open flow is waiting for again (after `intro`); False
    when nothing is waiting."""
    waiting = await runs.waiting_question(x.app, who)
    if waiting is None:
        return False
    if intro is not None:
        await x.say(intro)
    await show_turn(x, waiting)
    return True


async def show_turn(x: Exchange, turn: runs.Turn) -> None:
    """Show a turn; staff are told of a flag it raised at once. (Notices to others, a closure
    proposed say, are in the outbox already: queued with the turn.)"""
    if any(isinstance(event, FlagRaised) for event in turn.events):
        await tell_staff_now(x.app)
    for message in turn_messages(x, turn):
        await x.show(message)
    if turn.children is not None:
        await _children_to_rate(x, turn.children, texts.NEXT_CHILD, left_only=True)


async def _children_to_rate(
    x: Exchange, choice: runs.ChildrenToRate, text: Text, left_only: bool = False
) -> None:
    """A button per child of the case for its home visit (those rated in this visit marked,
    or after a rating left out)."""
    rows = []
    for child in choice.left if left_only else choice.children:
        label = child.described()
        if child.id in choice.rated:
            label = texts.RATED_MARK.using(child=label)
        rows.append((Button(label, Guide(choice.flow_id, choice.case_code, child.number)),))
    await x.say(
        text.using(case=choice.case_code, count=len(choice.left if left_only else choice.children)),
        buttons=tuple(rows),
    )


async def checkin(x: Exchange, _: CheckIn) -> None:
    flow = x.app.flows.for_purpose("checkin")
    if flow is None:
        await x.say(texts.NO_CHECKIN)
        return
    await show_turn(x, await runs.start_flow(x.app, x.member(), flow.id, once=x.once))


async def cancel(x: Exchange, _: Cancel) -> None:
    who = x.member()
    if who.awaiting:
        await cancel_typed_text(x)  # the note (or return note) asked for is not typed
        return
    stopped = await runs.pause(x.app, who, once=x.once)
    await x.say(texts.STOPPED[who.role] if stopped else texts.NOTHING_TO_STOP)


async def answer_button(x: Exchange, pressed: Answer) -> None:
    """An option pressed: taken only while it is still the question the person's run waits
    for; an old or repeated press records nothing."""
    answered = await runs.answer_option(
        x.app, x.member(), pressed.run_id, pressed.step, pressed.option, x.once, pressed.part
    )
    await show_answer(x, answered)


async def show_answer(x: Exchange, answered: runs.ButtonAnswer | None) -> None:
    """What a press did: the question edited to show the choice, then what follows; or "already
    answered" for a press that recorded nothing."""
    if answered is None:
        await x.answer(texts.ALREADY_ANSWERED)
        await x.show(Chosen())
        return
    question = answered.question
    # A checklist's list is not answered by a pick: it shows which item was opened.
    mark = "→" if question.kind == "checklist" else "✅"
    asked = (question.text, *question.lines)
    await x.show(Chosen(asked, Joined(mark, " ", answered.chosen.label)))
    await show_turn(x, answered.turn)


async def answer_message(x: Exchange) -> None:
    """A message that is not a command: the answer to the question waiting, if any."""
    who = x.member()
    said = x.incoming.said
    given = Reply(said.text) if isinstance(said, Typed) else NonText(_kind(said))
    turn = await runs.answer(x.app, who, given, x.translate, once=x.once)
    if turn is None:
        await x.say(
            texts.ONLY_TEXT if isinstance(given, NonText) else texts.NOTHING_WAITING[who.role]
        )
        return
    await show_turn(x, turn)


def _kind(said: object) -> str:
    return said.kind if isinstance(said, Other) else "other"


async def guide(x: Exchange, wanted: Guide) -> None:
    """The guidance flows, one button per flow and case of the person's (a family: their own
    case; a coordinator: the case they name); or one flow started (or continued) for a case:
    the case named, the terminal's case, or a caseworker's only case."""
    who = x.member()
    country = x.app.settings.country
    flow_id, code = wanted.flow_id, wanted.case
    if flow_id is not None and flow_id not in _offered(x, None):
        code = code or flow_id.upper()  # `/guide K7Q-4MX`: the flows of one case
        flow_id = None
    if who.role == "family":
        code = None  # a family's flows are about their own case, whatever a button says
    elif code is None:
        code = x.incoming.default_case
    cases = await cases_to_guide(x.app, who, code)
    why: Text | None = None
    if flow_id is not None:
        named = who.role == "family" or code is not None
        target = cases[0] if cases and (named or len(cases) == 1) else None
        if named and target is None:
            await x.answer(texts.NOT_YOUR_CASE.using(case=code or "—"))
            return
        if target is not None and flow_id in _offered(x, target):
            case_code = None if who.role == "family" else target.code
            try:
                turn = await runs.start_flow(x.app, who, flow_id, x.once, case_code, wanted.child)
            except NotAllowed:  # the case went to someone else a moment ago
                await x.answer(texts.NOT_YOUR_CASE.using(case=target.code))
                return
            except runs.ChooseChild as choose:  # the home visit rates one child at a time
                await x.reply_once()
                await _children_to_rate(x, choose.choice, texts.WHICH_CHILD)
                return
            except runs.NoSuchChild:
                await x.answer(texts.NO_SUCH_CHILD.using(case=target.code, number=wanted.child))
                return
            await show_turn(x, turn)
            return
        if target is not None:  # that flow is not for this case: the ones that are (and
            # to staff, why: the navigator asked for a family-strengthening case, say)
            why = None if who.role == "family" else _not_for_case(x, flow_id, target)
            cases, flow_id = [target], None
    await x.reply_once()
    if why is not None:
        await x.say(why)
    if who.role == "coordinator" and code is None:
        await x.say(texts.GUIDE_USAGE)
        return
    rows = [
        (Button(Joined(Text(flow.title), " · ", case.code), Guide(flow.id, case.code)),)
        for case in cases[:GUIDE_BUTTONS]
        for flow in flows_for(x.app.flows, who.role, case, country)
        if flow_id is None or flow.id == flow_id
    ][:GUIDE_BUTTONS]
    if not rows:
        await x.say(texts.NO_GUIDES if cases else texts.NO_CASES)
        return
    await x.say(texts.GUIDES, buttons=tuple(rows))


def _not_for_case(x: Exchange, flow_id: str, case: Case) -> Text:
    """Why a flow the person asked for is not offered for the case (its `only_if`)."""
    flow = x.app.flows.get(flow_id)
    template = texts.GUIDE_NOT_FOR_CASE.get(flow.purpose, texts.GUIDE_NOT_FOR_CASE["guidance"])
    return template.using(
        flow=Text(flow.title),
        case=case.code,
        programme=texts.PROGRAMMES.get(case.programme, Text(case.programme)),
        stage=texts.STAGES.get(case.stage or "", texts.NO_STAGE),
    )


def _offered(x: Exchange, case: CaseFacts | None) -> set[str]:
    """The flows the person may start (for a case: those meant for it)."""
    flows = flows_for(x.app.flows, x.member().role, case, x.app.settings.country)
    return {flow.id for flow in flows}
