"""The alarm journal's replay: alarms the database could not take become flags later, at
their own time, once each; what is not a member's alarm leaves no trace. And the help that
fits the danger: each kind of alarm gets its own helplines, and the staff are told its kind."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.app import Wegwijzer
from bot.rules.alarms import ALARM_KINDS, AlarmKind
from bot.services import emergency, flags, outbox, texts
from bot.services.cases import create_case
from bot.services.duties import immediate_notices
from bot.services.emergency import journal_alarm, record_alarm, replay_alarms
from bot.services.review_texts import flag_detail_lines
from bot.storage import Unavailable
from tests.world import Clock, World, add_person, audit, external_id, render


def replace_settings(app: Wegwijzer, **changes: object) -> Wegwijzer:
    """The same bot (database, journal, clock) with other settings."""
    changed = replace(app, settings=replace(app.settings, **changes))
    changed.journal = app.journal
    return changed


async def open_emergencies(world: World) -> list:
    async with world.app.database.reading() as uow:
        return [f for f in await uow.flags.open_flags() if f.rule == "emergency"]


async def test_a_journaled_alarm_becomes_a_flag_at_its_own_time_once(
    world: World, clock: Clock
) -> None:
    app = world.app
    family = await external_id(app, world.family)
    alarm = await journal_alarm(
        app, "telegram", family, "in gevaar", once="telegram:41", recording=False
    )
    raised_at = clock.now
    clock.advance(minutes=10)  # the database was back only later

    await replay_alarms(app)
    (flag,) = await open_emergencies(world)
    assert (flag.raised_at, flag.due_at) == (raised_at, raised_at + timedelta(hours=1))
    assert (flag.case_id, flag.evidence["trigger"]) == (world.case_a, "in gevaar")
    assert await app.journal.pending() == []

    await app.journal.record(alarm)  # the same alarm again (say, a copy left by a crash)
    app.journal.release(alarm.key)
    await replay_alarms(app)
    (again,) = await open_emergencies(world)
    assert "repeats" not in again.evidence  # recorded once
    assert await app.journal.pending() == []


async def test_strangers_leavers_and_staff_notes_leave_no_trace(world: World) -> None:
    app = world.app
    await journal_alarm(
        app, "telegram", "999999", "sos", once=None, recording=False
    )  # nobody we know
    left = await external_id(app, world.left_coordinator)
    await journal_alarm(app, "telegram", left, "sos", once=None, recording=False)
    caseworker = await external_id(app, world.caseworker)
    await journal_alarm(
        app, "telegram", caseworker, "niet veilig", once=None, recording=False
    )  # a note
    await replay_alarms(app)
    assert await open_emergencies(world) == []
    assert await app.journal.pending() == []


async def test_while_the_database_is_unavailable_every_alarm_waits(world: World) -> None:
    app = world.app
    family = await external_id(app, world.family)
    alarm = await journal_alarm(app, "telegram", family, "sos", once=None, recording=False)

    real = app.database.transaction

    def unavailable() -> object:
        raise Unavailable("OperationalError")

    app.database.transaction = unavailable  # type: ignore[method-assign]
    try:
        await replay_alarms(app)
        assert await app.journal.pending() == [alarm]
        with pytest.raises(Unavailable):
            await record_alarm(app, world.family, alarm)
        assert await app.journal.pending() == [alarm]
    finally:
        app.database.transaction = real  # type: ignore[method-assign]
    await replay_alarms(app)
    assert len(await open_emergencies(world)) == 1 and await app.journal.pending() == []


async def test_an_alarm_its_own_process_is_recording_is_not_replayed_under_it(
    world: World,
) -> None:
    """The live path journals, then records: a replay round in between must not record it
    first (the family would then miss "help is coming")."""
    app = world.app
    family = await external_id(app, world.family)
    alarm = await journal_alarm(app, "telegram", family, "sos", once="telegram:51")
    await replay_alarms(app)
    assert await open_emergencies(world) == [] and await app.journal.pending() == [alarm]
    recorded = await record_alarm(app, world.family, alarm)
    assert recorded.new and await app.journal.pending() == []


async def test_one_alarm_that_cannot_be_replayed_does_not_hold_up_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = world.app
    broken = await journal_alarm(app, "telegram", "broken", "sos", once=None, recording=False)
    family = await external_id(app, world.family)
    await journal_alarm(app, "telegram", family, "sos", once=None, recording=False)
    real = emergency.find_participant

    async def find(app: object, channel: str, external: str) -> object:
        if external == "broken":
            raise RuntimeError("a bug, not the database")
        return await real(app, channel, external)  # type: ignore[arg-type]

    monkeypatch.setattr(emergency, "find_participant", find)
    await replay_alarms(app)
    assert len(await open_emergencies(world)) == 1
    assert await app.journal.pending() == [broken]  # kept, to be tried again


# --- no false reassurance -------------------------------------------------------------------


async def test_the_team_knows_only_when_someone_reachable_has_the_alarm(world: World) -> None:
    app = world.app
    alarm = await emergency.raise_alarm(app, world.family, "sos")
    await immediate_notices(app)
    assert await emergency.someone_will_hear(app, world.family, alarm)


async def test_an_alarm_that_reaches_nobody_goes_to_the_fallback_chat_and_the_log(
    app: Wegwijzer, caplog: pytest.LogCaptureFixture
) -> None:
    """A case without a caseworker, and no coordinator: nobody to tell. The family must not
    hear "the team has been alerted"; the operators' chat hears of it, once."""
    app = replace_settings(app, alarm_fallback_chat="-100777")
    async with app.database.transaction() as uow:
        await create_case(uow, "family_strengthening", "LONE-001")
    family = await add_person(app, "family", case="LONE-001")
    alarm = await emergency.raise_alarm(app, family, "sos")
    with caplog.at_level(logging.CRITICAL):
        await immediate_notices(app)
        assert not await emergency.someone_will_hear(app, family, alarm)
        assert not await emergency.someone_will_hear(app, family, alarm)  # asked again
    assert "flag reaches nobody who can act" in caplog.messages
    (fallback,) = await outbox.claim(app, "telegram", 10)
    assert fallback.to_fallback and fallback.notice.recipient.external_id == "-100777"
    assert fallback.notice.about == (alarm.flag_id,)
    await outbox.sent(app, fallback)
    told = [event for event in await audit(app, alarm.flag_id) if event.action == "told"]
    assert [(event.detail["to"], event.detail["role"]) for event in told] == [(None, "operators")]


