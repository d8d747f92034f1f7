"""The web view's settings: a public https address, and a cookie that is Secure everywhere but
on this very machine."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.config import ConfigError, Settings


def test_the_base_url_must_be_https_or_this_machine() -> None:
    assert Settings.from_env({"WEB_BASE_URL": "https://bot.example.org/"}).web_base_url == (
        "https://bot.example.org"
    )
    assert Settings.from_env({"WEB_BASE_URL": "http://127.0.0.1:8080"}).web_base_url
    for wrong in ("http://bot.example.org", "http://localhost.evil.example", "ftp://x"):
        with pytest.raises(ConfigError, match="WEB_BASE_URL"):
            Settings.from_env({"WEB_BASE_URL": wrong})
    assert Settings.from_env({}).web_base_url is None


def test_the_cookie_goes_without_secure_only_on_this_machine() -> None:
    assert Settings.from_env({}).web_cookie_secure
    local = {"WEB_BASE_URL": "http://localhost:8080", "WEB_COOKIE_SECURE": "false"}
    assert not Settings.from_env(local).web_cookie_secure
    for base in ("https://bot.example.org", ""):
        with pytest.raises(ConfigError, match="WEB_COOKIE_SECURE"):
            Settings.from_env({"WEB_BASE_URL": base, "WEB_COOKIE_SECURE": "false"})
    with pytest.raises(ConfigError, match="WEB_COOKIE_SECURE"):
        Settings.from_env({"WEB_COOKIE_SECURE": "maybe"})


def test_the_durations_and_port_are_read() -> None:
    settings = Settings.from_env(
        {
            "WEB_PORT": "9000",
            "WEB_LISTEN": "0.0.0.0",
            "WEB_LINK_MINUTES": "5",
            "WEB_IDLE_MINUTES": "15",
            "WEB_SESSION_HOURS": "8",
        }
    )
    assert (settings.web_port, settings.web_listen) == (9000, "0.0.0.0")
    assert (settings.web_link_minutes, settings.web_idle_minutes) == (5, 15)
    assert settings.web_session_hours == 8


def test_wegwijzer_web_needs_the_base_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WEB_BASE_URL", raising=False)
    assert main(["web"]) == 2
    assert "WEB_BASE_URL" in capsys.readouterr().err


def test_the_trusted_proxies_are_addresses_or_networks() -> None:
    assert Settings.from_env({}).web_forwarded_allow_ips == ("127.0.0.1", "::1")
    chosen = {"WEB_FORWARDED_ALLOW_IPS": " 10.0.0.2, 10.1.0.0/24 "}
    assert Settings.from_env(chosen).web_forwarded_allow_ips == ("10.0.0.2", "10.1.0.0/24")
    for wrong in ("*", "proxy.example", "10.0.0.2,*"):
        with pytest.raises(ConfigError, match="WEB_FORWARDED_ALLOW_IPS"):
            Settings.from_env({"WEB_FORWARDED_ALLOW_IPS": wrong})
