"""The guidance part of the flow format: checklists, results, `count` scores, the case in
conditions, `only_if` on steps and flows, and `set_case` — what the runner does with each,
and how the loader refuses each of them when it is broken (with the line of the problem).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from unittest.mock import ANY

import pytest

from bot.engine import (
    AnswerRecorded,
    Ask,
    Choose,
    Engine,
    FlagRaised,
    Invalid,
    NonText,
    Option,
    Reply,
    RunEnded,
    RunState,
    Say,
    ScoreComputed,
    Sprint,
    Text,
    describe_answer,
    load_flow_file,
)
from bot.engine.conditions import compute_results, compute_scores, evaluate
from bot.engine.events import CaseUpdated
from bot.engine.graph import mermaid
from bot.engine.model import Condition

from .conftest import marked_lines, one_question

CHOOSE_AN_OPTION = Text("Please choose one of the options.")
ANSWER_AS_TEXT = Text("Please write your answer as text.")
WRITE_WHY = Text("Please type why this item does not apply.")
NOTE_TOO_LONG = Text("Please keep your answer under {max_length} characters.", {"max_length": 1000})


def missing_line(label: str) -> Text:
    """An essential item still to do, as the list of missing items shows it."""
    return Text("{mark} {item}", {"mark": "⬜", "item": Text(label)})


def guide(body: str, *, start: str = "q", roles: str = "caseworker") -> str:
    """A flow file: the usual header (for caseworkers unless told) and a dedented body."""
    purpose = "survey" if "family" in roles else "guidance"
    header = (
        f"spec: 1\nid: demo\nversion: 1\ntitle: Demo\nroles: [{roles}]\npurpose: {purpose}\n"
        f"start: {start}\n"
    )
    return header + textwrap.dedent(body)


def drive(engine: Engine, inputs, **start) -> list[Sprint]:
    """Start `demo` (with `case`, `remembered`... as given) and resume with each input."""
    sprints = [engine.start("demo", **start)]
    for given in inputs:
        assert not sprints[-1].ended, f"the run ended before input {given!r}"
        sprints.append(engine.resume(sprints[-1].state, given))
    return sprints


# A flow of one yes/no question, with neither checklists nor case conditions.
PLAIN = one_question("- {id: q, kind: yes_no, key: demo.q, text: Ready?}\n")


def all_of(sprints: list[Sprint], kind: type) -> list:
    return [event for sprint in sprints for event in sprint.of(kind)]


# --- checklists ---------------------------------------------------------------------------

CHECKLIST = guide(
    """\
    steps:
      - id: intro
        kind: message
        text: Preparation.
      - id: list
        kind: checklist
        key: prep
        text: Preparation steps
        items:
          - {id: school, label: School found, essential: true}
          - {id: visit, label: Home visit done, essential: true}
          - {id: photo, label: Family photo}
        next:
          - when: {answer: prep.complete, equals: true}
            goto: ready
          - goto: not_ready
      - {id: ready, kind: end, text: Ready.}
      - {id: not_ready, kind: end, text: Not ready.}
    """,
    start="intro",
)

ITEMS = {"school": "School found", "visit": "Home visit done", "photo": "Family photo"}
ESSENTIAL = ("school", "visit")
DONE, OPEN, NOT_APPLICABLE = "✅", "⬜", "➖"
STATUS_OPTIONS = (
    Option("done", Text("Done")),
    Option("not_yet", Text("Not yet")),
    Option("not_applicable", Text("Not applicable")),
)
FINISH = Option("finish", Text("Finished with this list"))
SKIP = Option("skip", Text("Skip"))
MISSING = Text("These essential items are not done yet:")


def button(mark: str, item: Text) -> Text:
    return Text("{mark} {item}", {"mark": mark, "item": item})


def list_ask(marks=None, notes=None, reminder: bool = False) -> Ask:
    """The checklist's list as it is asked: an option per item, its lines, and Finish."""
    marks, notes = marks or {}, notes or {}
    options, lines = [], []
    for item_id, label in ITEMS.items():
        mark = marks.get(item_id, OPEN)
        shown = (
            Text("{item} (essential)", {"item": Text(label)})
            if item_id in ESSENTIAL
            else Text(label)
        )
        lines.append(button(mark, shown))
        if item_id in notes:
            lines.append(Text("    note: {note}", {"note": notes[item_id]}))
        options.append(Option(item_id, button(mark, Text(label))))
    return Ask(
        step_id="list",
        kind="checklist",
        key="prep",
        text=Text("Preparation steps"),
        options=(*options, FINISH),
        reminder=reminder,
        lines=tuple(lines),
        part=0,
    )


def status_ask(item_id: str) -> Ask:
    return Ask(
        step_id="list",
        kind="choice",
        key=f"prep.{item_id}",
        text=Text("{item}\n\nWhat is its status now?", {"item": Text(ITEMS[item_id])}),
        options=STATUS_OPTIONS,
        part=ANY,
    )


def note_ask(item_id: str, why: bool = False) -> Ask:
    label = Text(ITEMS[item_id])
    if why:
        text = Text("Why does “{item}” not apply here? Please type a short note.", {"item": label})
    else:
        text = Text("Add a note on “{item}”? Type it, or press Skip.", {"item": label})
    return Ask(
        step_id="list",
        kind="text",
        key=f"prep.{item_id}.note",
        text=text,
        options=() if why else (SKIP,),
        max_length=1000,
        part=ANY,
    )


def test_a_checklist_asks_its_list_with_marks_essentials_and_finish(build_engine):
    sprint = build_engine(CHECKLIST).start("demo")

    assert sprint.events == (Say(Text("Preparation.")), list_ask())
    assert sprint.state.step == "list"
    assert sprint.state.part is None
    assert sprint.state.answers == {}


def test_a_checklist_walked_through_records_statuses_notes_and_completeness(build_engine):
    inputs = [
        Choose("school"),
        Choose("done"),
        Reply("  Enrolled at St. Mary  "),
        Choose("visit"),
        Choose("not_applicable"),
        Reply("Child lives with kin next door"),
        Choose("finish"),
    ]
    sprints = drive(build_engine(CHECKLIST), inputs)

    assert [sprint.events for sprint in sprints[1:]] == [
        (status_ask("school"),),
        (AnswerRecorded("list", "prep.school", "done"), note_ask("school")),
        (
            AnswerRecorded("list", "prep.school.note", "Enrolled at St. Mary"),
            list_ask({"school": DONE}, {"school": "Enrolled at St. Mary"}),
        ),
        (status_ask("visit"),),
        (AnswerRecorded("list", "prep.visit", "not_applicable"), note_ask("visit", why=True)),
        (
            AnswerRecorded("list", "prep.visit.note", "Child lives with kin next door"),
            list_ask(
                {"school": DONE, "visit": NOT_APPLICABLE},
                {"school": "Enrolled at St. Mary", "visit": "Child lives with kin next door"},
            ),
        ),
        (AnswerRecorded("list", "prep.complete", True), Say(Text("Ready.")), RunEnded("ready")),
    ]
    assert [sprint.state.part for sprint in sprints] == [
        None,
        "status:school",
        "note:school",
        None,
        "status:visit",
        "note:visit",
        None,
        None,
    ]
    assert sprints[-1].ended
    assert dict(sprints[-1].state.answers) == {
        "prep.school": "done",
        "prep.school.note": "Enrolled at St. Mary",
        "prep.visit": "not_applicable",
        "prep.visit.note": "Child lives with kin next door",
        "prep.complete": True,
    }


def test_skipping_a_note_records_nothing_and_returns_to_the_list(build_engine):
    sprints = drive(build_engine(CHECKLIST), [Choose("photo"), Choose("done"), Choose("skip")])

    assert sprints[-1].events == (list_ask({"photo": DONE}),)
    assert dict(sprints[-1].state.answers) == {"prep.photo": "done"}
    assert sprints[-1].state.part is None


