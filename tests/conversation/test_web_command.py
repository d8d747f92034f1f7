"""`/web`: staff get a one-time link to the web view; families and strangers get none."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.config import Settings
from bot.conversation import Conversation
from tests.world import World, add_person, audit, external_id

from .test_pipeline import send

BASE = "https://web.example.org"
LINK = re.compile(re.escape(BASE) + r"/login/([\w-]+\.[\w-]+)")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, web_base_url=BASE)


async def test_staff_get_a_link_of_their_own_each_time(world: World) -> None:
    conversation = Conversation(world.app)
    for who in (world.coordinator, world.caseworker):
        heard = await send(conversation, await external_id(world.app, who), "/web")
        (token,) = LINK.findall(heard.text())
        assert "works once" in heard.text()
        again = await send(conversation, await external_id(world.app, who), "/web")
        assert LINK.findall(again.text()) != [token]
    issued = [e for e in await audit(world.app) if e.action == "web_link"]
    assert [e.actor_id for e in issued] == [
        world.coordinator.person_id,
        world.coordinator.person_id,
        world.caseworker.person_id,
        world.caseworker.person_id,
    ]


async def test_families_and_strangers_get_no_link(world: World) -> None:
    conversation = Conversation(world.app)
    heard = await send(conversation, await external_id(world.app, world.family), "/web")
    assert heard.lines == ["/web is not available for your role."]
    refused = [e for e in await audit(world.app) if e.action == "refused"]
    assert refused[-1].detail == {"what": "web", "action": "link"}
    stranger = await send(conversation, "777001", "/web")
    assert not LINK.search(stranger.text()) and "invite" in stranger.text()
    async with world.app.database.reading() as uow:
        assert await uow.people.get("telegram", "777001") is None


async def test_without_a_base_url_the_bot_says_it_is_not_set_up(world: World) -> None:
    world.app.settings = replace(world.app.settings, web_base_url=None)
    coordinator = await add_person(world.app, "coordinator")
    heard = await send(Conversation(world.app), await external_id(world.app, coordinator), "/web")
    assert "not set up" in heard.text() and "/login/" not in heard.text()
