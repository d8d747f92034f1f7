"""Understanding what a person typed, in their own language.

The engine knows options by value and by number (its position, shown on every option's
button: "1. Yes"). People also type the label they see — "ja", "De hele tijd", "nooit" — in
their language, with or without capitals and accents, or the whole button with its number.
This module turns such a reply into the option it names, and a number in another script's
digits ("٣") into the number; anything else goes to the engine as typed, which re-asks when
it does not fit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from ..engine import Ask, Choose, Input, Reply, Text


def interpret(reply: Reply, question: Ask | None, translate: Callable[[Text], str]) -> Input:
    if question is None or not question.options:
        return reply
    typed = _normalised(reply.text)
    if typed.isdecimal():
        # An option's number as shown on its button, also in other scripts' digits ("٣").
        return Reply(str(int(typed)))
    # The whole button typed, number and label ("3. More than half of the time"): taken only
    # when the number and the label name the same option.
    numbered = _NUMBERED.fullmatch(typed)
    for position, option in enumerate(question.options, start=1):
        names = {_normalised(translate(option.label)), _normalised(option.label.msgid)}
        if typed in names:
            return Choose(option.value)
        if numbered and int(numbered[1]) == position and numbered[2] in names:
            return Choose(option.value)
    return reply


_NUMBERED = re.compile(r"(\d+)\s*[.)·:-]?\s*(.+)")


def _normalised(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().strip(" .!?").split())
