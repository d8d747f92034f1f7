"""Answering a button press (every press is answered, or the client keeps spinning)."""

from __future__ import annotations

import logging

from telegram import CallbackQuery
from telegram.error import TelegramError

log = logging.getLogger(__name__)


async def answer_quietly(
    query: CallbackQuery, text: str | None = None, *, show_alert: bool = False
) -> None:
    """Answer a button press. Telegram refuses answers to presses older than a few minutes
    (after downtime, say), and may fail to take one (a server error, a timeout); the press
    itself was handled, so neither may stop the reply that follows."""
    try:
        await query.answer(text, show_alert=show_alert)
    except TelegramError as failed:
        log.warning("press not answered", extra={"event": type(failed).__name__})
