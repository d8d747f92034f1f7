"""`/web` in the terminal chat: staff get the same one-time link as on Telegram, families
none."""

from __future__ import annotations

import re
from pathlib import Path

from .cli import wegwijzer

BASE = "https://web.example.org"


def test_a_coordinator_gets_a_link_in_the_terminal_and_a_family_none(tmp_path: Path) -> None:
    database = tmp_path / "web.db"
    env = {"WEB_BASE_URL": BASE}
    staff = wegwijzer(
        database, "chat", "--as", "coordinator", "--lang", "en", stdin="/web\n", env=env
    )
    assert staff.returncode == 0, staff.stderr
    assert re.search(re.escape(BASE) + r"/login/[\w-]+\.[\w-]+", staff.stdout), staff.stdout
    family = wegwijzer(database, "chat", "--as", "family", "--lang", "en", stdin="/web\n", env=env)
    assert family.returncode == 0, family.stderr
    assert "/web is not available for your role." in family.stdout
    assert "/login/" not in family.stdout
