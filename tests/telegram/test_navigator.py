"""The reintegration navigator and case closure on Telegram, end to end.

A caseworker opens their case with /case, which offers the next step as a button: the risk
screening first, then the navigator of the case's stage. In the navigator they mark the
stage's checklist item by item (a status, then a note or Skip), finish the list, and move the
case to the next stage — with every essential step done, or with a reason for going on
without them. Buttons of a checklist question already answered record nothing; altered ones
are refused; another caseworker's case cannot be opened even with a properly signed button.
In the closure stage the caseworker proposes closing; a coordinator returns it with a note,
approves it the second time, and reopens it. Everything is checked on what the fake Bot API
received and in the database. All people and texts are invented; everyone speaks English
here, so that the checks do not depend on translations.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from bot.app import Wegwijzer
from bot.conversation.intents import Closure, encode
from bot.rules.guidance import proposal_id
from bot.services.cases import create_case
from bot.telegram import CallbackSigner
from tests.fakes.bot_api import FakeBotAPI

from .conftest import (
    Clock,
    Person,
    RunningBot,
    answers_of,
    staff,
)

BUTTON_NOT_VALID = "This button is not valid."
ALREADY_ANSWERED = "This question has already been answered."

ASSESSMENT = "Stage 1 of 5: tracing, assessment and planning."
ASSESSMENT_ITEMS = [
    ("The child is assessed: needs, wishes, safety", True),
    ("The family is traced and contacted", True),
    ("A best interests determination is made", True),
    ("The family and the community are assessed", True),
    ("A reintegration plan is made with the child and the family", True),
    ("The risk screening is done", False),
]
ITEM_IDS = [  # the same items, as the answers' keys name them
    "child_assessed",
    "family_traced",
    "best_interests",
    "family_community_assessed",
    "plan_made",
    "risk_screened",
]
ESSENTIAL = [label for label, essential in ASSESSMENT_ITEMS if essential]
PREPARATION_MISSING = [
    "The child is prepared: knows what will happen and when, was heard, and can say what "
    "worries them",
    "A caring environment is ready for the child's return",
    "Abuse, neglect and violence in the family are addressed",
    "The household's income or livelihood is strengthened where it needs to be",
    "Housing is adequate",
]
STATUSES = ["Done", "Not yet", "Not applicable"]
FINISH = "Finished with this list"
STATUS_QUESTION = "{item}\n\nWhat is its status now?"
NOTE_QUESTION = "Add a note on “{item}”? Type it, or press Skip."
GATE = (
    "The case moves to the next stage once these essential steps are done. What do you want to do?"
)
STAY, OVERRIDE = "Stay in this stage for now", "Move on anyway, and give my reason"
NOT_IN_INTEREST = "Returning home is not in the child's best interests"
CLOSURE_QUESTIONS = 5


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
async def case_code(wegwijzer: Wegwijzer) -> str:
    """The navigator is for children in alternative care: an SOS family case here."""
    async with wegwijzer.database.transaction() as uow:
        return (await create_case(uow, "sos_family")).code


def labels(message: dict[str, Any]) -> list[str]:
    """A message's button labels, without the number a question's option shows first."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [re.sub(r"^\d+\. ", "", button["text"]) for row in rows for button in row]


def fields_of(data: str) -> list[str]:
    """The fields of an answer button's data, without its kind and its signature."""
    kind, *fields, _signature = data.split(":")
    assert kind == "a"
    return fields


async def next_question(who: Person) -> dict[str, Any]:
    """Read on to the next message with buttons."""
    while True:
        message = await who.next()
        if labels(message):
            return message


async def choose(who: Person, label: str, question: dict[str, Any]) -> dict[str, Any]:
    """Press an option of a question; the next question."""
    who.press(label, question)
    return await next_question(who)


async def set_case(app: Wegwijzer, code: str, **fields: Any) -> None:
    async with app.database.transaction() as uow:
        case = await uow.cases.by_code(code)
        for name, value in fields.items():
            setattr(case, name, value)


async def case_row(app: Wegwijzer, code: str) -> Any:
    async with app.database.reading() as uow:
        return await uow.cases.by_code(code)


async def case_events(app: Wegwijzer, code: str, *actions: str) -> list[Any]:
    """The case's audit events of these kinds, oldest first."""
    async with app.database.reading() as uow:
        case = await uow.cases.by_code(code)
        return [event for event in await uow.audit.events(case.id) if event.action in actions]


