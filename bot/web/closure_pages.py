"""A coordinator's decision on a case's closure, on the case's page: approve a proposal,
return it with a note, or reopen a closed case — the services of the bot's closure buttons
and `/closure` (`bot.services.guidance`), so the same rules hold (a coordinator decides, not
on their own proposal; a decision on a proposal that is no longer waiting changes nothing)
and the caseworker is told the same way."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..app import Wegwijzer
from ..engine import Text
from ..rules.access import NotAllowed, decides_closure
from ..rules.guidance import proposal_id
from ..services import flags, guidance, texts
from . import texts as T
from ._security import RateLimiter
from .view import WebView, case_param

# What the last decision came to, shown on the case's page it goes back to (`?closure=`).
OUTCOMES = {
    "approve": texts.CASE_NOW_CLOSED,
    "return": texts.CLOSURE_RETURNED,
    "reopen": texts.CASE_REOPENED,
    "own_proposal": texts.OWN_PROPOSAL,
    "not_waiting": texts.NO_CLOSURE_WAITING,
    "note": T.CLOSURE_NOTE_REQUIRED,
    "too_long": T.NOTE_TOO_LONG.using(limit=flags.NOTE_MAX),
}
# Those of them that say nothing was done.
PROBLEMS = ("own_proposal", "not_waiting", "note", "too_long")


def closure_outcome(request: Request, code: str) -> tuple[Text | None, bool]:
    """The decision's outcome to show on a case's page, and whether it is a problem."""
    key = request.query_params.get("closure", "")
    text = OUTCOMES.get(key)
    return (text.using(case=code) if text is not None else None), key in PROBLEMS


class ClosurePages(WebView):
    def __init__(self, app: Wegwijzer, limiter: RateLimiter | None = None) -> None:
        super().__init__(app, limiter)
        self.templates.globals["decides_closure"] = decides_closure
        self.templates.globals["proposal_id"] = proposal_id

    def closure_routes(self) -> list[BaseRoute]:
        return [Route("/cases/{code}/closure/{action:str}", self.decide, methods=["POST"])]

    async def decide(self, request: Request) -> Response:
        posted = await self.posted(request)
        if isinstance(posted, Response):
            return posted
        page, form = posted.page, posted.form
        who, app = posted.who, self.app
        code = str(request.path_params["code"]).strip().upper()
        if not code or case_param(code) != code:
            # No case has such a code: nothing to look up (a NUL would not even reach the
            # database), as for the case's page.
            return self.message(page, T.NOT_FOUND_TITLE, texts.NOT_YOUR_CASE.using(case="—"), 404)
        action = str(request.path_params["action"])
        back = f"/cases/{code}"
        # The proposal the page showed: a newer one (returned and proposed again meanwhile)
        # is not decided by a form made for the old one.
        proposal = _proposal(form.get("proposal", ""))
        note = form.get("note", "").strip()
        try:
            if action == "approve":
                if proposal is None:
                    return self.bad_form(page)
                await guidance.approve_closure(app, who, code, proposal=proposal)
            elif action == "return":
                if proposal is None:
                    return self.bad_form(page)
                if not note:
                    return _back(back, "note")
                if len(note) > flags.NOTE_MAX:
                    return _back(back, "too_long")
                await guidance.return_closure(app, who, code, note, proposal=proposal)
            elif action == "reopen":
                await guidance.reopen_case(app, who, code)
            else:
                raise HTTPException(404)
        except NotAllowed:
            # The bot's answer, whether the case is another's, does not exist, or the reader
            # is no coordinator.
            return self.message(page, T.NOT_FOUND_TITLE, texts.NOT_YOUR_CASE.using(case=code), 404)
        except guidance.OwnProposal:
            return _back(back, "own_proposal")
        except guidance.NotProposed:
            # Decided by another coordinator meanwhile, pressed twice, or an older proposal.
            return _back(back, "not_waiting")
        return _back(back, action)


def _back(case_page: str, outcome: str) -> RedirectResponse:
    return RedirectResponse(f"{case_page}?closure={outcome}#closure-heading", status_code=303)


def _proposal(text: str) -> int | None:
    """A proposal's id as the form carries it (the second it was made: ten digits now)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None
