"""Reviewing flags and cases in the terminal, and reading it back on the command line.

A family reports a child not safe at home (piped through `wegwijzer chat`); a coordinator
finds the flag with `/flags`, opens it, acknowledges and resolves it; `wegwijzer flags` and
`wegwijzer audit` show each step. Caseworkers see only their own cases' flags, and every
look at answers — in the bot or by an export — is in the audit log.

Like test_piped_chat.py this runs the console script's entry point against a fresh SQLite
file. The console has one person per staff role ("console:caseworker"), who becomes the
caseworker of the case the console is first opened with when that case has none. Buttons
show in the terminal as the commands that do the same: "/flag 12 ack — Acknowledge".
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import re
from pathlib import Path

import pytest

from .cli import wegwijzer

# A whole check-in in English: WHO-5 5, 4, 5, 4, 5 (raw 23, 92 %); the children not safe at
# home ("No"); no message; everyone safe right now. Raises exactly one flag: urgent.
CHECKIN_UNSAFE_EN = ["yes", "1", "2", "1", "2", "1", "1", "2", "1", "3", "no", "yes"]
# The same in Dutch, by number where the labels are Dutch.
CHECKIN_UNSAFE_NL = ["ja", "1", "2", "1", "2", "1", "1", "2", "1", "3", "nee", "ja"]
# WHO-5 3 × 5 (raw 15, 60 %): a relevant drop after 92, but no flag; the children safe.
CHECKIN_LOWER_EN = ["yes", "3", "3", "3", "3", "3", "1", "1", "1", "1", "no", "yes"]

REASON = "A child does not feel safe at home."
RESOLUTION = "Spoke with the family; safety plan agreed."
DEMO = "DEMO-0001"
# A flag in the queue, as on Telegram: its number, then its line.
FLAG_ITEM = re.compile(r"^#(\d+) (⚠️ )?\[(\w+)\] \w+ (\S+) — (.*)$", re.MULTILINE)


def chat(database: Path, *lines: str, role: str = "family", lang: str = "en", case: str = ""):
    args = ["chat", "--as", role, "--lang", lang, *(("--case", case) if case else ())]
    result = wegwijzer(database, *args, stdin="".join(f"{line}\n" for line in lines))
    assert result.returncode == 0, result.stderr
    return result.stdout


def cli_json(database: Path, *args: str):
    result = wegwijzer(database, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def flag_items(output: str) -> dict[int, tuple[str, str, str]]:
    """The flags a console list shows: id → (level, case, rest of the line)."""
    return {int(m[1]): (m[3], m[4], m[5]) for m in FLAG_ITEM.finditer(output)}


def actions(entries: list[dict]) -> list[str]:
    # "notified" (the staff's notices queued) is left out: these tests follow the people.
    return [entry["action"] for entry in entries if entry["action"] != "notified"]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "review.db"


@pytest.fixture
def flagged(database: Path) -> int:
    """A family of the demo case reported a child not safe at home: the flag's id."""
    out = chat(database, *CHECKIN_UNSAFE_EN)
    assert "Thank you for your check-in." in out
    (flag,) = cli_json(database, "flags")
    assert (flag["case"], flag["level"], flag["status"]) == (DEMO, "urgent", "open")
    assert flag["evidence"] == {"children.safe_at_home": "no"}
    return flag["id"]