def test_a_later_status_replaces_the_earlier_one_and_keeps_its_note(build_engine):
    inputs = [Choose("school"), Choose("not_yet"), Reply("Waiting for a place")]
    again = [Choose("school"), Choose("done"), Choose("skip")]
    sprints = drive(build_engine(CHECKLIST), [*inputs, *again])

    assert sprints[3].events[-1] == list_ask({"school": OPEN}, {"school": "Waiting for a place"})
    assert sprints[-1].events == (list_ask({"school": DONE}, {"school": "Waiting for a place"}),)
    assert dict(sprints[-1].state.answers) == {
        "prep.school": "done",
        "prep.school.note": "Waiting for a place",
    }


def assert_refused_after(engine: Engine, prefix, given, message: Text) -> None:
    """After `prefix`, `given` is refused: Invalid, the same question again, no change."""
    waiting = drive(engine, prefix)[-1]
    (ask,) = waiting.of(Ask)

    sprint = engine.resume(waiting.state, given)

    assert sprint.events == (Invalid("list", message), ask)
    assert sprint.events[1].part == ask.part
    assert sprint.state == waiting.state


@pytest.mark.parametrize(
    "given", [Choose("skip"), Reply(""), Reply("   \n"), NonText("photo"), Choose("done")]
)
def test_not_applicable_needs_a_typed_note(build_engine, given):
    assert_refused_after(
        build_engine(CHECKLIST), [Choose("visit"), Choose("not_applicable")], given, WRITE_WHY
    )


def test_a_note_over_1000_characters_is_refused_and_one_of_1000_is_kept(build_engine):
    engine = build_engine(CHECKLIST)
    prefix = [Choose("school"), Choose("done")]
    assert_refused_after(engine, prefix, Reply("x" * 1001), NOTE_TOO_LONG)

    waiting = drive(engine, prefix)[-1]
    exact = engine.resume(waiting.state, Reply("x" * 1000))
    padded = engine.resume(waiting.state, Reply("  " + "y" * 1000 + "  "))

    assert exact.state.answers["prep.school.note"] == "x" * 1000
    assert padded.state.answers["prep.school.note"] == "y" * 1000
    # The list shows a long note cut short; the stored note is whole.
    (ask,) = exact.of(Ask)
    assert Text("    note: {note}", {"note": "x" * 119 + "…"}) in ask.lines


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ([], CHOOSE_AN_OPTION),
        ([Choose("school")], CHOOSE_AN_OPTION),
        ([Choose("school"), Choose("done")], ANSWER_AS_TEXT),
        ([Choose("school"), Choose("not_applicable")], WRITE_WHY),
    ],
    ids=["list", "status", "note", "why-not-applicable"],
)
def test_a_photo_is_refused_at_every_part_of_a_checklist(build_engine, prefix, message):
    assert_refused_after(build_engine(CHECKLIST), prefix, NonText("photo"), message)


@pytest.mark.parametrize(
    ("prefix", "given", "message"),
    [
        ([], Reply("0"), CHOOSE_AN_OPTION),
        ([], Reply("5"), CHOOSE_AN_OPTION),
        ([], Reply("School found"), CHOOSE_AN_OPTION),
        ([], Choose("done"), CHOOSE_AN_OPTION),
        ([], Choose("skip"), CHOOSE_AN_OPTION),
        ([Choose("school")], Reply("4"), CHOOSE_AN_OPTION),
        ([Choose("school")], Reply("done!"), CHOOSE_AN_OPTION),
        ([Choose("school")], Choose("finish"), CHOOSE_AN_OPTION),
        ([Choose("school")], Choose("school"), CHOOSE_AN_OPTION),
        ([Choose("school"), Choose("done")], Choose("finish"), ANSWER_AS_TEXT),
        ([Choose("school"), Choose("done")], Reply("  "), ANSWER_AS_TEXT),
    ],
    ids=[
        "list-number-0",
        "list-number-past-end",
        "list-label-not-value",
        "list-status-value",
        "list-skip",
        "status-number-past-end",
        "status-junk",
        "status-finish",
        "status-an-item",
        "note-other-button",
        "note-blank",
    ],
)
def test_a_checklist_refuses_what_does_not_answer_the_current_part(
    build_engine, prefix, given, message
):
    assert_refused_after(build_engine(CHECKLIST), prefix, given, message)


@pytest.mark.parametrize(
    ("given", "part"),
    [
        (Reply("1"), "status:school"),
        (Reply(" 2 "), "status:visit"),
        (Reply("PHOTO"), "status:photo"),
        (Choose("visit"), "status:visit"),
    ],
)
def test_an_item_is_picked_by_its_number_or_its_id(build_engine, given, part):
    engine = build_engine(CHECKLIST)

    sprint = engine.resume(engine.start("demo").state, given)

    assert sprint.state.part == part
    assert sprint.of(Ask) == [status_ask(part.removeprefix("status:"))]


@pytest.mark.parametrize("given", [Reply("4"), Reply("finish"), Choose("finish")])
def test_finish_is_the_last_option_and_can_be_typed(build_engine, given):
    engine = build_engine(CHECKLIST)

    sprint = engine.resume(engine.start("demo").state, given)

    assert sprint.of(AnswerRecorded) == [AnswerRecorded("list", "prep.complete", False)]
    assert sprint.ended


@pytest.mark.parametrize(
    ("given", "status"),
    [
        (Reply("1"), "done"),
        (Reply("2"), "not_yet"),
        (Reply("3"), "not_applicable"),
        (Reply("Not_Yet"), "not_yet"),
        (Choose("not_applicable"), "not_applicable"),
    ],
)
def test_a_status_is_chosen_by_its_number_or_its_value(build_engine, given, status):
    engine = build_engine(CHECKLIST)
    waiting = drive(engine, [Choose("photo")])[-1]

    sprint = engine.resume(waiting.state, given)

    assert sprint.of(AnswerRecorded) == [AnswerRecorded("list", "prep.photo", status)]
    assert sprint.state.part == "note:photo"


def test_finishing_with_essentials_missing_says_which_and_records_incomplete(build_engine):
    inputs = [Choose("school"), Choose("done"), Choose("skip"), Choose("finish")]
    sprints = drive(build_engine(CHECKLIST), inputs)

    assert sprints[-1].events == (
        AnswerRecorded("list", "prep.complete", False),
        Say(MISSING, (missing_line("Home visit done"),)),
        Say(Text("Not ready.")),
        RunEnded("not_ready"),
    )


def test_finishing_an_untouched_list_names_every_essential_item_and_no_other(build_engine):
    # The photo is not essential: it is never among the missing, done or not.
    sprint = drive(build_engine(CHECKLIST), [Choose("finish")])[-1]

    (missing, _) = sprint.of(Say)
    assert missing == Say(MISSING, (missing_line("School found"), missing_line("Home visit done")))


@pytest.mark.parametrize(
    ("statuses", "complete"),
    [
        ({"school": "done", "visit": "done"}, True),
        ({"school": "not_applicable", "visit": "done"}, True),
        ({"school": "done", "visit": "not_yet"}, False),
        ({"school": "done", "photo": "done"}, False),
    ],
)
def test_complete_means_every_essential_item_done_or_not_applicable(
    build_engine, statuses, complete
):
    inputs = []
    for item_id, status in statuses.items():
        note = Reply("Why not.") if status == "not_applicable" else Choose("skip")
        inputs += [Choose(item_id), Choose(status), note]
    sprint = drive(build_engine(CHECKLIST), [*inputs, Choose("finish")])[-1]

    assert sprint.state.answers["prep.complete"] is complete
    assert sprint.of(RunEnded) == [RunEnded("ready" if complete else "not_ready")]
    assert (MISSING in [say.text for say in sprint.of(Say)]) is not complete


