"""`wegwijzer case create` and `wegwijzer invite`: codes, links, QR codes, refusals."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from .cli import Ran, wegwijzer

CASE_CODE = re.compile(r"^[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(database: Path, *args: str) -> Ran:
    return wegwijzer(database, *args, env={"TELEGRAM_BOT_USERNAME": "@wegwijzer_test_bot"})


def test_case_create_prints_a_pseudonymous_code(tmp_path: Path) -> None:
    plain = run(tmp_path / "db.sqlite", "case", "create", "--programme", "kinship_care")
    assert plain.returncode == 0, plain.stderr
    assert CASE_CODE.match(plain.stdout.strip())

    as_json = run(tmp_path / "db.sqlite", "case", "create", "--programme", "foster_care", "--json")
    created = json.loads(as_json.stdout)
    assert created["programme"] == "foster_care" and CASE_CODE.match(created["code"])
    assert created["code"] != plain.stdout.strip()

    unknown = run(tmp_path / "db.sqlite", "case", "create", "--programme", "orphanage")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


def test_family_invite_as_json_with_a_qr_code(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    code = run(database, "case", "create", "--programme", "sos_family").stdout.strip()
    qr = tmp_path / "invite.png"
    made = run(database, "invite", "--role", "family", "--case", code, "--json", "--qr", str(qr))
    assert made.returncode == 0, made.stderr
    invite = json.loads(made.stdout)
    assert invite["link"] == f"https://t.me/wegwijzer_test_bot?start={invite['code']}"
    # Telegram's deep links take up to 64 characters of A-Z, a-z, 0-9, _ and -.
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", invite["code"])
    assert qr.read_bytes().startswith(PNG_SIGNATURE)
    # The link lets whoever scans it join the case: readable by its owner only (even when
    # a world-readable file of that name was there before).
    assert stat.S_IMODE(qr.stat().st_mode) == 0o600
    qr.chmod(0o644)
    previous = os.umask(0o022)
    try:
        run(database, "invite", "--role", "family", "--case", code, "--qr", str(qr))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(qr.stat().st_mode) == 0o600

    again = json.loads(run(database, "invite", "--role", "family", "--case", code, "--json").stdout)
    assert again["code"] != invite["code"], "every invite is a new, single-use code"


def test_staff_invites_and_refusals(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    coordinator = run(database, "invite", "--role", "coordinator", "--json")
    assert coordinator.returncode == 0, coordinator.stderr
    assert json.loads(coordinator.stdout)["link"].startswith("https://t.me/wegwijzer_test_bot")

    no_case = run(database, "invite", "--role", "family")
    assert no_case.returncode == 2 and "needs --case" in no_case.stderr
    unknown = run(database, "invite", "--role", "family", "--case", "ZZZ-2222")
    assert unknown.returncode == 1 and "no case with code" in unknown.stderr
    coordinator_case = run(database, "invite", "--role", "coordinator", "--case", "ZZZ-2222")
    assert coordinator_case.returncode == 2


def test_run_without_a_token_says_what_to_set(tmp_path: Path) -> None:
    result = run(tmp_path / "db.sqlite", "run")
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