def test_coordinator_acknowledges_and_resolves_and_the_log_shows_each_step(
    database: Path, flagged: int
) -> None:
    queue = chat(database, "/flags", role="coordinator")
    assert "Open flags, most urgent first (page 1 of 1):" in queue
    assert {key: item[:2] for key, item in flag_items(queue).items()} == {flagged: ("urgent", DEMO)}
    assert f"#{flagged} [urgent] case {DEMO} — {REASON} (due " in queue
    assert f"/flag {flagged} — Open #{flagged} · urgent · {DEMO}\n" in queue

    review = chat(
        database,
        f"/flag {flagged}",
        f"/flag {flagged} ack",
        f"/flag {flagged} ack",
        f"/flag {flagged} resolve {RESOLUTION}",
        f"/flag {flagged} resolve Once more.",
        "/flags",
        role="coordinator",
    )
    detail = review.split(f"> /flag {flagged} ack")[0]
    assert f"Flag {flagged} · urgent · case {DEMO}\n{REASON}\nStatus: open. Raised " in detail
    assert "Evidence:\nDo the children feel safe at home? — No\n" in detail
    assert re.search(r"History:\n.+ · raised · the family\n", detail)
    assert f"/flag {flagged} ack — Acknowledge\n/flag {flagged} resolve — Resolve\n" in detail
    assert f"/flag {flagged} note — Add a note\n/flag {flagged} assign — Assign\n" in detail
    assert f"Flag {flagged} is acknowledged: escalation has stopped." in review
    assert f"Flag {flagged} was already acknowledged." in review
    assert f"Flag {flagged} is resolved.\n" in review
    # Resolving a resolved flag keeps the text, as a note.
    assert review.count(f"Note added to flag {flagged}.") == 1
    assert review.rstrip().endswith("There are no open flags.")

    (flag,) = cli_json(database, "flags")
    assert flag["status"] == "resolved" and flag["resolution"] == RESOLUTION
    assert flag["acknowledged_by"] == flag["resolved_by"] is not None
    history = flag["history"]
    # Acknowledging twice changed nothing, but showed the evidence again: a "viewed".
    assert actions(history) == [
        "raised",
        "viewed",
        "acknowledged",
        "viewed",
        "resolved",
        "noted",
    ]
    assert history[-2]["note"] == RESOLUTION and history[-1]["note"] == "Once more."

    log = cli_json(database, "audit", "--case", DEMO)
    assert actions(log) == ["raised", "viewed", "acknowledged", "viewed", "resolved", "noted"]
    assert [entry["at"] for entry in log] == sorted(entry["at"] for entry in log)
    assert {entry["case"] for entry in log} == {DEMO}
    assert {entry["flag_id"] for entry in log} == {flagged}
    raised, *by_coordinator = [entry for entry in log if entry["action"] != "notified"]
    assert raised["actor_role"] == "family"
    assert raised["detail"] == {
        "level": "urgent",
        "rule": "child_unsafe_at_home",
        "flow": "family_checkin@2",
    }
    assert {(e["actor_role"], e["actor_id"]) for e in by_coordinator} == {
        ("coordinator", flag["resolved_by"])
    }
    assert by_coordinator[-2]["note"] == RESOLUTION
    assert set(log[0]) == {
        "id",
        "at",
        "actor_id",
        "actor_role",
        "action",
        "case",
        "flag_id",
        "note",
        "detail",
    }

    # The operator's reading: one block per flag, with the rule, evidence and history.
    text = wegwijzer(database, "flags")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"Flag {flagged} · urgent · case {DEMO}\n{REASON}\n")
    assert "Rule: child_unsafe_at_home (family_checkin@2)\n" in text.stdout
    assert f"Resolution: {RESOLUTION}\n" in text.stdout
    assert f"· resolved · coordinator {flag['resolved_by']}\n“{RESOLUTION}”" in text.stdout
    listing = wegwijzer(database, "audit", "--case", DEMO.lower())
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[3] for line in listing.stdout.splitlines()] == [
        entry["action"] for entry in log
    ]


def test_notes_reopening_and_what_a_coordinator_is_told(database: Path, flagged: int) -> None:
    out = chat(
        database,
        f"/flag {flagged} note The child says she is not safe when her uncle visits.",
        f"/flag {flagged} note",
        f"/flag {flagged} reopen",
        f"/flag {flagged} resolve",
        f"/flag {flagged} resolve Uncle no longer visits; agreed with the family.",
        f"/flag {flagged} reopen",
        f"/flag {flagged} frobnicate",
        "/flag",
        "/flag 999",
        "/flags",
        role="coordinator",
    )
    # Staff write about danger in notes: no emergency route for them (only /sos).
    assert "Call 112" not in out
    assert f"Note added to flag {flagged}." in out
    # Without its text, a note (or a resolution) is asked for as the next message.
    assert f"Type your note for flag {flagged}, or /cancel to stop." in out
    assert f"Type the resolution note for flag {flagged}: what was done" in out
    assert f"Flag {flagged} is open; nothing changed." in out
    assert f"Flag {flagged} is resolved.\n" in out
    assert f"Flag {flagged} is open again." in out
    assert out.count("Type /flag followed by the flag number") == 2
    assert "Flag 999 is not one you can see or change." in out
    assert flag_items(out.split("> /flags")[1]).keys() == {flagged}

    (flag,) = cli_json(database, "flags")
    assert flag["status"] == "open" and flag["resolution"] is None
    # The reopen of an open flag changed nothing but showed it again: a "viewed".
    assert actions(flag["history"]) == ["raised", "noted", "viewed", "resolved", "reopened"]
    (first_note, *_) = [entry for entry in flag["history"] if entry["action"] == "noted"]
    assert first_note["note"].startswith("The child says she is not safe")

    detail = chat(database, f"/flag {flagged}", role="coordinator")
    assert "Status: open." in detail and "Resolution:" not in detail
    assert "· note added · coordinator " in detail
    assert "“Uncle no longer visits; agreed with the family.”" in detail
    assert "· reopened · coordinator " in detail
    assert " · viewed · " not in detail


