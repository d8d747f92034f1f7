"""Reviewing flags and cases: the queue, one flag and what is done with it, a case at a
glance, and a coordinator's decision on closing a case.

Every button carries only ids (a flag, a page, a caseworker, a case and its proposal); what
may be done is decided again by the services from the database on every press or command.
A note or resolution typed without its text is asked for as the person's next message
(`take_typed_text`), kept in the database so any bot process takes it.
"""

from __future__ import annotations

from ..engine import Text
from ..rules.access import NotAllowed, decides_closure
from ..rules.guidance import proposal_id
from ..rules.people import Participant
from ..services import audit, flags, guidance, texts
from ..services.case_view import case_view
from ..services.review_texts import case_view_lines, flag_detail_lines
from . import corrections
from .exchange import Exchange, Typed
from .intents import Cases, Closure, Correct, Flags, Guide, Intent, OnFlag, ShowCase, Web
from .outputs import Button, Joined, Line, Message

PAGE_SIZE = 5
# At most this many caseworkers to choose from when assigning (and three of their cases each).
ASSIGNABLE_SHOWN = 20


# --- refused for the role -------------------------------------------------------------------

# What each verb of `/flag N VERB` asks to do with the flag (`rules.access.FLAG_ACTIONS`).
FLAG_VERBS = {
    "": "view",
    "ack": "acknowledge",
    "note": "note",
    "resolve": "resolve",
    "reopen": "reopen",
    "assign": "assign",
}


async def record_refused_look(x: Exchange, intent: Intent) -> None:
    """A command that shows flags or cases, refused for the person's role before any service
    saw it (a family's `/flags`): on record like the refusals the services make themselves."""
    app, who = x.app, x.member()
    if isinstance(intent, Flags):
        await audit.record_refusal(app, who, "flags")
    elif isinstance(intent, OnFlag):
        action = FLAG_VERBS.get(intent.verb)
        await audit.record_refusal(app, who, "flag", action=action, flag_id=intent.flag_id)
    elif isinstance(intent, ShowCase):
        await audit.record_refusal(app, who, "case", case_code=intent.code)
    elif isinstance(intent, Cases):
        await audit.record_refusal(app, who, "cases")
    elif isinstance(intent, Web):
        await audit.record_refusal(app, who, "web", action="link")
    elif isinstance(intent, Correct):
        what = "case" if intent.run_id is None else "run"
        await audit.record_refusal(app, who, what, action="correct", case_code=intent.case)


# --- the queue ----------------------------------------------------------------------------


async def queue(x: Exchange, wanted: Flags) -> None:
    """The unresolved flags the person may see, most serious first, a page at a time."""
    await x.reply_once()
    found = await flags.review_page(x.app, x.member(), wanted.page, PAGE_SIZE)
    if not found.flags:
        await x.show(Message.of(texts.NO_OPEN_FLAGS, in_place=True))
        return
    page, pages, shown = found.page, found.pages, found.flags
    now = x.app.clock()
    lines: list[Line] = [texts.OPEN_FLAGS_PAGE.using(page=page, pages=pages)]
    lines += [Joined(f"#{flag.id} ", texts.flag_line(flag, now)) for flag in shown]
    rows: list[tuple[Button, ...]] = [
        (
            Button(
                Joined(
                    texts.OPEN,
                    f" #{flag.id} · ",
                    texts.LEVELS[flag.level],
                    f" · {flag.case_code or '—'}",
                ),
                OnFlag(flag.id),
            ),
        )
        for flag in shown
    ]
    pager = []
    if page > 1:
        pager.append(Button(texts.PREVIOUS_PAGE, Flags(page - 1)))
    if page < pages:
        pager.append(Button(texts.NEXT_PAGE, Flags(page + 1)))
    if pager:
        rows.append(tuple(pager))
    await x.show(Message.of(*lines, buttons=tuple(rows), in_place=True))


# --- one flag -----------------------------------------------------------------------------


async def show_flag(
    x: Exchange, flag: flags.FlagView, *, in_place: bool = False, before: Text | None = None
) -> None:
    """A flag's detail with the buttons of what this person may do with it now."""
    detail = tuple(flag_detail_lines(x.app, flag, x.app.clock()))
    first: list[Button] = []
    if flag.status == "open":
        first.append(Button(texts.ACKNOWLEDGE, OnFlag(flag.id, "ack")))
    if flag.status != "resolved":
        first.append(Button(texts.RESOLVE, OnFlag(flag.id, "resolve")))
    else:
        first.append(Button(texts.REOPEN, OnFlag(flag.id, "reopen")))
    second = [Button(texts.ADD_NOTE, OnFlag(flag.id, "note"))]
    if x.member().role == "coordinator" and flag.status != "resolved":
        second.append(Button(texts.ASSIGN, OnFlag(flag.id, "assign")))
    rows = (tuple(first), tuple(second), (Button(texts.BACK_TO_LIST, Flags(1)),))
    paragraphs = ((before,), detail) if before is not None else (detail,)
    await x.show(Message(paragraphs, rows, in_place))


