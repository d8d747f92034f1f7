"""Answering a button press (every press is answered, or the client keeps spinning)."""

from __future__ import annotations

import contextlib

from telegram import CallbackQuery
from telegram.error import BadRequest


async def answer_quietly(
    query: CallbackQuery, text: str | None = None, *, show_alert: bool = False
) -> None:
    """Answer a button press. Telegram refuses answers to presses older than a few minutes
    (after downtime, say); the press itself was handled, so that refusal must not stop the
    reply that follows."""
    with contextlib.suppress(BadRequest):
        await query.answer(text, show_alert=show_alert)
