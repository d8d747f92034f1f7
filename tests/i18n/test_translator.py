"""Rendering a Text: translated, placeholders filled in the reader's locale and timezone, and
never a crash in front of a reader because a translation is wrong."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.engine.events import Text
from bot.i18n import Catalogs, RenderError

from .conftest import make_locales

THANKS = "Thank you for your check-in. Your next check-in is on {next_checkin}."
RANGE = "Please answer with a number from {minimum} to {maximum}."
UNSAFE = (
    "If someone is in danger now, call {emergency_number} straight away. For advice, day and "
    "night: {advice_line}. Your caseworker has been alerted and will contact you."
)


def test_translates_and_fills_text_placeholders(catalogs: Catalogs) -> None:
    dutch = catalogs.translator("nl")
    text = Text(UNSAFE, {"emergency_number": "112", "advice_line": "Veilig Thuis 0800-2000"})
    assert dutch.language == "nl"
    assert dutch.render(text) == (
        "Is iemand nu in gevaar? Bel dan meteen 112. Voor advies, dag en nacht: Veilig Thuis "
        "0800-2000. Je begeleider is op de hoogte gebracht en neemt contact met je op."
    )
    assert dutch(text) == dutch.render(text)
    assert (
        catalogs.translator("en").render(text).startswith("If someone is in danger now, call 112")
    )


def test_dates_are_written_out_in_the_readers_language(catalogs: Catalogs) -> None:
    text = Text(THANKS, {"next_checkin": date(2026, 12, 4)})
    assert catalogs.translator("nl").render(text) == (
        "Dank je wel voor je check-in. Je volgende check-in is op 4 december 2026."
    )
    assert catalogs.translator("en").render(text).endswith("is on December 4, 2026.")


def test_moments_are_shown_in_the_readers_timezone(catalogs: Catalogs) -> None:
    due = Text("Due {due}", {"due": datetime(2026, 12, 4, 9, 30, tzinfo=UTC)})
    assert catalogs.translator("nl").render(due) == "Due 4 dec 2026, 10:30:00"
    assert catalogs.translator("nl", "Asia/Tokyo").render(due) == "Due 4 dec 2026, 18:30:00"
    assert catalogs.translator("en", "America/New_York").render(due) == (
        "Due Dec 4, 2026, 4:30:00\u202fAM"
    )
    # Storage keeps UTC; SQLite returns it without a timezone.
    naive = Text("Due {due}", {"due": datetime(2026, 7, 1, 9, 30)})
    assert catalogs.translator("nl").render(naive) == "Due 1 jul 2026, 11:30:00"


def test_numbers_use_the_locales_separators(catalogs: Catalogs) -> None:
    text = Text(RANGE, {"minimum": 0.5, "maximum": 1000})
    assert catalogs.translator("nl").render(text) == (
        "Antwoord alsjeblieft met een getal van 0,5 tot en met 1.000."
    )
    assert catalogs.translator("en").render(text) == (
        "Please answer with a number from 0.5 to 1,000."
    )
    assert catalogs.translator("nl").render(Text("{n}", {"n": Decimal("2.25")})) == "2,25"


def test_booleans_and_nested_texts_are_rendered_too(catalogs: Catalogs) -> None:
    dutch = catalogs.translator("nl")
    assert dutch.render(Text("{answer}", {"answer": True})) == "Ja"
    assert dutch.render(Text("{answer}", {"answer": False})) == "Nee"
    label = Text("{number}. {label}", {"number": 6, "label": Text("At no time")})
    assert dutch.render(label) == "6. Nooit"


def test_an_untranslated_message_is_shown_in_english(catalogs: Catalogs) -> None:
    assert catalogs.translator("nl").render(Text("Not in any catalog, {n}.", {"n": 1.5})) == (
        "Not in any catalog, 1,5."
    )
    assert catalogs.translator("nl").gettext("") == ""


def test_a_text_that_does_not_fit_its_own_source_is_a_programming_error(
    catalogs: Catalogs, caplog: pytest.LogCaptureFixture
) -> None:
    dutch = catalogs.translator("nl")
    with caplog.at_level(logging.WARNING, logger="bot.i18n"):
        with pytest.raises(RenderError, match=r"cannot fill .*next_checkin"):
            dutch.render(Text(THANKS))
        with pytest.raises(RenderError, match=r"parameter 'when' is a NoneType"):
            dutch.render(Text("{when}", {"when": None}))
    assert caplog.records == [], "the code is wrong, not the Dutch translation"


BROKEN = {
    "Call {number} now.": "Bel nu.",  # the number is left out
    "Hello {name}.": "Hallo {naam}.",  # misspelt
    "Your case is {code}.": "Je dossier is {code.",  # malformed
    "Due {due}.": "Uiterlijk {}.",  # positional
    "Fine {name}.": "Prima {name}.",
}


@pytest.fixture
def broken(tmp_path: Path) -> Catalogs:
    return Catalogs.load(make_locales(tmp_path / "locales", {"nl": BROKEN}))


@pytest.mark.parametrize(
    ("text", "english"),
    [
        (Text("Call {number} now.", {"number": "112"}), "Call 112 now."),
        (Text("Hello {name}.", {"name": "Sam"}), "Hello Sam."),
        (Text("Your case is {code}.", {"code": "K-17"}), "Your case is K-17."),
        (Text("Due {due}.", {"due": date(2026, 12, 4)}), "Due December 4, 2026."),
    ],
)
def test_a_broken_translation_falls_back_to_english_and_logs_only_the_msgid(
    broken: Catalogs, caplog: pytest.LogCaptureFixture, text: Text, english: str
) -> None:
    dutch = broken.translator("nl")
    with caplog.at_level(logging.WARNING, logger="bot.i18n"):
        assert dutch.render(text) == english
        assert dutch.render(text) == english
    assert len(caplog.records) == 1, "logged once per language and message"
    assert text.msgid in caplog.text
    for value in text.params.values():
        assert str(value) not in caplog.text


def test_a_sound_translation_next_to_broken_ones_is_used(broken: Catalogs) -> None:
    assert broken.translator("nl").render(Text("Fine {name}.", {"name": "Sam"})) == "Prima Sam."