async def current_run(app: Wegwijzer, who: Person) -> Any:
    async with app.database.reading() as uow:
        someone = await uow.people.get("telegram", str(who.user.id))
        return await uow.runs.current(someone.id)


async def screened(app: Wegwijzer, clock: Clock, code: str, **fields: Any) -> None:
    """A case with a low risk level, its review far off (so the navigator is next)."""
    await set_case(
        app,
        code,
        risk_level="low",
        risk_set_at=clock.now,
        review_due_at=clock.now + timedelta(days=180),
        **fields,
    )


async def open_navigator(who: Person, code: str) -> dict[str, Any]:
    """/case, then its next-step button, which must be the navigator; the checklist."""
    who.command("/case", code)
    view = await who.expect(f"Case {code}")
    assert view["text"].splitlines()[-1] == "Next step: Reintegration navigator"
    assert labels(view) == [f"Reintegration navigator · {code}"]
    who.press(f"Reintegration navigator · {code}", view)
    await who.expect("Reintegration navigator. The case moves through five stages")
    return await who.expect(ASSESSMENT)


async def mark(
    who: Person, checklist: dict[str, Any], item: str, status: str, note: str | None = None
) -> dict[str, Any]:
    """Choose an item of the list, give it a status, type a note or skip it; the list again."""
    (button,) = [label for label in labels(checklist) if label.endswith(f" {item}")]
    who.press(button, checklist)
    question = await who.expect(STATUS_QUESTION.format(item=item))
    assert labels(question) == STATUSES
    who.press(status, question)
    if status == "Not applicable":
        asked = await who.expect(f"Why does “{item}” not apply here? Please type a short note.")
        assert labels(asked) == []  # a reason is needed: no Skip
    else:
        asked = await who.expect(NOTE_QUESTION.format(item=item))
        assert labels(asked) == ["Skip"]
    if note is None:
        who.press("Skip", asked)
    else:
        who.text(note)
    return await who.expect(ASSESSMENT)


async def received(who: Person, *fragments: str) -> list[dict[str, Any]]:
    """The next messages, one containing each fragment, in whatever order they came."""
    messages = [await who.next() for _ in fragments]
    found = []
    for fragment in fragments:
        matching = [m for m in messages if fragment in (m.get("text") or "")]
        assert matching, (fragment, [m.get("text") for m in messages])
        found.append(matching[0])
    return found


def under_text(message: dict[str, Any], heading: str) -> list[str]:
    """The lines under a message's heading."""
    first, *rest = message["text"].split("\n")
    assert first == heading, message["text"]
    return rest


# --- 1. through a stage ----------------------------------------------------------------------


