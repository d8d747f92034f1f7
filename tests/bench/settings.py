"""The settings every bench runs with: the defaults, on a throw-away database sealed with a
throw-away key ring (what a bench stores is invented and deleted with its folder)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.config import Settings
from bot.storage.crypto import Keyring


def bench_settings(**changes: Any) -> Settings:
    return replace(
        Settings.from_env({}), encryption_keys=Keyring.generate("bench").to_json(), **changes
    )
