"""The Telegram channel: updates in, the conversation's outputs out as Telegram messages.

It decides nothing about a person. An update becomes an `Incoming` (a text, a command, a
photo, or a pressed button whose signed data is checked and decoded into its intent), the
conversation answers it, and each output is rendered here: a message with signed buttons, an
edit of the message a button was on, the answer to a button press, a photo, a command menu,
notices to other people. A person who blocked the bot is marked unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from ..app import Wegwijzer
from ..conversation import (
    Button,
    Chosen,
    Conversation,
    Incoming,
    Menu,
    Notify,
    Other,
    Output,
    Photo,
    Pressed,
    TellStaffNow,
    Toast,
    Typed,
    decode,
    encode,
    notice_message,
    render,
)
from ..conversation import Message as Said
from ..i18n import Translator, negotiate
from ..services import schedules, texts
from ..services.duties import immediate_notices
from ..services.notices import Notice
from ..services.once import AlreadyHandled
from ..services.people import find_participant
from ._callbacks import CallbackSigner, ForgedCallback
from ._menus import register_menu_for
from ._presses import answer_quietly

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TELEGRAM_TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# Notices in flight at once; the rate limiter decides how fast they actually go.
SENDING_AT_ONCE = 32
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

    # --- updates in ---------------------------------------------------------------------------

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every update comes through here, so every path starts the same way."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        if chat.type != "private":
            return  # the bot works in private chats only; groups would expose families
        query = update.callback_query
        if query is not None:
            try:
                kind, fields = self.signer.verify(user.id, query.data)
                said: Pressed | Typed | Other = Pressed(decode(kind, fields))
            except (ForgedCallback, ValueError) as forged:
                log.warning(
                    "callback rejected",
                    extra={"update_id": update.update_id, "event": type(forged).__name__},
                )
                await answer_quietly(
                    query, self.translator(user.language_code)(texts.BUTTON_NOT_VALID)
                )
                return
        elif update.message is not None:
            message = update.message
            said = Typed(message.text) if message.text is not None else Other(_kind_of(message))
        else:
            return
        incoming = Incoming(
            CHANNEL,
            str(user.id),
            said,
            once=f"{CHANNEL}:{update.update_id}",
            language_hint=user.language_code,
            bot_username=context.bot.username,
        )
        reply = _Reply(self, context.bot, user.id, query)
        try:
            await self.conversation.handle(incoming, reply)
        except AlreadyHandled:
            log.info("duplicate update ignored", extra={"update_id": update.update_id})
        # On a failure the press is left for the error handler's apology to answer.
        await reply.finish()

    def translator(self, language: str | None) -> Translator:
        catalogs, settings = self.app.catalogs, self.app.settings
        chosen = negotiate(language, catalogs.languages, settings.default_language)
        return catalogs.translator(chosen, settings.timezone)

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

    async def unreachable_chat(self, bot: Bot, user_id: int) -> None:
        """A private chat refused a message (the person blocked the bot)."""
        log.warning("recipient unreachable", extra={"event": "forbidden"})
        who = await find_participant(self.app, CHANNEL, str(user_id))
        if who is not None:
            await self.person_unreachable(bot, who.person_id)

    # --- notices ------------------------------------------------------------------------------

    async def deliver(self, bot: Bot, notices: list[Notice] | tuple[Notice, ...]) -> None:
        """Send notices (new flags, digests, escalations, reminders) to the Telegram people
        among their recipients, each in their own language, with their buttons.

        Many at once (a morning's reminders): sent concurrently, paced by the application's
        rate limiter, so a slow round trip to Telegram does not hold the others up. A notice
        that fails is logged and the rest still go; an urgent flag nobody acknowledges comes
        back as an escalation.
        """
        ours = [notice for notice in notices if notice.recipient.channel == CHANNEL]
        gate = asyncio.Semaphore(SENDING_AT_ONCE)

        async def one(notice: Notice) -> None:
            async with gate:
                try:
                    await self._deliver_one(bot, notice)
                except Exception as failed:  # one chat's failure must not stop the others
                    log.error(
                        "notice failed",
                        extra={
                            "person_id": notice.recipient.person_id,
                            "event": type(failed).__name__,
                        },
                    )

        await asyncio.gather(*(one(notice) for notice in ours))

    async def _deliver_one(self, bot: Bot, notice: Notice) -> None:
        recipient = notice.recipient
        tr = self.translator(recipient.language)
        user_id = int(recipient.external_id)
        message = notice_message(notice, self.app.flows)
        try:
            await bot.send_message(
                user_id,
                fit(_text(tr, message)),
                reply_markup=self.markup(user_id, tr, message.buttons),
            )
        except Forbidden:
            log.warning("notice recipient unreachable", extra={"person_id": recipient.person_id})
            if notice.start_flow is not None:
                await self.person_unreachable(bot, recipient.person_id)
        else:
            log.info("notice sent", extra={"person_id": recipient.person_id})

    async def person_unreachable(self, bot: Bot, person_id: int) -> None:
        """Someone blocked the bot: marked unreachable, for a family a "no contact" flag at once
        (one transaction, issue #7); then their caseworkers are told."""
        told = await schedules.person_unreachable(self.app, person_id)
        for recipient in told or ():
            if recipient.channel != CHANNEL:
                continue
            tr = self.translator(recipient.language)
            try:
                await bot.send_message(
                    int(recipient.external_id),
                    tr(texts.PERSON_UNREACHABLE.using(case=recipient.case_code)),
                )
            except TelegramError as failed:
                log.warning(
                    "caseworker not told",
                    extra={"person_id": recipient.person_id, "event": type(failed).__name__},
                )
        if told is not None:
            await self.deliver(bot, await immediate_notices(self.app))


class _Reply:
    """The conversation's outbox for one update: renders each output in that chat."""

    def __init__(
        self, channel: TelegramChannel, bot: Bot, user_id: int, query: CallbackQuery | None
    ):
        self.channel = channel
        self.bot = bot
        # A private chat's id is its person's user id.
        self.user_id = user_id
        self.query = query
        # The message the pressed button was on, when Telegram still has it.
        self.pressed = query.message if query and isinstance(query.message, Message) else None
        self.answered = query is None

    async def __call__(self, output: Output, tr: Translator) -> None:
        if isinstance(output, Toast):
            if not self.answered and self.query is not None:
                self.answered = True
                await answer_quietly(self.query, tr(output.text), show_alert=output.alert)
            else:
                await self._send(tr(output.text))
            return
        await self.finish()  # a press is answered before anything else is shown
        if isinstance(output, Said):
            await self._message(output, tr)
        elif isinstance(output, Chosen):
            await self._chosen(output, tr)
        elif isinstance(output, Menu):
            await register_menu_for(self.bot, self.user_id, output.role, tr)
        elif isinstance(output, Photo):
            await self._photo(output, tr)
        elif isinstance(output, Notify):
            await self.channel.deliver(self.bot, output.notices)
        elif isinstance(output, TellStaffNow):
            await self.channel.deliver(self.bot, await immediate_notices(self.channel.app))

    async def finish(self) -> None:
        """Answer the button press, if nothing answered it yet."""
        if not self.answered and self.query is not None:
            self.answered = True
            await answer_quietly(self.query)

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        try:
            await self.bot.send_message(self.user_id, fit(text), reply_markup=markup)
        except Forbidden:
            await self.channel.unreachable_chat(self.bot, self.user_id)

    async def _message(self, message: Said, tr: Translator) -> None:
        text = _text(tr, message)
        markup = self.channel.markup(self.user_id, tr, message.buttons)
        if message.in_place and self.pressed is not None:
            # Replace the message the button was on (paging, an action's result).
            try:
                await self.pressed.edit_text(fit(text), reply_markup=markup)
                return
            except BadRequest:  # gone, or unchanged: send it as a new message
                log.info("edit failed, sending anew", extra={"event": "edit"})
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
        with contextlib.suppress(BadRequest, Forbidden):
            # "message is not modified" or "message to edit not found": nothing left to do.
            if chosen.lines is None and chosen.mark is None:
                await self.pressed.edit_reply_markup(reply_markup=None)
            else:
                await self.pressed.edit_text(fit(new_text), reply_markup=None)

    async def _photo(self, photo: Photo, tr: Translator) -> None:
        try:
            await self.bot.send_photo(
                self.user_id, photo.png, caption=fit(tr(photo.caption), CAPTION_LIMIT)
            )
        except Forbidden:
            await self.channel.unreachable_chat(self.bot, self.user_id)


def _text(tr: Translator, message: Said) -> str:
    """Paragraphs apart by a blank line, lines under each other."""
    return "\n\n".join(
        "\n".join(render(tr, line) for line in paragraph) for paragraph in message.paragraphs
    )


def fit(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    # Telegram refuses longer messages outright; a cut text is better than none.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind_of(message: Message) -> str:
    for kind in _KINDS:
        if getattr(message, kind, None):
            return kind
    return "other"