async def test_a_caseworker_screens_a_case_and_moves_it_through_its_first_stage(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)

    # Not screened: the risk screening is the next step, and /case offers it.
    caseworker.command("/case", case_code)
    view = await caseworker.expect(f"Case {case_code} · SOS family · stage: not set yet")
    assert "Risk level: not screened yet." in view["text"].splitlines()
    assert view["text"].splitlines()[-1] == "Next step: Risk screening"
    assert labels(view) == [f"Risk screening · {case_code}"]
    caseworker.press(f"Risk screening · {case_code}", view)
    await caseworker.expect("Risk screening. ")
    question = await caseworker.expect("Immediate threats.")
    for _ in range(12):  # no threat, no concern, no protective factor
        question = await choose(caseworker, "No", question)
    assert "risk level: low. Concerns: 0 of 6; protective factors: 0 of 3." in question["text"]
    caseworker.press("Yes", question)
    said = await caseworker.expect(f"Case {case_code}: risk level low.")
    assert "Thank you. The screening is recorded with the case." in said["text"]
    case = await case_row(wegwijzer, case_code)
    assert (case.risk_level, case.stage) == ("low", None)

    # Screened: the navigator is next; it starts the case in stage 1 and shows its list.
    caseworker.command("/case", case_code)
    view = await caseworker.expect(f"Case {case_code}")
    assert view["text"].splitlines()[-1] == "Next step: Reintegration navigator"
    caseworker.press(f"Reintegration navigator · {case_code}", view)
    opened = await caseworker.expect("Reintegration navigator.")
    moved = f"Case {case_code} is now in stage 1 of 5: tracing, assessment and planning."
    assert moved in opened["text"]
    checklist = await caseworker.expect(ASSESSMENT)
    assert checklist["text"].splitlines()[-6:] == [
        f"⬜ {label} (essential)" if essential else f"⬜ {label}"
        for label, essential in ASSESSMENT_ITEMS
    ]
    assert labels(checklist) == [*(f"⬜ {label}" for label, _ in ASSESSMENT_ITEMS), FINISH]
    assert (await case_row(wegwijzer, case_code)).stage == "assessment"

    # The list's buttons answer the list (run, step, option); an item's status question
    # carries its part of the step as a fourth field.
    _message, pick = caseworker.button_data(f"⬜ {ESSENTIAL[0]}", checklist)
    assert len(fields_of(pick)) == 3
    caseworker.press(f"⬜ {ESSENTIAL[0]}", checklist)
    status = await caseworker.expect(STATUS_QUESTION.format(item=ESSENTIAL[0]))
    assert [len(fields_of(caseworker.button_data(s, status)[1])) for s in STATUSES] == [4] * 3
    caseworker.press("Done", status)
    skip = await caseworker.expect(NOTE_QUESTION.format(item=ESSENTIAL[0]))
    caseworker.press("Skip", skip)
    checklist = await caseworker.expect(ASSESSMENT)
    assert f"✅ {ESSENTIAL[0]} (essential)" in checklist["text"].splitlines()
    assert labels(checklist)[0] == f"✅ {ESSENTIAL[0]}"

    # The other essential items: done, one with a note that shows under it in the list.
    for item in ESSENTIAL[1:-1]:
        checklist = await mark(caseworker, checklist, item, "Done")
    note = "Plan signed with the aunt and the child on the home visit."
    checklist = await mark(caseworker, checklist, ESSENTIAL[-1], "Done", note)
    lines = checklist["text"].splitlines()
    at = lines.index(f"✅ {ESSENTIAL[-1]} (essential)")
    assert lines[at + 1].strip() == f"note: {note}"
    assert lines[-1] == f"⬜ {ASSESSMENT_ITEMS[-1][0]}"  # not essential, not touched

    # Finished with every essential step done: asked to confirm the move.
    caseworker.press(FINISH, checklist)
    confirm = await caseworker.expect(
        "Every essential step is done. Move the case to stage 2: preparation of child and family?"
    )
    assert labels(confirm) == ["Yes, move the case on", "Not now", NOT_IN_INTEREST]
    caseworker.press("Yes, move the case on", confirm)
    done = await caseworker.expect(
        f"Case {case_code} is now in stage 2 of 5: preparation of child and family."
    )
    assert "It moved on without" not in done["text"]
    assert "Open the navigator again for the steps of the new stage" in done["text"]

    case = await case_row(wegwijzer, case_code)
    assert (case.stage, case.stage_since) == ("preparation", clock.now)
    moves = await case_events(wegwijzer, case_code, "stage_set")
    assert [(e.actor_role, e.detail, e.note) for e in moves] == [
        ("caseworker", {"stage": "assessment", "from": None, "override": False}, None),
        ("caseworker", {"stage": "preparation", "from": "assessment", "override": False}, None),
    ]
    answers = await answers_of(wegwijzer)
    assert all(answers[f"reintegration.assessment.{key}"] == "done" for key in ITEM_IDS[:5])
    assert answers["reintegration.assessment.plan_made.note"] == note
    assert "reintegration.assessment.risk_screened" not in answers
    assert answers["reintegration.assessment.complete"] is True
    assert (await current_run(wegwijzer, caseworker)) is None  # the navigator run ended

    # /case: the new stage, its essential steps all still to do, the navigator next.
    caseworker.command("/case", case_code)
    view = await caseworker.expect(f"Case {case_code}")
    lines = view["text"].splitlines()
    assert lines[0] == (f"Case {case_code} · SOS family · stage: preparation of child and family")
    assert "Essential steps of this stage done: 0 of 5." in lines
    assert [line for line in lines if line.startswith("Still to do: ")] == [
        f"Still to do: {item}" for item in PREPARATION_MISSING
    ]
    assert lines[-1] == "Next step: Reintegration navigator"
    assert labels(view) == [f"Reintegration navigator · {case_code}"]
    caseworker.press(f"Reintegration navigator · {case_code}", view)
    await caseworker.expect("Reintegration navigator.")
    checklist = await caseworker.expect("Stage 2 of 5: preparation of child and family.")
    assert f"⬜ {PREPARATION_MISSING[0]} (essential)" in checklist["text"].splitlines()
    assert labels(checklist)[-1] == FINISH


