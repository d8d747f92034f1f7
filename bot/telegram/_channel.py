"""The Telegram channel: updates in, the conversation's outputs out as Telegram messages.

It decides nothing about a person. An update becomes an `Incoming` (a text, a command, a
photo with its caption, an edited message, a message in a group, or a pressed button whose
signed data is checked and decoded into its intent), the conversation answers it, and each
output is rendered here: a message with signed buttons, an edit of the message a button was
on, the answer to a button press, a photo, a command menu; and notices from the outbox. A person
who blocked the bot is marked unreachable.

The emergency numbers (a message that `must_arrive`) are sent again and again — after a
server error, a timeout or flood control — until Telegram takes them, in the background so
the alarm is recorded meanwhile; nothing else is sent in that chat before they arrive.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from ..app import Wegwijzer
from ..conversation import (
    Button,
    Chosen,
    Conversation,
    Incoming,
    Menu,
    Other,
    Output,
    Photo,
    Pressed,
    Said,
    Toast,
    Typed,
    decode,
    encode,
    notice_message,
    render,
)
from ..conversation import Message as Shown
from ..i18n import Translator
from ..services import outbox, texts
from ..services.once import AlreadyHandled
from ..services.people import find_participant
from ._callbacks import CallbackSigner, ForgedCallback
from ._menus import register_menu_for
from ._presses import answer_quietly

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TELEGRAM_TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# The emergency numbers are tried again after a failure, waiting longer each time up to the
# longest wait, for as long as it takes within the last figure (then CRITICAL in the log).
RETRY_FIRST_WAIT = 0.25
RETRY_LONGEST_WAIT = 30.0
RETRY_FOR = timedelta(hours=1)
_KINDS = (
    "photo",
    "sticker",
    "voice",
    "video",
    "audio",
    "document",
    "location",
    "contact",
    "animation",
    "video_note",
)


class TelegramChannel:
    def __init__(self, app: Wegwijzer, signer: CallbackSigner):
        self.app = app
        self.signer = signer
        self.conversation = Conversation(app)
        self.bot_username: str | None = None  # known once the bot is initialised
        # Updates taken before a crash, handled again now (see `_inbox.py`).
        self.again: set[int] = set()
        # Emergency numbers still being tried: kept until delivered (and waited for at stop).
        self.delivering: set[asyncio.Task[None]] = set()

    # --- updates in ---------------------------------------------------------------------------

    def incoming(self, update: Update) -> Incoming | None:
        """What the update says, in the conversation's terms; None for what the bot does not
        answer (a forged button, an update without a person or a message)."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return None
        query = update.callback_query
        message = update.message or update.edited_message
        if query is not None:
            if chat.type != "private":
                return None
            try:
                said: Said = Pressed(decode(*self.signer.verify(user.id, query.data)))
            except (ForgedCallback, ValueError):
                return None
        elif message is not None:
            if message.text is not None:
                said = Typed(message.text)
            else:
                said = Other(_kind_of(message), message.caption)
        else:
            return None
        return Incoming(
            CHANNEL,
            str(user.id),
            said,
            once=f"{CHANNEL}:{update.update_id}",
            language_hint=user.language_code,
            bot_username=self.bot_username,
            # Groups would expose families: only the emergency route answers there.
            group=chat.type != "private",
            edited=update.edited_message is not None,
            again=update.update_id in self.again,
        )

    def overtakes(self, update: object) -> bool:
        """An emergency: handled at once, not after the person's other updates."""
        incoming = self.incoming(update) if isinstance(update, Update) else None
        return incoming is not None and self.conversation.emergency(incoming) is not None

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every update comes through here, so every path starts the same way."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        self.bot_username = context.bot.username
        incoming = self.incoming(update)
        query = update.callback_query
        if incoming is None:
            if query is not None and chat.type == "private":
                log.warning(
                    "callback rejected", extra={"update_id": update.update_id, "event": "forged"}
                )
                await answer_quietly(
                    query, self.translator(user.language_code)(texts.BUTTON_NOT_VALID)
                )
            return
        reply = _Reply(self, context.bot, user.id, chat.id, query)
        try:
            await self.conversation.handle(incoming, reply)
        except AlreadyHandled:
            log.info("duplicate update ignored", extra={"update_id": update.update_id})
        # On a failure the press is left for the error handler's apology to answer.
        await reply.finish()

    def translator(self, language: str | None) -> Translator:
        settings = self.app.settings
        return self.app.catalogs.translator_for(
            language, settings.default_language, settings.timezone
        )

    async def apologise(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """After a failure: answer the button press, and ask the person to try again."""
        try:
            user = update.effective_user
            tr = self.translator(user.language_code if user else None)
            if update.callback_query is not None:
                await answer_quietly(update.callback_query, tr(texts.SOMETHING_WENT_WRONG))
            elif update.effective_chat is not None:
                await context.bot.send_message(
                    update.effective_chat.id, tr(texts.SOMETHING_WENT_WRONG)
                )
        except Exception as failed:  # the apology must never raise from the error handler
            log.error("apology failed", extra={"event": type(failed).__name__})

    # --- messages out -------------------------------------------------------------------------

    def markup(
        self, user_id: int, tr: Translator, rows: tuple[tuple[Button, ...], ...]
    ) -> InlineKeyboardMarkup | None:
        """Buttons whose data is their intent, signed for the person they are made for."""
        if not rows:
            return None
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        render(tr, button.label),
                        callback_data=self.signer.sign(user_id, *encode(button.intent)),
                    )
                    for button in row
                ]
                for row in rows
            ]
        )

    async def unreachable_chat(self, user_id: int) -> None:
        """A private chat refused a message (the person blocked the bot)."""
        log.warning("recipient unreachable", extra={"event": "forbidden"})
        who = await find_participant(self.app, CHANNEL, str(user_id))
        if who is not None:
            await outbox.unreachable(self.app, who.person_id)

    # --- notices ------------------------------------------------------------------------------

    async def send_notice(self, bot: Bot, out: outbox.Outgoing) -> bool:
        """One notice from the outbox, in its recipient's language with its buttons. True when
        Telegram took it (the caller records that, for a whole batch at once); any other
        answer is settled here (see `bot.services.outbox`)."""
        recipient = out.notice.recipient
        try:
            tr = self.translator(recipient.language)
            user_id = int(recipient.external_id)
            message = notice_message(out.notice, self.app.flows)
            text, markup = fit(_text(tr, message)), self.markup(user_id, tr, message.buttons)
        except Exception as broken:  # cannot be made into a message: trying again is no use
            log.critical("notice not renderable", extra={"event": type(broken).__name__})
            await outbox.failed(self.app, out)
            return False
        try:
            await bot.send_message(user_id, text, reply_markup=markup)
        except (Forbidden, BadRequest) as refused:
            blocked = isinstance(refused, Forbidden) or (
                "chat not found" in str(refused).lower()  # never started, or deleted the chat
            )
            if blocked and not out.to_fallback:
                await outbox.unreachable(self.app, recipient.person_id, out)
            else:  # refused as it is, or the operators' own chat is gone: said loudly
                await outbox.failed(self.app, out)
        except RetryAfter as flood:
            await outbox.not_sent(self.app, out, _seconds(flood.retry_after))
        except TelegramError as failed:  # a server error or a timeout: later
            log.warning(
                "notice not sent yet",
                extra={"person_id": recipient.person_id, "event": type(failed).__name__},
            )
            await outbox.not_sent(self.app, out)
        else:
            log.info("notice sent", extra={"person_id": recipient.person_id})
            return True
        return False

    def keep_trying(self, bot: Bot, chat_id: int, text: str, user_id: int) -> asyncio.Task[None]:
        """Send `text` until Telegram takes it (the emergency numbers), in the background."""
        task = asyncio.create_task(self._until_delivered(bot, chat_id, fit(text), user_id))
        self.delivering.add(task)
        task.add_done_callback(self.delivering.discard)
        return task

    async def _until_delivered(self, bot: Bot, chat_id: int, text: str, user_id: int) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + RETRY_FOR.total_seconds()
        wait = RETRY_FIRST_WAIT
        while True:
            try:
                await bot.send_message(chat_id, text)
                return
            except Forbidden:
                if chat_id == user_id:  # they blocked the bot (in a group: it was removed)
                    await self.unreachable_chat(user_id)
                return
            except BadRequest as refused:  # will never be taken as it is
                log.critical("emergency numbers refused", extra={"event": type(refused).__name__})
                return
            except RetryAfter as flood:
                delay = _seconds(flood.retry_after).total_seconds()
            except NetworkError as failed:  # a server error or a timeout: try again
                log.warning(
                    "emergency numbers not sent yet", extra={"event": type(failed).__name__}
                )
                delay, wait = wait, min(wait * 2, RETRY_LONGEST_WAIT)
            except TelegramError as failed:  # anything else will not change by trying again
                log.critical("emergency numbers refused", extra={"event": type(failed).__name__})
                return
            if loop.time() + delay > give_up:
                log.critical("emergency numbers never sent", extra={"event": "gave up"})
                return
            await asyncio.sleep(delay)

    async def finish_delivering(self, timeout: float) -> None:
        """At stop: give the emergency numbers still being tried a last chance."""
        if self.delivering:
            await asyncio.wait(set(self.delivering), timeout=timeout)