def test_case_view_and_what_caseworkers_of_other_cases_get(database: Path, flagged: int) -> None:
    created = wegwijzer(database, "case", "create", "--programme", "kinship_care")
    assert created.returncode == 0, created.stderr
    other = created.stdout.strip()
    chat(database, *CHECKIN_LOWER_EN)  # a second check-in of the demo family: a trend

    # The console's caseworker, first opened with the other case, works on that case only.
    stranger = chat(
        database,
        "/flags",
        f"/flag {flagged}",
        f"/flag {flagged} ack",
        f"/flag {flagged} resolve Not mine to close.",
        f"/flag {flagged} assign 1",
        f"/case {DEMO}",
        f"/case {other.lower()}",
        "/case",
        role="caseworker",
        case=other,
    )
    assert "There are no open flags." in stranger
    assert stranger.count(f"Flag {flagged} is not one you can see or change.") == 4
    assert f"Case {DEMO} is not one of your cases." in stranger
    assert (
        f"Case {other} · kinship care · stage: not set yet\nRisk level: not screened yet.\n"
        "No check-ins yet.\n"
    ) in stranger
    assert "Trend: not enough check-ins yet" in stranger
    assert "Type /case followed by the case code" in stranger
    (flag,) = cli_json(database, "flags")
    # Nothing changed; each refused look and action is on record, with no text of theirs.
    assert flag["status"] == "open" and actions(flag["history"]) == ["raised"] + ["refused"] * 4
    refused = [e for e in cli_json(database, "audit", "--case", DEMO) if e["action"] == "refused"]
    assert [(e["detail"], e["flag_id"], e["note"]) for e in refused] == [
        ({"what": "flag", "action": "view"}, flagged, None),
        ({"what": "flag", "action": "acknowledge"}, flagged, None),
        ({"what": "flag", "action": "resolve"}, flagged, None),
        ({"what": "flag", "action": "assign"}, flagged, None),
        ({"what": "case", "action": "view"}, None, None),
    ]
    assert {e["actor_role"] for e in refused} == {"caseworker"}

    coordinator = chat(database, f"/case {DEMO}", f"/flag {flagged} assign", role="coordinator")
    assert f"Case {DEMO} · family strengthening · stage: not set yet\n" in coordinator
    assert re.search(
        r"Last check-ins \(WHO-5 well-being, 0–100\):\n.+: 92\n.+: 60\n[▁▂▃▄▅▆▇█]{2}\n",
        coordinator,
    )
    assert "Trend: worse ↘ (-32 points since the check-in before) — worth a talk" in coordinator
    assert f"Open flags of this case:\n[urgent] case {DEMO} — {REASON}" in coordinator
    assert f"/flag {flagged} — Open #{flagged} · urgent\n" in coordinator
    assert f"Assign flag {flagged} to which caseworker?" in coordinator
    choice = re.search(rf"/flag {flagged} assign (\d+) — Caseworker \d+ \({other}\)", coordinator)
    assert choice, coordinator
    caseworker_id = int(choice[1])

    assigned = chat(database, f"/flag {flagged} assign {caseworker_id}", role="coordinator")
    assert f"Flag {flagged} is assigned to caseworker {caseworker_id}." in assigned

    # Assigned to them, the flag is theirs to see and act on — assigning stays with coordinators.
    helper = chat(
        database,
        "/flags",
        f"/flag {flagged}",
        f"/flag {flagged} ack",
        f"/flag {flagged} assign {caseworker_id}",
        f"/case {DEMO}",
        role="caseworker",
        case=other,
    )
    assert flag_items(helper).keys() == {flagged}
    assert f"Assigned to caseworker {caseworker_id}." in helper
    assert f"Flag {flagged} is acknowledged: escalation has stopped." in helper
    assert f"Flag {flagged} is not one you can see or change." in helper  # assign
    assert f"Case {DEMO} is not one of your cases." in helper

    # Opened without a case, the console's caseworker takes the demo case (it had none).
    own = chat(database, f"/case {DEMO}", role="caseworker")
    assert f"Case {DEMO} · family strengthening" in own
    assert "Trend: worse ↘" in own
    assert f"[urgent] case {DEMO} — {REASON}" in own

    # A family sees neither flags nor cases.
    family = chat(database, "/cancel", f"/flag {flagged}", f"/case {DEMO}", "/flags")
    for command in ("/flag", "/case", "/flags"):
        assert f"{command} is not available for your role." in family

    views = [e for e in cli_json(database, "audit", "--case", DEMO) if e["action"] == "case_viewed"]
    assert [e["actor_role"] for e in views] == ["coordinator", "caseworker"]
    assert [e["actor_role"] for e in cli_json(database, "audit", "--case", other)] == ["caseworker"]