# --- 2. the gate -----------------------------------------------------------------------------


async def test_moving_on_with_essential_steps_missing_needs_a_reason_which_is_recorded(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    await screened(wegwijzer, clock, case_code, stage="assessment", stage_since=clock.now)
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)

    caseworker.command("/case", case_code)
    view = await caseworker.expect(f"Case {case_code}")
    lines = view["text"].splitlines()
    assert "stage: tracing, assessment and planning" in lines[0]
    assert "Essential steps of this stage done: 0 of 5." in lines
    assert [line for line in lines if line.startswith("Still to do: ")] == [
        f"Still to do: {item}" for item in ESSENTIAL
    ]
    checklist = await open_navigator(caseworker, case_code)

    checklist = await mark(caseworker, checklist, ESSENTIAL[0], "Done")
    why = "The parents were never lost: the child was placed from home."
    checklist = await mark(caseworker, checklist, ESSENTIAL[1], "Not applicable", why)
    lines = checklist["text"].splitlines()
    assert f"➖ {ESSENTIAL[1]} (essential)" in lines
    assert lines[lines.index(f"➖ {ESSENTIAL[1]} (essential)") + 1].strip() == f"note: {why}"
    caseworker.press(FINISH, checklist)

    # The essential items still to do, one a line under the text, then the choice.
    missing = await caseworker.expect("These essential items are not done yet:")
    shown = under_text(missing, "These essential items are not done yet:")
    assert len(shown) == 3
    for line, item in zip(shown, ESSENTIAL[2:], strict=True):
        assert line.endswith(item), (line, item)
    gate = await caseworker.expect(GATE)
    assert labels(gate) == [STAY, OVERRIDE, NOT_IN_INTEREST]
    assert (await case_row(wegwijzer, case_code)).stage == "assessment"

    caseworker.press(OVERRIDE, gate)
    await caseworker.expect(
        "Why should the case move on without these steps? Your reason is recorded with the move."
    )
    reason = "The child returns home before the holidays; the plan is made with the family then."
    caseworker.text(reason)
    moved = await caseworker.expect(
        f"Case {case_code} is now in stage 2 of 5: preparation of child and family. It moved "
        "on without all essential items; your reason is recorded."
    )
    assert labels(moved) == []

    case = await case_row(wegwijzer, case_code)
    assert case.stage == "preparation"
    (event,) = await case_events(wegwijzer, case_code, "stage_set")
    assert event.note == reason
    assert event.actor_role == "caseworker"
    assert event.detail == {"stage": "preparation", "from": "assessment", "override": True}
    answers = await answers_of(wegwijzer)
    assert answers["reintegration.assessment.complete"] is False
    assert answers["reintegration.assessment.gate"] == "override"
    assert answers["reintegration.assessment.override_reason"] == reason
    assert answers["reintegration.assessment.family_traced"] == "not_applicable"
    assert answers["reintegration.assessment.family_traced.note"] == why


