"""`wegwijzer retention run` and `wegwijzer case hold|release` as an operator uses them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from bot.storage import Case, Database

from .cli import wegwijzer


def close_long_ago(database: Path, code: str, years: int) -> None:
    """The case was closed `years` ago (the command line runs on the real clock)."""

    async def close() -> None:
        db = Database.connect(f"sqlite:///{database}")
        try:
            async with db.engine.begin() as conn:
                closed = datetime.now(UTC) - timedelta(days=365 * years + 10)
                await conn.execute(
                    update(Case).where(Case.code == code).values(status="closed", closed_at=closed)
                )
        finally:
            await db.dispose()

    asyncio.run(close())


def new_case(database: Path) -> str:
    created = wegwijzer(database, "case", "create", "--programme", "foster_care")
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def test_a_dry_run_says_what_a_run_then_removes(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    old, younger = new_case(database), new_case(database)
    close_long_ago(database, old, 21)
    close_long_ago(database, younger, 19)

    dry = wegwijzer(database, "retention", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0].startswith("retention dry run: nothing removed at ")
    (case_line,) = [line for line in lines if line.split()[0] == "case_file"]
    assert case_line.split()[1:5] == ["1", "cases", "would", "be"]
    assert "closed before" in case_line and case_line.endswith("(20 years)")
    assert lines[-1] == "  exports and QR images: never kept by the bot, nothing to remove"

    ran = wegwijzer(database, "retention", "run", "--json")
    assert ran.returncode == 0, ran.stderr
    removed = json.loads(ran.stdout)
    assert removed["dry_run"] is False
    assert {kind: v["count"] for kind, v in removed["kinds"].items()} == {
        "contact": 0,
        "case_file": 1,
        "processed_updates": 0,
        "notices": 0,
        "invites": 0,
    }
    assert removed["kinds"]["contact"]["term"] == "90 days"
    assert removed["not_kept"] == ["exports", "QR images"]

    logged = json.loads(wegwijzer(database, "audit", "--json").stdout)
    (event,) = [e for e in logged if e["action"] == "retention_run"]
    assert event["actor_role"] == "operator" and event["note"] is None
    assert event["detail"]["kinds"]["case_file"]["count"] == 1

    again = wegwijzer(database, "retention", "run")
    assert again.returncode == 0, again.stderr
    (case_line,) = [line for line in again.stdout.splitlines() if "case_file" in line]
    assert case_line.split()[1:4] == ["0", "cases", "erased"]


def test_a_case_on_hold_is_kept_until_released(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    code = new_case(database)
    close_long_ago(database, code, 25)

    held = wegwijzer(database, "case", "hold", code.lower(), "--reason", "invented ref 12/345")
    assert held.returncode == 0, held.stderr
    assert held.stdout.startswith(f"case {code}: on legal hold from ")
    twice = wegwijzer(database, "case", "hold", code, "--reason", "again")
    assert twice.returncode == 1 and "on legal hold already" in twice.stderr

    kept = wegwijzer(database, "retention", "run")
    assert "1 case(s) past their term kept by a legal hold" in kept.stdout

    released = wegwijzer(database, "case", "release", code, "--reason", "invented: closed")
    assert released.returncode == 0, released.stderr
    assert "legal hold released" in released.stdout
    not_held = wegwijzer(database, "case", "release", code, "--reason", "again")
    assert not_held.returncode == 1 and "not on legal hold" in not_held.stderr

    erased = json.loads(wegwijzer(database, "retention", "run", "--json").stdout)
    assert erased["kinds"]["case_file"]["count"] == 1
    too_late = wegwijzer(database, "case", "hold", code, "--reason", "too late")
    assert too_late.returncode == 1 and "erased" in too_late.stderr

    unknown = wegwijzer(database, "case", "hold", "NOP-0000", "--reason", "x")
    assert unknown.returncode == 1 and "no case with code" in unknown.stderr
    blank = wegwijzer(database, "case", "hold", new_case(database), "--reason", "  ")
    assert blank.returncode == 2 and "needs a reason" in blank.stderr
    no_reason = wegwijzer(database, "case", "hold", code)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