async def test_an_alarm_whose_only_staff_blocked_the_bot_promises_nothing(world: World) -> None:
    app = world.app
    for person in (world.caseworker, world.coordinator, world.second_coordinator):
        await outbox.unreachable(app, person.person_id)
    alarm = await emergency.raise_alarm(app, world.family, "sos")
    await immediate_notices(app)
    assert not await emergency.someone_will_hear(app, world.family, alarm)


async def test_notices_that_failed_reassure_nobody(world: World) -> None:
    app = world.app
    alarm = await emergency.raise_alarm(app, world.family, "sos")
    await immediate_notices(app)
    for out in await outbox.claim(app, "telegram", 50):
        await outbox.failed(app, out)
    assert not await emergency.someone_will_hear(app, world.family, alarm)


# --- help that fits the danger --------------------------------------------------------------

# What each kind's help must say (the Netherlands' defaults, locales/helplines.yaml), and what
# it must not: 113 for self-harm, the Kindertelefoon for a child, never only 112.
HELP_BY_KIND: dict[AlarmKind, tuple[list[str], list[str]]] = {
    "immediate_danger": (["112", "Veilig Thuis", "0800-2000"], ["0800-0113", "0800-0432"]),
    "violence_at_home": (["112", "Veilig Thuis", "0800-2000"], ["0800-0113", "0800-0432"]),
    "self_harm": (
        [
            "You don't have to go through this alone.",
            "113 Zelfmoordpreventie",
            "0800-0113 or 113",
            "Chat: 113.nl",
            "112",
        ],
        ["0800-2000", "0800-0432"],
    ),
    "child_speaking": (
        ["De Kindertelefoon", "0800-0432", "For ages 8 to 18.", "Chat: kindertelefoon.nl", "112"],
        ["0800-2000", "0800-0113"],
    ),
}
# How the staff notice and the flag's review name each kind.
NAMED: dict[AlarmKind, tuple[str, str]] = {
    "immediate_danger": ("The person asked for help now", "immediate danger"),
    "violence_at_home": ("Violence at home:", "violence at home"),
    "self_harm": ("Self-harm:", "self-harm"),
    "child_speaking": ("A child asking for help:", "a child asking for help"),
}


