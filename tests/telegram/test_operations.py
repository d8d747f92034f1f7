"""The operations endpoint of a running bot: health, readiness and Prometheus metrics.

The bot runs as `wegwijzer run` runs it (`serve`) against the fake Bot API, with
OPERATIONS_PORT set (0: a free port, read back from `Activity`); the test reads the endpoint
over HTTP like Prometheus or a load balancer would. The database reading behind the gauges
is taken afresh at every scrape here (READING_SECONDS 0), so what a test just did shows.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.operations import METRIC_NAMES
from tests.databases import empty_tables
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.tcp_proxy import TcpProxy

from .conftest import Clock, RunningBot, family_at_first_who5, person, staff

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(autouse=True)
def _read_at_every_scrape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.operations._server.READING_SECONDS", 0.0)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, operations_port=0)


async def get(bot: RunningBot, path: str) -> httpx.Response:
    port = bot.activity.operations_port
    assert port is not None, "the operations endpoint is not listening"
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}", timeout=10)


async def scrape(bot: RunningBot) -> tuple[str, Samples]:
    response = await get(bot, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_health_readiness_and_metrics_follow_what_the_bot_does(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    alive = await get(bot, "/healthz")
    assert (alive.status_code, alive.json()) == (200, {"alive": True})
    ready = await get(bot, "/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "outbox", "bot_api"}
    assert all(check["ok"] for check in checks.values())
    assert checks["outbox"]["seconds"] == 0
    assert checks["bot_api"]["seconds_since_answer"] is not None  # getMe, setMyCommands...

    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    await bot.idle(api)
    _, before = await scrape(bot)

    family.press("Nooit")
    await family.expect("In de afgelopen twee weken")
    await bot.idle(api)
    _, after = await scrape(bot)
    handled = "wegwijzer_updates_handled_total"
    assert value(after, handled) == value(before, handled) + 1
    stored = "wegwijzer_answers_stored_total"
    assert value(after, stored) == value(before, stored) + 1
    timed = "wegwijzer_update_handling_seconds_count"
    assert value(after, timed) == value(before, timed) + 1
    answered = ("wegwijzer_bot_api_call_seconds_count", "answerCallbackQuery")
    assert value(after, answered[0], method=answered[1]) > value(
        before, answered[0], method=answered[1]
    )
    assert value(after, "wegwijzer_open_flags", level="urgent") == 0

    family.command("/sos")
    await caseworker.expect("New urgent flag")
    await bot.idle(api)
    text, alarmed = await scrape(bot)
    raised = "wegwijzer_alarms_raised_total"
    assert value(alarmed, raised, level="urgent", kind="immediate_danger") == 1
    assert value(alarmed, "wegwijzer_notices_queued_total", urgent="true") >= 1
    assert value(alarmed, "wegwijzer_notices_delivered_total", urgent="true") >= 1
    assert value(alarmed, "wegwijzer_open_flags", level="urgent") == 1
    assert value(alarmed, "wegwijzer_overdue_flags", level="urgent") == 0
    assert value(alarmed, "wegwijzer_outbox_age_seconds") == 0
    assert value(alarmed, "wegwijzer_database_up") == 1
    for name in METRIC_NAMES:
        assert re.search(rf"^{name}(_bucket|_count)?[{{ ]", text, re.M), f"{name} not scraped"

    # Nobody is in the scrape: no chat id, case code, token or word of a message. (Only the
    # values are left out of the search: a count or a timestamp may hold any digits.)
    described = "\n".join(line.rsplit(" ", 1)[0] for line in text.splitlines())
    for secret in (str(family.chat_id), str(caseworker.chat_id), case_code, api.token):
        assert secret not in described
    labels = {v for (_, pairs) in alarmed for _, v in pairs}
    assert all(re.fullmatch(r"[a-zA-Z_]+|[0-9.]+|\+Inf", label) for label in labels), labels


async def test_the_bot_api_histogram_is_by_method_only(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    await staff(api, wegwijzer, 2001, "caseworker", case_code)
    await bot.idle(api)
    _, samples = await scrape(bot)
    methods = {
        dict(pairs)["method"]
        for (name, pairs) in samples
        if name == "wegwijzer_bot_api_call_seconds_count"
    }
    assert {"getMe", "getUpdates", "sendMessage", "answerCallbackQuery"} <= methods
    assert methods <= {call.method for call in api.calls}


def listening_ports() -> set[int]:
    """The TCP ports this process listens on (Linux: its sockets' inodes, found in the
    kernel's tables of listening sockets)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="reads Linux's /proc")
async def test_without_the_setting_nothing_listens(
    api: FakeBotAPI, wegwijzer: Wegwijzer, settings: Settings
) -> None:
    app = replace(wegwijzer, settings=replace(settings, operations_port=None))
    before = listening_ports()
    assert api.port in before  # the check sees this process's listening sockets
    unlisted = RunningBot(app)
    await unlisted.start()
    try:
        assert unlisted.activity.operations_port is None
        assert listening_ports() == before
    finally:
        await unlisted.stop()
    # And with it, exactly one port more while the bot runs, none after.
    listed = RunningBot(wegwijzer)
    await listed.start()
    try:
        assert listening_ports() == before | {listed.activity.operations_port}
    finally:
        await listed.stop()
    assert listening_ports() == before


@pytest.fixture
async def behind_proxy(
    postgres_url: str, settings: Settings, clock: Clock, assets: Assets
) -> AsyncIterator[tuple[TcpProxy, Wegwijzer]]:
    """The bot's database on PostgreSQL, through a proxy the test cuts (the shared server
    itself is never stopped)."""
    target = make_url(postgres_url)
    async with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        app = await bootstrap(
            replace(settings, database_url=url), clock=clock, assets=assets, migrate=False
        )
        try:
            await empty_tables(app.database)
            yield proxy, app
        finally:
            await app.close()


async def test_readiness_names_the_database_while_postgresql_is_cut_away(
    api: FakeBotAPI, behind_proxy: tuple[TcpProxy, Wegwijzer]
) -> None:
    proxy, app = behind_proxy
    running = RunningBot(app)
    await running.start()
    try:
        assert (await get(running, "/readyz")).status_code == 200
        await proxy.cut()
        down = await get(running, "/readyz")
        assert down.status_code == 503
        body: dict[str, Any] = down.json()
        assert body["ready"] is False
        assert body["checks"]["database"] == {
            "ok": False,
            "error": "Unavailable",
            "limit": 2.0,
        }
        assert body["checks"]["bot_api"]["ok"] is True
        assert (await get(running, "/healthz")).status_code == 200  # alive all the same
        _, samples = await scrape(running)
        assert value(samples, "wegwijzer_database_up") == 0

        await proxy.restore()
        # The cut connections are dropped (the pool's check on checkout) and the next reading
        # finds the server again.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (await get(running, "/readyz")).status_code != 200:
            assert loop.time() < deadline, "not ready again after the database came back"
    finally:
        await running.stop()


async def test_a_port_already_taken_leaves_the_bot_running_without_the_endpoint(
    api: FakeBotAPI, wegwijzer: Wegwijzer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = replace(wegwijzer, settings=replace(settings, operations_port=port))
        running = RunningBot(app)
        await running.start()
        try:
            assert running.activity.operations_port is None
            stranger = person(api, 9001, "Onbekend", language="nl")
            stranger.command("/sos")
            await stranger.expect("Alarmnummer")  # the bot answers all the same
        finally:
            await running.stop()
    assert any(
        record.levelname == "CRITICAL" and record.msg == "operations endpoint not started"
        for record in caplog.records
    )
