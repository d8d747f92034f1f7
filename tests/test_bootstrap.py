"""Start-up refuses what would strand a family, and forgets old update keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import UnsupportedContext
from bot.bootstrap import FlowVersionMissing, bootstrap
from bot.config import ConfigError, Settings
from bot.services.retention import forget_old_updates

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return replace(Settings(), database_url=f"sqlite:///{tmp_path / 'start.db'}")


async def test_start_up_refuses_runs_pinned_to_a_flow_version_that_is_gone(settings: Settings):
    app = await bootstrap(settings, clock=lambda: NOW)
    async with app.database.transaction() as uow:
        person = await uow.people.add("console", "family:X", "family")
        await uow.runs.start(person.id, None, "family_checkin", 99, "consent", {}, NOW)
    await app.close()

    with pytest.raises(FlowVersionMissing, match=r"family_checkin@99"):
        await bootstrap(settings, clock=lambda: NOW)


async def test_old_update_keys_are_forgotten_at_start(settings: Settings) -> None:
    app = await bootstrap(settings, clock=lambda: NOW)
    try:
        async with app.database.transaction() as uow:
            assert await uow.updates.claim("telegram:1", NOW - timedelta(days=3))
            assert await uow.updates.claim("telegram:2", NOW - timedelta(hours=1))
            assert await uow.updates.claim("telegram:3", NOW - timedelta(days=4))
        assert await forget_old_updates(app, batch=1) == 2  # in batches, as the retention run
        async with app.database.transaction() as uow:
            assert await uow.updates.claim("telegram:1", NOW)  # forgotten: free again
            assert await uow.updates.claim("telegram:3", NOW)
            assert not await uow.updates.claim("telegram:2", NOW)  # recent: still known
    finally:
        await app.close()


async def test_start_up_refuses_a_flow_needing_a_value_the_host_does_not_give(
    settings: Settings, tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "odd.yaml").write_text(
        "spec: 1\nid: odd\nversion: 1\ntitle: Odd\nroles: [family]\npurpose: survey\nstart: done\n"
        "context: [favourite_colour]\nsteps:\n"
        "  - {id: done, kind: end, text: 'Your colour is {favourite_colour}.'}\n",
        encoding="utf-8",
    )
    with pytest.raises(UnsupportedContext, match="favourite_colour"):
        await bootstrap(replace(settings, flows_dir=flows), clock=lambda: NOW)


def test_the_fallback_chat_must_be_a_chat_id() -> None:
    assert Settings.from_env({"ALARM_FALLBACK_CHAT": "-1001234"}).alarm_fallback_chat == "-1001234"
    assert Settings.from_env({}).alarm_fallback_chat is None
    with pytest.raises(ConfigError, match="numeric id"):
        Settings.from_env({"ALARM_FALLBACK_CHAT": "@operators"})
