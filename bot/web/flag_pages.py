"""The flag queue, a flag's page and the actions on it: the services of the bot's `/flags`
and `/flag` (`bot.services.flags`), so a change here shows in the bot at once and back."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..engine import Text
from ..engine.events import JSONValue
from ..rules.access import NotAllowed
from ..services import audit, flags, texts
from ..services.review_texts import HIDDEN_HISTORY
from ..storage.models import FLAG_LEVELS, FLAG_STATUSES, UNRESOLVED_FLAG_STATUSES
from . import texts as T
from .view import (
    PAGE_SIZE,
    Page,
    WebView,
    as_int,
    case_param,
    day_param,
    here,
    page_number,
    start_of_day,
)


class FlagPages(WebView):
    def flag_routes(self) -> list[BaseRoute]:
        return [
            Route("/flags", self.queue),
            Route("/flags/{flag_id}", self.flag),
            Route("/flags/{flag_id}/assign", self.choose_assignee, methods=["GET"]),
            Route("/flags/{flag_id}/{action:str}", self.act, methods=["POST"]),
        ]

    # --- the queue ----------------------------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        who = page.sign_in.who
        wanted, chosen = _queue_filter(request, self.app.settings.timezone)
        number = page_number(request.query_params.get("page", ""))
        try:
            found = await flags.review_page(self.app, who, number, PAGE_SIZE, wanted)
        except NotAllowed:
            return self.not_signed_in(page)
        shown: list[JSONValue] = [flag.id for flag in found.flags]
        # The same record as the command line's listing of flags: who saw which.
        await audit.record_look(self.app, who, "flags_listed", flags=shown, page=found.page)
        query = {key: value for key, value in chosen.items() if value}

        def page_link(to: int) -> str:
            return "/flags?" + urlencode({**query, "page": to})

        return self.render(
            page,
            "flags.html",
            T.QUEUE_TITLE,
            request_path=here(request),
            found=found,
            now=self.app.clock(),
            chosen=chosen,
            levels=FLAG_LEVELS,
            statuses=FLAG_STATUSES,
            programmes=texts.PROGRAMMES,
            page_link=page_link,
        )

    # --- one flag -----------------------------------------------------------------------------

    async def flag(self, request: Request) -> Response:
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        flag_id = as_int(request.path_params["flag_id"])
        who = page.sign_in.who
        try:
            view = await flags.flag_detail(self.app, who, flag_id or 0)
            sent = await flags.deliveries(self.app, who, view.id)
        except NotAllowed:
            return self.not_available(page, flag_id)
        done = request.query_params.get("done", "")
        return self.render(
            page,
            "flag.html",
            T.FLAG_TITLE.using(id=view.id),
            request_path=f"/flags/{view.id}",
            flag=view,
            now=self.app.clock(),
            evidence=flags.evidence_lines(self.app, view),
            source=flags.rule_source(self.app, view),
            history=[entry for entry in view.history if entry.action not in HIDDEN_HISTORY],
            history_action=_history_action,
            deliveries=sent,
            may_assign=who.role == "coordinator" and view.status != "resolved",
            done=T.DONE.get(done),
            problem=_PROBLEMS.get(request.query_params.get("problem", "")),
            note_max=flags.NOTE_MAX,
        )

    async def choose_assignee(self, request: Request) -> Response:
        """The caseworkers to assign a flag to, on a page of its own as in the bot (behind
        the Assign button): listing thousands of them costs more than a flag's page may."""
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        flag_id = as_int(request.path_params["flag_id"]) or 0
        try:
            people = await flags.assignable_caseworkers(self.app, page.sign_in.who, flag_id)
        except NotAllowed:
            return self.not_available(page, flag_id)
        return self.render(
            page,
            "assign.html",
            T.ASSIGN_TITLE.using(id=flag_id),
            request_path=f"/flags/{flag_id}/assign",
            flag_id=flag_id,
            caseworkers=people,
            problem=_PROBLEMS.get(request.query_params.get("problem", "")),
        )

    def not_available(self, page: Page, flag_id: int | None) -> HTMLResponse:
        text = texts.FLAG_NOT_AVAILABLE.using(id=flag_id or "—")
        return self.message(page, T.NOT_FOUND_TITLE, text, 404)

    async def act(self, request: Request) -> Response:
        """acknowledge, assign, note, resolve, reopen: the services of the bot's `/flag`."""
        posted = await self.posted(request)
        if isinstance(posted, Response):
            return posted
        page, form = posted.page, posted.form
        who, app = posted.who, self.app
        flag_id = as_int(request.path_params["flag_id"]) or 0
        action = str(request.path_params["action"])
        text = form.get("text", "")
        back = f"/flags/{flag_id}"
        try:
            if action == "acknowledge":
                outcome = await flags.acknowledge(app, who, flag_id)
            elif action == "assign":
                to = as_int(form.get("to"))
                if to is None:  # the choice's form sends only numbers
                    return self.bad_form(page)
                outcome = await flags.assign(app, who, flag_id, to)
            elif action == "note":
                outcome = await flags.add_note(app, who, flag_id, text)
            elif action == "resolve":
                outcome = await flags.resolve(app, who, flag_id, text)
            elif action == "reopen":
                outcome = await flags.reopen(app, who, flag_id)
            else:
                raise HTTPException(404)
        except NotAllowed:
            return self.not_available(page, flag_id)
        except flags.NoteRequired:
            return RedirectResponse(f"{back}?problem=note", status_code=303)
        except flags.NoteTooLong:
            return RedirectResponse(f"{back}?problem=too_long", status_code=303)
        except flags.NotAssignable:
            # Left or changed role since the list was shown, or never one: choose again.
            return RedirectResponse(f"{back}/assign?problem=assignee", status_code=303)
        done = _DONE[action] if outcome.changed else "unchanged"
        if action == "resolve" and not outcome.changed:
            done = "noted"  # resolved meanwhile by someone else: the text was kept as a note
        return RedirectResponse(f"{back}?done={done}", status_code=303)


