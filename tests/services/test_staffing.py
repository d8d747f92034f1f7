"""Staff coming and going: a case changes hands on the record, people leave, invites go back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.services import outbox, texts
from bot.services.duties import immediate_notices
from bot.services.invites import create_invite
from bot.services.onboarding import InviteNotValid, join
from bot.services.staffing import NotACaseworker, person_leaves, reassign_case, revoke_invite
from tests.console.cli import wegwijzer
from tests.world import CASE_A, World, add_person, audit, external_id, raise_flag

CHANNEL = "telegram"


async def queued_texts(world: World) -> dict[int, list[str]]:
    told: dict[int, list[str]] = {}
    for out in await outbox.claim(world.app, CHANNEL, 100):
        told.setdefault(out.notice.recipient.person_id, []).append(out.notice.text.msgid)
    return told


async def test_a_reassigned_case_is_on_record_and_both_caseworkers_are_told(
    world: World,
) -> None:
    app = world.app
    newcomer = await add_person(app, "caseworker")
    before = await reassign_case(app, CASE_A.lower(), newcomer.person_id)
    assert before == world.caseworker.person_id
    told = await queued_texts(world)
    assert told == {
        newcomer.person_id: [texts.CASE_NOW_YOURS.msgid],
        world.caseworker.person_id: [texts.CASE_NO_LONGER_YOURS.msgid],
    }
    (event,) = [e for e in await audit(app, case_id=world.case_a) if e.action == "case_reassigned"]
    assert event.detail == {"from": world.caseworker.person_id, "to": newcomer.person_id}
    # An alarm on the case now goes to the new caseworker, not the old one.
    await raise_flag(app, world.case_a)
    recipients = {n.recipient.person_id for n in await immediate_notices(app)}
    assert newcomer.person_id in recipients and world.caseworker.person_id not in recipients
    with pytest.raises(NotACaseworker):
        await reassign_case(app, CASE_A, world.coordinator.person_id)


async def test_a_caseworker_invite_takes_a_case_over_only_on_the_record(world: World) -> None:
    app = world.app
    invite = await create_invite(app, "caseworker", CASE_A)
    joined = await join(app, CHANNEL, "88001", invite.code)
    (event,) = [e for e in await audit(app, case_id=world.case_a) if e.action == "case_reassigned"]
    assert event.detail == {"from": world.caseworker.person_id, "to": joined.person_id}
    # The one who had it is told; the newcomer has not agreed to the bot's terms yet.
    assert await queued_texts(world) == {
        world.caseworker.person_id: [texts.CASE_NO_LONGER_YOURS.msgid]
    }


async def test_a_caseworker_who_leaves_hands_over_what_waited_and_the_coordinators_know(
    world: World,
) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    await immediate_notices(app)
    for out in await outbox.claim(app, CHANNEL, 100):  # the coordinators were told
        if out.notice.recipient.person_id != world.caseworker.person_id:
            await outbox.sent(app, out)
        else:
            caseworkers = out
    left = await person_leaves(app, world.caseworker.person_id)
    assert left.cases == (CASE_A,)
    await outbox.sent(app, caseworkers)  # a late answer for a notice taken back: no effect
    told = await queued_texts(world)
    assert told == {
        coordinator: [texts.CASEWORKER_LEFT.msgid] for coordinator in world.coordinators
    }
    history = [e.action for e in await audit(app, flag_id)]
    assert history.count("told") == 2  # the coordinators, once each
    assert (await person_leaves(app, world.caseworker.person_id)).cases == ()  # once


async def test_an_unused_invite_can_be_taken_back_and_lets_nobody_in(world: World) -> None:
    app = world.app
    invite = await create_invite(app, "family", CASE_A)
    assert await revoke_invite(app, invite.code)
    assert not await revoke_invite(app, invite.code)  # not twice
    with pytest.raises(InviteNotValid):
        await join(app, CHANNEL, "88002", invite.code)
    used = await create_invite(app, "family", CASE_A)
    await join(app, CHANNEL, "88003", used.code)
    assert not await revoke_invite(app, used.code)  # used already: nothing to take back
    assert not await revoke_invite(app, "no-such-code-123")


def test_the_operators_commands(tmp_path: Path) -> None:
    database = tmp_path / "staff.db"
    made = wegwijzer(database, "case", "create", "--programme", "foster_care", "--json")
    code = json.loads(made.stdout)["code"]
    env = {"TELEGRAM_BOT_USERNAME": "wegwijzer_test_bot"}
    invite = wegwijzer(database, "invite", "--role", "caseworker", "--case", code, env=env)
    link = invite.stdout.strip()
    revoked = wegwijzer(database, "invite", "--revoke", link)
    assert (revoked.returncode, revoked.stderr.strip()) == (0, "invite revoked")
    assert wegwijzer(database, "invite", "--revoke", link).returncode == 1
    refused = wegwijzer(database, "case", "assign", code, "999")
    assert (refused.returncode, refused.stderr) == (
        1,
        "wegwijzer: person 999 is no active caseworker\n",
    )
    assert wegwijzer(database, "person", "leave", "999").returncode == 1
    log = wegwijzer(database, "audit", "--case", code)
    assert "invite_revoked" in log.stdout


async def test_giving_a_case_to_its_own_caseworker_changes_and_tells_nothing(world: World) -> None:
    app = world.app
    before = await reassign_case(app, CASE_A, world.caseworker.person_id)
    assert before == world.caseworker.person_id
    assert await queued_texts(world) == {}
    assert "case_reassigned" not in [e.action for e in await audit(app, case_id=world.case_a)]


@pytest.mark.both_backends
async def test_an_old_button_of_a_case_given_to_another_records_nothing(world: World) -> None:
    """A caseworker's screening question is still on their phone when the case goes to a
    colleague: pressing it (the button's way, `answer_option_of`, which tries the driver's
    one transaction first) stores nothing for the case and pauses the run."""
    from bot.services.runs import answer_option_of, start_flow

    app = world.app
    turn = await start_flow(app, world.caseworker, "risk_screening", case_code=CASE_A)
    await reassign_case(app, CASE_A, world.other_caseworker.person_id)
    flow = app.flows.get("risk_screening")
    step = [each.id for each in flow.steps].index(turn.state.step)
    pressed = await answer_option_of(
        app,
        CHANNEL,
        await external_id(app, world.caseworker),
        lambda who: True,
        turn.run_id,
        step,
        1,  # "no": an answer that only asks the next question (the driver's way would take it)
        once="telegram:test-old-button",
    )
    assert pressed is not None and pressed.answered is None
    async with app.database.reading() as uow:
        assert await uow.answers.of_run(turn.run_id) == {}
        run = await uow.runs.get(turn.run_id)
        assert run is not None and run.status == "paused"