async def on_flag(x: Exchange, wanted: OnFlag) -> None:
    """Open a flag or act on it; "not yours" and "no such flag" are one answer."""
    if wanted.flag_id is None or wanted.verb not in OnFlag.VERBS:
        await x.say(texts.FLAG_USAGE)
        return
    try:
        await _on_flag(x, wanted.flag_id, wanted.verb, wanted.text)
    except NotAllowed:
        await x.answer(texts.FLAG_NOT_AVAILABLE.using(id=wanted.flag_id), alert=True)
    except flags.NoteRequired:
        await x.say(texts.NOTE_EMPTY)
    except flags.NoteTooLong as too_long:
        await x.say(_too_long(too_long))
    except flags.NotAssignable:
        await x.say(texts.NOT_ASSIGNABLE.using(person=wanted.text, id=wanted.flag_id))


def _too_long(error: flags.NoteTooLong) -> Text:
    return texts.NOTE_TOO_LONG.using(length=error.args[0], limit=flags.NOTE_MAX)


async def _on_flag(x: Exchange, flag_id: int, verb: str, text: str) -> None:
    app, who = x.app, x.member()
    # The service first, then the answer: a refusal is the answer to the press.
    if verb == "":
        await show_flag(x, await flags.flag_detail(app, who, flag_id, x.once))
    elif verb == "ack":
        outcome = await flags.acknowledge(app, who, flag_id, x.once)
        if outcome.changed:
            await x.answer(texts.FLAG_ACKNOWLEDGED.using(id=flag_id))
        elif outcome.flag.status == "acknowledged":
            await x.answer(texts.ALREADY_ACKNOWLEDGED.using(id=flag_id))
        else:
            await x.answer(_nothing_changed(outcome.flag))
        # In place: on a notice too, whose text the flag's detail includes.
        await show_flag(x, outcome.flag, in_place=True)
    elif verb == "reopen":
        outcome = await flags.reopen(app, who, flag_id, x.once)
        await x.answer(_result(outcome, texts.FLAG_REOPENED.using(id=flag_id)))
        await show_flag(x, outcome.flag, in_place=True)
    elif verb == "assign" and text.isascii() and text.isdigit():
        outcome = await flags.assign(app, who, flag_id, int(text), x.once)
        await x.answer(_result(outcome, texts.FLAG_ASSIGNED.using(id=flag_id, person=int(text))))
        await show_flag(x, outcome.flag, in_place=True)
    elif verb == "assign":
        await _choose_assignee(x, flag_id)
    elif text:  # a note or a resolution, typed with the command
        await _noted(x, verb, await _write(x, verb, flag_id, text))
    else:  # asked for as the next message
        await flags.ask_for_text(app, who, flag_id, verb, x.once)
        prompt = texts.TYPE_NOTE if verb == "note" else texts.TYPE_RESOLUTION
        await x.say(prompt.using(id=flag_id))


async def _write(x: Exchange, verb: str, flag_id: int, text: str) -> flags.Outcome:
    if verb == "note":
        return await flags.add_note(x.app, x.member(), flag_id, text, x.once)
    return await flags.resolve(x.app, x.member(), flag_id, text, x.once)


async def _noted(x: Exchange, verb: str, outcome: flags.Outcome) -> None:
    done = texts.FLAG_RESOLVED if verb == "resolve" and outcome.changed else texts.NOTE_ADDED
    # Resolved meanwhile by someone else: the text was kept as a note.
    await show_flag(x, outcome.flag, before=done.using(id=outcome.flag.id))


async def _choose_assignee(x: Exchange, flag_id: int) -> None:
    await x.reply_once()
    people = await flags.assignable_caseworkers(x.app, x.member(), flag_id)
    if not people:
        await x.say(texts.NO_CASEWORKERS)
        return
    rows = tuple(
        (
            Button(
                texts.CASEWORKER_LABEL.using(
                    person=person_id, cases=", ".join(codes[:3]) if codes else texts.NO_CASES_YET
                ),
                OnFlag(flag_id, "assign", str(person_id)),
            ),
        )
        for person_id, codes in people[:ASSIGNABLE_SHOWN]
    )
    await x.say(texts.CHOOSE_CASEWORKER.using(id=flag_id), buttons=rows)


def _result(outcome: flags.Outcome, done: Text) -> Text:
    return done if outcome.changed else _nothing_changed(outcome.flag)


def _nothing_changed(flag: flags.FlagView) -> Text:
    return texts.NOTHING_CHANGED.using(id=flag.id, status=texts.STATUSES[flag.status])


# --- the note asked for -------------------------------------------------------------------


async def take_typed_text(x: Exchange) -> None:
    """The message a reviewer was asked for: a note, a resolution, a returned closure, the
    new value of an answer being corrected."""
    who = x.member()
    if corrections.waits_for_value(who):
        await corrections.take_typed_value(x)
        return
    said = x.incoming.said
    if not isinstance(said, Typed):
        await x.say(texts.ONLY_TEXT)
        return
    awaiting = who.awaiting or {}
    if awaiting.get("action") == "return_closure":
        await _return_closure(x, who, said.text)
        return
    try:
        verb, outcome = await flags.take_typed_text(x.app, who, said.text, x.once)
    except flags.NoteRequired:
        await x.say(texts.NOTE_EMPTY)
        return
    except flags.NoteTooLong as too_long:
        await x.say(_too_long(too_long))
        return
    except NotAllowed:
        await x.say(texts.FLAG_NOT_AVAILABLE.using(id=_flag_id(awaiting.get("flag_id"))))
        return
    await _noted(x, verb, outcome)