_DONE = {
    "acknowledge": "acknowledged",
    "assign": "assigned",
    "note": "noted",
    "resolve": "resolved",
    "reopen": "reopened",
}


# What went wrong with the last form, shown on the page it goes back to (`?problem=`).
_PROBLEMS = {
    "note": T.NOTE_REQUIRED,
    "too_long": T.NOTE_TOO_LONG.using(limit=flags.NOTE_MAX),
    "assignee": T.NOT_ASSIGNABLE,
}


def _history_action(entry: flags.HistoryEntry) -> Text:
    """What happened; a delivery names whom it reached (as in the bot)."""
    action = texts.HISTORY_ACTIONS.get(entry.action, Text(entry.action))
    to, role = entry.detail.get("to"), entry.detail.get("role")
    if entry.action in ("told", "not_told") and isinstance(to, int) and isinstance(role, str):
        return action.using(person=texts.actor(role, to))
    return action


def _queue_filter(request: Request, zone: str) -> tuple[flags.QueueFilter, dict[str, str]]:
    """The queue's filters from the query string, and what was chosen (to show it again);
    values that are not among the choices are left out."""
    query = request.query_params
    level = query.get("level", "")
    status = query.get("status", "")
    programme = query.get("programme", "")
    age = query.get("age", "")
    chosen = {
        "level": level if level in FLAG_LEVELS else "",
        "status": status if status in (*FLAG_STATUSES, "all") else "",
        "overdue": "1" if query.get("overdue") else "",
        "assignee": str(as_int(query.get("assignee")) or ""),
        "programme": programme if programme in texts.PROGRAMMES else "",
        "case": case_param(query.get("case", "")),
        # The overview's links: flags of an age, raised or escalated in a period (dates in
        # the deployment's time zone, both included), of one caseworker's cases.
        "age": age if age in _AGES else "",
        "raised_from": day_param(query.get("raised_from", "")),
        "raised_to": day_param(query.get("raised_to", "")),
        "caseworker": str(as_int(query.get("caseworker")) or ""),
        "escalated_from": day_param(query.get("escalated_from", "")),
        "escalated_to": day_param(query.get("escalated_to", "")),
    }
    statuses: tuple[str, ...] = UNRESOLVED_FLAG_STATUSES
    if chosen["status"] == "all":
        statuses = FLAG_STATUSES
    elif chosen["status"]:
        statuses = (chosen["status"],)
    wanted = flags.QueueFilter(
        levels=(chosen["level"],) if chosen["level"] else (),
        statuses=statuses,
        overdue=bool(chosen["overdue"]),
        assignee=as_int(chosen["assignee"]),
        programme=chosen["programme"] or None,
        case_code=chosen["case"] or None,
        age=chosen["age"] or None,
        raised_from=start_of_day(chosen["raised_from"], zone),
        raised_to=start_of_day(chosen["raised_to"], zone, next_day=True),
        caseworker=as_int(chosen["caseworker"]),
        escalated_from=start_of_day(chosen["escalated_from"], zone),
        escalated_to=start_of_day(chosen["escalated_to"], zone, next_day=True),
    )
    return wanted, chosen


_AGES = tuple(key for key, _, _ in flags.FLAG_AGES)
