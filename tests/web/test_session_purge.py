"""Sign-in links and sessions are kept only while needed: the bot's upkeep removes those that
ended every round (`purge_web_logins`), not only when someone asks for a new link."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from bot.app import Wegwijzer
from bot.services.duties import UPKEEP_DUTIES
from bot.services.web_login import issue_link, purge_web_logins
from bot.storage.models import WebLink, WebSession
from bot.web import create_app
from bot.web._security import RateLimiter
from tests.world import Clock, World

from .conftest import BASE, CSRF, link_for, redeem


async def stored(app: Wegwijzer) -> tuple[int, int]:
    """How many links and sessions the database holds."""
    async with app.database.engine.connect() as conn:
        links = await conn.scalar(select(func.count()).select_from(WebLink))
        sessions = await conn.scalar(select(func.count()).select_from(WebSession))
    return int(links or 0), int(sessions or 0)


async def test_ended_links_and_sessions_are_purged_by_the_bot_s_upkeep(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    assert purge_web_logins in UPKEEP_DUTIES
    await issue_link(app, world.coordinator)  # never used
    assert (await redeem(client, await link_for(app, world.coordinator))).status_code == 303
    assert await stored(app) == (2, 1)

    # Half an hour without a request: both links past their ten minutes, the session idle.
    clock.advance(minutes=app.settings.web_idle_minutes + 1)
    another_browser = httpx.ASGITransport(app=create_app(app, limiter=RateLimiter(attempts=100)))
    async with httpx.AsyncClient(transport=another_browser, base_url=BASE) as other:
        signed_in = await redeem(other, await link_for(app, world.caseworker))
        assert signed_in.status_code == 303
    assert await stored(app) == (1, 1)  # issuing the new link pruned the old ones already

    clock.advance(minutes=app.settings.web_link_minutes)  # the caseworker's link runs out
    assert await purge_web_logins(app) == []
    assert await stored(app) == (0, 1)  # their session is still on

    clock.advance(hours=app.settings.web_session_hours)
    await purge_web_logins(app)
    assert await stored(app) == (0, 0)
    assert (await client.get("/flags")).status_code == 401  # ended, and gone


async def test_an_idle_session_goes_without_a_new_link_being_asked_for(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    assert (await redeem(client, await link_for(app, world.coordinator))).status_code == 303
    clock.advance(minutes=5)
    assert (await client.get("/flags")).status_code == 200  # in use: kept
    await purge_web_logins(app)
    assert await stored(app) == (1, 1)  # the used link lives out its ten minutes

    clock.advance(minutes=app.settings.web_idle_minutes)
    await purge_web_logins(app)
    assert await stored(app) == (0, 0)


async def test_signing_out_removes_what_ended_too(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    assert (await redeem(client, await link_for(app, world.coordinator))).status_code == 303
    queue = await client.get("/flags")
    csrf = CSRF.search(queue.text)
    assert csrf is not None
    clock.advance(minutes=app.settings.web_link_minutes + 1)  # the used link ran out meanwhile
    assert (await client.post("/logout", data={"csrf": csrf[1]})).status_code == 200
    assert await stored(app) == (0, 0)
