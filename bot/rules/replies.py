"""Understanding what a person typed, in their own language.

The engine knows options by value and by number. People also type the label they see —
"ja", "De hele tijd", "nooit" — in their language, with or without capitals and accents.
This module turns such a reply into the option it names; anything else goes to the engine
as typed, which re-asks when it does not fit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from ..engine import Ask, Choose, Input, Reply, Text


def interpret(reply: Reply, question: Ask | None, translate: Callable[[Text], str]) -> Input:
    if question is None or not question.options:
        return reply
    typed = _normalised(reply.text)
    for option in question.options:
        names = {_normalised(translate(option.label)), _normalised(option.label.msgid)}
        if typed in names:
            return Choose(option.value)
    return reply


def _normalised(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().strip(" .!?").split())