def test_status_filter_and_every_export_is_in_the_log(database: Path, flagged: int) -> None:
    # An alarm in the middle of a second check-in: another urgent flag, of the emergency route.
    chat(database, "yes", "/sos")
    chat(database, f"/flag {flagged} ack", role="coordinator")

    every = cli_json(database, "flags")
    assert len(every) == 2
    (alarm,) = [flag["id"] for flag in every if flag["id"] != flagged]
    assert [f["id"] for f in cli_json(database, "flags", "--status", "open")] == [alarm]
    assert [f["id"] for f in cli_json(database, "flags", "--status", "acknowledged")] == [flagged]
    assert cli_json(database, "flags", "--status", "resolved") == []
    text = wegwijzer(database, "flags", "--status", "open")
    assert text.returncode == 0, text.stderr
    assert "Status: open." in text.stdout and "Set off by the /sos command." in text.stdout
    assert "Status: acknowledged." not in text.stdout
    wrong = wegwijzer(database, "flags", "--status", "closed")
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr

    assert "exported" not in actions(cli_json(database, "audit"))
    export = wegwijzer(database, "export", "--format", "csv", "--since", "2020-01-01")
    assert export.returncode == 0, export.stderr
    log = cli_json(database, "audit")
    (exported,) = [entry for entry in log if entry["action"] == "exported"]
    assert exported["actor_role"] == "operator" and exported["actor_id"] is None
    what = {
        "format": "csv",
        "since": "2020-01-01",
        "pseudonymised": False,
        "encrypted": False,
        "lang": None,
        "account": getpass.getuser(),  # who ran the command, as the machine knows them
    }
    assert exported["detail"] == what
    # Recorded before the first row, and again with the row count when the export is done.
    assert [entry["action"] for entry in log[-2:]] == ["exported", "export_finished"]
    rows = len(list(csv.DictReader(io.StringIO(export.stdout))))
    assert rows > 0 and log[-1]["detail"] == {**what, "rows": rows}
    # The flag lists above showed the evidence (families' answers): on record as well.
    listed = [entry["detail"] for entry in log if entry["action"] == "flags_listed"]
    assert {"status": "open", "flags": [alarm]} in listed

    assert cli_json(database, "audit", "--since", "2999-01-01") == []
    since = cli_json(database, "audit", "--since", exported["at"])
    assert since == log[-2:]
    unknown = wegwijzer(database, "audit", "--case", "NOPE-0000")
    assert unknown.returncode == 2 and "no case with code 'NOPE-0000'" in unknown.stderr
    bad_moment = wegwijzer(database, "audit", "--since", "yesterday")
    assert bad_moment.returncode == 2


