"""`wegwijzer doctor`: what would make an alarm reach nobody, before a family needs it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.app import Wegwijzer
from bot.services import outbox
from bot.services.cases import create_case
from bot.services.doctor import examine
from bot.services.emergency import journal_alarm
from tests.console.cli import wegwijzer
from tests.world import CASE_B, World, set_status


def texts_of(findings: list) -> dict[str, str]:
    return {finding.text: finding.severity for finding in findings}


async def test_a_staffed_deployment_has_only_what_waits_for_review(world: World) -> None:
    app = replace(world.app, settings=replace(world.app.settings, alarm_fallback_chat="-1001"))
    findings = await examine(app)
    assert [finding.severity for finding in findings] == ["warning"]  # the draft danger lists
    assert "Danger lists not yet reviewed" in findings[0].text
    assert "nl, en, ar, tr, pl, uk, fr, sw, ru" in findings[0].text  # ru: a list, no catalog


async def test_cases_without_a_reachable_caseworker_and_staff_who_blocked_the_bot(
    world: World,
) -> None:
    app = world.app
    async with app.database.transaction() as uow:
        await create_case(uow, "foster_care", "TST-0009")  # nobody assigned
    await outbox.unreachable(app, world.other_caseworker.person_id)  # case B's blocked us
    found = texts_of(await examine(app))
    assert (
        found[
            f"2 open case(s) without a caseworker who can be reached (alarms go to "
            f"coordinators only): {CASE_B}, TST-0009"
        ]
        == "warning"
    )
    assert found[f"caseworker {world.other_caseworker.person_id} has blocked the bot: not told."]
    assert "ALARM_FALLBACK_CHAT is not set" in " ".join(found)


async def test_no_coordinator_and_no_fallback_is_an_alarm(world: World) -> None:
    app = world.app
    for coordinator in (world.coordinator, world.second_coordinator):
        await set_status(app, coordinator, "left")
    await set_status(app, world.caseworker, "left")
    findings = await examine(app)
    assert [finding.severity for finding in findings[:2]] == ["alarm", "alarm"]
    assert findings[0].text.startswith("No coordinator can be reached")
    assert "without a caseworker" in findings[1].text


async def test_undelivered_notices_and_journaled_alarms_are_reported(
    world: World, app: Wegwijzer
) -> None:
    await journal_alarm(app, "telegram", "999", "sos", None, recording=False)
    found = " ".join(texts_of(await examine(app)))
    assert "1 alarm(s) in the journal not yet in the database" in found


def test_the_command_exits_1_when_an_alarm_could_reach_nobody(tmp_path: Path) -> None:
    ran = wegwijzer(tmp_path / "empty.db", "doctor")
    assert ran.returncode == 1
    assert ran.stdout.startswith("ALARM    No coordinator can be reached")
    assert "1 alarm(s)" in ran.stderr