def help_text(app: Wegwijzer, kinds: tuple[AlarmKind, ...], language: str = "en") -> str:
    return "\n".join(
        render(app, line, language) for lines in emergency.help_for(app, kinds) for line in lines
    )


@pytest.mark.parametrize("kind", ALARM_KINDS)
async def test_each_kind_of_alarm_gets_its_help_and_the_staff_are_told_its_kind(
    world: World, clock: Clock, kind: AlarmKind
) -> None:
    app = world.app
    given = help_text(app, (kind,))
    must, must_not = HELP_BY_KIND[kind]
    assert all(words in given for words in must), given
    assert not any(words in given for words in must_not), given

    alarm = await emergency.raise_alarm(app, world.family, "invented words", kinds=(kind,))
    notices = await immediate_notices(app)
    reason, name = NAMED[kind]
    assert notices and all(reason in render(app, notice.text) for notice in notices)
    assert "invented words" not in render(app, notices[0].text)  # the reason, never the words
    view = await flags.flag_detail(app, world.coordinator, alarm.flag_id)
    assert view.evidence["kinds"] == [kind]
    lines = [render(app, line) for line in flag_detail_lines(app, view, clock.now)]
    assert lines[1].startswith(reason) and f"Kind of danger: {name}." in lines


async def test_self_harm_help_comes_first_with_113_and_112_after_it(world: World) -> None:
    given = help_text(world.app, ("self_harm",))
    assert given.index("113 Zelfmoordpreventie") < given.index("Emergency number")
    dutch = help_text(world.app, ("self_harm",), "nl")
    assert "als je aan zelfmoord denkt" in dutch and "Alarmnummer" in dutch


async def test_several_kinds_get_each_kinds_help_most_urgent_first_each_helpline_once(
    world: World,
) -> None:
    paragraphs = emergency.help_for(world.app, ("child_speaking", "violence_at_home"))
    rendered = [[render(world.app, line) for line in lines] for lines in paragraphs]
    (violence, child) = rendered
    assert violence[0].startswith("Violence at home is never okay")
    assert [line.split(" — ")[0] for line in violence[1:]] == [
        "• Emergency number",
        "• Veilig Thuis",
    ]
    assert [line.split(" — ")[0] for line in child[1:]] == ["• De Kindertelefoon"]  # 112 once


async def test_a_repeat_of_another_kind_is_named_in_the_notice_and_the_reason_takes_the_most_urgent(
    world: World, clock: Clock
) -> None:
    app = world.app
    alarm = await emergency.raise_alarm(app, world.family, "ik wil dood", kinds=("self_harm",))
    await immediate_notices(app)
    clock.advance(minutes=6)  # after the storm window: told at once
    await emergency.raise_alarm(app, world.family, "ik ben in gevaar", kinds=("immediate_danger",))
    sos = await immediate_notices(app)
    assert sos and all("asked for help now" in render(app, notice.text) for notice in sos)
    clock.advance(minutes=6)
    await emergency.raise_alarm(app, world.family, "hij slaat mij", kinds=("violence_at_home",))
    again = await immediate_notices(app)
    assert again and all(
        render(app, notice.text).startswith("Again: urgent flag for case")
        and "Violence at home:" in render(app, notice.text)
        for notice in again
    )
    view = await flags.flag_detail(app, world.coordinator, alarm.flag_id)
    assert view.reason == texts.EMERGENCY_FLAG.msgid  # the most urgent of all its reports
    lines = [render(app, line) for line in flag_detail_lines(app, view, clock.now)]
    assert "Kind of danger: immediate danger · violence at home · self-harm." in lines


async def test_the_journal_keeps_the_kind_through_a_replay(world: World) -> None:
    app = world.app
    family = await external_id(app, world.family)
    await journal_alarm(
        app, "telegram", family, "ik wil dood", once=None, recording=False, kinds=("self_harm",)
    )
    (waiting,) = await app.journal.pending()
    assert waiting.alarm_kinds == ("self_harm",)
    await replay_alarms(app)
    (flag,) = await open_emergencies(world)
    assert flag.evidence["kinds"] == ["self_harm"]
    assert flag.reason == texts.ALARM_REASONS["self_harm"].msgid


async def test_the_general_help_for_strangers_and_groups_keeps_the_flows_numbers(
    world: World,
) -> None:
    assert render(world.app, emergency.emergency_numbers(world.app)) == (
        "Is someone in danger right now? Call 112. For advice about the safety of a child or an "
        "adult at home: Veilig Thuis 0800-2000."
    )