def test_remembered_statuses_are_taken_and_other_keys_ignored(build_engine):
    engine = build_engine(CHECKLIST)
    remembered = {
        "prep.school": "done",
        "prep.school.note": "Enrolled",
        "prep.visit": "not_yet",
        "prep.complete": True,  # a run's own conclusion, not the case's
        "other.school": "done",  # another flow's checklist
        "prep": "done",  # the checklist's key itself stores nothing
        "demo.q": True,  # an ordinary answer
    }

    started = engine.start("demo", remembered=remembered)

    assert dict(started.state.answers) == {
        "prep.school": "done",
        "prep.school.note": "Enrolled",
        "prep.visit": "not_yet",
    }
    assert started.of(AnswerRecorded) == []
    assert started.of(Ask) == [list_ask({"school": DONE}, {"school": "Enrolled"})]
    # The remembered statuses count when the list is finished.
    finished = engine.resume(started.state, Choose("finish"))
    assert finished.of(Say)[0] == Say(MISSING, (missing_line("Home visit done"),))
    done = drive(
        engine,
        [Choose("visit"), Choose("done"), Choose("skip"), Choose("finish")],
        remembered=remembered,
    )[-1]
    assert done.state.answers["prep.complete"] is True


def test_not_applicable_counts_only_with_its_note(build_engine):
    # Someone who left at the "why does it not apply?" question has the status stored but no
    # note: that must not pass the stage gate.
    engine = build_engine(CHECKLIST)
    without_note = {"prep.school": "done", "prep.visit": "not_applicable"}
    finished = drive(engine, [Choose("finish")], remembered=without_note)[-1]
    assert finished.state.answers["prep.complete"] is False
    assert finished.of(Say)[0] == Say(MISSING, (missing_line("Home visit done"),))

    with_note = {**without_note, "prep.visit.note": "Visited at the office instead"}
    finished = drive(engine, [Choose("finish")], remembered=with_note)[-1]
    assert finished.state.answers["prep.complete"] is True


def test_remembered_answers_of_a_flow_without_a_checklist_are_all_ignored(build_engine):
    engine = build_engine(PLAIN)

    started = engine.start("demo", remembered={"demo.q": True, "prep.school": "done"})

    assert started.state.answers == {}
    assert started.state.step == "q"


def test_each_part_of_a_checklist_has_its_own_ask_part(build_engine):
    inputs = [
        Choose("school"),
        Choose("done"),
        Choose("skip"),
        Choose("visit"),
        Choose("done"),
        Choose("skip"),
        Choose("photo"),
        Choose("not_applicable"),
    ]
    sprints = drive(build_engine(CHECKLIST), inputs)
    asked = [sprint.of(Ask)[-1] for sprint in sprints]
    parts = {(ask.key, ask.kind): ask.part for ask in asked}

    assert parts[("prep", "checklist")] == 0
    sub_questions = [part for (key, _), part in parts.items() if key != "prep"]
    assert len(sub_questions) == 6  # a status and a note for each of the three items
    assert 0 not in sub_questions
    assert len(set(sub_questions)) == 6
    # The list keeps its part each time it comes back.
    assert {ask.part for ask in asked if ask.kind == "checklist"} == {0}


@pytest.mark.parametrize(
    "prefix",
    [[], [Choose("school")], [Choose("school"), Choose("done")], [Choose("visit"), Reply("3")]],
    ids=["list", "status", "note", "why-not-applicable"],
)
def test_remind_asks_the_current_part_of_a_checklist_again(build_engine, prefix):
    engine = build_engine(CHECKLIST)
    waiting = drive(engine, prefix)[-1]
    (ask,) = waiting.of(Ask)

    reminded = engine.remind(waiting.state)

    assert reminded.events == (replace(ask, reminder=True),)
    assert reminded.state == waiting.state
    assert not ask.reminder


def test_a_state_within_a_checklist_survives_json_with_its_part_and_case(build_engine, restore):
    engine = build_engine(CHECKLIST)
    case = {"programme": "sos_family", "country": "NL", "stage": "preparation"}
    waiting = drive(engine, [Choose("visit")], case=case)[-1]

    data = waiting.state.to_dict()
    restored = restore(waiting.state)

    assert data["part"] == "status:visit"
    assert data["case"] == case
    assert json.loads(json.dumps(data)) == data
    assert restored == waiting.state
    assert restored.part == "status:visit"
    assert dict(restored.case) == case
    assert engine.resume(restored, Choose("done")) == engine.resume(waiting.state, Choose("done"))
    assert engine.remind(restored) == engine.remind(waiting.state)


def test_a_state_at_the_list_itself_stores_its_case_but_no_part(build_engine):
    engine = build_engine(CHECKLIST)

    data = engine.start("demo", case={"stage": "preparation"}).state.to_dict()

    assert "part" not in data
    assert data["case"] == {"stage": "preparation"}


def test_a_plain_flows_state_stores_neither_part_nor_case(build_engine):
    engine = build_engine(PLAIN)

    data = engine.start("demo").state.to_dict()

    assert set(data) == {"flow_id", "version", "step", "answers", "raised", "status"}
    assert RunState.from_dict(data).part is None
    assert RunState.from_dict(data).case == {}


def test_checklist_answers_are_described_like_questions_for_reviewers(build_flow):
    flow = build_flow(CHECKLIST)

    assert describe_answer(flow, "prep.school", "not_applicable") == (
        Text("School found"),
        Text("Not applicable"),
    )
    assert describe_answer(flow, "prep.complete", False) == (
        Text("Preparation steps"),
        Text("No"),
    )
    assert describe_answer(flow, "prep.school.note", "Enrolled") == (
        Text("School found"),
        Text("{value}", {"value": "Enrolled"}),
    )


def test_a_checklist_may_name_the_stage_whose_steps_it_lists(build_flow):
    flow = build_flow(CHECKLIST.replace("key: prep\n", "key: prep\n    stage: preparation\n"))

    assert flow.step("list").stage == "preparation"
    assert flow.stage_checklist("preparation") is flow.step("list")
    assert flow.stage_checklist("closure") is None
    assert build_flow(CHECKLIST, name="other.yaml").stage_checklist("preparation") is None


def test_conditions_and_flags_can_look_at_checklist_statuses(build_engine):
    flow = CHECKLIST.replace(
        "steps:\n",
        "flags:\n"
        "  - id: no_visit\n"
        "    level: medium\n"
        "    reason: No home visit yet.\n"
        "    when: {answer: prep.visit, equals: not_yet}\n"
        "steps:\n",
    )
    sprints = drive(build_engine(flow), [Choose("visit"), Choose("not_yet")])

    assert sprints[-1].of(FlagRaised) == [
        FlagRaised("no_visit", "medium", Text("No home visit yet."), {"prep.visit": "not_yet"})
    ]


# --- results ------------------------------------------------------------------------------

RESULTS = guide(
    """\
    results:
      risk:
        source: The test's own rules
        rules:
          - {value: high, label: High risk, when: {answer: r.danger, equals: true}}
          - {value: medium, label: Medium risk, when: {answer: r.support, equals: false}}
          - {value: low, label: Low risk}
      track:
        source: The test's own rules
        rules:
          - {value: foster, label: Foster track, when: {case: programme, equals: foster_care}}
          - {value: general, label: General track}
    flags:
      - id: high_risk
        level: high
        reason: The risk is high.
        when: {result: risk, equals: high}
    steps:
      - id: intro
        kind: message
        text: "Risk so far: {risk}."
      - {id: danger, kind: yes_no, key: r.danger, text: Danger?}
      - {id: support, kind: yes_no, key: r.support, text: Support?}
      - id: summary
        kind: message
        text: "Risk: {risk}; {track}."
        next:
          - when: {result: risk, equals: high}
            goto: urgent
          - goto: done
      - {id: urgent, kind: end, text: Act now.}
      - {id: done, kind: end, text: Done.}
    """,
    start="intro",
)


