"""The operator's commands on an erased case: each refuses it with one message and exit 1,
while the audit log, the person export and the data export still read its tombstone."""

from __future__ import annotations

import json
from pathlib import Path

from .cli import wegwijzer

ERASED = "was erased: only its code is kept, nothing can be done with it"


def erased_case(database: Path) -> str:
    created = wegwijzer(database, "case", "create", "--programme", "foster_care")
    assert created.returncode == 0, created.stderr
    code = created.stdout.strip()
    done = wegwijzer(database, "person", "erase", code, "--reason", "asked (invented)", "--yes")
    assert done.returncode == 0, done.stderr
    return code


def test_every_command_that_acts_on_an_erased_case_refuses_it(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    code = erased_case(database)
    username = {"TELEGRAM_BOT_USERNAME": "wegwijzer_test_bot"}
    for args, env in [
        (("invite", "--role", "family", "--case", code), username),
        (("schedule", "set", "--case", code, "weekly", "mon", "18:00"), None),
        (("case", "stage", code, "preparation"), None),
        (("case", "visit", code), None),
        (("case", "assign", code, "1"), None),
        (("case", "child", "add", code, "--born", "2019"), None),
        (("person", "erase", code, "--reason", "again", "--yes"), None),
    ]:
        ran = wegwijzer(database, *args, env=env)
        assert (ran.returncode, ran.stdout) == (1, ""), (args, ran.stderr)
        assert ran.stderr.strip() == f"wegwijzer: case {code} {ERASED}", args
    held = wegwijzer(database, "case", "hold", code, "--reason", "a complaint")
    assert held.returncode == 1 and "erased" in held.stderr


def test_the_history_of_an_erased_case_is_still_read(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    code = erased_case(database)
    logged = wegwijzer(database, "audit", "--case", code, "--json")
    assert logged.returncode == 0, logged.stderr
    assert "data_erased" in [entry["action"] for entry in json.loads(logged.stdout)]
    exported = wegwijzer(database, "person", "export", code, "--output", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    tables = json.loads((tmp_path / "out" / f"{code}.json").read_text(encoding="utf-8"))["tables"]
    assert tables["case_file"][0]["erased_at"] is not None
    for form in ("json", "csv"):
        out = tmp_path / f"all.{form}"
        done = wegwijzer(database, "export", "--format", form, "--output", str(out))
        assert done.returncode == 0, done.stderr
