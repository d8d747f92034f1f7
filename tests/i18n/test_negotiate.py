"""Language negotiation: exact match, then without the region, then the default."""

from __future__ import annotations

import pytest

from bot.i18n import negotiate

SHIPPED = ("nl", "en", "pt", "pt_BR", "uk")


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [
        ("en", "en"),  # exact
        ("EN", "en"),  # case does not matter
        ("pt-br", "pt_BR"),  # exact, Telegram's spelling of the catalog's code
        ("pt_BR", "pt_BR"),
        ("pt-PT", "pt"),  # region stripped
        ("nl-BE", "nl"),
        ("en_GB", "en"),
        ("uk-UA", "uk"),
        ("fr", "nl"),  # not shipped: the default
        ("fr-CA", "nl"),
        ("", "nl"),
        ("  ", "nl"),
        (None, "nl"),
    ],
)
def test_negotiation_chain(preferred: str | None, expected: str) -> None:
    assert negotiate(preferred, SHIPPED) == expected


def test_the_default_can_be_chosen() -> None:
    assert negotiate("de", SHIPPED, default="en") == "en"
    assert negotiate(None, iter(SHIPPED), default="en") == "en"