@pytest.mark.parametrize(
    ("answers", "risk"),
    [
        ({}, None),
        ({"r.danger": True}, "high"),
        ({"r.danger": True, "r.support": False}, "high"),
        ({"r.danger": False}, None),
        ({"r.support": False}, None),
        ({"r.danger": False, "r.support": False}, "medium"),
        ({"r.danger": False, "r.support": True}, "low"),
    ],
    ids=[
        "nothing-answered",
        "first-rule-decides-alone",
        "first-match-wins",
        "second-rule-unknown",
        "second-holds-but-first-unknown",
        "second-rule",
        "fallback",
    ],
)
def test_a_result_is_its_first_holding_rule_and_undecided_while_an_earlier_is_unknown(
    build_flow, answers, risk
):
    flow = build_flow(RESULTS)

    results = compute_results(flow, answers, {}, {"programme": "sos_family"})

    assert results.get("risk") == risk
    assert results["track"] == "general"


@pytest.mark.parametrize(
    ("case", "track"),
    [
        ({"programme": "foster_care"}, "foster"),
        ({"programme": "sos_family"}, "general"),
        ({}, None),
    ],
)
def test_a_result_can_look_at_the_case(build_flow, case, track):
    assert compute_results(build_flow(RESULTS), {}, {}, case).get("track") == track


def test_a_result_shows_as_its_rules_label_and_a_dash_while_undecided(build_engine):
    engine = build_engine(RESULTS)
    case = {"programme": "foster_care"}
    sprints = drive(engine, [Choose(False), Choose(False)], case=case)

    assert sprints[0].of(Say) == [Say(Text("Risk so far: {risk}.", {"risk": "–"}))]
    assert sprints[-1].events == (
        AnswerRecorded("support", "r.support", False),
        Say(
            Text(
                "Risk: {risk}; {track}.",
                {"risk": Text("Medium risk"), "track": Text("Foster track")},
            )
        ),
        Say(Text("Done.")),
        RunEnded("done"),
    )


def test_routes_and_flags_look_at_a_result_as_soon_as_it_is_decided(build_engine):
    sprints = drive(build_engine(RESULTS), [Choose(True), Choose(True)])

    # `danger` alone decides `high`: the flag fires with that answer, before `support`.
    assert [flag.rule_id for flag in sprints[1].of(FlagRaised)] == ["high_risk"]
    assert all_of(sprints, FlagRaised) == sprints[1].of(FlagRaised)
    assert sprints[-1].of(Say)[0].text.params["risk"] == Text("High risk")
    assert sprints[-1].of(RunEnded) == [RunEnded("urgent")]


def test_a_result_that_never_holds_raises_no_flag(build_engine):
    sprints = drive(build_engine(RESULTS), [Choose(False), Choose(True)])

    assert all_of(sprints, FlagRaised) == []
    assert sprints[-1].of(Say)[0].text.params["risk"] == Text("Low risk")
    assert sprints[-1].of(RunEnded) == [RunEnded("done")]


# --- count scores -------------------------------------------------------------------------

COUNT = guide(
    """\
    scores:
      yes_count: {count: [c.a, c.b, c.c]}
    flags:
      - id: many
        level: medium
        reason: Many yes.
        when: {score: yes_count, ge: 2}
    steps:
      - {id: q, kind: yes_no, key: c.a, text: A?}
      - {id: b, kind: yes_no, key: c.b, text: B?}
      - {id: c, kind: yes_no, key: c.c, text: C?}
      - {id: done, kind: end, text: "{yes_count} of 3."}
    """
)


@pytest.mark.parametrize(
    ("answers", "count"),
    [([True, False, True], 2), ([False, False, False], 0), ([True, True, True], 3)],
)
def test_a_count_score_is_how_many_yes_answers_once_all_are_in(build_engine, answers, count):
    sprints = drive(build_engine(COUNT), [Choose(answer) for answer in answers])

    assert [sprint.of(ScoreComputed) for sprint in sprints] == [
        [],
        [],
        [],
        [ScoreComputed("yes_count", count)],
    ]
    assert sprints[-1].of(Say) == [Say(Text("{yes_count} of 3.", {"yes_count": count}))]
    flags = all_of(sprints, FlagRaised)
    if count >= 2:
        assert flags == [
            FlagRaised("many", "medium", Text("Many yes."), {"score.yes_count": count})
        ]
    else:
        assert flags == []


def test_a_count_score_is_missing_until_every_answer_is_in(build_flow):
    flow = build_flow(COUNT)

    assert compute_scores(flow, {"c.a": True, "c.b": True}) == {}
    assert compute_scores(flow, {"c.a": True, "c.b": False, "c.c": False}) == {"yes_count": 1}


# --- the case in conditions ---------------------------------------------------------------

CASE_ROUTES = guide(
    """\
    steps:
      - id: q
        kind: message
        text: Hello.
        next:
          - when: {case: programme, equals: foster_care}
            goto: foster
          - when: {case: country, in: [NL, BE]}
            goto: lowlands
          - when: {case: risk_level, in: [high, medium]}
            goto: risky
          - when: {not: {case: stage, equals: closure}}
            goto: open
          - goto: other
      - {id: foster, kind: end, text: Foster.}
      - {id: lowlands, kind: end, text: Lowlands.}
      - {id: risky, kind: end, text: Risky.}
      - {id: open, kind: end, text: Open.}
      - {id: other, kind: end, text: Other.}
    """
)


@pytest.mark.parametrize(
    ("case", "end"),
    [
        ({"programme": "foster_care", "country": "NL"}, "foster"),
        ({"programme": "sos_family", "country": "BE"}, "lowlands"),
        ({"country": "KE", "risk_level": "medium"}, "risky"),
        ({"country": "KE", "risk_level": "low", "stage": "assessment"}, "open"),
        ({"stage": "closure"}, "other"),
        ({"programme": "sos_family"}, "other"),
        ({}, "other"),
    ],
    ids=["programme", "country", "risk-level", "stage", "closed", "no-stage", "no-case"],
)
def test_case_conditions_route_on_the_runs_case(build_engine, case, end):
    sprint = build_engine(CASE_ROUTES).start("demo", case=case)

    assert sprint.of(RunEnded) == [RunEnded(end)]
    assert dict(sprint.state.case) == case


def test_the_runs_case_is_a_snapshot(build_engine):
    case = {"programme": "sos_family"}
    engine = build_engine(PLAIN)

    state = engine.start("demo", case=case).state
    case["programme"] = "foster_care"

    assert dict(state.case) == {"programme": "sos_family"}
    assert dict(engine.resume(state, Choose(True)).state.case) == {"programme": "sos_family"}


A_IS_TRUE = {"answer": "a", "equals": True}


@pytest.mark.parametrize(
    ("condition", "case", "expected"),
    [
        ({"case": "stage", "equals": "assessment"}, {"stage": "assessment"}, True),
        ({"case": "stage", "equals": "assessment"}, {"stage": "closure"}, False),
        ({"case": "stage", "equals": "assessment"}, {}, None),
        ({"case": "stage", "equals": "assessment"}, {"stage": None}, None),
        ({"case": "stage", "in": ["assessment"]}, {"programme": "sos_family"}, None),
        ({"not": {"case": "stage", "equals": "closure"}}, {}, None),
        ({"or": [{"case": "stage", "equals": "closure"}, A_IS_TRUE]}, {}, True),
        (
            {"and": [{"case": "stage", "equals": "closure"}, A_IS_TRUE]},
            {"stage": "assessment"},
            False,
        ),
        ({"case": "stage", "answered": True}, {"stage": "assessment"}, True),
        ({"case": "stage", "answered": True}, {}, False),
        ({"case": "stage", "answered": False}, {}, True),
    ],
)
def test_a_case_field_the_case_lacks_is_unknown(condition, case, expected):
    outcome = evaluate(Condition.model_validate(condition), {"a": True}, {}, {}, case)

    assert outcome is expected


