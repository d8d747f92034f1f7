"""A whole check-in piped through `wegwijzer chat`, then read back with `wegwijzer export`.

The first test runs the installed console script in a subprocess, exactly as a person
scripting it would; the others call the same entry point in this process (`cli.py`). Each
works on a fresh SQLite file.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from .cli import installed, wegwijzer

CHECKIN_NL = [
    "ja",
    "2",
    "3",
    "De hele tijd",
    "4",
    "nooit",
    "1",
    "2",
    "1",
    "1",
    "ja",
    "Wanneer komt u weer langs?",
    "ja",
]
EXPECTED_ANSWERS = {
    "checkin.consent": True,
    "who5.cheerful": 4,
    "who5.calm": 3,
    "who5.active": 5,
    "who5.rested": 2,
    "who5.interested": 0,
    "children.food": "enough",
    "children.school": "missed_some",
    "children.health": "good",
    "children.safe_at_home": "yes",
    "caseworker.wants_to_write": True,
    "caseworker.message": "Wanneer komt u weer langs?",
    "safety.everyone_safe_now": True,
}


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "piped.db"


def test_piped_checkin_is_exported_with_keys_version_and_score(database: Path) -> None:
    chat = installed(database, "chat", "--lang", "nl", stdin="\n".join(CHECKIN_NL) + "\n")
    assert chat.returncode == 0, chat.stderr
    assert "Dank je wel voor je check-in" in chat.stdout

    export = wegwijzer(database, "export", "--format", "json")
    assert export.returncode == 0, export.stderr
    rows = json.loads(export.stdout)
    assert {row["key"]: row["value"] for row in rows} == EXPECTED_ANSWERS
    assert {row["flow_id"] for row in rows} == {"family_checkin"}
    assert {row["flow_version"] for row in rows} == {2}
    assert len({row["run_id"] for row in rows}) == 1
    assert {row["case_code"] for row in rows} == {"DEMO-0001"}
    assert all(row["answered_at"].endswith("+00:00") for row in rows)
    # 4 + 3 + 5 + 2 + 0 = 14: not low (>= 13), but one item at 0 raises the medium flag.
    assert all(row["scores"] == {"who5_raw": 14} for row in rows)
    rules = {flag["rule"] for flag in rows[0]["flags"]}
    assert rules == {"low_wellbeing", "message_for_caseworker"}

    as_csv = wegwijzer(database, "export", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(table) == len(EXPECTED_ANSWERS)
    assert {row["key"] for row in table} == set(EXPECTED_ANSWERS)


def test_unfinished_checkin_resumes_in_the_next_session(database: Path) -> None:
    first = wegwijzer(database, "chat", "--lang", "en", stdin="yes\n1\n2\n")
    assert first.returncode == 0, first.stderr
    assert "I have felt active and vigorous" in first.stdout  # the third WHO-5 item waits

    second = wegwijzer(database, "chat", "--lang", "en", stdin="")
    assert second.returncode == 0, second.stderr
    assert "Welcome back" in second.stdout
    assert "I have felt active and vigorous" in second.stdout

    rows = json.loads(wegwijzer(database, "export").stdout)
    assert {row["key"]: row["value"] for row in rows} == {
        "checkin.consent": True,
        "who5.cheerful": 5,
        "who5.calm": 4,
    }


def test_export_since_a_later_date_is_empty(database: Path) -> None:
    wegwijzer(database, "chat", "--lang", "en", stdin="yes\n1\n")
    export = wegwijzer(database, "export", "--since", "2999-01-01")
    assert export.returncode == 0, export.stderr
    assert json.loads(export.stdout) == []


def test_unknown_case_and_language_are_refused(database: Path) -> None:
    unknown_case = wegwijzer(database, "chat", "--case", "NOPE-0000")
    assert unknown_case.returncode == 1
    assert "no case with code" in unknown_case.stderr
    unknown_language = wegwijzer(database, "chat", "--lang", "xx")
    assert unknown_language.returncode == 2
    assert "unknown language" in unknown_language.stderr


def test_flows_check_reports_a_broken_flow_with_file_and_line(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    source = Path(__file__).parents[2] / "flows" / "family_checkin.yaml"
    broken = source.read_text(encoding="utf-8").replace("goto: declined", "goto: nowhere")
    (flows / "family_checkin.yaml").write_text(broken, encoding="utf-8")
    line = broken.splitlines().index("        goto: nowhere") + 1

    result = wegwijzer(tmp_path / "x.db", "flows", "check", "--flows", str(flows))
    assert result.returncode == 1
    assert f"family_checkin.yaml:{line}: goto 'nowhere' from step 'consent' is not a step" in (
        result.stderr
    )

    good = wegwijzer(tmp_path / "x.db", "flows", "check")
    assert good.returncode == 0, good.stderr
    assert any(line.startswith("ok  family_checkin@2") for line in good.stdout.splitlines())


def test_flows_graph_prints_mermaid() -> None:
    result = wegwijzer(Path("unused.db"), "flows", "graph", "family_checkin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("stateDiagram-v2\n")
    assert "    consent --> declined: checkin.consent = false\n" in result.stdout
    assert "    thanks --> [*]\n" in result.stdout


def test_sos_and_danger_words_in_the_terminal_keep_the_flow(database: Path) -> None:
    chat = wegwijzer(database, "chat", "--lang", "nl", stdin="ja\n/sos\nik ben in gevaar\n1\n")
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.count("Alarmnummer") == 2  # the help for immediate danger
    assert chat.stdout.count("Als je er klaar voor bent, kun je hier verder:") == 2
    rows = json.loads(wegwijzer(database, "export").stdout)
    assert {row["key"]: row["value"] for row in rows}["who5.cheerful"] == 5  # flow went on

    staff = wegwijzer(database, "chat", "--as", "coordinator", "--lang", "en", stdin="/flags\n")
    assert "[urgent] case DEMO-0001 — The person asked for help now (emergency route)." in (
        staff.stdout
    )
    assert staff.stdout.count("[urgent]") == 1  # the second alarm added to the open flag
