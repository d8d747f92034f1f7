"""The Telegram channel: the only package that imports `telegram`.

`build_application` wires a python-telegram-bot `Application` to the channel: updates of one
person in order (`PerPersonUpdateProcessor`), flood control through PTB's rate limiter, and
one entry handler. `serve` runs it by long polling or behind a webhook until stopped.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import traceback

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, TypeHandler

from ..bootstrap import Wegwijzer
from ..services.once import forget_old_updates
from ._callbacks import CallbackSigner, ForgedCallback
from ._channel import TelegramChannel
from ._menus import register_default_menus
from ._processor import PerPersonUpdateProcessor

__all__ = [
    "CallbackSigner",
    "ForgedCallback",
    "PerPersonUpdateProcessor",
    "TelegramChannel",
    "bot_username",
    "build_application",
    "serve",
]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


def build_application(
    app: Wegwijzer, *, token: str, base_url: str, max_retries: int = 3, rate_limit: bool = True
) -> Application:
    """The bot's Application. `rate_limit=False` is for measuring handling cost only: a bot
    talking to Telegram always paces itself."""
    channel = TelegramChannel(app, CallbackSigner.from_token(token))
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_url.replace("/bot", "/file/bot"))
        .concurrent_updates(PerPersonUpdateProcessor())
        # On stop PTB confirms the last updates with one more getUpdates while the cancelled
        # long poll may still hold the only connection: a second one avoids a pool timeout.
        .get_updates_connection_pool_size(2)
    )
    if rate_limit:
        # Flood control: 429 answers are waited out (retry_after) and retried, and sending
        # stays under Telegram's overall and per-chat limits.
        builder = builder.rate_limiter(AIORateLimiter(max_retries=max_retries))
    application = builder.build()
    application.bot_data["channel"] = channel
    application.add_handler(TypeHandler(Update, channel.on_update))
    application.add_error_handler(_on_error)
    return application


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Where it failed, never what it carried: exception messages can quote a person's text.
    error = context.error
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    log.error(
        "update failed",
        extra={
            "update_id": getattr(update, "update_id", None),
            "event": f"{type(error).__name__} at {where.filename}:{where.lineno}"
            if where
            else type(error).__name__,
        },
    )
    if isinstance(update, Update) and update.effective_chat is not None:
        # Nothing was stored (the transaction rolled back): say so, so the person tries again
        # instead of believing their answer arrived.
        channel: TelegramChannel = context.application.bot_data["channel"]
        await channel.apologise(update, context)


async def serve(
    app: Wegwijzer,
    *,
    webhook_url: str | None = None,
    listen: str = "0.0.0.0",
    port: int = 8443,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the bot until `stop` is set (or SIGINT/SIGTERM arrives)."""
    settings = app.settings
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    if webhook_url and not settings.webhook_secret:
        raise ValueError("webhook mode needs WEBHOOK_SECRET, checked on every request")
    application = build_application(
        app, token=settings.telegram_token, base_url=settings.telegram_base_url
    )
    stop = stop or _stop_on_signals()
    await forget_old_updates(app)
    async with application:
        await register_default_menus(application.bot, app.catalogs, settings.timezone)
        await application.start()
        if webhook_url:
            await application.updater.start_webhook(
                listen=listen,
                port=port,
                url_path=_path_of(webhook_url),
                webhook_url=webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        log.warning("bot running", extra={"event": "webhook" if webhook_url else "polling"})
        await stop.wait()
        await application.updater.stop()
        await application.stop()


async def bot_username(token: str, base_url: str) -> str:
    """The bot's @username as Telegram knows it (for invite links)."""
    from telegram import Bot

    async with Bot(token, base_url=base_url) as bot:
        return bot.username


def _path_of(url: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url).path.lstrip("/")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
