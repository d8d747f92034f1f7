"""Downloading the answers export in the web view: the command line's export (the same
service, byte for byte), pseudonymised, for coordinators only, started by a form with the
session's CSRF token, streamed, and audited — also when the browser goes away halfway."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pyzipper
from openpyxl import load_workbook

from bot.app import Wegwijzer
from bot.services import export as export_service
from bot.services.export import export_answers
from bot.storage import export as storage_export
from bot.web import create_app, export_pages
from bot.web._security import RateLimiter
from tests.world import CASE_A, CASE_B, Clock, World, audit, checkin, refusals

from .conftest import BASE, sign_in

# Every test here reads the database (signing in, the export's REPEATABLE READ snapshot).
pytestmark = pytest.mark.both_backends


def exported(events: list[Any], *actions: str) -> list[tuple[int | None, str, dict[str, Any]]]:
    return [(e.actor_id, e.action, dict(e.detail)) for e in events if e.action in actions]


async def export_events(app: Wegwijzer) -> list[tuple[int | None, str, dict[str, Any]]]:
    return exported(await audit(app), "exported", "export_finished", "export_interrupted")


async def checkins(world: World, clock: Clock, count: int = 2) -> None:
    for _ in range(count):
        clock.advance(days=7)
        await checkin(world.app, world.family)
        await checkin(world.app, world.family_b)


async def test_the_export_page_is_in_the_coordinator_s_menu_only(
    world: World, client: httpx.AsyncClient
) -> None:
    await sign_in(world.app, client, world.coordinator)
    page = await client.get("/exports")
    assert page.status_code == 200, page.text
    assert '<a href="/exports">Exports</a>' in page.text
    assert 'name="csrf"' in page.text and 'method="post" action="/exports"' in page.text
    for fmt in ("json", "csv", "xlsx"):
        assert f'value="{fmt}"' in page.text
    assert await export_events(world.app) == []  # showing the form looks at nothing

    await sign_in(world.app, client, world.caseworker)
    queue = await client.get("/flags")
    assert 'href="/exports"' not in queue.text
    refused = await client.get("/exports")
    assert refused.status_code == 403
    assert "Exports of answers are for coordinators." in refused.text
    on_record = [
        (actor, detail) for actor, _role, _case, _flag, detail in await refusals(world.app)
    ]
    assert on_record == [(world.caseworker.person_id, {"what": "export", "action": "view"})]


async def test_the_export_page_is_not_shown_to_nobody(
    world: World, client: httpx.AsyncClient
) -> None:
    page = await client.get("/exports")
    assert page.status_code == 401
    assert 'name="password"' not in page.text
    assert await refusals(world.app) == []  # nobody to put on record


async def test_a_coordinator_downloads_csv_as_the_command_line_makes_it(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await checkins(world, clock)
    csrf = await sign_in(app, client, world.coordinator)
    got = await client.post("/exports", data={"csrf": csrf, "format": "csv", "pseudonymise": "1"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    today = clock.now.date().isoformat()
    assert got.headers["content-disposition"] == (
        f'attachment; filename="wegwijzer-answers-pseudonymised-{today}.csv"'
    )
    assert got.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert len(rows) > 10
    assert {row["flow_id"] for row in rows} == {"family_checkin"}
    # Pseudonymised: no case code, no time of day, a column saying what was left out.
    assert all(row["case_code"].startswith("C-") for row in rows)
    assert len({row["case_code"] for row in rows}) == 2
    assert CASE_A not in got.text and CASE_B not in got.text
    assert all(len(row["answered_at"]) == len("2026-11-27") for row in rows)
    assert "dropped" in rows[0]
    # Byte for byte what `wegwijzer export --format csv --pseudonymise` writes.
    cli = io.StringIO(newline="")
    await export_answers(app, cli, "csv", pseudonymise=True)
    assert got.content == cli.getvalue().encode()

    events = await export_events(app)
    detail = {
        "format": "csv",
        "since": None,
        "pseudonymised": True,
        "encrypted": False,
        "lang": None,
        "via": "web",
    }
    who = world.coordinator.person_id
    assert events == [
        (who, "exported", detail),
        (who, "export_finished", {**detail, "rows": len(rows)}),
    ]


async def test_json_since_a_day_and_xlsx_in_the_reader_s_language(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await checkins(world, clock, count=1)
    clock.advance(days=7)
    later = clock.now.date()
    await checkin(app, world.family)
    csrf = await sign_in(app, client, world.coordinator)
    form = {"csrf": csrf, "format": "json", "pseudonymise": "1", "since": later.isoformat()}
    got = await client.post("/exports", data=form)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    assert f'-since-{later.isoformat()}.json"' in got.headers["content-disposition"]
    rows = json.loads(got.text)
    assert rows and {row["answered_at"] for row in rows} == {later.isoformat()}
    assert {row["case_code"] for row in rows} == {rows[0]["case_code"]}  # case A's only

    await client.post("/language", data={"csrf": csrf, "language": "nl", "next": "/exports"})
    book = await client.post("/exports", data={**form, "format": "xlsx", "since": ""})
    assert book.status_code == 200
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(book.content), read_only=True)
    titles, *lines = list(workbook["family_checkin"].values)
    assert titles[0] == "Casus" and titles[-1] == "Weggelaten"  # Dutch column titles
    assert all(str(line[0]).startswith("C-") for line in lines)
    everything = await export_answers(app, io.StringIO(), "json")
    assert len(lines) == everything > len(rows)
    finished = [e for e in await export_events(app) if e[1] == "export_finished"]
    assert [(e[2]["format"], e[2]["lang"]) for e in finished] == [("json", None), ("xlsx", "nl")]
    assert [e[2]["rows"] for e in finished] == [len(rows), everything]


async def test_caseworkers_and_identifying_exports_are_refused_and_audited(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await checkins(world, clock, count=1)
    csrf = await sign_in(app, client, world.caseworker)
    refused = await client.post(
        "/exports", data={"csrf": csrf, "format": "csv", "pseudonymise": "1"}
    )
    assert refused.status_code == 403
    assert "Exports of answers are for coordinators." in refused.text
    assert CASE_A not in refused.text

    # A coordinator's form changed to ask for case codes and typed answers: refused too.
    csrf = await sign_in(app, client, world.coordinator)
    full = await client.post("/exports", data={"csrf": csrf, "format": "csv"})
    assert full.status_code == 403
    assert await export_events(app) == []
    on_record = [(actor, detail) for actor, _role, _case, _flag, detail in await refusals(app)]
    assert on_record == [
        (world.caseworker.person_id, {"what": "export", "action": "download"}),
        (world.coordinator.person_id, {"what": "export", "action": "download"}),
    ]


async def test_no_csrf_token_no_get_no_sign_in_no_export(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await checkins(world, clock, count=1)
    form = {"format": "csv", "pseudonymise": "1"}
    # Nobody signed in.
    assert (await client.post("/exports", data=form)).status_code == 401
    csrf = await sign_in(app, client, world.coordinator)
    # Without the token, with another session's, from another site.
    assert (await client.post("/exports", data=form)).status_code == 403
    wrong = await client.post("/exports", data={**form, "csrf": "f" * 64})
    assert wrong.status_code == 403
    foreign = await client.post(
        "/exports", data={**form, "csrf": csrf}, headers={"origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    # A GET with the form's fields shows the form: it starts nothing.
    opened = await client.get("/exports?" + urlencode({**form, "csrf": csrf}))
    assert opened.status_code == 200 and "text/html" in opened.headers["content-type"]
    # Neither a format that does not exist, nor a date that is none.
    odd = await client.post("/exports", data={**form, "csrf": csrf, "format": "pdf"})
    assert odd.status_code == 400
    bad_day = await client.post("/exports", data={**form, "csrf": csrf, "since": "1st of May"})
    assert bad_day.status_code == 303
    assert bad_day.headers["location"] == "/exports?problem=since"
    shown = await client.get(bad_day.headers["location"])
    assert "That date was not understood." in shown.text
    # Nor a day the stream could not write (year 1), nor one after tomorrow.
    tomorrow = (clock.now + timedelta(days=1)).date()
    for day in ("0001-01-01", "1899-12-31", (tomorrow + timedelta(days=1)).isoformat()):
        far = await client.post("/exports", data={**form, "csrf": csrf, "since": day})
        assert far.status_code == 303, day
        assert far.headers["location"] == "/exports?problem=since"
    assert await export_events(app) == []
    edge = await client.post("/exports", data={**form, "csrf": csrf, "since": "1900-01-01"})
    assert edge.status_code == 200 and edge.text.startswith("case_code")


# --- the browser going away halfway ---------------------------------------------------------

Receive = Callable[[], Awaitable[dict[str, Any]]]


async def post_export(
    app: Wegwijzer, cookie: str, csrf: str, stop_after: int, *, spec: str, web: Any = None
) -> tuple[list[bytes], bool]:
    """POST the export form straight to the ASGI application, the browser going away after
    `stop_after` chunks of the body: under spec 2.3 (uvicorn) by saying so in `receive`,
    under 2.4 by the send failing. The chunks received, and whether the body ended."""
    body = urlencode({"csrf": csrf, "format": "json", "pseudonymise": "1"}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/exports",
        "raw_path": b"/exports",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"web.example.org"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
            (b"cookie", cookie.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("web.example.org", 443),
    }
    chunks: list[bytes] = []
    ended = False
    asked = 0
    gone, told = asyncio.Event(), asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        if asked == 1:
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        told.set()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal ended
        if message["type"] != "http.response.body":
            assert message["status"] == 200
            return
        if len(chunks) >= stop_after:
            if spec == "2.4":
                raise OSError("the browser went away")
            return  # uvicorn (2.3) drops what is sent after the disconnect
        chunks.append(message["body"])
        ended = not message.get("more_body", False)
        if len(chunks) == stop_after:
            gone.set()
            await told.wait()  # the disconnect is in before the next chunk is made

    web = web or create_app(app, limiter=RateLimiter(attempts=1000))
    await asyncio.wait_for(web(scope, receive, send), timeout=30)  # fails, never hangs
    return chunks, ended


@pytest.mark.parametrize("spec", ["2.3", "2.4"])
async def test_a_browser_gone_halfway_stops_the_export_closes_its_connection_and_is_audited(
    world: World,
    client: httpx.AsyncClient,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    spec: str,
) -> None:
    app = world.app
    await checkins(world, clock, count=2)
    monkeypatch.setattr(storage_export, "BATCH_SIZE", 3)  # many batches, a chunk each
    csrf = await sign_in(app, client, world.coordinator)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    total = await export_answers(app, io.StringIO(), "json")
    assert total > 12

    chunks, ended = await post_export(app, cookie, csrf, stop_after=2, spec=spec)
    assert len(chunks) == 2 and not ended
    assert chunks[0].startswith(b"[")
    pool = app.database.engine.sync_engine.pool
    assert pool.checkedout() == 0  # type: ignore[attr-defined]  # the export's connection is back
    events = await export_events(app)
    assert [action for _who, action, _detail in events] == ["exported", "export_interrupted"]
    stopped = events[1][2]
    assert stopped["why"] == "stopped" and 0 < stopped["rows"] < total


async def test_an_encrypted_download_is_an_aes_zip_of_the_same_file(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await checkins(world, clock)
    csrf = await sign_in(app, client, world.coordinator)
    form = {"csrf": csrf, "format": "csv", "pseudonymise": "1", "encrypt": "1"}
    short = await client.post("/exports", data={**form, "password": "too short"})
    assert short.status_code == 303
    assert short.headers["location"] == "/exports?problem=password"
    assert "at least 12 characters" in (await client.get(short.headers["location"])).text

    password = "correct horse battery staple"
    got = await client.post("/exports", data={**form, "password": password})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    assert got.headers["content-disposition"].endswith('.csv.zip"')
    assert b"case_code" not in got.content  # encrypted, not merely zipped
    with pyzipper.AESZipFile(io.BytesIO(got.content)) as archive:
        archive.setpassword(password.encode())
        (entry,) = archive.infolist()
        assert entry.filename == "answers.csv"
        inside = archive.read(entry)
    cli = io.StringIO(newline="")
    rows = await export_answers(app, cli, "csv", pseudonymise=True)
    assert inside == cli.getvalue().encode()
    events = await export_events(app)
    assert [(action, detail["encrypted"]) for _who, action, detail in events] == [
        ("exported", True),
        ("export_finished", True),
    ]
    assert events[1][2]["rows"] == rows
    assert password not in str(events)

    # A password typed without the box ticked: back to the form, never a plain file.
    plain = await client.post(
        "/exports", data={**form, "encrypt": "", "password": password, "format": "json"}
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == "/exports?problem=encrypt"
    shown = await client.get(plain.headers["location"])
    assert "A password was typed but Encrypt was not ticked." in shown.text
    assert len(await export_events(app)) == 2  # nothing more was exported
    # Without a password and without the box: a plain file.
    bare = await client.post("/exports", data={**form, "encrypt": "", "format": "json"})
    assert bare.headers["content-type"] == "application/json"
    assert len(json.loads(bare.text)) == rows


# --- downloads running at once -----------------------------------------------------------


async def held_download(
    web: Any, cookie: str, csrf: str, go: asyncio.Event
) -> tuple[asyncio.Task[None], asyncio.Event, list[bytes]]:
    """A download straight to the ASGI application whose browser reads its first chunk and
    then nothing until `go` is set: the task, an event set when the first chunk came, and
    the chunks."""
    body = urlencode({"csrf": csrf, "format": "json", "pseudonymise": "1"}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/exports",
        "raw_path": b"/exports",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"web.example.org"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
            (b"cookie", cookie.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("web.example.org", 443),
    }
    started = asyncio.Event()
    chunks: list[bytes] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the browser never goes away
        return {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200
            return
        chunks.append(message["body"])
        started.set()
        await go.wait()

    return asyncio.create_task(web(scope, receive, send)), started, chunks


async def test_two_downloads_at_once_and_one_a_person_the_rest_are_told_to_wait(
    world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = world.app
    await checkins(world, clock, count=2)
    monkeypatch.setattr(storage_export, "BATCH_SIZE", 3)  # many chunks: a download lasts
    web = create_app(app, limiter=RateLimiter(attempts=1000))
    form = {"format": "json", "pseudonymise": "1"}
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE) as first,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE) as second,
    ):
        csrf = await sign_in(app, first, world.coordinator)
        csrf_2 = await sign_in(app, second, world.second_coordinator)
        cookie = "; ".join(f"{name}={value}" for name, value in first.cookies.items())
        go = asyncio.Event()
        task, started, chunks = await held_download(web, cookie, csrf, go)
        await started.wait()

        # The same coordinator again while theirs runs: busy.
        busy = await first.post("/exports", data={**form, "csrf": csrf})
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "60"
        assert "Try again in a minute." in busy.text
        # Another coordinator: a second slot is free.
        assert (await second.post("/exports", data={**form, "csrf": csrf_2})).status_code == 200
        # With one slot in all, the other coordinator waits too.
        monkeypatch.setattr(export_pages, "MOST_DOWNLOADS", 1)
        assert (await second.post("/exports", data={**form, "csrf": csrf_2})).status_code == 503
        # The busy answers made no export and no refusal on record.
        assert [e[1] for e in await export_events(app)].count("exported") == 2
        assert await refusals(app) == []

        go.set()  # the browser reads on: the download ends and its slot is free again
        await asyncio.wait_for(task, timeout=30)
        assert b"".join(chunks).rstrip().endswith(b"]")
        assert (await second.post("/exports", data={**form, "csrf": csrf_2})).status_code == 200

        # A download failing halfway gives its slot back too.
        def failing(self: Any) -> Any:
            async def chunks() -> Any:
                yield b"["
                raise RuntimeError("the database went away")

            return chunks()

        with monkeypatch.context() as broken:
            broken.setattr(export_service.StreamedExport, "chunks", failing)
            with pytest.raises(RuntimeError):
                await first.post("/exports", data={**form, "csrf": csrf})
        assert (await first.post("/exports", data={**form, "csrf": csrf})).status_code == 200

        # And a browser going away halfway (the test above: its connection back in the pool).
        cookie_2 = "; ".join(f"{name}={value}" for name, value in second.cookies.items())
        body, ended = await post_export(app, cookie_2, csrf_2, stop_after=1, spec="2.3", web=web)
        assert body and not ended
        assert (await second.post("/exports", data={**form, "csrf": csrf_2})).status_code == 200
