"""`wegwijzer case child add|list|set|remove`: a case's children, by number, never by name."""

from __future__ import annotations

import json
from pathlib import Path

from .cli import wegwijzer


def test_children_are_added_listed_changed_and_removed(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    code = wegwijzer(database, "case", "create", "--programme", "simba_family_care").stdout.strip()
    first = wegwijzer(
        database,
        "case", "child", "add", code,
        "--born", "2012", "--placement", "simba_family_home", "--siblings", "A", "--together",
        "--json",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {
        "number": 1,
        "label": None,
        "born": 2012,
        "placement": "simba_family_home",
        "sibling_group": "A",
        "with_siblings": True,
    }
    second = wegwijzer(
        database, "case", "child", "add", code.lower(), "--label", "eldest", "--born", "2009",
        "--placement", "kinship_care", "--siblings", "A", "--apart",
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert second.stdout.split()[:2] == ["2", "eldest"]

    moved = wegwijzer(
        database, "case", "child", "set", code, "2", "--placement", "simba_family_home",
        "--together",
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    listed = json.loads(wegwijzer(database, "case", "child", "list", code, "--json").stdout)
    assert [(c["number"], c["placement"], c["with_siblings"]) for c in listed] == [
        (1, "simba_family_home", True),
        (2, "simba_family_home", True),
    ]
    plain = wegwijzer(database, "case", "child", "list", code).stdout.splitlines()
    assert plain[1].split()[:4] == ["2", "eldest", "born", "2009"]
    assert "siblings A (together)" in plain[1]

    removed = wegwijzer(database, "case", "child", "remove", code, "1")
    assert removed.returncode == 0, removed.stderr
    left = json.loads(wegwijzer(database, "case", "child", "list", code, "--json").stdout)
    assert [c["number"] for c in left] == [2]


def test_refusals_say_why(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    code = wegwijzer(database, "case", "create", "--programme", "foster_care").stdout.strip()
    unknown = wegwijzer(database, "case", "child", "add", "ZZZ-2222", "--born", "2015")
    assert unknown.returncode == 2 and "no case with code" in unknown.stderr
    too_old = wegwijzer(database, "case", "child", "add", code, "--born", "1900")
    assert too_old.returncode == 2 and "year of birth" in too_old.stderr
    placement = wegwijzer(database, "case", "child", "add", code, "--placement", "orphanage")
    assert placement.returncode == 2 and "invalid choice" in placement.stderr
    both = wegwijzer(database, "case", "child", "add", code, "--together", "--apart")
    assert both.returncode == 2
    nothing = wegwijzer(database, "case", "child", "set", code, "1")
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    missing = wegwijzer(database, "case", "child", "set", code, "7", "--born", "2015")
    assert missing.returncode == 2 and "no child 7" in missing.stderr
