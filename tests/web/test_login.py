"""Signing in to the web view: a one-time link from the bot, confirmed with a button, starts
a session; what it refuses, and the headers every response carries."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.app import Wegwijzer
from bot.services import flags, web_login
from bot.web import create_app
from bot.web import texts as T
from bot.web._security import CSP, RateLimiter, SecurityHeaders
from bot.web.app import server_config
from tests.world import Clock, World, audit, render, set_status

from .conftest import BASE, CSRF, NONCE, link_for, redeem, sign_in


async def test_a_coordinator_signs_in_with_a_link_and_out_again(
    world: World, client: httpx.AsyncClient
) -> None:
    path = await link_for(world.app, world.coordinator)
    confirm = await client.get(path)
    # The link's page changes nothing: a preview fetching it cannot use it up.
    assert confirm.status_code == 200 and 'method="post"' in confirm.text
    signed = await redeem(client, path)
    assert signed.status_code == 303
    cookie = next(c for c in client.cookies.jar if c.name == "__Host-wegwijzer")
    assert cookie.secure and cookie.path == "/"
    set_cookie = signed.headers.get_list("set-cookie")
    session = next(h for h in set_cookie if h.startswith("__Host-wegwijzer="))
    assert "HttpOnly" in session and "Secure" in session and "SameSite=strict" in session
    queue = await client.get("/flags")
    assert queue.status_code == 200
    csrf = CSRF.search(queue.text)
    assert csrf is not None
    out = await client.post("/logout", data={"csrf": csrf[1]})
    assert out.status_code == 200
    assert (await client.get("/flags")).status_code == 401
    actions = [event.action for event in await audit(world.app)]
    assert [action for action in actions if action.startswith(("web_", "flags_"))] == [
        "web_link",
        "web_signed_in",
        "flags_listed",
        "web_signed_out",
    ]


async def test_signing_out_ends_the_session_on_the_server(
    world: World, app: Wegwijzer, client: httpx.AsyncClient
) -> None:
    csrf = await sign_in(world.app, client, world.coordinator)
    session_id = client.cookies.get("__Host-wegwijzer")
    assert session_id
    assert (await client.post("/logout", data={"csrf": csrf})).status_code == 200
    async with world.app.database.reading() as uow:
        assert await uow.web.session(web_login._sha256(session_id)) is None
    # A copy of the old cookie (another client, which never heard of the logout) opens
    # nothing: the server forgot the session, not only the browser its cookie.
    transport = httpx.ASGITransport(app=create_app(app, limiter=RateLimiter(attempts=1000)))
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE, cookies={"__Host-wegwijzer": session_id}
    ) as copy:
        assert (await copy.get("/flags")).status_code == 401
        assert (await copy.get("/")).status_code == 401


async def test_only_the_hash_of_the_link_and_session_is_stored(
    world: World, client: httpx.AsyncClient
) -> None:
    path = await link_for(world.app, world.coordinator)
    await redeem(client, path)
    token = path.rsplit("/", 1)[1]
    session_id = client.cookies.get("__Host-wegwijzer")
    assert session_id
    async with world.app.database.reading() as uow:
        link = await uow.web.link(token.split(".")[0])
        assert link is not None and link.used_at is not None
        assert token.split(".")[1] not in link.token_hash
        assert await uow.web.session(session_id) is None  # not findable by the id itself
        assert await uow.web.session(web_login._sha256(session_id)) is not None


async def test_a_link_works_once(world: World, client: httpx.AsyncClient) -> None:
    path = await link_for(world.app, world.caseworker)
    assert (await redeem(client, path)).status_code == 303
    again = await redeem(client, path)
    assert again.status_code == 400 and "/web" in again.text


async def test_an_expired_link_is_refused(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    path = await link_for(world.app, world.coordinator)
    clock.advance(minutes=11)
    assert (await redeem(client, path)).status_code == 400
    assert (await client.get("/flags")).status_code == 401


async def test_a_link_is_locked_after_wrong_secrets(
    world: World, client: httpx.AsyncClient
) -> None:
    path = await link_for(world.app, world.coordinator)
    selector = path.rsplit("/", 1)[1].split(".")[0]
    for attempt in range(web_login.MAX_LINK_FAILURES):
        assert (await redeem(client, f"/login/{selector}.wrong{attempt}")).status_code == 400
    # Now even the right secret does not open it.
    assert (await redeem(client, path)).status_code == 400


async def test_a_link_of_someone_who_left_meanwhile_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    path = await link_for(world.app, world.caseworker)
    await set_status(world.app, world.caseworker, "left")
    assert (await redeem(client, path)).status_code == 400


async def test_families_get_no_link(world: World) -> None:
    with pytest.raises(web_login.NotAllowed):
        await web_login.issue_link(world.app, world.family)
    refused = [e for e in await audit(world.app) if e.action == "refused"]
    assert refused and refused[-1].detail == {"what": "web", "action": "link"}


async def test_signing_in_needs_the_form_of_the_link_s_page(
    world: World, client: httpx.AsyncClient
) -> None:
    path = await link_for(world.app, world.coordinator)
    # A POST without the page's nonce (another site posting the link): refused, and the
    # link is not used up.
    assert (await client.post(path, data={"nonce": "made-up"})).status_code == 403
    page = await client.get(path)
    nonce = NONCE.search(page.text)
    assert nonce is not None
    foreign = {"origin": "https://evil.example"}
    refused = await client.post(path, data={"nonce": nonce[1]}, headers=foreign)
    assert refused.status_code == 403
    as_file = {"nonce": ("nonce.txt", nonce[1].encode(), "text/plain")}
    assert (await client.post(path, files=as_file)).status_code == 400
    assert (await redeem(client, path)).status_code == 303


async def test_failed_redemptions_are_rate_limited_per_address(
    world: World, app: Wegwijzer
) -> None:
    transport = httpx.ASGITransport(app=create_app(app, limiter=RateLimiter(attempts=3)))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        # Successful sign-ins do not count: a team behind one address signs in all day.
        for _ in range(5):
            assert (await redeem(client, await link_for(app, world.coordinator))).status_code == 303
        for attempt in range(3):
            assert (await redeem(client, f"/login/x.y{attempt}")).status_code == 400
        path = await link_for(world.app, world.coordinator)
        limited = await redeem(client, path)
        assert limited.status_code == 429
    # The limit is in memory and bounded: the oldest addresses are forgotten first.
    limiter = RateLimiter(attempts=1, capacity=2)
    for key in ("a", "b", "c"):
        limiter.failed(key, 0)
    assert limiter.allow("a", 1)  # forgotten
    assert not limiter.allow("c", 1)
    assert limiter.allow("c", 600)  # the window passed


async def test_the_address_behind_the_proxy_counts_only_from_a_trusted_proxy(
    world: World, app: Wegwijzer
) -> None:
    config = server_config(app, "127.0.0.1", 0)  # as `wegwijzer web` serves it
    config.load()
    attempts = RateLimiter().attempts

    async def failures(peer: str, forwarded: str) -> list[int]:
        transport = httpx.ASGITransport(app=config.loaded_app, client=(peer, 40000))
        headers = {"x-forwarded-for": forwarded}
        async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as client:
            return [
                (await redeem(client, f"/login/x.y{n}")).status_code for n in range(attempts + 1)
            ]

    # Through the local proxy: each office's address has a limit of its own.
    assert (await failures("127.0.0.1", "203.0.113.7"))[-1] == 429
    assert (await failures("::1", "198.51.100.9"))[:attempts] == [400] * attempts
    # Straight from elsewhere: the header is the client's own word, and is ignored.
    assert (await failures("192.0.2.1", "192.0.2.50"))[-1] == 429
    assert (await failures("192.0.2.1", "192.0.2.51")) == [429] * (attempts + 1)


async def test_a_session_ends_when_idle(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    await sign_in(world.app, client, world.coordinator)
    clock.advance(minutes=20)
    assert (await client.get("/flags")).status_code == 200
    clock.advance(minutes=20)  # 20 minutes since the last request: still on
    assert (await client.get("/flags")).status_code == 200
    clock.advance(minutes=31)
    assert (await client.get("/flags")).status_code == 401


async def test_a_session_ends_at_its_lifetime_however_busy(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    await sign_in(world.app, client, world.coordinator)
    for _ in range(35):  # a request every 20 minutes for 11 h 40: never idle
        clock.advance(minutes=20)
        assert (await client.get("/flags")).status_code == 200
    clock.advance(minutes=20)  # 12 hours after signing in
    assert (await client.get("/flags")).status_code == 401


async def test_a_session_ends_when_its_person_withdraws_consent(
    world: World, client: httpx.AsyncClient
) -> None:
    # `may_use_web` is asked on every request, not only when the link is redeemed.
    await sign_in(world.app, client, world.coordinator)
    async with world.app.database.transaction() as uow:
        await uow.people.set_consent(world.coordinator.person_id, "withdrawn", world.app.clock())
    assert (await client.get("/flags")).status_code == 401
    assert (await client.get("/")).status_code == 401


async def test_a_session_ends_when_its_person_leaves(
    world: World, client: httpx.AsyncClient
) -> None:
    await sign_in(world.app, client, world.caseworker)
    await set_status(world.app, world.caseworker, "left")
    assert (await client.get("/flags")).status_code == 401


async def test_every_response_has_the_security_headers(
    world: World, client: httpx.AsyncClient
) -> None:
    path = await link_for(world.app, world.coordinator)
    responses = [
        await client.get("/"),
        await client.get(path),
        await client.get("/flags"),
        await client.get("/nowhere"),
        await client.get("/static/style.css"),
    ]
    for response in responses:
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    for page in responses[:4]:
        assert page.headers["cache-control"] == "no-store"
        assert "<script" not in page.text and "style=" not in page.text
    assert responses[3].status_code == 404
    assert responses[4].status_code == 200 and "cache-control" not in responses[4].headers


async def test_the_page_is_in_the_person_s_language_and_can_switch(
    world: World, client: httpx.AsyncClient
) -> None:
    # The second coordinator speaks Dutch.
    csrf = await sign_in(world.app, client, world.second_coordinator)
    queue = await client.get("/flags")
    assert '<html lang="nl"' in queue.text
    switched = await client.post(
        "/language", data={"csrf": csrf, "language": "en", "next": "/flags"}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/flags"
    assert '<html lang="en"' in (await client.get("/flags")).text
    # The switch comes back to the page it was on, filters and all.
    filtered = await client.get("/flags?level=high")
    assert 'name="next" value="/flags?level=high"' in filtered.text
    # Nowhere but this site to go back to.
    away = await client.post(
        "/language", data={"csrf": csrf, "language": "en", "next": "//evil.example/"}
    )
    assert away.headers["location"] == "/flags"


async def test_the_language_switch_needs_the_csrf_token(
    world: World, client: httpx.AsyncClient
) -> None:
    await sign_in(world.app, client, world.second_coordinator)  # speaks Dutch
    for data in (
        {"language": "en", "next": "/flags"},
        {"csrf": "0" * 64, "language": "en", "next": "/flags"},
    ):
        refused = await client.post("/language", data=data)
        assert refused.status_code == 403
    assert '<html lang="nl"' in (await client.get("/flags")).text


async def test_a_form_without_the_session_s_csrf_token_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    await sign_in(world.app, client, world.coordinator)
    assert (await client.post("/logout", data={"csrf": "0" * 64})).status_code == 403
    assert (await client.post("/logout")).status_code == 403
    assert (await client.get("/flags")).status_code == 200  # still signed in


async def test_a_post_from_anywhere_but_this_site_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    csrf = await sign_in(world.app, client, world.second_coordinator)  # speaks Dutch
    switch = {"csrf": csrf, "language": "en", "next": "/flags"}
    for headers in (
        {"origin": "null"},  # a sandboxed frame or a data: page
        {"origin": "https://evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},  # another host under the same domain
        {"sec-fetch-site": "cross-site", "origin": BASE},
    ):
        refused = await client.post("/language", data=switch, headers=headers)
        assert refused.status_code == 403, headers
    assert '<html lang="nl"' in (await client.get("/flags")).text
    # What a browser sends from the site's own page is taken.
    own = {"sec-fetch-site": "same-origin", "origin": BASE}
    assert (await client.post("/language", data=switch, headers=own)).status_code == 303
    assert '<html lang="en"' in (await client.get("/flags")).text
    # Signing in too: the link's form posted from a sandboxed page is refused.
    path = await link_for(world.app, world.coordinator)
    page = await client.get(path)
    nonce = NONCE.search(page.text)
    assert nonce is not None
    nulled = await client.post(path, data={"nonce": nonce[1]}, headers={"origin": "null"})
    assert nulled.status_code == 403
    typed = {"sec-fetch-site": "none"}  # the address typed or pasted: the user's own doing
    assert (await client.post(path, data={"nonce": nonce[1]}, headers=typed)).status_code == 303


async def test_an_unexpected_error_is_a_page_with_the_security_headers(
    world: World, app: Wegwijzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(flags, "review_page", broken)
    # Starlette raises the error on after answering (for the server's log): let it go.
    web = create_app(app, limiter=RateLimiter(attempts=1000))
    transport = httpx.ASGITransport(app=web, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        await sign_in_until_the_queue(world, client)
        failed = await client.get("/flags")
    assert failed.status_code == 500
    assert failed.headers["content-security-policy"] == CSP
    assert failed.headers["x-frame-options"] == "DENY"
    assert failed.headers["cache-control"] == "no-store"
    language = app.settings.default_language
    assert f'<html lang="{language}"' in failed.text
    assert render(app, T.FAILED_TITLE, language) in failed.text
    assert "the database went away" not in failed.text


async def sign_in_until_the_queue(world: World, client: httpx.AsyncClient) -> None:
    """Sign in, stopping at the redirect to the queue (which is what fails here)."""
    response = await redeem(client, await link_for(world.app, world.coordinator))
    assert response.status_code == 303


@pytest.mark.both_backends
async def test_failed_sign_ins_are_audited_without_the_secret(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    used = await link_for(world.app, world.coordinator)
    assert (await redeem(client, used)).status_code == 303
    expired = await link_for(world.app, world.caseworker)
    selector, secret = expired.rsplit("/", 1)[1].split(".")
    attempts = [
        (used, "used"),
        (f"/login/{selector}.wrong-secret", "wrong_secret"),
        ("/login/nosuchlink.x", "unknown"),
    ]
    for path, _ in attempts:
        assert (await redeem(client, path)).status_code == 400
    clock.advance(minutes=11)
    assert (await redeem(client, expired)).status_code == 400
    events = [e for e in await audit(world.app) if e.action == "web_link_refused"]
    links = {}
    async with world.app.database.reading() as uow:
        for path in (used, expired):
            link = await uow.web.link(path.rsplit("/", 1)[1].split(".")[0])
            assert link is not None
            links[path] = link.id
    assert [e.detail for e in events] == [
        {"link": links[used], "why": "used"},
        {"link": links[expired], "why": "wrong_secret"},
        {"why": "unknown"},
        {"link": links[expired], "why": "expired"},
    ]
    assert all(e.actor_role == "browser" and e.actor_id is None for e in events)
    assert all(secret not in str(e.detail) and "wrong-secret" not in str(e.detail) for e in events)


@pytest.mark.both_backends
async def test_a_second_sign_in_in_the_same_browser_ends_the_first(
    world: World, client: httpx.AsyncClient
) -> None:
    await sign_in(world.app, client, world.coordinator)
    first = client.cookies.get("__Host-wegwijzer")
    await sign_in(world.app, client, world.second_coordinator)
    second = client.cookies.get("__Host-wegwijzer")
    assert first and second and first != second
    async with world.app.database.reading() as uow:
        assert await uow.web.session(web_login._sha256(first)) is None
        assert await uow.web.session(web_login._sha256(second)) is not None
    assert '<html lang="nl"' in (await client.get("/flags")).text  # the second's language


async def test_the_session_cookie_lasts_the_browser_session_over_https_only(
    world: World, client: httpx.AsyncClient
) -> None:
    signed = await redeem(client, await link_for(world.app, world.coordinator))
    session = next(
        h for h in signed.headers.get_list("set-cookie") if h.startswith("__Host-wegwijzer=")
    )
    # No lifetime in the cookie: the server ends the session, the browser forgets it on close.
    assert "max-age" not in session.lower() and "expires" not in session.lower()
    assert signed.headers["strict-transport-security"] == "max-age=31536000"

    # Without Secure cookies (http on this machine) no HSTS: it would bind localhost to https.
    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    plain = SecurityHeaders(Starlette(routes=[Route("/", hello)]), hsts=False)
    transport = httpx.ASGITransport(app=plain)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as local:
        response = await local.get("/")
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-frame-options"] == "DENY"
