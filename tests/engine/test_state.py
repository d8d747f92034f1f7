"""A run lives in its stored state, not in memory: the state survives JSON, resuming from
the restored state is the same as resuming from the original, one machine serves every run
of a flow version and keeps no conversation attached, and a run stays on its version.
"""

from __future__ import annotations

import json

from bot.engine import Ask, Choose, Engine, FlagRaised, FlowRegistry, Reply, RunState, Text

from .conftest import HEADER

CONTEXT = {"next_checkin": "Monday", "emergency_number": "112", "advice_line": "0800-0123"}
# Consent and the WHO-5 items 1, 1, 4 (option 2), 3, 4: raw 13 with two items at 1, so
# `low_wellbeing` is raised with the last of them.
PART_OF_A_CHECKIN = [Choose(True), Choose(1), Choose(1), Reply("2"), Choose(3), Choose(4)]


def test_run_state_survives_json(restore):
    state = RunState(
        flow_id="demo",
        version=3,
        step="q",
        answers={"a.yes": True, "a.level": 0, "a.hours": 2.5, "a.pick": "red", "a.note": "é"},
        raised=("one", "two"),
    )

    restored = restore(state)

    assert restored == state
    assert dict(restored.answers) == dict(state.answers)
    assert [type(value) for value in restored.answers.values()] == [bool, int, float, str, str]
    assert restored.raised == ("one", "two")
    assert restored.status == "active"
    assert restore(RunState("demo", 1, "done", status="completed")).status == "completed"


def test_to_dict_is_plain_json(family_engine, play):
    state = play(family_engine, "family_checkin", PART_OF_A_CHECKIN)[-1].state

    data = state.to_dict()

    assert json.loads(json.dumps(data)) == data
    assert data["answers"]["who5.cheerful"] == 1
    assert data["raised"] == ["low_wellbeing"]


def test_resuming_a_restored_state_gives_the_same_sprints(family_engine, play, restore):
    stored = play(family_engine, "family_checkin", PART_OF_A_CHECKIN, CONTEXT)[-1].state
    rest = [
        Choose("enough"),
        Choose("every_day"),
        Choose("good"),
        Choose("no"),
        Choose(True),
        Reply("Call me."),
        Choose(True),
    ]

    in_memory, from_storage = [], []
    state = stored
    for given in rest:
        in_memory.append(family_engine.resume(state, given, CONTEXT))
        state = in_memory[-1].state
    state = restore(stored)
    for given in rest:
        from_storage.append(family_engine.resume(state, given, CONTEXT))
        state = restore(from_storage[-1].state)

    assert from_storage == in_memory
    assert from_storage[-1].ended
    assert from_storage[-1].state.raised == (
        "low_wellbeing",
        "child_unsafe_at_home",
        "message_for_caseworker",
    )


def test_a_restored_state_remembers_the_flags_already_raised(family_engine, play, restore):
    # Food "often_not" raises `children_basic_needs`; health "ill" would raise it too.
    hungry = [Choose(True), *[Choose(3)] * 5, Choose("often_not"), Choose("every_day")]
    sprints = play(family_engine, "family_checkin", hungry)
    stored = restore(sprints[-1].state)
    forgotten = RunState.from_dict({**stored.to_dict(), "raised": []})

    assert sprints[-2].of(FlagRaised)[0].rule_id == "children_basic_needs"
    assert stored.raised == ("children_basic_needs",)
    assert family_engine.resume(stored, Choose("ill")).of(FlagRaised) == []
    assert [
        flag.rule_id for flag in family_engine.resume(forgotten, Choose("ill")).of(FlagRaised)
    ] == ["children_basic_needs"]


# --- machines -----------------------------------------------------------------------------


def test_one_machine_per_flow_version_with_no_conversation_left_on_it(family_engine, play):
    flow = family_engine.registry.get("family_checkin")
    machine = family_engine.machine(flow)

    play(family_engine, "family_checkin", PART_OF_A_CHECKIN)
    play(family_engine, "family_checkin", [Choose(False)])
    family_engine.remind(family_engine.start("family_checkin").state)

    assert family_engine.machine(flow) is machine
    assert machine.models == []


def versioned(version: int, question: str) -> str:
    return (
        HEADER.replace("version: 1", f"version: {version}")
        + f"""\
steps:
  - id: q
    kind: yes_no
    key: demo.q
    text: {question}
  - id: done
    kind: end
    text: Done.
"""
    )


def test_a_run_stays_on_the_version_it_started_on(build_flow):
    first = build_flow(versioned(1, "Version one?"), name="v1.yaml")
    second = build_flow(versioned(2, "Version two?"), name="v2.yaml")
    started_on_one = Engine(FlowRegistry([first])).start("demo").state
    engine = Engine(FlowRegistry([first, second]))

    reminded = engine.remind(started_on_one)
    new_run = engine.start("demo")

    assert reminded.of(Ask)[0].text == Text("Version one?")
    assert new_run.of(Ask)[0].text == Text("Version two?")
    assert new_run.state.version == 2
    assert engine.resume(started_on_one, Choose(True)).state.version == 1
    assert engine.machine(first) is not engine.machine(second)


def test_interleaved_runs_do_not_see_each_other(build_engine):
    text = versioned(1, "Ready?")
    engine, fresh = build_engine(text), build_engine(text)
    first = engine.start("demo")
    second = engine.start("demo")

    second_done = engine.resume(second.state, Choose(True))
    first_done = engine.resume(first.state, Choose(False))

    assert first_done == fresh.resume(fresh.start("demo").state, Choose(False))
    assert dict(first_done.state.answers) == {"demo.q": False}
    assert dict(second_done.state.answers) == {"demo.q": True}
