"""Webhook mode: updates pushed to the bot's own HTTP server, each checked for the secret."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from tests.fakes.bot_api import FakeBotAPI

from .conftest import Clock, RunningBot, invite_code, person

SECRET = "s3cret-for-tests-only"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_webhook_refuses_a_wrong_secret_and_handles_the_right_one(
    api: FakeBotAPI, settings: Settings, clock: Clock, assets: Assets
) -> None:
    secret = replace(settings, webhook_secret=SECRET)
    app: Wegwijzer = await bootstrap(secret, clock=clock, assets=assets)
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    running = RunningBot(app, webhook_url=url, port=port)
    await running.start()
    try:
        assert api.webhook["url"] == url and api.webhook["secret_token"] == SECRET
        async with app.database.transaction() as uow:
            case = await uow.cases.add("WEB-0001", "foster_care")
        code = await invite_code(app, "family", case.code)
        family = person(api, 1001, "Testouder")

        family.command("/start", code)
        forged = api.pending_updates[0]
        assert await api.post_update_to_webhook(url, forged, secret_token="wrong") == 403
        assert await api.post_update_to_webhook(url, forged) == 403  # no secret at all
        await family.expect_nothing_from(running)
        async with app.database.reading() as uow:
            assert await uow.people.get("telegram", "1001") is None

        assert await api.deliver_to_webhook() == [200]  # Telegram sends the right secret
        await family.expect("Welke taal wil je gebruiken?")
    finally:
        await running.stop()
        await app.close()


async def test_webhook_mode_needs_a_secret(
    settings: Settings, clock: Clock, assets: Assets
) -> None:
    app = await bootstrap(settings, clock=clock, assets=assets)
    running = RunningBot(app, webhook_url="http://127.0.0.1:9/telegram", port=free_port())
    try:
        with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
            await running.start()
    finally:
        await app.close()