def test_a_flows_only_if_on_the_case_is_kept_for_the_host(build_flow):
    flow = build_flow(
        guide(
            """\
            only_if: {case: programme, in: [foster_care, kinship_care]}
            steps:
              - {id: q, kind: message, text: Hello., next: done}
              - {id: done, kind: end, text: Done.}
            """
        )
    )

    def offered(case):
        return evaluate(flow.only_if, {}, {}, case=case)

    assert offered({"programme": "kinship_care"}) is True
    assert offered({"programme": "sos_family"}) is False
    assert offered({}) is None


# --- only_if on steps ---------------------------------------------------------------------

ONLY_IF = guide(
    """\
    steps:
      - id: kin
        kind: yes_no
        key: o.kin
        text: Kinship question?
        only_if: {case: programme, equals: kinship_care}
        next:
          - when: {answer: o.kin, equals: true}
            goto: kin_end
          - goto: note
      - id: note
        kind: message
        text: Foster note.
        only_if: {case: programme, equals: foster_care}
      - {id: ok, kind: yes_no, key: o.ok, text: All well?}
      - id: follow
        kind: text
        key: o.follow
        text: Tell more.
        only_if: {answer: o.ok, equals: true}
      - {id: done, kind: end, text: Done.}
      - {id: kin_end, kind: end, text: Kin.}
    """,
    start="kin",
)
ALL_WELL = Ask(
    "ok",
    "yes_no",
    "o.ok",
    Text("All well?"),
    (Option(True, Text("Yes")), Option(False, Text("No"))),
)


def test_a_step_whose_only_if_does_not_hold_is_passed_along_its_routes(build_engine):
    sprints = drive(build_engine(ONLY_IF), [Choose(False)], case={"programme": "foster_care"})

    # `kin` is passed without an answer: its fallback route goes on to the note.
    assert sprints[0].events == (Say(Text("Foster note.")), ALL_WELL)
    assert sprints[-1].events == (
        AnswerRecorded("ok", "o.ok", False),
        Say(Text("Done.")),
        RunEnded("done"),
    )
    assert dict(sprints[-1].state.answers) == {"o.ok": False}


def test_a_step_whose_only_if_holds_is_asked_and_a_message_not_for_the_case_is_skipped(
    build_engine,
):
    engine = build_engine(ONLY_IF)
    sprints = drive(engine, [Choose(False), Choose(True)], case={"programme": "kinship_care"})

    (first,) = sprints[0].of(Ask)
    assert first.step_id == "kin"
    assert sprints[1].events == (AnswerRecorded("kin", "o.kin", False), ALL_WELL)
    assert sprints[2].of(Ask)[0].step_id == "follow"
    kin = drive(engine, [Choose(True)], case={"programme": "kinship_care"})[-1]
    assert kin.of(RunEnded) == [RunEnded("kin_end")]


def test_an_only_if_that_cannot_be_told_skips_the_step(build_engine):
    sprint = build_engine(ONLY_IF).start("demo")

    assert sprint.events == (ALL_WELL,)


def test_an_only_if_on_an_earlier_answer(build_engine):
    engine = build_engine(ONLY_IF)

    skipped = drive(engine, [Choose(False)])
    asked = drive(engine, [Choose(True), Reply("More.")])

    assert skipped[-1].ended
    assert "o.follow" not in skipped[-1].state.answers
    assert asked[-1].state.answers["o.follow"] == "More."
    assert [event.key for event in all_of(skipped, AnswerRecorded)] == ["o.ok"]


# --- set_case -----------------------------------------------------------------------------

SET_CASE = guide(
    """\
    results:
      computed:
        source: The test's own rules
        rules:
          - {value: high, label: High, when: {answer: s.danger, equals: true}}
          - {value: low, label: Low}
    steps:
      - id: q
        kind: yes_no
        key: s.danger
        text: Danger?
        only_if: {not: {case: programme, equals: temporary_care}}
      - id: stage
        kind: choice
        key: s.stage
        text: Next stage?
        only_if: {not: {case: programme, equals: kinship_care}}
        options:
          - {value: preparation, label: Preparation}
          - {value: reunification, label: Reunification}
      - {id: why, kind: text, key: s.why, text: Why?}
      - id: apply
        kind: message
        text: Saved.
        set_case:
          - {field: stage, answer: s.stage, reason: s.why}
          - {field: risk_level, result: computed}
      - id: reunified
        kind: message
        text: Now in reunification.
        only_if: {case: stage, equals: reunification}
      - id: never
        kind: message
        text: Never for foster care.
        only_if: {not: {case: programme, equals: foster_care}}
        set_case:
          - {field: risk_level, value: medium}
      - id: done
        kind: end
        text: Closing proposed.
        set_case:
          - {field: closure, value: proposed}
    """
)


def test_set_case_emits_case_updates_and_updates_the_runs_case(build_engine):
    case = {"programme": "foster_care", "stage": "preparation"}
    inputs = [Choose(True), Choose("reunification"), Reply("Ready to go home")]
    sprints = drive(build_engine(SET_CASE), inputs, case=case)
    results = {"computed": "high"}

    assert sprints[-1].events == (
        AnswerRecorded("why", "s.why", "Ready to go home"),
        CaseUpdated("stage", "reunification", "Ready to go home", results, was="preparation"),
        CaseUpdated("risk_level", "high", None, results, was=None),
        Say(Text("Saved.")),
        Say(Text("Now in reunification.")),
        CaseUpdated("closure", "proposed", None, results),
        Say(Text("Closing proposed.")),
        RunEnded("done"),
    )
    # Stage and risk level are facts of the case; a closure proposal is not.
    assert dict(sprints[-1].state.case) == {
        "programme": "foster_care",
        "stage": "reunification",
        "risk_level": "high",
    }
    assert sprints[-1].state.to_dict()["case"] == dict(sprints[-1].state.case)


def test_a_later_case_condition_sees_the_stage_the_run_set(build_engine):
    case = {"programme": "foster_care", "stage": "reunification"}
    inputs = [Choose(False), Choose("preparation"), Reply("Not yet")]
    last = drive(build_engine(SET_CASE), inputs, case=case)[-1]

    # The case was in reunification when the run started, but the run moved it back.
    assert Say(Text("Now in reunification.")) not in last.events
    assert last.of(CaseUpdated)[:2] == [
        CaseUpdated("stage", "preparation", "Not yet", {"computed": "low"}, was="reunification"),
        CaseUpdated("risk_level", "low", None, {"computed": "low"}, was=None),
    ]
    assert last.state.case["stage"] == "preparation"


def test_a_message_with_set_case_that_is_skipped_changes_nothing(build_engine):
    case = {"programme": "sos_family"}
    last = drive(
        build_engine(SET_CASE), [Choose(False), Choose("preparation"), Reply("x")], case=case
    )[-1]

    assert Say(Text("Never for foster care.")) in last.events
    # `was`: what the run saw before (the level its previous step had just set).
    assert CaseUpdated("risk_level", "medium", None, {"computed": "low"}, was="low") in last.events
    assert last.state.case["risk_level"] == "medium"

    foster = {"programme": "foster_care"}
    skipped = drive(
        build_engine(SET_CASE), [Choose(False), Choose("preparation"), Reply("x")], case=foster
    )[-1]
    assert [update.name for update in skipped.of(CaseUpdated)] == ["stage", "risk_level", "closure"]
    assert skipped.state.case["risk_level"] == "low"


def test_set_case_leaves_out_an_unanswered_question_and_an_undecided_result(build_engine):
    # Temporary care passes the danger question (the result stays undecided); kinship care
    # passes the stage question (there is no stage to write).
    engine = build_engine(SET_CASE)

    no_danger = drive(
        engine, [Choose("preparation"), Reply("Why")], case={"programme": "temporary_care"}
    )[-1]
    no_stage = drive(engine, [Choose(True), Reply("Why")], case={"programme": "kinship_care"})[-1]

    assert [(u.name, u.value) for u in no_danger.of(CaseUpdated)] == [
        ("stage", "preparation"),
        ("risk_level", "medium"),
        ("closure", "proposed"),
    ]
    assert no_danger.of(CaseUpdated)[0].results == {}
    assert [(u.name, u.value) for u in no_stage.of(CaseUpdated)] == [
        ("risk_level", "high"),
        ("risk_level", "medium"),
        ("closure", "proposed"),
    ]
    assert "stage" not in no_stage.state.case


