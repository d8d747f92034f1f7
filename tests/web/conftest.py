"""The web view on the test's own app and database: an HTTP client talking to it in the
test's event loop (httpx's ASGI transport), and signing in the way staff do: `/web` gives a
link, the link's page a form, the form a session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from bot.app import Wegwijzer
from bot.config import Settings
from bot.rules.people import Participant
from bot.services import web_login
from bot.web import create_app
from bot.web._security import RateLimiter

BASE = "https://web.example.org"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, web_base_url=BASE)


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter(attempts=1000)


@pytest.fixture
async def client(app: Wegwijzer, limiter: RateLimiter) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(app, limiter=limiter))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as web:
        yield web


async def link_for(app: Wegwijzer, who: Participant) -> str:
    """The path of a fresh sign-in link of `who` (as `/web` makes it)."""
    issued = await web_login.issue_link(app, who)
    return f"/login/{issued.token}"


NONCE = re.compile(r'name="nonce" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def redeem(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """Open the link and press "Sign in"."""
    page = await client.get(path)
    assert page.status_code == 200
    nonce = NONCE.search(page.text)
    assert nonce is not None
    return await client.post(path, data={"nonce": nonce[1]})


async def sign_in(app: Wegwijzer, client: httpx.AsyncClient, who: Participant) -> str:
    """Sign `who` in; the CSRF token of their session."""
    response = await redeem(client, await link_for(app, who))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/flags"
    queue = await client.get("/flags")
    assert queue.status_code == 200
    csrf = CSRF.search(queue.text)
    assert csrf is not None
    return csrf[1]
