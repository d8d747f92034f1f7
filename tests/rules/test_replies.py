"""Reading a typed reply to a question with options (`bot.rules.replies`): the label in the
reader's language or in English, the option's number as its button shows it (also in other
scripts' digits), or the whole button, number and label."""

from __future__ import annotations

import pytest

from bot.engine import Ask, Choose, Option, Reply, Text
from bot.rules.replies import interpret

SCALE = Ask(
    "who5_cheerful",
    "scale",
    "who5.cheerful",
    Text("Over the last two weeks:\nI have felt cheerful and in good spirits"),
    options=(
        Option(5, Text("All of the time")),
        Option(1, Text("Some of the time")),
        Option(0, Text("At no time")),
    ),
)
DUTCH = {"All of the time": "De hele tijd", "Some of the time": "Af en toe", "At no time": "Nooit"}


def translate(text: Text) -> str:
    return DUTCH.get(text.msgid, text.msgid)


@pytest.mark.parametrize(
    ("typed", "understood"),
    [
        ("nooit", Choose(0)),
        ("At no time.", Choose(0)),
        ("  DE HELE TIJD ", Choose(5)),
        ("3. Nooit", Choose(0)),  # the whole button, as shown
        ("2. some of the time", Choose(1)),
        ("2 Af en toe", Choose(1)),
        ("2", Reply("2")),  # a number: the engine takes it as the position
        ("٢", Reply("2")),  # Arabic-Indic digits
        ("۳", Reply("3")),  # Persian digits
        ("1. Nooit", Reply("1. Nooit")),  # number and label disagree: not guessed
        ("sometimes", Reply("sometimes")),
    ],
)
def test_a_typed_reply_is_the_option_it_names(typed: str, understood: object) -> None:
    assert interpret(Reply(typed), SCALE, translate) == understood


def test_without_options_the_reply_goes_on_as_typed() -> None:
    number = Ask("age", "number", "child.age", Text("How old?"))
    assert interpret(Reply("٣"), number, translate) == Reply("٣")
    assert interpret(Reply("nooit"), None, translate) == Reply("nooit")
