"""Answering a button press, shared by the channel and the flag review."""

from __future__ import annotations

import contextlib
from typing import Any

from telegram import CallbackQuery
from telegram.error import BadRequest


async def answer_quietly(query: CallbackQuery, text: str | None = None, **options: Any) -> None:
    """Answer a button press. Telegram refuses answers to presses older than a few minutes
    (after downtime, say); the press itself was handled, so that refusal must not stop the
    reply that follows."""
    with contextlib.suppress(BadRequest):
        await query.answer(text, **options)
