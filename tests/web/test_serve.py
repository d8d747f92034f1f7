"""`wegwijzer web` itself: a process that migrates the database, serves the view with uvicorn
on the port asked for, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.config import PROJECT_ROOT
from tests.console.cli import environment

from .test_browser import free_port


def test_wegwijzer_web_serves_and_stops(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = environment(tmp_path / "web.db", {"WEB_BASE_URL": base, "WEB_COOKIE_SECURE": "false"})
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "web", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        home = None
        while home is None:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "wegwijzer web did not answer within 60 s"
            try:
                home = httpx.get(f"{base}/", timeout=5)
            except httpx.TransportError:
                time.sleep(0.1)  # not listening yet: ask again
        assert home.status_code == 401 and "/web" in home.text
        assert home.headers["x-frame-options"] == "DENY"
        assert "server" not in home.headers  # uvicorn does not announce itself
        assert httpx.get(f"{base}/static/style.css", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"web view on http://127.0.0.1:{port}" in err