def test_the_diagram_shows_only_if_and_set_case(build_flow):
    diagram = mermaid(build_flow(SET_CASE))

    assert "stage (choice: s.stage) only if not case programme = kinship_care" in diagram
    assert "apply (message) sets stage = s.stage sets risk_level = result computed" in diagram
    assert "done (end) sets closure = proposed" in diagram


# --- the loader ---------------------------------------------------------------------------

LIST_WITH = """\
steps:
  - id: list
    kind: checklist
    key: prep
    text: Steps
    items:
      - {{id: school, label: School}}
      - {{id: {item}, label: Other}}  # <- here
  - {{id: done, kind: end, text: Done.}}
"""


@pytest.mark.parametrize("word", ["finish", "skip"])
def test_an_item_cannot_have_a_name_the_checklist_uses_itself(expect_errors, word):
    expect_errors(
        guide(LIST_WITH.format(item=word), start="list"),
        f"step 'list': an item cannot be called '{word}'",
    )


def test_a_duplicate_item_id_is_refused_on_the_items_line(write_flow):
    path = write_flow(guide(LIST_WITH.format(item="school"), start="list"))

    flow, errors = load_flow_file(path)

    assert flow is None
    (marked,) = marked_lines(path)
    assert any(
        error.line == marked and error.message == "step 'list': duplicate item id 'school'"
        for error in errors
    ), errors


def test_a_duplicate_item_id_is_one_error_not_three(expect_errors):
    expect_errors(
        guide(LIST_WITH.format(item="school"), start="list"), "duplicate item id 'school'"
    )


def test_an_item_called_complete_collides_with_the_lists_completeness(expect_errors):
    expect_errors(
        guide(
            """\
            steps:
              - id: list
                kind: checklist
                key: prep
                text: Steps
                items:
                  - {id: complete, label: Complete}  # <- here
              - {id: done, kind: end, text: Done.}
            """,
            start="list",
        ),
        "an item cannot be called 'complete'",
    )


def test_a_later_answer_key_that_a_checklist_already_stores(expect_errors):
    expect_errors(
        guide(
            """\
            steps:
              - id: list
                kind: checklist
                key: prep
                text: Steps
                items:
                  - {id: school, label: School}
              - id: q
                kind: choice
                key: prep.school  # <- here
                text: Again?
                options:
                  - {value: done, label: Done}
              - {id: done, kind: end, text: Done.}
            """,
            start="list",
        ),
        "answer key 'prep.school' is also used by step 'list'",
    )


def test_a_checklist_storing_an_earlier_answer_key(expect_errors):
    expect_errors(
        guide(
            """\
            steps:
              - {id: q, kind: yes_no, key: prep.complete, text: Complete?}
              - id: list
                kind: checklist
                key: prep  # <- here
                text: Steps
                items:
                  - {id: school, label: School}
              - {id: done, kind: end, text: Done.}
            """
        ),
        "checklist 'list' stores 'prep.complete', which step 'q' also uses",
    )


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        (
            "{answer: prep.school, equals: finished}",
            "uses 'finished', which is not one of its options "
            "('done', 'not_yet', 'not_applicable')",
        ),
        ("{answer: prep.complete, equals: 'yes'}", "'prep.complete' is a yes/no answer"),
        ("{answer: prep.school.note, equals: x}", "free-text answer 'prep.school.note'"),
        ("{answer: prep.other, equals: done}", "unknown answer key 'prep.other'"),
        # The checklist's own key stores nothing (this crashed the loader once).
        ("{answer: prep, equals: done}", "'prep' is a checklist"),
        ("{answer: prep, lt: 3}", "'prep' is a checklist"),
    ],
)
def test_conditions_on_checklist_answers_are_checked(expect_errors, when, fragment):
    expect_errors(
        guide(
            f"""\
            steps:
              - id: list
                kind: checklist
                key: prep
                text: Steps
                items:
                  - {{id: school, label: School}}
                next:
                  - when: {when}  # <- here
                    goto: done
                  - goto: done
              - {{id: done, kind: end, text: Done.}}
            """,
            start="list",
        ),
        fragment,
    )


def test_a_checklists_stage_must_be_a_stage(expect_errors):
    expect_errors(
        guide(
            """\
            steps:
              - id: list
                kind: checklist
                key: prep
                text: Steps
                stage: holidays  # <- here
                items:
                  - {id: school, label: School}
              - {id: done, kind: end, text: Done.}
            """,
            start="list",
        ),
        "steps.0.stage",
    )


@pytest.mark.parametrize(
    "counted", ["c.n", "c.pick", "c.nothing"], ids=["number", "choice", "unknown"]
)
def test_a_count_score_counts_only_yes_no_answers(expect_errors, counted):
    expect_errors(
        guide(
            f"""\
            scores:
              yes_count:
                count:
                  - c.a
                  - {counted}  # <- here
            steps:
              - {{id: q, kind: yes_no, key: c.a, text: A?}}
              - {{id: n, kind: number, key: c.n, text: How many?}}
              - id: pick
                kind: choice
                key: c.pick
                text: Which?
                options:
                  - {{value: red, label: Red}}
              - {{id: done, kind: end, text: Done.}}
            """
        ),
        f"score 'yes_count' counts '{counted}', which is not a yes/no answer",
    )


def test_a_count_may_count_a_checklists_completeness(build_flow):
    flow = build_flow(
        guide(
            """\
            scores:
              lists_done: {count: [prep.complete, c.a]}
            steps:
              - {id: q, kind: yes_no, key: c.a, text: A?}
              - id: list
                kind: checklist
                key: prep
                text: Steps
                items:
                  - {id: school, label: School, essential: true}
              - {id: done, kind: end, text: Done.}
            """
        )
    )

    assert compute_scores(flow, {"c.a": True, "prep.complete": True}) == {"lists_done": 2}


@pytest.mark.parametrize(
    "score",
    ["{sum: [c.n], count: [c.a]}  # <- here", "{}  # <- here"],
    ids=["both", "neither"],
)
def test_a_score_is_either_a_sum_or_a_count(expect_errors, score):
    expect_errors(
        guide(
            f"""\
            scores:
              total: {score}
            steps:
              - {{id: q, kind: yes_no, key: c.a, text: A?}}
              - {{id: n, kind: number, key: c.n, text: How many?}}
              - {{id: done, kind: end, text: Done.}}
            """
        ),
        "a score needs exactly one of 'sum' and 'count'",
    )


RESULT_RULES = """\
results:
  risk:
    source: Rules
    rules:
{rules}
steps:
  - {{id: q, kind: yes_no, key: r.danger, text: Danger?}}
  - {{id: done, kind: end, text: Done.}}
"""


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        (
            "      - {value: low, label: Low}  # <- here\n"
            "      - {value: high, label: High, when: {answer: r.danger, equals: true}}\n"
            "      - {value: medium, label: Medium}",
            "result 'risk': only the last rule may be without 'when'",
        ),
        (
            "      - {value: low, label: Low, when: {answer: r.danger, equals: false}}\n"
            "      - {value: high, label: High, when: {answer: r.danger, equals: true}}"
            "  # <- here",
            "result 'risk': the last rule needs no 'when' (the fallback)",
        ),
        (
            "      - {value: high, label: High, when: {answer: r.danger, equals: true}}  # <- here",
            "result 'risk': the last rule needs no 'when' (the fallback)",
        ),
    ],
    ids=["fallback-first", "no-fallback", "only-rule-with-when"],
)
def test_the_rules_of_a_result_end_with_exactly_one_fallback(expect_errors, rules, fragment):
    expect_errors(guide(RESULT_RULES.format(rules=rules)), fragment)


