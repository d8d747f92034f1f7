"""`wegwijzer run --with-web` (what `make run` runs when WEB_BASE_URL is set): the bot and the
web view in one process and event loop, both stopped cleanly by SIGTERM; a web view that
cannot start is said loudly and the bot runs on without it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from bot.config import PROJECT_ROOT
from tests.console.cli import wegwijzer
from tests.fakes.bot_api import FakeBotAPI

from .test_browser import free_port


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@asynccontextmanager
async def run_with_web(
    api: FakeBotAPI, tmp_path: Path, web_port: int
) -> AsyncIterator[tuple[subprocess.Popen[bytes], Path]]:
    """`wegwijzer run --with-web` polling the fake Bot API, its web view on `web_port`; the
    process and the file its stderr goes to. Stopped with SIGTERM at the end, its exit code
    checked: 0."""
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--with-web"],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                "ALARM_JOURNAL": str(tmp_path / "alarms.jsonl"),
                "UPDATE_INBOX": str(tmp_path / "updates.jsonl"),
                "TELEGRAM_BOT_TOKEN": api.token,
                "TELEGRAM_BASE_URL": api.base_url,
                "WEB_BASE_URL": f"http://127.0.0.1:{web_port}",
                "WEB_PORT": str(web_port),
                "WEB_COOKIE_SECURE": "false",
                "LOG_LEVEL": "WARNING",
            },
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    try:
        # Polling starts right after deleteWebhook: the bot is up (and the web view, which
        # starts first, is up or said it could not start).
        await api.wait_for(lambda _calls: api.count("deleteWebhook") > 0, timeout=60)
        yield process, errors
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:  # waited for in a thread: the fake Bot API must answer the bot's last calls
            code = await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, errors.read_text()


async def test_the_bot_and_the_web_view_run_in_one_process_and_stop_on_sigterm(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    port = free_port()
    async with run_with_web(api, tmp_path, port) as (process, errors):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as browser:
            home = await browser.get("/")
            assert home.status_code == 401 and "/web" in home.text
            assert home.headers["x-frame-options"] == "DENY"
        assert process.poll() is None
    said = errors.read_text()
    assert f"web view on http://127.0.0.1:{port}" in said
    assert "Traceback" not in said


async def test_a_web_view_that_cannot_start_is_said_and_the_bot_runs_on(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        async with run_with_web(api, tmp_path, port) as (process, errors):
            said = errors.read_text()
            assert f"the web view could not listen on http://127.0.0.1:{port}" in said
            assert "the bot runs without it" in said
            assert "Traceback" not in said
            # The bot itself is polling for updates.
            await api.wait_for(lambda _calls: api.count("getUpdates") > 0, timeout=30)
            assert process.poll() is None


def test_with_web_needs_web_base_url(tmp_path: Path) -> None:
    ran = wegwijzer(tmp_path / "bot.db", "run", "--with-web", env={"WEB_BASE_URL": ""})
    assert ran.returncode == 2
    assert "--with-web needs WEB_BASE_URL" in ran.stderr


def test_make_run_adds_the_web_view_only_when_web_base_url_is_set() -> None:
    def recipe(**env: str) -> str:
        # Not the outer make's own variables either (under `make test` this is a sub-make,
        # which would say which directory it enters and leaves).
        outer = {"WEB_BASE_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
        variables = {key: value for key, value in os.environ.items() if key not in outer}
        variables.update(env)
        done = subprocess.run(
            ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", "run"],
            cwd=PROJECT_ROOT,
            env=variables,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.splitlines()[-1]

    assert recipe().endswith("/wegwijzer run ")
    assert recipe(WEB_BASE_URL="https://bot.example.org").endswith("/wegwijzer run --with-web")
