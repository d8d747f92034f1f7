"""The settings every bench runs with: the defaults, on a throw-away database sealed with a
throw-away key ring (what a bench stores is invented and deleted with its folder)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.config import Settings
from bot.storage.crypto import Keyring


def bench_settings(**changes: Any) -> Settings:
    """Bots of one bench in one process share a key ring (`encryption_keys`): the active one
    is the process's, and a second would make the first bot's people strangers to it."""
    keys = changes.pop("encryption_keys", None) or Keyring.generate("bench").to_json()
    return replace(Settings.from_env({}), encryption_keys=keys, **changes)