class _Reply:
    """The conversation's outbox for one update: renders each output in that chat."""

    def __init__(
        self,
        channel: TelegramChannel,
        bot: Bot,
        user_id: int,
        chat_id: int,
        query: CallbackQuery | None,
    ):
        self.channel = channel
        self.bot = bot
        self.user_id = user_id
        # A private chat's id is its person's user id; a group has its own.
        self.chat_id = chat_id
        self.query = query
        # The message the pressed button was on, when Telegram still has it.
        self.pressed = query.message if query and isinstance(query.message, Message) else None
        self.answered = query is None
        # The emergency numbers, while they are still being tried.
        self.numbers: asyncio.Task[None] | None = None

    async def __call__(self, output: Output, tr: Translator) -> None:
        if isinstance(output, Shown) and output.must_arrive:
            self.numbers = self.channel.keep_trying(
                self.bot, self.chat_id, _text(tr, output), self.user_id
            )
            await self.finish()
            return
        if self.numbers is not None:
            await asyncio.shield(self.numbers)  # nothing in this chat before the numbers
        if isinstance(output, Toast):
            if not self.answered and self.query is not None:
                self.answered = True
                await answer_quietly(self.query, tr(output.text), show_alert=output.alert)
            else:
                await self._send(tr(output.text))
            return
        await self.finish()  # a press is answered before anything else is shown
        if isinstance(output, Shown):
            await self._message(output, tr)
        elif isinstance(output, Chosen):
            await self._chosen(output, tr)
        elif isinstance(output, Menu):
            try:
                await register_menu_for(self.bot, self.user_id, output.role, tr)
            except TelegramError as failed:  # the menu is a convenience: the reply goes on
                log.warning("menu not set", extra={"event": type(failed).__name__})
        elif isinstance(output, Photo):
            await self._photo(output, tr)

    async def finish(self) -> None:
        """Answer the button press, if nothing answered it yet."""
        if not self.answered and self.query is not None:
            self.answered = True
            await answer_quietly(self.query)

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        try:
            await self.bot.send_message(self.chat_id, fit(text), reply_markup=markup)
        except Forbidden:
            await self.channel.unreachable_chat(self.user_id)

    async def _message(self, message: Shown, tr: Translator) -> None:
        text = _text(tr, message)
        markup = self.channel.markup(self.user_id, tr, message.buttons)
        if message.in_place and self.pressed is not None:
            # Replace the message the button was on (paging, an action's result).
            try:
                await self.pressed.edit_text(fit(text), reply_markup=markup)
                return
            except TelegramError as failed:  # gone, unchanged, or not taken: send it anew
                log.info("edit failed, sending anew", extra={"event": type(failed).__name__})
        await self._send(text, markup)

    async def _chosen(self, chosen: Chosen, tr: Translator) -> None:
        """Show what was chosen and take the buttons away. An old message may be gone, or
        only known by id (Telegram sends an InaccessibleMessage for old ones)."""
        lines = "\n".join(render(tr, line) for line in chosen.lines) if chosen.lines else None
        if self.pressed is None:
            if chosen.say_if_typed and lines:
                await self._send(lines)
            return
        body = lines if lines is not None else self.pressed.text or ""
        new_text = f"{body}\n\n{render(tr, chosen.mark)}".strip() if chosen.mark else body
        try:
            if chosen.lines is None and chosen.mark is None:
                await self.pressed.edit_reply_markup(reply_markup=None)
            else:
                await self.pressed.edit_text(fit(new_text), reply_markup=None)
        except TelegramError as failed:
            # "Not modified", "not found", or a server error: what was chosen is stored, and
            # an old button pressed again is answered "already answered".
            log.info("choice not shown", extra={"event": type(failed).__name__})

    async def _photo(self, photo: Photo, tr: Translator) -> None:
        try:
            await self.bot.send_photo(
                self.chat_id, photo.png, caption=fit(tr(photo.caption), CAPTION_LIMIT)
            )
        except Forbidden:
            await self.channel.unreachable_chat(self.user_id)


def _text(tr: Translator, message: Shown) -> str:
    """Paragraphs apart by a blank line, lines under each other."""
    return "\n\n".join(
        "\n".join(render(tr, line) for line in paragraph) for paragraph in message.paragraphs
    )


def _seconds(retry_after: int | timedelta) -> timedelta:
    # PTB gives Telegram's retry_after as seconds or as a timedelta, depending on its settings.
    return retry_after if isinstance(retry_after, timedelta) else timedelta(seconds=retry_after)


def fit(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    # Telegram refuses longer messages outright; a cut text is better than none.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind_of(message: Message) -> str:
    for kind in _KINDS:
        if getattr(message, kind, None):
            return kind
    return "other"
