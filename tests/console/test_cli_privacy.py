"""`wegwijzer privacy map`: a row per column of the models, valid JSON, and exit 1 when a
column has no description."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.storage import privacy_map
from bot.storage.privacy_map import DESCRIPTIONS, column_names

from .cli import wegwijzer


def test_the_map_prints_a_row_per_column_and_the_files(tmp_path: Path) -> None:
    ran = wegwijzer(tmp_path / "db.sqlite", "privacy", "map")
    assert ran.returncode == 0, ran.stderr
    rows = {line.split()[0]: line for line in ran.stdout.splitlines() if line.startswith("  ")}
    for name in column_names():
        assert name in rows, name
    external_id = rows["person.external_id"].split()
    assert external_id[1:5] == ["identifying", "reaching", "contact", "yes"]
    assert "90 days after the person left" in ran.stdout  # the term, from privacy.yaml
    for file in ("alarm journal", "update inbox", "invite QR image", "key ring"):
        assert f"\n{file}" in ran.stdout
    assert str(tmp_path / "db.sqlite") in ran.stdout  # where this deployment keeps it
    # The map opens no database: nothing was created.
    assert not (tmp_path / "db.sqlite").exists()


def test_the_map_as_json(tmp_path: Path) -> None:
    ran = wegwijzer(tmp_path / "db.sqlite", "privacy", "map", "--json")
    assert ran.returncode == 0, ran.stderr
    document = json.loads(ran.stdout)
    columns = document["columns"]
    assert [f"{c['table']}.{c['column']}" for c in columns] == list(column_names())
    value = next(c for c in columns if c["table"] == "answer" and c["column"] == "value")
    assert value["categories"] == ["special category", "free text"]
    assert value["encrypted"] is True
    assert value["term"].startswith("20 years after the case is closed")
    assert document["retention"]["processed_updates"].startswith("2 days")
    assert {f["file"] for f in document["files"]} >= {"update inbox (UPDATE_INBOX)"}
    assert document["legal_basis"] == "public_task"


def test_a_column_without_a_description_fails_the_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without = {name: d for name, d in DESCRIPTIONS.items() if name != "flag.evidence"}
    monkeypatch.setattr(privacy_map, "DESCRIPTIONS", without)
    ran = wegwijzer(tmp_path / "db.sqlite", "privacy", "map")
    assert ran.returncode == 1
    assert "no description for flag.evidence" in ran.stderr
    assert ran.stdout == ""