async def test_staying_in_the_stage_keeps_the_case_where_it_is(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    await screened(wegwijzer, clock, case_code, stage="assessment", stage_since=clock.now)
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    checklist = await open_navigator(caseworker, case_code)
    checklist = await mark(caseworker, checklist, ESSENTIAL[2], "Not yet")
    assert f"⬜ {ESSENTIAL[2]} (essential)" in checklist["text"].splitlines()
    caseworker.press(FINISH, checklist)
    missing = await caseworker.expect("These essential items are not done yet:")
    assert len(under_text(missing, "These essential items are not done yet:")) == 5
    caseworker.press(STAY, await caseworker.expect(GATE))
    await caseworker.expect("The case stays in its stage. Your marks are saved")
    assert (await case_row(wegwijzer, case_code)).stage == "assessment"
    assert await case_events(wegwijzer, case_code, "stage_set") == []

    # The marks belong to the case: the next navigator shows them again.
    checklist = await open_navigator(caseworker, case_code)
    assert f"⬜ {ESSENTIAL[2]} (essential)" in checklist["text"].splitlines()
    answers = await answers_of(wegwijzer)
    assert answers["reintegration.assessment.best_interests"] == "not_yet"


# --- 3. old and altered buttons --------------------------------------------------------------


async def test_an_old_checklist_button_records_nothing_and_an_altered_one_is_refused(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    await screened(wegwijzer, clock, case_code, stage="assessment", stage_since=clock.now)
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    checklist = await open_navigator(caseworker, case_code)
    _message, other_item = caseworker.button_data(f"⬜ {ESSENTIAL[1]}", checklist)
    _message, finish = caseworker.button_data(FINISH, checklist)

    caseworker.press(f"⬜ {ESSENTIAL[0]}", checklist)
    status = await caseworker.expect(STATUS_QUESTION.format(item=ESSENTIAL[0]))
    assert labels(api.message(caseworker.chat_id, checklist["message_id"])) == []
    run = await current_run(wegwijzer, caseworker)
    assert run.state["part"] == f"status:{ITEM_IDS[0]}"
    before = await answers_of(wegwijzer)

    # The list's buttons, pressed again while the item's status is asked: already answered.
    for data in (other_item, finish):
        query = api.press(caseworker.user, checklist, data, strict=False)
        assert (await caseworker.answered(query)).get("text") == ALREADY_ANSWERED
    await caseworker.expect_nothing_from(bot)
    assert await answers_of(wegwijzer) == before
    assert (await current_run(wegwijzer, caseworker)).state == run.state

    # Altered data (another option, another part) fails its signature: refused.
    _message, done = caseworker.button_data("Done", status)
    run_id, step, option, part = fields_of(done)
    signature = done.rsplit(":", 1)[1]
    for altered in (
        f"a:{run_id}:{step}:2:{part}:{signature}",
        f"a:{run_id}:{step}:{option}:{int(part) + 2}:{signature}",
        f"a:{run_id}:{step}:{option}:{signature}",
        done[:-1] + ("A" if done[-1] != "A" else "B"),
    ):
        query = api.press(caseworker.user, status, altered, strict=False)
        assert (await caseworker.answered(query)).get("text") == BUTTON_NOT_VALID
    # Properly signed, but for another part of the step (another item's status): nothing.
    signer = CallbackSigner.from_token(api.token)
    elsewhere = signer.sign(caseworker.user.id, "a", run_id, step, option, int(part) + 2)
    query = api.press(caseworker.user, checklist, elsewhere, strict=False)
    assert (await caseworker.answered(query)).get("text") == ALREADY_ANSWERED
    await caseworker.expect_nothing_from(bot)
    assert await answers_of(wegwijzer) == before
    assert labels(api.message(caseworker.chat_id, status["message_id"])) == STATUSES

    # The status question itself still works; once answered, its buttons are old too.
    caseworker.press("Done", status)
    skip = await caseworker.expect(NOTE_QUESTION.format(item=ESSENTIAL[0]))
    _message, not_applicable = caseworker.button_data("Not applicable", status)
    query = api.press(caseworker.user, status, not_applicable, strict=False)
    assert (await caseworker.answered(query)).get("text") == ALREADY_ANSWERED
    query = api.press(caseworker.user, checklist, other_item, strict=False)
    assert (await caseworker.answered(query)).get("text") == ALREADY_ANSWERED
    await caseworker.expect_nothing_from(bot)
    recorded = await answers_of(wegwijzer)
    assert recorded[f"reintegration.assessment.{ITEM_IDS[0]}"] == "done"
    assert f"reintegration.assessment.{ITEM_IDS[1]}" not in recorded
    assert "reintegration.assessment.complete" not in recorded

    caseworker.press("Skip", skip)
    checklist = await caseworker.expect(ASSESSMENT)
    assert f"✅ {ESSENTIAL[0]} (essential)" in checklist["text"].splitlines()
    assert f"⬜ {ESSENTIAL[1]} (essential)" in checklist["text"].splitlines()
    assert (await case_row(wegwijzer, case_code)).stage == "assessment"


# --- 4. someone else's case ------------------------------------------------------------------


async def test_a_caseworker_cannot_open_another_caseworker_s_case_in_the_navigator(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    await screened(wegwijzer, clock, case_code)
    async with wegwijzer.database.transaction() as uow:
        other_case = (await create_case(uow, "foster_care")).code
    await screened(wegwijzer, clock, other_case)
    await staff(api, wegwijzer, 2001, "caseworker", case_code)  # the case's own caseworker
    other = await staff(api, wegwijzer, 2002, "caseworker", other_case)

    other.command("/case", case_code)
    await other.expect(f"Case {case_code} is not one of your cases.")
    other.command("/case", other_case)
    own = await other.expect(f"Case {other_case}")
    assert labels(own) == [f"Reintegration navigator · {other_case}"]

    # Their own guide button, made for them and properly signed, but naming the other case.
    signer = CallbackSigner.from_token(api.token)
    for flow in ("reintegration", "risk_screening", "case_closure"):
        forged = signer.sign(other.user.id, "g", flow, case_code)
        query = api.press(other.user, own, forged, strict=False)
        answer = await other.answered(query)
        assert answer.get("text") == f"Case {case_code} is not one of your cases."
    await other.expect_nothing_from(bot)

    assert await current_run(wegwijzer, other) is None
    case = await case_row(wegwijzer, case_code)
    assert case.stage is None  # the navigator would have put it in stage 1
    assert await case_events(wegwijzer, case_code, "stage_set", "closure_proposed") == []
    assert await answers_of(wegwijzer) == {}


# --- 5. closure ------------------------------------------------------------------------------


async def propose_closure(who: Person, code: str, summary: str) -> None:
    """/case → the closure readiness check → every criterion met → summary → propose."""
    who.command("/case", code)
    view = await who.expect(f"Case {code}")
    assert view["text"].splitlines()[-1] == "Next step: Case closure readiness"
    who.press(f"Case closure readiness · {code}", view)
    await who.expect("Case closure readiness: five criteria.")
    question = await who.expect("1. Are the goals of the case plan met?")
    for _ in range(CLOSURE_QUESTIONS - 1):
        question = await choose(who, "Yes", question)
    who.press("Yes", question)
    await who.expect("Every criterion is met. In a few sentences: why can the case close now?")
    who.text(summary)
    question = await who.expect("Propose closing the case to a coordinator now?")
    who.press("Yes", question)
    proposed = await who.expect(f"The closure of case {code} is proposed.")
    assert "Your answers are saved with the case." in proposed["text"]


async def test_closure_is_proposed_returned_with_a_note_approved_and_reopened(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    await screened(wegwijzer, clock, case_code, stage="closure", stage_since=clock.now)
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    coordinator = await staff(api, wegwijzer, 3001, "coordinator", None)

    first = "Home for 14 months, school every day, the family asks for no more visits."
    await propose_closure(caseworker, case_code, first)
    notice = await coordinator.expect(f"Closure of case {case_code} is proposed")
    assert f"Summary: {first}" in notice["text"]
    assert labels(notice) == ["Approve closure", "Return with a note"]
    case = await case_row(wegwijzer, case_code)
    assert case.closure_proposed_at == clock.now and case.status == "open"

    # Waiting for the coordinator: no next step for the caseworker.
    caseworker.command("/case", case_code)
    waiting = await caseworker.expect(f"Case {case_code}")
    assert "Closure proposed on" in waiting["text"] and "Next step" not in waiting["text"]
    assert labels(waiting) == []
    # Nor can they decide on it themselves, even with buttons properly signed for them.
    signer = CallbackSigner.from_token(api.token)
    proposal = proposal_id(case.closure_proposed_at)
    for decision in (
        Closure(case_code, "approve", proposal),
        Closure(case_code, "return", proposal),
        Closure(case_code, "reopen"),
    ):
        forged = signer.sign(caseworker.user.id, *encode(decision))
        query = api.press(caseworker.user, waiting, forged, strict=False)
        answer = await caseworker.answered(query)
        assert answer.get("text") == "/closure is not available for your role."
    await caseworker.expect_nothing_from(bot)
    case = await case_row(wegwijzer, case_code)
    assert (case.closure_proposed_at, case.status) == (clock.now, "open")
    # The coordinator's /case offers the same decision as the notice.
    coordinator.command("/case", case_code)
    deciding = await coordinator.expect(f"Case {case_code}")
    assert "Closure proposed on" in deciding["text"]
    assert labels(deciding) == ["Approve closure", "Return with a note"]

    # Return: the bot asks for the note; /cancel stops that; the second time it is typed.
    coordinator.press("Return with a note", notice)
    await coordinator.expect(f"Type what still needs doing before case {case_code} can close")
    coordinator.command("/cancel")
    await coordinator.expect(
        f"Stopped: the closure of case {case_code} is still waiting for a decision."
    )
    assert (await case_row(wegwijzer, case_code)).closure_proposed_at == clock.now
    coordinator.press("Return with a note", notice)
    await coordinator.expect(f"Type what still needs doing before case {case_code} can close")
    note = "Please talk with the school counsellor first and add her view."
    coordinator.text(note)
    await coordinator.expect(
        f"The closure of case {case_code} is returned to its caseworker with your note."
    )
    await caseworker.expect(f"A coordinator returned the closure of case {case_code}: “{note}”")
    case = await case_row(wegwijzer, case_code)
    assert (case.closure_proposed_at, case.status) == (None, "open")

    # Proposed again; approved this time.
    clock.advance(days=3)
    second = "The school counsellor agrees: the child is doing well at home and at school."
    await propose_closure(caseworker, case_code, second)
    notice = await coordinator.expect(f"Closure of case {case_code} is proposed")
    assert f"Summary: {second}" in notice["text"]
    coordinator.press("Approve closure", notice)
    await coordinator.expect(f"Case {case_code} is closed. Its check-in, visit and review")
    await caseworker.expect(f"Case {case_code} is closed: a coordinator approved its closure.")
    case = await case_row(wegwijzer, case_code)
    assert (case.status, case.closed_at, case.closure_proposed_at) == ("closed", clock.now, None)
    assert case.visit_due_at is None and case.review_due_at is None

    # Approve pressed again: nothing waits; nothing is sent or recorded.
    query = coordinator.press("Approve closure", notice)
    answer = await coordinator.answered(query)
    assert answer.get("text") == f"Case {case_code} has no closure waiting for a decision."
    await coordinator.expect_nothing_from(bot)
    await caseworker.expect_nothing_from(bot)

    # The coordinator's /case: closed, with a button to reopen it, which reopens it.
    coordinator.command("/case", case_code)
    closed = await coordinator.expect(f"Case {case_code}")
    assert "Closed on" in closed["text"] and "Next step" not in closed["text"]
    assert labels(closed) == ["Reopen the case"]
    coordinator.press("Reopen the case", closed)
    reopened = f"Case {case_code} is open again, in follow-up support"
    await coordinator.expect(reopened)
    # The caseworker is told, and (by the duties, so in either order) reminded at once that
    # the risk screening is due afresh.
    told = await received(
        caseworker, reopened, f"The risk screening of case {case_code} is due for review"
    )
    assert labels(told[1]) == [f"Risk screening · {case_code}"]
    case = await case_row(wegwijzer, case_code)
    assert (case.status, case.closed_at, case.stage) == ("open", None, "follow_up")
    coordinator.command("/case", case_code)
    view = await coordinator.expect(f"Case {case_code}")
    assert "stage: follow-up support and monitoring" in view["text"].splitlines()[0]
    assert "Closed on" not in view["text"] and "Reopen the case" not in labels(view)

    events = await case_events(
        wegwijzer,
        case_code,
        "closure_proposed",
        "closure_returned",
        "case_closed",
        "case_reopened",
    )
    assert [(e.action, e.actor_role, e.note) for e in events] == [
        ("closure_proposed", "caseworker", first),
        ("closure_returned", "coordinator", note),
        ("closure_proposed", "caseworker", second),
        ("case_closed", "coordinator", None),
        ("case_reopened", "coordinator", None),
    ]


# --- a screening that comes due --------------------------------------------------------------


async def test_a_due_screening_stays_the_next_step_after_its_reminder(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    await screened(wegwijzer, clock, case_code, stage="follow_up", stage_since=clock.now)
    due = clock.now + timedelta(days=180)
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    clock.advance(days=181)  # the review is a day overdue
    reminder = await caseworker.expect(
        f"The risk screening of case {case_code} is due for review (risk level now: low)."
    )
    assert labels(reminder) == [f"Risk screening · {case_code}"]

    caseworker.command("/case", case_code)
    view = await caseworker.expect(f"Case {case_code}")
    lines = view["text"].splitlines()
    assert lines[-1] == "Next step: Risk screening"
    assert any(line.endswith(f"; next review {due:%B %-d, %Y}.") for line in lines), lines
    assert labels(view) == [f"Risk screening · {case_code}"]
