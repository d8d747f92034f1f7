"""The Telegram channel: turns updates into use cases and their results into messages.

Every handler does the same three things: find out who is writing (a stranger, someone
joining, a member of a role), call one use case from `bot.services` (which handles the
update in one transaction, and at most once), and render what comes back in the person's
language. Nothing here decides anything about a family; it only translates.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from ..app import Wegwijzer
from ..engine import Ask, FlagRaised, Invalid, NonText, Reply, Say, Text
from ..i18n import Translator, negotiate
from ..rules.access import NotAllowed
from ..rules.cadence import parse_cadence
from ..rules.commands import ROLE_COMMANDS, allowed
from ..rules.guidance import flows_for
from ..rules.people import waiting_for_text
from ..services import invites, onboarding, runs, schedules, texts, visits
from ..services.cases import caseworker_cases, own_case
from ..services.duties import immediate_notices
from ..services.emergency import emergency_numbers, raise_alarm
from ..services.flags import stop_waiting
from ..services.once import AlreadyHandled, first_time
from ..services.people import (
    Participant,
    find_participant,
    mark_reachable,
)
from ._callbacks import CallbackSigner, ForgedCallback
from ._menus import register_menu_for
from ._presses import answer_quietly
from ._review import FlagReview

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# At most this many buttons in /guide (flows × cases); `/guide CODE` narrows it to one case.
GUIDE_BUTTONS = 30
TELEGRAM_TEXT_LIMIT = 4096


class StrangerThrottle:
    """At most one answer per stranger per interval, remembered in memory only.

    design.md: nothing is stored about someone without an invite beyond what is needed to
    rate-limit. The memory is bounded: the oldest entries are forgotten first.
    """

    def __init__(self, interval_seconds: float = 60.0, capacity: int = 10_000):
        self.interval = interval_seconds
        self.capacity = capacity
        self._last: OrderedDict[int, float] = OrderedDict()

    def allow(self, user_id: int, now: float) -> bool:
        last = self._last.get(user_id)
        if last is not None and now - last < self.interval:
            return False
        self._last[user_id] = now
        self._last.move_to_end(user_id)
        while len(self._last) > self.capacity:
            self._last.popitem(last=False)
        return True


class TelegramChannel(FlagReview):
    def __init__(self, app: Wegwijzer, signer: CallbackSigner):
        self.app = app
        self.signer = signer
        self.strangers = StrangerThrottle()

    # --- helpers ------------------------------------------------------------------------------

    def translator(self, who: Participant | None, update: Update) -> Translator:
        catalogs, settings = self.app.catalogs, self.app.settings
        preferred = who.language if who is not None and who.language else None
        if preferred is None and update.effective_user is not None:
            preferred = update.effective_user.language_code
        language = negotiate(preferred, catalogs.languages, settings.default_language)
        return catalogs.translator(language, settings.timezone)

    async def who(self, update: Update) -> Participant | None:
        return await find_participant(self.app, CHANNEL, str(update.effective_user.id))

    @staticmethod
    def once(update: Update) -> str:
        return f"{CHANNEL}:{update.update_id}"

    async def reply_once(self, update: Update) -> None:
        """For updates whose only effect is a reply (/help, /cases): record them on their own,
        so a second delivery does not answer twice."""
        if not await first_time(self.app, self.once(update)):
            raise AlreadyHandled(self.once(update))

    async def send_list(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        update: Update,
        who: Participant,
        tr: Translator,
        header: Text,
        empty: Text,
        items: list[Text],
    ) -> None:
        """A heading and one line per item, or the text for an empty list."""
        lines = [tr(header), *(tr(item) for item in items)] if items else [tr(empty)]
        await self.send(context, update.effective_chat.id, "\n".join(lines), who=who)

    async def send(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        who: Participant | None = None,
    ) -> Message | None:
        """Send one message; a person who blocked the bot is marked unreachable instead."""
        try:
            return await context.bot.send_message(chat_id, _fit(text), reply_markup=markup)
        except Forbidden:
            if who is not None:
                await self.person_unreachable(context.bot, who.person_id)
            log.warning("recipient unreachable", extra={"event": "forbidden"})
            return None

    async def say(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        update: Update,
        tr: Translator,
        *parts: Text,
        who: Participant | None = None,
    ) -> None:
        await self.send(context, update.effective_chat.id, "\n".join(tr(p) for p in parts), who=who)

    async def person_unreachable(self, bot: Bot, person_id: int) -> None:
        """Someone blocked the bot: marked unreachable, for a family a "no contact" flag at once
        (one transaction, issue #7); then their caseworkers are told."""
        told = await schedules.person_unreachable(self.app, person_id)
        for recipient in told or ():
            if recipient.channel != CHANNEL:
                continue
            tr = self.app.catalogs.translator(
                recipient.language or self.app.settings.default_language,
                self.app.settings.timezone,
            )
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

    async def show(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        update: Update,
        who: Participant,
        tr: Translator,
        turn: runs.Turn,
    ) -> None:
        """Send what a sprint says and asks; a question's options become signed buttons."""
        chat_id = update.effective_chat.id
        pending: list[str] = []
        for event in turn.events:
            if isinstance(event, Invalid):
                pending.append(tr(event.text))
            elif isinstance(event, Say):
                pending.append(_with_lines(tr, event.text, event.lines))
            elif isinstance(event, Ask):
                if pending:
                    await self.send(context, chat_id, "\n\n".join(pending), who=who)
                    pending = []
                markup = self.question_keyboard(update.effective_user.id, tr, event, turn)
                asked = _with_lines(tr, event.text, event.lines)
                await self.send(context, chat_id, asked, markup, who=who)
        if pending:
            await self.send(context, chat_id, "\n\n".join(pending), who=who)
        if any(isinstance(event, FlagRaised) for event in turn.events):
            await self.deliver(context.bot, await immediate_notices(self.app))
        if turn.notices:
            await self.deliver(context.bot, list(turn.notices))

    def question_keyboard(
        self, user_id: int, tr: Translator, question: Ask, turn: runs.Turn
    ) -> InlineKeyboardMarkup | None:
        if not question.options:
            return None
        flow = self.app.flows.get(turn.state.flow_id, turn.state.version)
        step = flow.index_of(question.step_id)
        part = (question.part,) if question.part else ()
        rows = [
            [
                InlineKeyboardButton(
                    tr(option.label),
                    callback_data=self.signer.sign(user_id, "a", turn.run_id, step, number, *part),
                )
            ]
            for number, option in enumerate(question.options)
        ]
        if "family" in flow.roles:
            rows.append([self.sos_button(user_id, tr)])
        return InlineKeyboardMarkup(rows)

    def sos_button(self, user_id: int, tr: Translator) -> InlineKeyboardButton:
        """The "I need help now" button offered in family flows and the help menu."""
        return InlineKeyboardButton(
            tr(texts.SOS_BUTTON), callback_data=self.signer.sign(user_id, "s")
        )

    async def apologise(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """After a failure: answer the button press, and ask the person to try again."""
        try:
            tr = self.translator(None, update)
            if update.callback_query is not None:
                with contextlib.suppress(BadRequest):
                    await update.callback_query.answer(tr(texts.SOMETHING_WENT_WRONG))
            else:
                await context.bot.send_message(
                    update.effective_chat.id, tr(texts.SOMETHING_WENT_WRONG)
                )
        except Exception as failed:  # the apology must never raise from the error handler
            log.error("apology failed", extra={"event": type(failed).__name__})

    # --- entry --------------------------------------------------------------------------------

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every update comes through here, so every path starts the same way."""
        if update.effective_user is None or update.effective_chat is None:
            return
        if update.effective_chat.type != "private":
            return  # the bot works in private chats only; groups would expose families
        who = await self.who(update)
        if who is not None and who.status == "left":
            who = None  # someone who left the programme is a stranger again
        elif who is not None and who.status == "unreachable":
            # They wrote (or pressed) again, so messages reach them again.
            await mark_reachable(self.app, who.person_id)
            who = replace(who, status="active")
        try:
            if update.callback_query is not None:
                await self.on_button(update, context, who)
            elif update.message is not None:
                await self.on_message(update, context, who)
        except AlreadyHandled:
            log.info("duplicate update ignored", extra={"update_id": update.update_id})
            if update.callback_query is not None:
                await answer_quietly(update.callback_query)

    async def on_message(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, who: Participant | None
    ) -> None:
        message = update.message
        text = message.text
        if text is not None:
            first_word = text.split(maxsplit=1)[0] if text.strip() else ""
            if first_word.split("@", 1)[0].lower() == "/sos":
                await self.emergency_route(update, context, who, "sos")
                return
            # Danger words are for families and for people the bot does not know. Staff write
            # about danger in their notes ("the child is not safe"); they have /sos.
            danger = self.app.danger.find(text) if _may_be_in_danger(who) else None
            if danger is not None:
                await self.emergency_route(update, context, who, danger)
                return
        if text is not None and text.startswith("/"):
            command, _, argument = text[1:].partition(" ")
            command = command.split("@", 1)[0].lower()
            if command == "cancel" and who is not None and who.awaiting:
                await self.cancel_typed_text(update, context, who, self.translator(who, update))
                return
            await self.on_command(update, context, who, command, argument.strip())
            return
        if who is None:
            await self.stranger(update, context)
            return
        tr = self.translator(who, update)
        if who.awaiting and who.role != "family" and who.consented:
            if waiting_for_text(who, self.app.clock()):
                await self.on_typed_text(update, context, who, tr)
                return
            await stop_waiting(self.app, who)  # asked too long ago: an ordinary message
            who = replace(who, awaiting=None)
        if who.language is None:
            await self.ask_language(update, context, who, tr)
            return
        if not who.consented:
            await self.say(context, update, tr, texts.CONSENT_FIRST, who=who)
            await self.ask_consent(update, context, who, tr)
            return
        given = Reply(text) if text is not None else NonText(_kind_of(message))
        turn = await runs.answer(self.app, who, given, tr, once=self.once(update))
        if turn is None:
            if text is None:
                await self.say(context, update, tr, texts.ONLY_TEXT, who=who)
            else:
                await self.say(context, update, tr, texts.NOTHING_WAITING[who.role], who=who)
            return
        await self.show(context, update, who, tr, turn)

    # --- the emergency route ------------------------------------------------------------------

    async def emergency_route(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        who: Participant | None,
        trigger: str,
    ) -> None:
        """Emergency numbers first, in the person's language; then an urgent flag for a known
        person, their caseworker and the coordinators told; the interrupted flow kept."""
        tr = self.translator(who, update)
        chat_id = update.effective_chat.id
        await self.send(context, chat_id, tr(emergency_numbers(self.app.settings)), who=who)
        if who is None:
            return  # nothing is stored about strangers; the numbers are what they need
        await raise_alarm(self.app, who, trigger, once=self.once(update))
        # New or repeated, an alarm is told at once to the caseworker and the coordinators.
        await self.deliver(context.bot, await immediate_notices(self.app))
        await self.send(context, chat_id, tr(texts.HELP_IS_COMING), who=who)
        waiting = await runs.waiting_question(self.app, who) if who.consented else None
        if waiting is not None:
            await self.send(context, chat_id, tr(texts.CONTINUE_WHEN_READY), who=who)
            await self.show(context, update, who, tr, waiting)

    # --- strangers and onboarding -------------------------------------------------------------

    async def stranger(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self.strangers.allow(update.effective_user.id, time.monotonic()):
            return
        tr = self.translator(None, update)
        await self.say(context, update, tr, texts.STRANGER, emergency_numbers(self.app.settings))

    async def on_start(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        who: Participant | None,
        code: str,
    ) -> None:
        if who is None and not code:
            await self.stranger(update, context)
            return
        if who is None:
            try:
                who = await onboarding.join(
                    self.app, CHANNEL, str(update.effective_user.id), code, once=self.once(update)
                )
            except onboarding.InviteNotValid:
                log.info("invite refused", extra={"update_id": update.update_id})
                await self.stranger(update, context)
                return
            log.info("person joined", extra={"person_id": who.person_id, "event": who.role})
        else:
            await self.reply_once(update)
        tr = self.translator(who, update)
        if who.language is None:
            await self.ask_language(update, context, who, tr)
        elif not who.consented:
            await self.ask_consent(update, context, who, tr)
        else:
            waiting = await runs.waiting_question(self.app, who)
            if waiting is not None:
                await self.say(context, update, tr, texts.WELCOME_BACK, who=who)
                await self.show(context, update, who, tr, waiting)
            else:
                await self.say(context, update, tr, texts.ALREADY_REGISTERED, who=who)

    async def ask_language(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        who: Participant,
        tr: Translator,
    ) -> None:
        catalogs = self.app.catalogs
        user_id = update.effective_user.id
        buttons = [
            [
                InlineKeyboardButton(
                    catalogs.native_name(code), callback_data=self.signer.sign(user_id, "l", code)
                )
            ]
            for code in catalogs.languages
        ]
        await self.send(
            context,
            update.effective_chat.id,
            tr(texts.CHOOSE_LANGUAGE),
            InlineKeyboardMarkup(buttons),
            who=who,
        )

    async def ask_consent(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        who: Participant,
        tr: Translator,
    ) -> None:
        user_id = update.effective_user.id
        privacy = texts.PRIVACY_FAMILY if who.role == "family" else texts.PRIVACY_STAFF
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        tr(texts.AGREE), callback_data=self.signer.sign(user_id, "c", 1)
                    )
                ],
                [
                    InlineKeyboardButton(
                        tr(texts.DISAGREE), callback_data=self.signer.sign(user_id, "c", 0)
                    )
                ],
            ]
        )
        await self.send(
            context,
            update.effective_chat.id,
            f"{tr(privacy)}\n\n{tr(texts.DO_YOU_AGREE)}",
            markup,
            who=who,
        )

    async def welcome(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        who: Participant,
        tr: Translator,
    ) -> None:
        await register_menu_for(context.bot, update.effective_chat.id, who.role, tr)
        markup = None
        if who.role == "family":
            user_id = update.effective_user.id
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            tr(texts.START_CHECKIN),
                            callback_data=self.signer.sign(user_id, "k", "checkin"),
                        )
                    ]
                ]
            )
        await self.send(
            context, update.effective_chat.id, tr(texts.WELCOME[who.role]), markup, who=who
        )

    # --- buttons ------------------------------------------------------------------------------

    async def on_button(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, who: Participant | None
    ) -> None:
        query = update.callback_query
        tr = self.translator(who, update)
        try:
            kind, fields = self.signer.verify(update.effective_user.id, query.data)
        except ForgedCallback as forged:
            log.warning(
                "callback rejected", extra={"update_id": update.update_id, "event": str(forged)}
            )
            await answer_quietly(query, tr(texts.BUTTON_NOT_VALID), show_alert=False)
            return
        if who is None:
            await answer_quietly(query)
            await self.stranger(update, context)
            return
        once = self.once(update)
        if kind == "l":
            await self.on_language_button(update, context, who, fields[0], once)
        elif kind == "c":
            await self.on_consent_button(update, context, who, fields[0] == "1", once)
        elif kind == "s":
            await answer_quietly(query)
            await self.emergency_route(update, context, who, "button")
        elif kind == "g" and len(fields) == 2:
            await self.on_guide_button(update, context, who, tr, fields, once)
        elif kind == "k" and fields == ["checkin"]:
            await answer_quietly(query)
            await self.on_command(update, context, who, "checkin", "")
        elif kind == "a":
            await self.on_answer_button(update, context, who, tr, fields, once)
        elif kind == "f":
            await self.on_flag_button(update, context, who, tr, fields, once)
        elif kind == "z" and len(fields) in (2, 3) and who.consented:
            await self.on_closure_button(update, context, who, tr, fields, once)
        elif kind == "v" and len(fields) == 1 and who.consented:
            await answer_quietly(query)
            await self.record_visit(update, context, who, tr, fields[0], once)
        else:
            await answer_quietly(query, tr(texts.BUTTON_NOT_VALID))

    async def on_language_button(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        who: Participant,
        language: str,
        once: str,
    ) -> None:
        query = update.callback_query
        if language not in self.app.catalogs.languages:
            await answer_quietly(query)
            return
        first_choice = who.language is None
        who = await onboarding.choose_language(self.app, who, language, once)
        tr = self.translator(who, update)
        await answer_quietly(query)
        await _remove_buttons(
            query.message,
            tr(texts.LANGUAGE_SET.using(language=self.app.catalogs.native_name(language))),
        )
        if not who.consented:
            await self.ask_consent(update, context, who, tr)
            return
        await register_menu_for(context.bot, update.effective_chat.id, who.role, tr)
        if not first_choice:
            waiting = await runs.waiting_question(self.app, who)
            if waiting is not None:
                await self.show(context, update, who, tr, waiting)

    async def on_consent_button(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        who: Participant,
        given: bool,
        once: str,
    ) -> None:
        query = update.callback_query
        who = await onboarding.record_consent(self.app, who, given, once)
        tr = self.translator(who, update)
        await answer_quietly(query)
        chosen = tr(texts.AGREE if given else texts.DISAGREE)
        shown = query.message.text if isinstance(query.message, Message) else ""
        await _remove_buttons(query.message, f"{shown}\n\n✅ {chosen}".strip())
        log.info(
            "consent recorded",
            extra={"person_id": who.person_id, "event": "given" if given else "refused"},
        )
        if given:
            await self.welcome(update, context, who, tr)
        else:
            await self.say(context, update, tr, texts.CONSENT_REFUSED, who=who)

    async def on_answer_button(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        who: Participant,
        tr: Translator,
        fields: list[str],
        once: str,
    ) -> None:
        query = update.callback_query
        # run, step, option, and for a checklist's item questions the part of the step.
        if (
            not who.consented
            or len(fields) not in (3, 4)
            or not all(f.isascii() and f.isdigit() for f in fields)
        ):
            await answer_quietly(query, tr(texts.BUTTON_NOT_VALID))
            return
        run_id, step_index, option_index, part = (int(field) for field in [*fields, "0"][:4])
        pressed = await runs.answer_option(
            self.app, who, run_id, step_index, option_index, once, part=part
        )
        if pressed is None:
            await answer_quietly(query, tr(texts.ALREADY_ANSWERED))
            await _remove_buttons(query.message)
            return
        await answer_quietly(query)
        label = tr(pressed.chosen.label)
        asked = _with_lines(tr, pressed.question.text, pressed.question.lines)
        # A checklist's list is not answered by a pick: it shows which item was opened.
        mark = "→" if pressed.question.kind == "checklist" else "✅"
        await _remove_buttons(query.message, f"{asked}\n\n{mark} {label}")
        await self.show(context, update, who, tr, pressed.turn)

    # --- commands -----------------------------------------------------------------------------

    async def on_command(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        who: Participant | None,
        command: str,
        argument: str,
    ) -> None:
        if command == "start":
            await self.on_start(update, context, who, argument)
            return
        if who is None:
            await self.stranger(update, context)
            return
        tr = self.translator(who, update)
        if command == "language":
            await self.reply_once(update)
            await self.ask_language(update, context, who, tr)
            return
        if command == "privacy":
            await self.reply_once(update)
            await self.ask_consent(update, context, who, tr)
            return
        if who.language is None:
            await self.ask_language(update, context, who, tr)
            return
        if not who.consented:
            await self.say(context, update, tr, texts.CONSENT_FIRST, who=who)
            await self.ask_consent(update, context, who, tr)
            return
        handler = _COMMANDS.get(command)
        if handler is None:
            await self.say(
                context,
                update,
                tr,
                texts.UNKNOWN_COMMAND.using(command=f"/{command}"),
                who=who,
            )
            return
        if not allowed(who.role, command):
            await self.say(
                context,
                update,
                tr,
                texts.NOT_FOR_ROLE.using(command=f"/{command}"),
                who=who,
            )
            return
        await handler(self, update, context, who, tr, argument)

    async def cmd_help(self, update, context, who, tr, _argument) -> None:
        await self.reply_once(update)
        lines = [tr(texts.HELP_HEADER)]
        lines += [
            tr(texts.HELP_LINE.using(command=f"/{name}", description=texts.COMMANDS[name]))
            for name in ROLE_COMMANDS[who.role]
        ]
        sos = InlineKeyboardMarkup([[self.sos_button(update.effective_user.id, tr)]])
        await self.send(context, update.effective_chat.id, "\n".join(lines), sos, who=who)

    async def cmd_checkin(self, update, context, who, tr, _argument) -> None:
        turn = await runs.start_flow(
            self.app, who, self.app.flows.for_purpose("checkin").id, once=self.once(update)
        )
        await self.show(context, update, who, tr, turn)

    async def cmd_cancel(self, update, context, who, tr, _argument) -> None:
        stopped = await runs.pause(self.app, who, once=self.once(update))
        await self.say(
            context,
            update,
            tr,
            texts.STOPPED[who.role] if stopped else texts.NOTHING_TO_STOP,
            who=who,
        )

    async def cmd_cases(self, update, context, who, tr, _argument) -> None:
        await self.reply_once(update)
        cases = await caseworker_cases(self.app, who)
        await self.send_list(
            context,
            update,
            who,
            tr,
            texts.YOUR_CASES,
            texts.NO_CASES,
            [texts.case_line(case) for case in cases],
        )

    async def cmd_guide(self, update, context, who, tr, argument) -> None:
        """The guidance flows, one button per flow and case of the caseworker's (or only the
        case named: `/guide K7Q-4MX`); for a family, the flows meant for their own case."""
        await self.reply_once(update)
        if who.role == "family":
            cases = await own_case(self.app, who)
        else:
            cases = await caseworker_cases(self.app, who)
        wanted = argument.split()[0].upper() if argument else None
        if wanted is not None:
            cases = [case for case in cases if case.code == wanted]
        user_id = update.effective_user.id
        rows = [
            [
                InlineKeyboardButton(
                    f"{tr(Text(flow.title))} · {case.code}",
                    callback_data=self.signer.sign(user_id, "g", flow.id, case.code),
                )
            ]
            for case in cases[:GUIDE_BUTTONS]
            for flow in flows_for(self.app.flows, who.role, case, self.app.settings.country)
        ][:GUIDE_BUTTONS]
        if not rows:
            empty = texts.NO_GUIDES if cases else texts.NO_CASES
            await self.say(context, update, tr, empty, who=who)
            return
        await self.send(
            context,
            update.effective_chat.id,
            tr(texts.GUIDES),
            InlineKeyboardMarkup(rows),
            who=who,
        )

    async def on_guide_button(self, update, context, who, tr, fields, once) -> None:
        """Start (or continue) a guidance flow for one of the person's cases (a family: for
        their own case, whatever the button says)."""
        query = update.callback_query
        flow_id, code = fields
        if not who.consented or flow_id not in {
            f.id for f in flows_for(self.app.flows, who.role, None, "")
        }:
            await answer_quietly(query, tr(texts.BUTTON_NOT_VALID))
            return
        case_code = None if who.role == "family" else code
        try:
            turn = await runs.start_flow(self.app, who, flow_id, once=once, case_code=case_code)
        except NotAllowed:
            await answer_quietly(query, tr(texts.NOT_YOUR_CASE.using(case=code)))
            return
        await answer_quietly(query)
        await self.show(context, update, who, tr, turn)

    async def cmd_invite(self, update, context, who, tr, argument) -> None:
        if not argument:
            await self.say(context, update, tr, texts.INVITE_USAGE, who=who)
            return
        case_code = argument.split()[0].upper()
        try:
            invite = await invites.create_invite(
                self.app, "family", case_code, by=who, once=self.once(update)
            )
        except NotAllowed:
            # The same answer for a case that does not exist and one that is not theirs:
            # the bot does not confirm which case codes exist.
            await self.say(context, update, tr, texts.NOT_YOUR_CASE.using(case=case_code), who=who)
            return
        link = invite.link(context.bot.username)
        caption = tr(
            texts.INVITE_CREATED.using(case=case_code, expires=invite.expires_at, link=link)
        )
        try:
            await context.bot.send_photo(
                update.effective_chat.id, invites.invite_qr_png(link), caption=_fit(caption, 1024)
            )
        except Forbidden:
            await self.person_unreachable(context.bot, who.person_id)
        log.info("invite created", extra={"person_id": who.person_id, "event": "family"})

    async def cmd_stop(self, update, context, who, tr, _argument) -> None:
        await self.family_reminders(update, context, who, tr, paused=True)

    async def cmd_resume(self, update, context, who, tr, _argument) -> None:
        await self.family_reminders(update, context, who, tr, paused=False)

    async def family_reminders(self, update, context, who, tr, *, paused: bool) -> None:
        view = await schedules.family_pause(self.app, who, paused, once=self.once(update))
        if view is not None and paused:
            # Monitoring stops while paused: the caseworker must know, not find out later.
            await self.deliver(context.bot, await schedules.pause_notices(self.app, who))
        if view is None:
            answer = texts.NO_REMINDERS
        elif paused:
            answer = texts.REMINDERS_PAUSED
        else:
            answer = texts.REMINDERS_RESUMED.using(when=view.next_due_at or "—")
        await self.say(context, update, tr, answer, who=who)

    async def cmd_schedule(self, update, context, who, tr, argument) -> None:
        code, _, when = argument.partition(" ")
        if not code or not when.strip():
            await self.say(context, update, tr, texts.SCHEDULE_USAGE, who=who)
            return
        code = code.upper()
        try:
            cadence = parse_cadence(
                when, self.app.settings.timezone, starts_on=self.app.clock().date()
            )
        except ValueError as problem:
            # The parser's message is English; it quotes what was typed, to the one who typed it.
            await self.say(
                context,
                update,
                tr,
                texts.SCHEDULE_NOT_UNDERSTOOD.using(problem=str(problem)),
                texts.SCHEDULE_USAGE,
                who=who,
            )
            return
        try:
            view = await schedules.set_schedule(
                self.app, code, cadence, by=who, once=self.once(update)
            )
        except NotAllowed:
            await self.say(context, update, tr, texts.NOT_YOUR_CASE.using(case=code), who=who)
            return
        done = texts.SCHEDULE_SET.using(
            case=view.case_code, cadence=view.cadence, when=view.next_due_at or "—"
        )
        await self.say(context, update, tr, done, who=who)

    async def cmd_visit(self, update, context, who, tr, argument) -> None:
        if not argument:
            await self.say(context, update, tr, texts.VISIT_USAGE, who=who)
            return
        await self.record_visit(update, context, who, tr, argument.split()[0], self.once(update))

    async def record_visit(self, update, context, who, tr, code: str, once: str) -> None:
        code = code.upper()
        try:
            plan = await visits.record_visit(self.app, code, by=who, once=once)
        except NotAllowed:
            await self.say(context, update, tr, texts.NOT_YOUR_CASE.using(case=code), who=who)
            return
        done = (
            texts.VISIT_RECORDED.using(case=code, when=plan.visit_due_at)
            if plan.visit_due_at
            else texts.VISIT_RECORDED_NO_NEXT.using(case=code)
        )
        await self.say(context, update, tr, done, who=who)


_COMMANDS: dict[str, Any] = {
    "help": TelegramChannel.cmd_help,
    "checkin": TelegramChannel.cmd_checkin,
    "cancel": TelegramChannel.cmd_cancel,
    "cases": TelegramChannel.cmd_cases,
    "guide": TelegramChannel.cmd_guide,
    "invite": TelegramChannel.cmd_invite,
    "flags": TelegramChannel.cmd_flags,
    "case": TelegramChannel.cmd_case,
    "schedule": TelegramChannel.cmd_schedule,
    "stop": TelegramChannel.cmd_stop,
    "resume": TelegramChannel.cmd_resume,
    "visit": TelegramChannel.cmd_visit,
}


def _may_be_in_danger(who: Participant | None) -> bool:
    return who is None or who.role == "family"


def _fit(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    # Telegram refuses longer messages outright; a cut text is better than none.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _with_lines(tr: Translator, text: Text, lines: tuple[Text, ...]) -> str:
    """A text with its lines under it (a checklist's items), as one message."""
    return "\n".join([tr(text), *(tr(line) for line in lines)])


def _kind_of(message: Message) -> str:
    for kind in (
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
    ):
        if getattr(message, kind, None):
            return kind
    return "other"


async def _remove_buttons(message: object, new_text: str | None = None) -> None:
    """Show what was chosen and take the buttons away. An old message may be gone, or only
    known by id (Telegram sends an InaccessibleMessage for old ones): then nothing to do."""
    if not isinstance(message, Message):
        return
    try:
        if new_text is not None and new_text != message.text:
            await message.edit_text(_fit(new_text), reply_markup=None)
        else:
            await message.edit_reply_markup(reply_markup=None)
    except (BadRequest, Forbidden):
        # "message is not modified" or "message to edit not found": nothing left to do.
        pass
