"""The flow extractor finds every translatable field, with its line and translator comment."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from ruamel.yaml import YAML

from bot.i18n import extract_flow, read_flow_messages

from .conftest import REPO

TINY_FLOW = """\
spec: 1
id: tiny
version: 1
title: Tiny flow
start: mood
flags:
  - id: worried
    level: high
    reason: Someone is worried.
    when: {answer: tiny.mood, equals: bad}
steps:
  - id: mood
    kind: choice
    key: tiny.mood
    text: >-
      How are you
      today?
    options: &moods
      - {value: good, label: Good}
      - value: bad
        label: Not so good
    invalid: Please choose one of the {count} answers.
  - id: again
    kind: choice
    key: tiny.again
    text: And now?
    options: *moods
  - id: sure
    kind: yes_no
    key: tiny.sure
    text: Are you sure?
  - id: done
    kind: end
    text: "Thanks, {name}."
"""

EXPECTED = [
    (4, None, "Tiny flow", ["flow tiny, title"]),
    (15, None, "How are you today?", ["flow tiny, step mood"]),
    (19, None, "Good", ["flow tiny, step mood, option 1"]),
    (21, None, "Not so good", ["flow tiny, step mood, option 2"]),
    (
        22,
        None,
        "Please choose one of the {count} answers.",
        [
            "flow tiny, step mood, invalid answer",
            "keep {count} exactly as written: the bot fills in the value",
        ],
    ),
    (26, None, "And now?", ["flow tiny, step again"]),
    # The shared options point at the lines where they are written, under the anchor.
    (19, None, "Good", ["flow tiny, step again, option 1"]),
    (21, None, "Not so good", ["flow tiny, step again, option 2"]),
    # A yes_no step has no labels of its own: "Yes" and "No" come from the code.
    (31, None, "Are you sure?", ["flow tiny, step sure"]),
    (
        34,
        None,
        "Thanks, {name}.",
        ["flow tiny, step done", "keep {name} exactly as written: the bot fills in the value"],
    ),
    (9, None, "Someone is worried.", ["flow tiny, flag worried"]),
]


def test_extractor_yields_every_field_with_its_line_and_comments(tmp_path: Path) -> None:
    flow = tmp_path / "tiny.yaml"
    flow.write_text(TINY_FLOW, encoding="utf-8")
    with flow.open("rb") as file:
        assert list(extract_flow(file, ["Text"], [], {})) == EXPECTED


def test_babel_finds_the_extractor_by_its_registered_name(tmp_path: Path) -> None:
    flow = tmp_path / "tiny.yaml"
    flow.write_text(TINY_FLOW, encoding="utf-8")
    found = extract_from_file("wegwijzer_flow", flow, keywords={"Text": None})
    assert [(line, message, comments) for line, message, comments, _ in found] == [
        (line, message, comments) for line, _, message, comments in EXPECTED
    ]


def test_a_file_that_is_not_a_flow_is_an_error_naming_it() -> None:
    broken = io.BytesIO(b"id: tiny\nsteps: [\n")
    broken.name = "flows/broken.yaml"
    with pytest.raises(ValueError, match=r"flows/broken\.yaml: not valid YAML"):
        list(extract_flow(broken, ["Text"], [], {}))
    listed = io.BytesIO(b"- just\n- a list\n")
    listed.name = "flows/list.yaml"
    with pytest.raises(ValueError, match=r"flows/list\.yaml: a flow file must be a mapping"):
        list(extract_flow(listed, ["Text"], [], {}))


# --- the real family check-in -------------------------------------------------------------

CHECKIN = REPO / "flows" / "family_checkin.yaml"
# Which YAML key each kind of translator comment stands for.
FIELD_OF = {"title": "title", "option": "label", "invalid answer": "invalid", "flag": "reason"}


def _independent_reading(path: Path) -> Counter[tuple[str, str]]:
    """The (comment, msgid) pairs of a flow, read with the plain safe loader."""
    flow = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    name = f"flow {flow['id']}"
    pairs = [(f"{name}, title", flow["title"])]
    for step in flow["steps"]:
        where = f"{name}, step {step['id']}"
        pairs.append((where, step["text"]))
        for number, option in enumerate(step.get("options", []), start=1):
            pairs.append((f"{where}, option {number}", option["label"]))
        if "invalid" in step:
            pairs.append((f"{where}, invalid answer", step["invalid"]))
    pairs += [(f"{name}, flag {flag['id']}", flag["reason"]) for flag in flow["flags"]]
    return Counter(pairs)


def test_family_checkin_every_translatable_field_is_extracted() -> None:
    messages = read_flow_messages(CHECKIN)
    assert Counter((m.where, m.msgid) for m in messages) == _independent_reading(CHECKIN)
    # The shared WHO-5 answers are extracted once per question, each with its own comment.
    assert sorted(m.where for m in messages if m.msgid == "All of the time") == sorted(
        f"flow family_checkin, step who5_{item}, option 1"
        for item in ("cheerful", "calm", "active", "rested", "interested")
    )


def test_family_checkin_lines_point_at_the_fields() -> None:
    lines = CHECKIN.read_text(encoding="utf-8").splitlines()
    for message in read_flow_messages(CHECKIN):
        kind = message.where.split(", ")[-1]
        field = next((key for prefix, key in FIELD_OF.items() if kind.startswith(prefix)), "text")
        line = lines[message.lineno - 1]
        assert f"{field}:" in line, (message, line)
        first_words = " ".join(message.msgid.split()[:2])
        following = " ".join(lines[message.lineno - 1 : message.lineno + 1])
        assert first_words in following, (message, line)
