"""A command typed and the button that does the same are one intent: parsed, shown as the
command to type, and carried in a button's data of at most 64 bytes."""

from __future__ import annotations

import pytest

from bot.conversation.intents import (
    Answer,
    CheckIn,
    Closure,
    Flags,
    Guide,
    Intent,
    Language,
    OnFlag,
    Privacy,
    Schedule,
    ShowCase,
    Sos,
    Start,
    UnknownCommand,
    Visit,
    decode,
    encode,
    parse_command,
)
from bot.telegram import CallbackSigner

BUTTONS: list[Intent] = [
    Sos(),
    CheckIn(),
    Language("nl"),
    Privacy("agree"),
    Guide("reintegration", "K7Q-4MX"),
    Guide("home_visit", "K7Q-4MX", 2),
    Flags(2),
    OnFlag(12),
    OnFlag(12, "ack"),
    OnFlag(12, "assign", "345"),
    Closure("K7Q-4MX", "approve", 1764235800),
    Closure("K7Q-4MX", "reopen"),
    Visit("K7Q-4MX"),
    Answer(2_000_000_000, 29, 11, 3),
    Answer(7, 4, 0),
]


@pytest.mark.parametrize("intent", BUTTONS, ids=lambda intent: type(intent).__name__)
def test_a_button_carries_its_intent_within_64_bytes(intent: Intent) -> None:
    key, *fields = encode(intent)
    assert decode(key, fields) == intent
    signed = CallbackSigner(b"k" * 32).sign(2**40, key, *fields)
    assert len(signed.encode()) <= 64


@pytest.mark.parametrize(
    ("typed", "intent"),
    [
        ("/sos", Sos()),
        ("/SOS@wegwijzer_bot", Sos()),
        ("/start abc_DEF-123", Start("abc_DEF-123")),
        ("/language EN", Language("en")),
        ("/case k7q-4mx", ShowCase("K7Q-4MX")),
        ("/guide reintegration k7q-4mx", Guide("reintegration", "K7Q-4MX")),
        ("/guide home_visit k7q-4mx 2", Guide("home_visit", "K7Q-4MX", 2)),
        # A number no case's child has is no child (nor an overflow in the database).
        ("/guide home_visit k7q-4mx 99999999999999999999", Guide("home_visit", "K7Q-4MX")),
        ("/guide home_visit k7q-4mx two", Guide("home_visit", "K7Q-4MX")),
        ("/flags 3", Flags(3)),
        ("/flags x", Flags(1)),
        ("/flag #12 acknowledge", OnFlag(12, "ack")),
        ("/flag 12 note The child says  hello.", OnFlag(12, "note", "The child says  hello.")),
        ("/flag twelve", OnFlag(None, "", "")),
        (
            "/closure k7q-4mx return Not yet: talk to school.",
            Closure("K7Q-4MX", "return", None, "Not yet: talk to school."),
        ),
        ("/schedule k7q-4mx weekly mon 18:00", Schedule("K7Q-4MX", "weekly mon 18:00")),
        ("/frobnicate now", UnknownCommand("frobnicate")),
    ],
)
def test_typed_commands(typed: str, intent: Intent) -> None:
    assert parse_command(typed) == intent


def test_a_line_without_a_slash_is_no_command() -> None:
    assert parse_command("hello /sos") is None


@pytest.mark.parametrize(
    ("intent", "typed"),
    [
        (OnFlag(12, "ack"), "/flag 12 ack"),
        (OnFlag(12), "/flag 12"),
        (Flags(1), "/flags"),
        (Closure("K7Q-4MX", "approve", 1764235800), "/closure K7Q-4MX approve"),
        (Guide("reintegration", "K7Q-4MX"), "/guide reintegration K7Q-4MX"),
        (Guide("home_visit", "K7Q-4MX", 2), "/guide home_visit K7Q-4MX 2"),
        (Privacy("agree"), "/privacy agree"),
        (Answer(1, 2, 3), None),
    ],
)
def test_a_button_in_the_terminal_is_the_command_that_does_the_same(
    intent: Intent, typed: str | None
) -> None:
    assert intent.typed() == typed
    if typed is not None:
        again = parse_command(typed)
        # What a button carries beyond the command (which proposal) is not typed.
        assert again == (Closure("K7Q-4MX", "approve") if isinstance(intent, Closure) else intent)


@pytest.mark.parametrize(
    ("key", "fields"),
    [
        ("?", []),  # no such kind
        ("a", ["1", "2"]),  # an answer lacks its option
        ("a", ["1", "2", "x"]),  # not a number
        ("a", ["1", "2", "3", "0", "9"]),  # one field too many
        ("f", ["-1"]),
    ],
)
def test_data_that_names_no_intent_is_refused(key: str, fields: list[str]) -> None:
    with pytest.raises(ValueError):
        decode(key, fields)


def test_a_field_with_the_separator_cannot_be_carried() -> None:
    with pytest.raises(ValueError):
        encode(Guide("reintegration", "K7Q:4MX"))


def test_every_command_of_every_role_is_typed_handled_and_described() -> None:
    from bot.conversation import COMMANDS
    from bot.rules.commands import ROLE_COMMANDS, STRANGER_COMMANDS
    from bot.services.texts import COMMANDS as DESCRIBED

    handled = {intent.command for intent in COMMANDS} | {"sos", "start"}  # the pipeline's own
    for role, commands in ROLE_COMMANDS.items():
        for name in commands:
            assert not isinstance(parse_command(f"/{name}"), UnknownCommand), (role, name)
            assert name in handled and name in DESCRIBED, (role, name)
    assert set(STRANGER_COMMANDS) <= set(DESCRIBED)