def test_a_result_cannot_depend_on_another_result(expect_errors):
    expect_errors(
        guide(
            """\
            results:
              base:
                source: Rules
                rules:
                  - {value: high, label: High, when: {answer: r.danger, equals: true}}
                  - {value: low, label: Low}
              risk:
                source: Rules
                rules:
                  - value: high
                    label: High
                    when: {result: base, equals: high}  # <- here
                  - {value: low, label: Low}
            steps:
              - {id: q, kind: yes_no, key: r.danger, text: Danger?}
              - {id: done, kind: end, text: Done.}
            """
        ),
        "result 'risk' cannot depend on another result",
    )


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("{result: nothing, equals: high}", "condition on unknown result 'nothing'"),
        (
            "{result: risk, in: [high, extreme]}",
            "condition on result 'risk' uses 'extreme', which it cannot be (high, low)",
        ),
        ("{result: risk, ge: 1}", "result 'risk' has no order: use 'equals' or 'in'"),
        ("{result: risk, equals: 1}", "result 'risk' is compared with words"),
    ],
)
def test_a_condition_on_a_result_uses_values_the_result_can_have(expect_errors, when, fragment):
    expect_errors(
        guide(
            f"""\
            results:
              risk:
                source: Rules
                rules:
                  - {{value: high, label: High, when: {{answer: r.danger, equals: true}}}}
                  - {{value: low, label: Low}}
            steps:
              - id: q
                kind: yes_no
                key: r.danger
                text: Danger?
                next:
                  - when: {when}  # <- here
                    goto: done
                  - goto: done
              - {{id: done, kind: end, text: Done.}}
            """
        ),
        fragment,
    )


@pytest.mark.parametrize("name", ["total", "danger"])
def test_a_result_cannot_have_the_name_of_a_score_or_answer_key(expect_errors, name):
    expect_errors(
        guide(
            f"""\
            scores:
              total: {{count: [danger]}}
            results:
              {name}:  # <- here
                source: Rules
                rules:
                  - {{value: low, label: Low}}
            steps:
              - {{id: q, kind: yes_no, key: danger, text: Danger?}}
              - {{id: done, kind: end, text: Done.}}
            """
        ),
        f"result '{name}' has the name of a score or answer key",
    )


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        (
            "{case: programme, equals: circus}",
            "condition on case field 'programme' uses 'circus', which it cannot be",
        ),
        (
            "{case: stage, in: [assessment, holidays]}",
            "condition on case field 'stage' uses 'holidays'",
        ),
        ("{case: risk_level, equals: extreme}", "case field 'risk_level' uses 'extreme'"),
        ("{case: risk_level, lt: 2}", "case field 'risk_level' has no order"),
        ("{case: country, equals: 31}", "case field 'country' is compared with words"),
        ("{case: colour, equals: blue}", "steps.0.only_if.case"),
    ],
    ids=["programme", "stage", "risk-level", "ordering", "number", "unknown-field"],
)
def test_a_case_condition_uses_values_the_case_can_have(expect_errors, when, fragment):
    expect_errors(
        guide(
            f"""\
            steps:
              - id: q
                kind: yes_no
                key: demo.q
                text: Ready?
                only_if: {when}  # <- here
              - {{id: done, kind: end, text: Done.}}
            """
        ),
        fragment,
    )


def test_a_case_condition_on_any_country_code_loads(build_flow):
    flow = build_flow(
        guide(
            """\
            steps:
              - id: q
                kind: yes_no
                key: demo.q
                text: Ready?
                only_if: {case: country, in: [NL, KE, BE]}
              - {id: done, kind: end, text: Done.}
            """
        )
    )

    assert flow.step("q").only_if.in_ == ("NL", "KE", "BE")


@pytest.mark.parametrize("country", ["nl", "netherlands", "NLD"])
def test_a_country_that_is_not_a_two_letter_code_is_refused(expect_errors, country):
    # COUNTRY is upper-cased: "nl" would never match, and the flow would silently never show.
    expect_errors(
        guide(
            f"""\
            steps:
              - id: q
                kind: yes_no
                key: demo.q
                text: Ready?
                only_if: {{case: country, equals: {country}}}  # <- here
              - {{id: done, kind: end, text: Done.}}
            """
        ),
        "two-letter code",
    )


def test_a_family_flow_cannot_have_a_checklist(expect_errors):
    expect_errors(
        guide(
            """\
            steps:
              - id: list  # <- here
                kind: checklist
                key: prep
                text: Steps
                items:
                  - {id: school, label: School}
              - {id: done, kind: end, text: Done.}
            """,
            start="list",
            roles="family",
        ),
        "families use cannot have a checklist",
    )


def test_two_checklists_for_one_stage_are_refused(expect_errors):
    expect_errors(
        guide(
            """\
            steps:
              - id: first
                kind: checklist
                key: one
                stage: preparation
                text: Steps
                items:
                  - {id: school, label: School}
              - id: second
                kind: checklist
                key: two
                stage: preparation  # <- here
                text: Steps
                items:
                  - {id: house, label: House}
              - {id: done, kind: end, text: Done.}
            """,
            start="first",
        ),
        "already has a checklist",
    )


def test_a_flows_only_if_can_only_look_at_the_case(expect_errors):
    expect_errors(
        guide(
            """\
            only_if:  # <- here
              and:
                - {case: programme, equals: sos_family}
                - {answer: demo.q, equals: true}
            steps:
              - {id: q, kind: yes_no, key: demo.q, text: Ready?}
              - {id: done, kind: end, text: Done.}
            """
        ),
        "a flow's 'only_if' can only look at the case",
    )


def test_a_family_flow_cannot_change_its_case(expect_errors):
    expect_errors(
        guide(
            """\
            steps:
              - id: q
                kind: message
                text: Hello.
                set_case:
                  - {field: stage, value: preparation}  # <- here
              - id: done
                kind: end
                text: Done.
                set_case:
                  - {field: closure, value: proposed}  # <- here
            """,
            roles="family, caseworker",
        ),
        "a flow families use cannot change their case",
    )


SET_FROM = """\
results:
  level:
    source: Rules
    rules:
      - {{value: high, label: High, when: {{answer: s.ok, equals: false}}}}
      - {{value: fine, label: Fine}}
steps:
  - {{id: q, kind: yes_no, key: s.ok, text: All well?}}
  - id: pick
    kind: choice
    key: s.pick
    text: Which?
    options:
      - {{value: preparation, label: Preparation}}
      - {{value: holidays, label: Holidays}}
  - id: risk
    kind: choice
    key: s.risk
    text: Risk?
    options:
      - {{value: high, label: High}}
      - {{value: low, label: Low}}
  - {{id: why, kind: text, key: s.why, text: Why?}}
  - id: apply
    kind: message
    text: Saved.
    set_case:
      - field: {field}
        {source}: {name}  # <- here
  - {{id: done, kind: end, text: Done.}}
"""


@pytest.mark.parametrize(
    ("field", "source", "name", "fragment"),
    [
        ("stage", "answer", "s.ok", "'s.ok' must be a choice whose options are stage values"),
        ("stage", "answer", "s.why", "'s.why' must be a choice"),
        ("stage", "answer", "s.pick", "'s.pick' must be a choice whose options are stage values"),
        ("stage", "answer", "s.risk", "'s.risk' must be a choice whose options are stage values"),
        ("stage", "answer", "s.nothing", "'s.nothing' must be a choice"),
        ("risk_level", "result", "level", "'level' must be a result whose values are risk_level"),
        ("stage", "result", "nothing", "'nothing' must be a result whose values are stage"),
    ],
    ids=[
        "yes-no",
        "text",
        "choice-with-other-values",
        "risk-levels-as-stage",
        "unknown-answer",
        "result-with-other-values",
        "unknown-result",
    ],
)
def test_set_case_takes_an_answer_or_result_with_values_of_the_field(
    expect_errors, field, source, name, fragment
):
    expect_errors(guide(SET_FROM.format(field=field, source=source, name=name)), fragment)