async def cancel_typed_text(x: Exchange) -> None:
    who = x.member()
    if corrections.waits_for_value(who):
        await corrections.cancel_typed_value(x)
        return
    await x.reply_once()
    await flags.stop_waiting(x.app, who)
    awaiting = who.awaiting or {}
    if awaiting.get("action") == "return_closure":
        await x.say(texts.RETURN_CANCELLED.using(case=str(awaiting.get("case", "—"))))
    else:
        await x.say(texts.NOTE_CANCELLED.using(id=_flag_id(awaiting.get("flag_id"))))


def _flag_id(value: object) -> int | str:
    return value if isinstance(value, int) else "—"


# --- the case view ------------------------------------------------------------------------


async def show_case(x: Exchange, wanted: ShowCase) -> None:
    if wanted.code is None:
        await x.say(texts.CASE_USAGE)
        return
    who = x.member()
    try:
        view = await case_view(x.app, who, wanted.code, once=x.once)
    except NotAllowed:
        await x.say(texts.NOT_YOUR_CASE.using(case=wanted.code))
        return
    lines: list[Text] = case_view_lines(view, x.app.clock())
    rows: list[tuple[Button, ...]] = []
    if view.next_step is not None:
        title = Text(x.app.flows.get(view.next_step).title)
        lines.append(texts.NEXT_STEP.using(step=title))
        rows.append((Button(Joined(title, " · ", view.code), Guide(view.next_step, view.code)),))
    if view.erased_at is not None:
        pass  # a tombstone is neither reopened nor closed
    elif decides_closure(who) and view.status == "closed":
        rows += closure_buttons(view.code)
    elif decides_closure(who) and view.closure_proposed_at is not None:
        rows += closure_buttons(view.code, proposal_id(view.closure_proposed_at))
    rows += [
        (Button(Joined(texts.OPEN, f" #{flag.id} · ", texts.LEVELS[flag.level]), OnFlag(flag.id)),)
        for flag in view.open_flags[:PAGE_SIZE]
    ]
    await x.say(*lines, buttons=tuple(rows))


def closure_buttons(code: str, proposal: int | None = None) -> list[tuple[Button, ...]]:
    """A coordinator's decision on a proposed closure (which `proposal`), or the reopening of
    a closed case (no proposal)."""
    if proposal is None:
        return [(Button(texts.REOPEN_CASE, Closure(code, "reopen")),)]
    return [
        (Button(texts.APPROVE_CLOSURE, Closure(code, "approve", proposal)),),
        (Button(texts.RETURN_CLOSURE, Closure(code, "return", proposal)),),
    ]


# --- closure --------------------------------------------------------------------------------


async def closure(x: Exchange, wanted: Closure) -> None:
    """Approve, return (with a note, typed with the command or next) or reopen."""
    code, verb = wanted.case, wanted.verb
    if code is None or verb not in Closure.VERBS:
        await x.say(texts.CLOSURE_USAGE)
        return
    app, who = x.app, x.member()
    try:
        if verb == "approve":
            decision = await guidance.approve_closure(app, who, code, x.once, wanted.proposal)
        elif verb == "reopen":
            decision = await guidance.reopen_case(app, who, code, x.once)
        elif wanted.note:
            decision = await guidance.return_closure(
                app, who, code, wanted.note, x.once, wanted.proposal
            )
        else:
            await guidance.ask_for_return_note(app, who, code, x.once, wanted.proposal)
            await x.say(texts.TYPE_RETURN_NOTE.using(case=code))
            return
    except NotAllowed:
        await x.answer(texts.NOT_YOUR_CASE.using(case=code))
        return
    except guidance.NotProposed:
        # Pressed twice, decided by another coordinator meanwhile, or an older proposal.
        await x.answer(texts.NO_CLOSURE_WAITING.using(case=code))
        return
    except guidance.OwnProposal:
        await x.answer(texts.OWN_PROPOSAL.using(case=code))
        return
    await x.say(decision.text)


async def _return_closure(x: Exchange, who: Participant, note: str) -> None:
    """The coordinator's typed note for returning a proposed closure."""
    awaiting = who.awaiting or {}
    code, proposal = str(awaiting.get("case", "")), awaiting.get("proposal")
    if not note.strip():
        await x.say(texts.NOTE_EMPTY)
        return
    try:
        decision = await guidance.return_closure(
            x.app, who, code, note, x.once, proposal=proposal if isinstance(proposal, int) else 0
        )
    except (NotAllowed, guidance.NotProposed):
        await flags.stop_waiting(x.app, who)
        await x.say(texts.NO_CLOSURE_WAITING.using(case=code))
        return
    await x.say(decision.text)