def test_audit_by_person_shows_every_look_at_their_case(database: Path, flagged: int) -> None:
    """`wegwijzer audit --person ID` (issue #15, "who looked"): every event of the family's
    case — granted looks, refused ones, the flag's steps — and what they did themselves;
    nothing of another case."""
    (raised,) = [e for e in cli_json(database, "audit") if e["action"] == "raised"]
    family = raised["actor_id"]
    assert raised["actor_role"] == "family" and raised["case"] == DEMO
    other = wegwijzer(database, "case", "create", "--programme", "foster_care").stdout.strip()

    chat(database, f"/flag {flagged}", f"/case {DEMO}", role="coordinator")
    # The other case's caseworker: refused the demo case and its flag; their own case is
    # a look at another family's data.
    chat(
        database,
        f"/case {DEMO}",
        f"/flag {flagged}",
        f"/case {other}",
        role="caseworker",
        case=other,
    )
    family_asks = chat(database, "/flags", f"/case {DEMO}")  # refused for their role
    assert "/flags is not available for your role." in family_asks

    theirs = cli_json(database, "audit", "--person", str(family))
    looks = [
        (e["action"], e["actor_role"], e["case"], e["flag_id"], e["detail"].get("what"))
        for e in theirs
        if e["action"] not in ("notified", "queued", "sent")
    ]
    assert looks == [
        ("raised", "family", DEMO, flagged, None),
        ("viewed", "coordinator", DEMO, flagged, None),
        ("case_viewed", "coordinator", DEMO, None, None),
        ("refused", "caseworker", DEMO, None, "case"),
        ("refused", "caseworker", DEMO, flagged, "flag"),
        ("refused", "family", None, None, "flags"),
        ("refused", "family", DEMO, None, "case"),
    ]
    assert other not in {e["case"] for e in theirs}
    assert any(e["case"] == other for e in cli_json(database, "audit"))
    # With --case: only the events of that case; plain text like `wegwijzer audit`.
    assert cli_json(database, "audit", "--person", str(family), "--case", other) == []
    shown = wegwijzer(database, "audit", "--person", str(family), "--case", DEMO)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == len(theirs) - 1 and f"{len(lines)} event(s)" in shown.stderr
    assert any("refused" in line and "caseworker" in line for line in lines)
    assert all(f"case {DEMO}" in line for line in lines)
    unknown = wegwijzer(database, "audit", "--person", "987654")
    assert unknown.returncode == 2 and "no person with id 987654" in unknown.stderr


def test_review_in_dutch(database: Path) -> None:
    family = chat(database, *CHECKIN_UNSAFE_NL, lang="nl")
    assert "Dank je wel voor je check-in" in family
    assert "/flag is niet beschikbaar voor jouw rol." in chat(database, "/flag 1", lang="nl")

    queue = chat(database, "/flags", role="coordinator", lang="nl")
    assert "Open signalen, de meest dringende eerst (pagina 1 van 1):" in queue
    ((flag_id, (level, case, rest)),) = flag_items(queue).items()
    assert (level, case) == ("urgent", DEMO)
    assert rest.startswith("Een kind voelt zich thuis niet veilig. (uiterlijk ")

    review = chat(
        database,
        f"/flag {flag_id}",
        f"/flag {flag_id} ack",
        f"/flag {flag_id} resolve Gesproken met het gezin; veiligheidsplan afgesproken.",
        f"/case {DEMO}",
        "/case NOPE-0000",
        "/flags",
        role="coordinator",
        lang="nl",
    )
    detail = review.split(f"> /flag {flag_id} ack")[0]
    # The flag's reason and evidence come translated from the flow's catalog.
    assert "Een kind voelt zich thuis niet veilig." in detail
    assert "Voelen de kinderen zich thuis veilig? — Nee" in detail
    assert DEMO in detail and str(flag_id) in detail
    assert "Casus NOPE-0000 is niet een van jouw casussen." in review
    assert review.rstrip().endswith("Er zijn geen open signalen.")
    assert "Do the children feel safe at home?" not in review

    (flag,) = cli_json(database, "flags")
    assert flag["status"] == "resolved"
    assert flag["resolution"] == "Gesproken met het gezin; veiligheidsplan afgesproken."
    assert actions(cli_json(database, "audit", "--case", DEMO)) == [
        "raised",
        "refused",  # the family's /flag 1
        "viewed",
        "acknowledged",
        "resolved",
        "case_viewed",
    ]
