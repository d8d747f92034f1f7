"""Reviewing flags and cases on Telegram: the queue, one flag, its actions, and notices.

A mixin of `TelegramChannel`, kept apart because it is one topic: coordinators and
caseworkers going through flags with buttons. Every button carries only a flag id (and a
page or a person id), signed for its owner; what may be done is decided again by
`bot.services.flags` from the database on every press.

Callback kinds "f": `f:p:<page>` a page of the queue, `f:o:<flag>` open a flag,
`f:a:<flag>` acknowledge, `f:s:<flag>` choose someone to assign to, `f:t:<flag>:<person>`
assign to them, `f:n:<flag>` add a note, `f:r:<flag>` resolve, `f:R:<flag>` reopen.
A case's closure, "z": `z:a:<case>:<proposal>` approve, `z:r:<case>:<proposal>` return with a
note (typed next), `z:o:<case>` reopen a closed case; a button of an older proposal of the
same case does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from ..engine import Text
from ..i18n import Translator
from ..rules.access import NotAllowed
from ..rules.guidance import proposal_id
from ..services import flags, guidance, texts
from ..services.case_view import case_view
from ..services.notices import Notice
from ..services.people import Participant
from ..services.review_texts import case_view_lines, flag_detail_lines
from ._presses import answer_quietly

log = logging.getLogger(__name__)

PAGE_SIZE = 5
# Notices in flight at once; the rate limiter decides how fast they actually go.
SENDING_AT_ONCE = 32
STAFF = ("caseworker", "coordinator")


class FlagReview:
    """Needs `app`, `signer`, `send()`, `translator()`, `once()` and `reply_once()` from the
    channel it is mixed into."""

    app: Any
    signer: Any

    # --- telling people -----------------------------------------------------------------------

    async def deliver(self, bot: Bot, notices: list[Notice]) -> None:
        """Send notices (new flags, digests, escalations, reminders) to the Telegram people
        among their recipients, each in their own language, with their buttons.

        Many at once (a morning's reminders): sent concurrently, paced by the application's
        rate limiter, so a slow round trip to Telegram does not hold the others up. A notice
        that fails is logged and the rest still go; an urgent flag nobody acknowledges comes
        back as an escalation.
        """
        ours = [notice for notice in notices if notice.recipient.channel == "telegram"]
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
        settings = self.app.settings
        recipient = notice.recipient
        tr = self.app.catalogs.translator(
            recipient.language or settings.default_language, settings.timezone
        )
        user_id = int(recipient.external_id)
        body = "\n".join([tr(notice.text), *(tr(line) for line in notice.lines)])
        rows = [
            [
                InlineKeyboardButton(
                    tr(texts.ACKNOWLEDGE), callback_data=self.signer.sign(user_id, "f", "a", i)
                ),
                InlineKeyboardButton(
                    tr(texts.OPEN), callback_data=self.signer.sign(user_id, "f", "o", i)
                ),
            ]
            for i in notice.flag_ids
        ]
        if notice.start_flow is not None:
            start = self.signer.sign(user_id, "k", "checkin")
            rows = [[InlineKeyboardButton(tr(texts.START_CHECKIN), callback_data=start)]]
        elif notice.visit_case is not None:
            done = self.signer.sign(user_id, "v", notice.visit_case)
            rows = [[InlineKeyboardButton(tr(texts.VISIT_DONE), callback_data=done)]]
        elif notice.guide is not None:
            rows = [[self.guide_button(user_id, tr, *notice.guide)]]
        elif notice.closure is not None:
            rows = self.closure_buttons(user_id, tr, *notice.closure)
        elif not rows and not notice.plain:
            rows = [[self._queue_button(user_id, tr, 1, texts.OPEN)]]
        try:
            markup = InlineKeyboardMarkup(rows) if rows else None
            await bot.send_message(user_id, body[:4096], reply_markup=markup)
        except Forbidden:
            log.warning("notice recipient unreachable", extra={"person_id": recipient.person_id})
            if notice.start_flow is not None:
                await self.person_unreachable(bot, recipient.person_id)
        else:
            log.info("notice sent", extra={"person_id": recipient.person_id})

    # --- the queue ----------------------------------------------------------------------------

    async def cmd_flags(self, update, context, who, tr, argument) -> None:
        await self.reply_once(update)
        page = int(argument) if argument.isascii() and argument.isdigit() else 1
        await self.show_queue(context, update, who, tr, page)

    async def show_queue(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        update: Update,
        who: Participant,
        tr: Translator,
        page: int,
        edit: Message | None = None,
    ) -> None:
        queue = await flags.review_queue(self.app, who)
        user_id = update.effective_user.id
        if not queue:
            await self._show(context, update, who, tr(texts.NO_OPEN_FLAGS), None, edit)
            return
        pages = (len(queue) + PAGE_SIZE - 1) // PAGE_SIZE
        page = min(max(page, 1), pages)
        shown = queue[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        now = self.app.clock()
        lines = [tr(texts.OPEN_FLAGS_PAGE.using(page=page, pages=pages))]
        lines += [f"#{flag.id} {tr(texts.flag_line(flag, now))}" for flag in shown]
        rows = [
            [
                InlineKeyboardButton(
                    f"{tr(texts.OPEN)} #{flag.id} · {tr(texts.LEVELS[flag.level])} · "
                    f"{flag.case_code or '—'}",
                    callback_data=self.signer.sign(user_id, "f", "o", flag.id),
                )
            ]
            for flag in shown
        ]
        pager = []
        if page > 1:
            pager.append(self._queue_button(user_id, tr, page - 1, texts.PREVIOUS_PAGE))
        if page < pages:
            pager.append(self._queue_button(user_id, tr, page + 1, texts.NEXT_PAGE))
        if pager:
            rows.append(pager)
        await self._show(context, update, who, "\n".join(lines), InlineKeyboardMarkup(rows), edit)

    # --- one flag -----------------------------------------------------------------------------

    async def show_flag(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        update: Update,
        who: Participant,
        tr: Translator,
        flag: flags.FlagView,
        edit: Message | None = None,
        before: Text | None = None,
    ) -> None:
        """A flag's detail with the buttons of what this person may do with it now."""
        now = self.app.clock()
        lines = [tr(line) for line in flag_detail_lines(self.app, flag, now)]
        if before is not None:
            lines.insert(0, tr(before) + "\n")
        user_id = update.effective_user.id

        def button(label: Text, action: str) -> InlineKeyboardButton:
            return InlineKeyboardButton(
                tr(label), callback_data=self.signer.sign(user_id, "f", action, flag.id)
            )

        row: list[InlineKeyboardButton] = []
        if flag.status == "open":
            row.append(button(texts.ACKNOWLEDGE, "a"))
        if flag.status != "resolved":
            row.append(button(texts.RESOLVE, "r"))
        else:
            row.append(button(texts.REOPEN, "R"))
        second = [button(texts.ADD_NOTE, "n")]
        if who.role == "coordinator" and flag.status != "resolved":
            second.append(button(texts.ASSIGN, "s"))
        rows = [row, second, [self._queue_button(user_id, tr, 1, texts.BACK_TO_LIST)]]
        await self._show(context, update, who, "\n".join(lines), InlineKeyboardMarkup(rows), edit)

    async def on_flag_button(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        who: Participant,
        tr: Translator,
        fields: list[str],
        once: str,
    ) -> None:
        query = update.callback_query
        if (
            who.role not in STAFF
            or not who.consented
            or len(fields) not in (2, 3)
            or not all(f.isascii() and f.isdigit() for f in fields[1:])
        ):
            await answer_quietly(query, tr(texts.BUTTON_NOT_VALID))
            return
        action, number = fields[0], int(fields[1])
        message = query.message if isinstance(query.message, Message) else None
        if action == "p":
            await answer_quietly(query)
            await self.reply_once(update)
            await self.show_queue(context, update, who, tr, number, edit=message)
            return
        try:
            await self._flag_action(update, context, who, tr, action, number, fields, once, message)
        except NotAllowed:
            await answer_quietly(
                query, tr(texts.FLAG_NOT_AVAILABLE.using(id=number)), show_alert=True
            )

    async def _flag_action(
        self, update, context, who, tr, action, flag_id, fields, once, message
    ) -> None:
        query = update.callback_query
        # The service first, then the answer to the press: a refusal is the press's answer.
        if action == "o":
            detail = await flags.flag_detail(self.app, who, flag_id, once)
            await answer_quietly(query)
            await self.show_flag(context, update, who, tr, detail)
        elif action == "a":
            outcome = await flags.acknowledge(self.app, who, flag_id, once)
            done = texts.FLAG_ACKNOWLEDGED if outcome.changed else texts.ALREADY_ACKNOWLEDGED
            await answer_quietly(query, tr(done.using(id=flag_id)))
            # In place: on a notice too, whose text the flag's detail includes.
            await self.show_flag(context, update, who, tr, outcome.flag, edit=message)
        elif action == "R":
            outcome = await flags.reopen(self.app, who, flag_id, once)
            await answer_quietly(
                query, tr(self._result(outcome, texts.FLAG_REOPENED.using(id=flag_id)))
            )
            await self.show_flag(context, update, who, tr, outcome.flag, edit=message)
        elif action == "s":
            await self.reply_once(update)
            await self.choose_assignee(context, update, who, tr, flag_id, query)
        elif action == "t" and len(fields) == 3:
            outcome = await flags.assign(self.app, who, flag_id, int(fields[2]), once)
            done = texts.FLAG_ASSIGNED.using(id=flag_id, person=fields[2])
            await answer_quietly(query, tr(self._result(outcome, done)))
            await self.show_flag(context, update, who, tr, outcome.flag, edit=message)
            if outcome.changed:
                await self.deliver(
                    context.bot, await flags.assignment_notices(self.app, outcome.flag)
                )
        elif action in ("n", "r"):
            typed = "note" if action == "n" else "resolve"
            await flags.ask_for_text(self.app, who, flag_id, typed, once)
            await answer_quietly(query)
            prompt = texts.TYPE_NOTE if typed == "note" else texts.TYPE_RESOLUTION
            await self.send(
                context, update.effective_chat.id, tr(prompt.using(id=flag_id)), who=who
            )
        else:
            await answer_quietly(query, tr(texts.BUTTON_NOT_VALID))

    @staticmethod
    def _result(outcome: flags.Outcome, done: Text) -> Text:
        if outcome.changed:
            return done
        return texts.NOTHING_CHANGED.using(
            id=outcome.flag.id, status=texts.STATUSES[outcome.flag.status]
        )

    async def choose_assignee(self, context, update, who, tr, flag_id, query) -> None:
        people = await flags.assignable_caseworkers(self.app, who, flag_id)
        await answer_quietly(query)
        user_id = update.effective_user.id
        if not people:
            await self.send(context, update.effective_chat.id, tr(texts.NO_CASEWORKERS), who=who)
            return
        rows = [
            [
                InlineKeyboardButton(
                    tr(
                        texts.CASEWORKER_LABEL.using(
                            person=person_id,
                            cases=", ".join(codes[:3]) if codes else texts.NO_CASES_YET,
                        )
                    ),
                    callback_data=self.signer.sign(user_id, "f", "t", flag_id, person_id),
                )
            ]
            for person_id, codes in people[:20]
        ]
        await self.send(
            context,
            update.effective_chat.id,
            tr(texts.CHOOSE_CASEWORKER.using(id=flag_id)),
            InlineKeyboardMarkup(rows),
            who=who,
        )

    async def on_typed_text(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, who: Participant, tr: Translator
    ) -> None:
        """The message a reviewer was asked for: a note, a resolution, a returned closure."""
        text = update.message.text
        if text is None:
            await self.send(context, update.effective_chat.id, tr(texts.ONLY_TEXT), who=who)
            return
        if (who.awaiting or {}).get("action") == "return_closure":
            await self.return_closure(update, context, who, tr, text)
            return
        try:
            action, outcome = await flags.take_typed_text(self.app, who, text, self.once(update))
        except flags.NoteRequired:
            await self.send(context, update.effective_chat.id, tr(texts.NOTE_EMPTY), who=who)
            return
        except NotAllowed:
            flag_id = (who.awaiting or {}).get("flag_id", "—")
            await self.send(
                context,
                update.effective_chat.id,
                tr(texts.FLAG_NOT_AVAILABLE.using(id=flag_id)),
                who=who,
            )
            return
        done = texts.NOTE_ADDED if action == "note" else texts.FLAG_RESOLVED
        if action == "resolve" and not outcome.changed:
            done = texts.NOTE_ADDED  # already resolved by someone else: kept as a note
        await self.show_flag(
            context, update, who, tr, outcome.flag, before=done.using(id=outcome.flag.id)
        )

    async def cancel_typed_text(self, update, context, who, tr) -> None:
        await self.reply_once(update)
        await flags.stop_waiting(self.app, who)
        awaiting = who.awaiting or {}
        if awaiting.get("action") == "return_closure":
            stopped = texts.RETURN_CANCELLED.using(case=awaiting.get("case", "—"))
        else:
            stopped = texts.NOTE_CANCELLED.using(id=awaiting.get("flag_id", "—"))
        await self.send(context, update.effective_chat.id, tr(stopped), who=who)

    # --- the case view ------------------------------------------------------------------------

    async def cmd_case(self, update, context, who, tr, argument) -> None:
        if not argument:
            await self.send(context, update.effective_chat.id, tr(texts.CASE_USAGE), who=who)
            return
        code = argument.split()[0].upper()
        try:
            view = await case_view(self.app, who, code, once=self.once(update))
        except NotAllowed:
            await self.send(
                context,
                update.effective_chat.id,
                tr(texts.NOT_YOUR_CASE.using(case=code)),
                who=who,
            )
            return
        user_id = update.effective_user.id
        lines = [tr(line) for line in case_view_lines(view, self.app.clock())]
        rows = []
        if view.next_step is not None:
            title = Text(self.app.flows.get(view.next_step).title)
            lines.append(tr(texts.NEXT_STEP.using(step=title)))
            rows.append([self.guide_button(user_id, tr, view.next_step, view.code)])
        if who.role == "coordinator" and view.status == "closed":
            rows += self.closure_buttons(user_id, tr, view.code)
        elif who.role == "coordinator" and view.closure_proposed_at is not None:
            proposal = proposal_id(view.closure_proposed_at)
            rows += self.closure_buttons(user_id, tr, view.code, proposal)
        rows += [
            [
                InlineKeyboardButton(
                    f"{tr(texts.OPEN)} #{flag.id} · {tr(texts.LEVELS[flag.level])}",
                    callback_data=self.signer.sign(user_id, "f", "o", flag.id),
                )
            ]
            for flag in view.open_flags[:PAGE_SIZE]
        ]
        markup = InlineKeyboardMarkup(rows) if rows else None
        await self.send(context, update.effective_chat.id, "\n".join(lines), markup, who=who)

    # --- guidance and closure -------------------------------------------------------------------

    def guide_button(
        self, user_id: int, tr: Translator, flow_id: str, code: str
    ) -> InlineKeyboardButton:
        """Starts (or continues) a guidance flow for a case, like /guide's buttons."""
        title = Text(self.app.flows.get(flow_id).title)
        return InlineKeyboardButton(
            f"{tr(title)} · {code}", callback_data=self.signer.sign(user_id, "g", flow_id, code)
        )

    def closure_buttons(
        self, user_id: int, tr: Translator, code: str, proposal: int | None = None
    ) -> list[list[InlineKeyboardButton]]:
        """A coordinator's decision on a proposed closure (which `proposal`), or the
        reopening of a closed case (no proposal)."""
        if proposal is None:
            actions = [(texts.REOPEN_CASE, ("o", code))]
        else:
            actions = [
                (texts.APPROVE_CLOSURE, ("a", code, proposal)),
                (texts.RETURN_CLOSURE, ("r", code, proposal)),
            ]
        return [
            [InlineKeyboardButton(tr(label), callback_data=self.signer.sign(user_id, "z", *data))]
            for label, data in actions
        ]

    async def on_closure_button(self, update, context, who, tr, fields, once) -> None:
        query = update.callback_query
        action, code, *rest = fields
        proposal = int(rest[0]) if rest and rest[0].isascii() and rest[0].isdigit() else None
        try:
            if action == "a" and proposal is not None:
                decision = await guidance.approve_closure(
                    self.app, who, code, once, proposal=proposal
                )
            elif action == "o":
                decision = await guidance.reopen_case(self.app, who, code, once)
            elif action == "r" and proposal is not None:
                await guidance.ask_for_return_note(self.app, who, code, once, proposal=proposal)
                await answer_quietly(query)
                prompt = tr(texts.TYPE_RETURN_NOTE.using(case=code))
                await self.send(context, update.effective_chat.id, prompt, who=who)
                return
            else:
                await answer_quietly(query, tr(texts.BUTTON_NOT_VALID))
                return
        except NotAllowed:
            await answer_quietly(query, tr(texts.NOT_YOUR_CASE.using(case=code)))
            return
        except guidance.NotProposed:
            # Pressed twice, decided by another coordinator meanwhile, or an older proposal.
            await answer_quietly(query, tr(texts.NO_CLOSURE_WAITING.using(case=code)))
            return
        except guidance.OwnProposal:
            await answer_quietly(query, tr(texts.OWN_PROPOSAL.using(case=code)))
            return
        await answer_quietly(query)
        await self.send(context, update.effective_chat.id, tr(decision.text), who=who)
        await self.deliver(context.bot, list(decision.notices))

    async def return_closure(self, update, context, who, tr, note: str) -> None:
        """The coordinator's typed note for returning a proposed closure."""
        awaiting = who.awaiting or {}
        code, proposal = str(awaiting.get("case", "")), awaiting.get("proposal")
        if not note.strip():
            await self.send(context, update.effective_chat.id, tr(texts.NOTE_EMPTY), who=who)
            return
        try:
            decision = await guidance.return_closure(
                self.app,
                who,
                code,
                note,
                self.once(update),
                proposal=proposal if isinstance(proposal, int) else 0,
            )
        except (NotAllowed, guidance.NotProposed):
            await flags.stop_waiting(self.app, who)
            text = texts.NO_CLOSURE_WAITING.using(case=code)
            await self.send(context, update.effective_chat.id, tr(text), who=who)
            return
        await self.send(context, update.effective_chat.id, tr(decision.text), who=who)
        await self.deliver(context.bot, list(decision.notices))

    # --- helpers ------------------------------------------------------------------------------

    def _queue_button(
        self, user_id: int, tr: Translator, page: int, label: Text
    ) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            tr(label), callback_data=self.signer.sign(user_id, "f", "p", page)
        )

    async def _show(self, context, update, who, text, markup, edit: Message | None) -> None:
        """Replace the message a button was on (paging, an action's result), or send anew."""
        if edit is not None:
            try:
                await edit.edit_text(text[:4096], reply_markup=markup)
                return
            except BadRequest:  # gone, or unchanged: send it as a new message
                log.info("edit failed, sending anew", extra={"event": "edit"})
        await self.send(context, update.effective_chat.id, text, markup, who=who)