def test_set_case_from_a_fitting_answer_loads(build_flow):
    text = SET_FROM.replace("  # <- here", "").replace(
        "{source}: {name}", "answer: s.risk\n      - {{field: closure, value: proposed}}"
    )
    flow = build_flow(guide(text.format(field="risk_level")))

    assert [update.field for update in flow.step("apply").set_case] == ["risk_level", "closure"]


@pytest.mark.parametrize(
    ("update", "fragment"),
    [
        ("{field: stage, value: holidays}", "'holidays' is not a stage (one of: assessment,"),
        ("{field: closure, value: done}", "'done' is not a closure (one of: proposed)"),
        ("{field: colour, value: blue}", "steps.1.set_case.0.field"),
        ("{field: stage}", "a case update needs exactly one of 'value', 'answer', 'result'"),
        (
            "{field: stage, value: preparation, answer: s.ok}",
            "a case update needs exactly one of",
        ),
    ],
    ids=["unknown-stage", "unknown-closure", "unknown-field", "no-source", "two-sources"],
)
def test_a_case_update_is_one_known_field_from_one_source(expect_errors, update, fragment):
    expect_errors(
        guide(
            f"""\
            steps:
              - {{id: q, kind: yes_no, key: s.ok, text: All well?}}
              - id: apply
                kind: message
                text: Saved.
                set_case:
                  - {update}  # <- here
              - {{id: done, kind: end, text: Done.}}
            """
        ),
        fragment,
    )


@pytest.mark.parametrize(
    ("reason", "fragment"),
    [
        ("s.ok", "reason 's.ok' must be the key of a free-text answer"),
        ("s.nothing", "reason 's.nothing' must be the key of a free-text answer"),
    ],
    ids=["yes-no", "unknown"],
)
def test_a_case_updates_reason_is_a_free_text_answer(expect_errors, reason, fragment):
    expect_errors(
        guide(
            f"""\
            steps:
              - {{id: q, kind: yes_no, key: s.ok, text: All well?}}
              - {{id: why, kind: text, key: s.why, text: Why?}}
              - id: apply
                kind: message
                text: Saved.
                set_case:
                  - field: stage
                    value: preparation
                    reason: {reason}  # <- here
              - {{id: done, kind: end, text: Done.}}
            """
        ),
        fragment,
    )


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        (
            "- id: q\n"
            "  kind: yes_no\n"
            "  key: demo.q\n"
            "  text: Ready?\n"
            "  set_case:  # <- here\n"
            "    - {field: stage, value: preparation}\n",
            "unknown field 'steps.0.set_case'",
        ),
        (
            "- {id: q, kind: yes_no, key: demo.q, text: Ready?}\n"
            "- id: done\n"
            "  kind: end\n"
            "  text: Done.\n"
            "  only_if: {answer: demo.q, equals: true}  # <- here\n",
            "unknown field 'steps.1.only_if'",
        ),
    ],
    ids=["set-case-on-a-question", "only-if-on-an-end"],
)
def test_set_case_only_on_messages_and_ends_and_an_end_is_never_skipped(
    expect_errors, step, fragment
):
    expect_errors(guide("steps:\n" + textwrap.indent(step, "  ")), fragment)


def test_a_loop_of_steps_that_may_be_passed_is_refused(expect_errors):
    expect_errors(
        guide(
            """\
            steps:
              - {id: q, kind: yes_no, key: d.q, text: Ready?}
              - id: a  # <- here
                kind: yes_no
                key: d.a
                text: A?
                only_if: {answer: d.q, equals: true}
              - id: b  # <- here
                kind: yes_no
                key: d.b
                text: B?
                only_if: {answer: d.q, equals: true}
                next:
                  - when: {answer: d.b, equals: true}
                    goto: done
                  - goto: a
              - {id: done, kind: end, text: Done.}
            """
        ),
        "is in a loop of message steps that never waits for an answer",
    )


def test_a_loop_through_a_question_always_asked_loads(build_flow):
    flow = build_flow(
        guide(
            """\
            steps:
              - {id: q, kind: yes_no, key: d.q, text: Ready?}
              - id: a
                kind: yes_no
                key: d.a
                text: A?
                only_if: {answer: d.q, equals: true}
              - id: b
                kind: yes_no
                key: d.b
                text: B?
                next:
                  - when: {answer: d.b, equals: true}
                    goto: done
                  - goto: a
              - {id: done, kind: end, text: Done.}
            """
        )
    )

    assert flow.step("a").only_if is not None


# --- found while writing these tests, and fixed -------------------------------------------------


def test_a_checklists_own_invalid_text_is_used_for_its_list(build_engine):
    flow = CHECKLIST.replace(
        "text: Preparation steps\n", "text: Preparation steps\n    invalid: Pick an item.\n"
    )
    engine = build_engine(flow)

    sprint = engine.resume(engine.start("demo").state, NonText("photo"))

    assert sprint.of(Invalid) == [Invalid("list", Text("Pick an item."))]


# --- checklist items for some cases only (issue #14: a country's legal frame) -------------------

COUNTRY_ITEM = guide(
    """\
    steps:
      - id: list
        kind: checklist
        key: prep
        text: Preparation steps
        items:
          - {id: school, label: School found, essential: true}
          - id: judge
            label: The judge agreed
            essential: true
            only_if: {case: country, equals: NL}
        next:
          - when: {answer: prep.complete, equals: true}
            goto: ready
          - goto: not_ready
      - {id: ready, kind: end, text: Ready.}
      - {id: not_ready, kind: end, text: Not ready.}
    """,
    start="list",
)


def test_an_item_for_one_country_is_listed_and_essential_there_only(build_engine):
    engine = build_engine(COUNTRY_ITEM)

    dutch = drive(
        engine,
        [Choose("school"), Choose("done"), Choose("skip"), Choose("finish")],
        case={"country": "NL"},
    )
    assert [option.value for option in dutch[0].of(Ask)[0].options] == ["school", "judge", "finish"]
    assert dutch[-1].state.answers["prep.complete"] is False
    assert dutch[-1].of(Say)[0].lines == (missing_line("The judge agreed"),)
    assert dutch[-1].of(RunEnded)[0].step_id == "not_ready"

    for case in ({"country": "BE"}, {}):  # another country, or none known: not listed
        other = drive(
            engine, [Choose("school"), Choose("done"), Choose("skip"), Choose("finish")], case=case
        )
        asked = other[0].of(Ask)[0]
        assert [option.value for option in asked.options] == ["school", "finish"]
        assert all("judge" not in str(line.params) for line in asked.lines)
        assert other[-1].state.answers["prep.complete"] is True
        assert other[-1].of(RunEnded)[0].step_id == "ready"


def test_an_item_only_if_makes_the_flow_use_its_case(build_flow):
    assert build_flow(COUNTRY_ITEM).uses_case
    assert not build_flow(CHECKLIST).uses_case


def test_an_item_only_if_may_look_at_the_case_only(expect_errors):
    expect_errors(
        guide(
            """\
            steps:
              - id: q
                kind: yes_no
                key: demo.q
                text: Ordered?
              - id: list
                kind: checklist
                key: prep
                text: Steps
                items:
                  - {id: school, label: School}
                  - id: judge
                    label: Judge
                    only_if: {answer: demo.q, equals: true}  # <- here
              - {id: done, kind: end, text: Done.}
            """
        ),
        "an item's 'only_if' can only look at the case",
    )


def test_an_item_only_if_names_values_the_case_can_have(expect_errors):
    expect_errors(
        guide(
            """\
            steps:
              - id: list
                kind: checklist
                key: prep
                text: Steps
                items:
                  - {id: school, label: School}
                  - id: judge
                    label: Judge
                    only_if: {case: programme, equals: boarding_school}  # <- here
              - {id: done, kind: end, text: Done.}
            """,
            start="list",
        ),
        "which it cannot be",
    )
