"""`wegwijzer schedule set|list|pause|resume`: check-in reminders from the command line.

Run in-process through `bot.cli.main` (fast) against a fresh SQLite file, with one run of the
installed console script to show the real entry point prints the same. The command line works
on the real clock, so the times are checked for their shape (a Monday, 18:00 local, in the
future, UTC and local the same moment), not for a date.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import cli

from .cli import installed


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "schedules.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("TIMEZONE", raising=False)
    # The CLI sets up logging on the root logger; in-process that would outlive the test.
    monkeypatch.setattr("bot.logs.configure", lambda level="WARNING": None)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def new_case(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run(capsys, "case", "create", "--programme", "family_strengthening")
    assert code == 0, err
    return out.strip()


def check_times(shown: dict[str, Any], zone: str, weekday: int, hour: int, minute: int) -> None:
    """next_due_utc and next_due_local: the same future moment, at the local time asked for."""
    utc = datetime.fromisoformat(shown["next_due_utc"])
    local = datetime.fromisoformat(shown["next_due_local"])
    assert utc.utcoffset().total_seconds() == 0
    assert utc == local and utc > datetime.now(UTC)
    assert local.utcoffset() == utc.astimezone(ZoneInfo(zone)).utcoffset()
    assert (local.weekday(), local.hour, local.minute) == (weekday, hour, minute)


def test_set_list_pause_resume(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = new_case(capsys), new_case(capsys)
    code, out, err = run(capsys, "schedule", "set", "--case", first, "weekly", "mon", "18:00")
    assert code == 0, err
    created = json.loads(out)
    assert (created["case"], created["cadence"], created["status"]) == (
        first,
        "weekly mon 18:00",
        "active",
    )
    check_times(created, "Europe/Amsterdam", 0, 18, 0)
    # WHEN may be one quoted word too; the case code in any case; a timezone of the family's.
    code, out, err = run(
        capsys,
        "schedule",
        "set",
        "--case",
        second.lower(),
        "weekly fri 09:30",
        "--timezone",
        "Africa/Nairobi",
    )
    assert code == 0, err
    check_times(json.loads(out), "Africa/Nairobi", 4, 9, 30)

    code, out, err = run(capsys, "schedule", "list", "--json")
    assert code == 0, err
    listing = {entry["case"]: entry for entry in json.loads(out)}
    assert set(listing) == {first, second}
    for entry in listing.values():
        assert {"next_due_utc", "next_due_local", "timezone", "status", "missed"} <= set(entry)
    check_times(listing[first], "Europe/Amsterdam", 0, 18, 0)
    check_times(listing[second], "Africa/Nairobi", 4, 9, 30)
    assert listing[second]["next_due_local"].endswith("+03:00")

    code, out, err = run(capsys, "schedule", "pause", "--case", first)
    assert code == 0, err
    paused = json.loads(out)
    assert (paused["status"], paused["paused_by"], paused["next_due_utc"]) == (
        "paused",
        "operator",
        None,
    )
    code, out, _ = run(capsys, "schedule", "list")  # the plain listing says so too
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith(first)]
    assert "paused by operator" in line

    code, out, err = run(capsys, "schedule", "resume", "--case", first)
    assert code == 0, err
    resumed = json.loads(out)
    assert resumed["status"] == "active" and resumed["paused_by"] is None
    check_times(resumed, "Europe/Amsterdam", 0, 18, 0)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (["weekly", "someday", "18:00"], "unknown weekday"),
        (["fortnightly", "18:00"], "cannot read"),
        (["weekly", "mon", "25:00"], "there is no time"),
        (["monthly", "32", "10:00"], "day of the month"),
    ],
)
def test_a_schedule_that_cannot_be_read_exits_2_saying_why(
    database: Path, capsys: pytest.CaptureFixture[str], when: list[str], message: str
) -> None:
    case = new_case(capsys)
    code, out, err = run(capsys, "schedule", "set", "--case", case, *when)
    assert code == 2
    assert out == "" and message in err
    code, out, _ = run(capsys, "schedule", "list", "--json")
    assert json.loads(out) == []  # nothing was set


def test_unknown_cases_timezones_and_cases_without_a_schedule(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = new_case(capsys)
    code, _, err = run(capsys, "schedule", "set", "--case", "ZZZ-9999", "weekly", "mon", "18:00")
    assert code == 2 and "no case with code" in err
    code, _, err = run(
        capsys, "schedule", "set", "--case", case, "weekly mon 18:00", "--timezone", "Mars/Base"
    )
    assert code == 2 and "unknown timezone" in err
    for action in ("pause", "resume"):
        code, _, err = run(capsys, "schedule", action, "--case", case)
        assert code == 2 and "has no schedule" in err


def test_the_installed_command_lists_next_due_in_utc_and_local_time(tmp_path: Path) -> None:
    database = tmp_path / "installed.db"
    made = installed(database, "case", "create", "--programme", "kinship_care")
    assert made.returncode == 0, made.stderr
    case = made.stdout.strip()
    done = installed(database, "schedule", "set", "--case", case, "weekly", "mon", "18:00")
    assert done.returncode == 0, done.stderr
    listed = installed(database, "schedule", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert entry["case"] == case
    check_times(entry, "Europe/Amsterdam", 0, 18, 0)
