"""The list of cases and a case's page: the bot's `/case` (`bot.services.case_view`, so the
same access check and audit record), with the WHO-5 well-being as a table and a chart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..engine import Text
from ..engine.events import JSONValue
from ..rules.access import NotAllowed
from ..rules.wellbeing import CheckIn
from ..services import audit, case_list, texts
from ..services.case_view import CaseView, case_view
from ..services.review_texts import (
    child_status_lines,
    guidance_lines,
    home_visit_lines,
    schedule_line,
)
from . import texts as T
from .view import PAGE_SIZE, WebView, here, page_number


class CasePages(WebView):
    def case_routes(self) -> list[BaseRoute]:
        return [
            Route("/cases", self.cases, methods=["GET"]),
            Route("/cases/{code}", self.case, methods=["GET"]),
        ]

    # --- the cases -----------------------------------------------------------------------------

    async def cases(self, request: Request) -> Response:
        """The cases the reader handles, by code, searchable by the start of a code."""
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        who = page.sign_in.who
        search = request.query_params.get("case", "").strip().upper()[:16]
        number = page_number(request.query_params.get("page", ""))
        try:
            found = await case_list.case_page(self.app, who, number, PAGE_SIZE, search)
        except NotAllowed:
            return self.not_signed_in(page)
        shown: list[JSONValue] = [case.code for case in found.cases]
        # Who saw which cases, as for the flags listed.
        await audit.record_look(self.app, who, "cases_listed", cases=shown, page=found.page)

        def page_link(to: int) -> str:
            return "/cases?" + urlencode({**({"case": search} if search else {}), "page": to})

        return self.render(
            page,
            "cases.html",
            T.CASES_TITLE,
            request_path=here(request),
            found=found,
            search=search,
            page_link=page_link,
        )

    # --- one case -----------------------------------------------------------------------------

    async def case(self, request: Request) -> Response:
        """A case at a glance, as the bot's `/case` shows it (the same service, so the same
        access check and audit record), with the WHO-5 well-being as a table and a chart."""
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        code = str(request.path_params["code"]).strip().upper()
        if not _CASE_CODE.fullmatch(code):
            # No case has such a code: nothing to look up (or to fill the audit log with).
            return self.message(page, T.NOT_FOUND_TITLE, texts.NOT_YOUR_CASE.using(case="—"), 404)
        try:
            view = await case_view(self.app, page.sign_in.who, code)
        except NotAllowed:
            # The bot's answer, whether the case is another's or does not exist.
            return self.message(page, T.NOT_FOUND_TITLE, texts.NOT_YOUR_CASE.using(case=code), 404)
        summary = (
            [texts.CASE_ERASED.using(case=view.code)]
            if view.erased_at is not None
            else _case_lines(view)
        )
        return self.render(
            page,
            "case.html",
            T.CASE_TITLE.using(case=view.code),
            request_path=f"/cases/{view.code}",
            case=view,
            now=self.app.clock(),
            summary=summary,
            chart=_chart(view.checkins),
        )


# Case codes as the bot gives them out (letters, digits, dashes), with room to spare.
_CASE_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")


@dataclass(frozen=True)
class Chart:
    """The WHO-5 chart's geometry in SVG user units (drawn by `case.html`)."""

    width: int
    height: int
    points: tuple[tuple[float, float, int], ...]  # x, y, the score
    poor: float  # y of the "poor well-being" cut-off (52)
    low: float  # y of the "possible depression" cut-off (28)


# WHO-5 cut-offs in percent (domain.md): raw below 13 (52 %) is poor well-being, raw 7 or
# less (28 %) may mean depression.
WHO5_POOR, WHO5_LOW = 52, 28
_CHART_W, _CHART_H, _PAD = 320, 120, 10


def _chart(checkins: tuple[CheckIn, ...]) -> Chart | None:
    """Where each check-in goes on a chart of 0–100 over time (evenly spaced: a check-in is
    weekly or as scheduled); None without check-ins."""
    if not checkins:
        return None

    def y(score: float) -> float:
        return round(_PAD + (100 - score) * (_CHART_H - 2 * _PAD) / 100, 1)

    step = (_CHART_W - 2 * _PAD) / max(len(checkins) - 1, 1)
    points = tuple(
        (round(_PAD + index * step, 1), y(each.well_being), each.well_being)
        for index, each in enumerate(checkins)
    )
    return Chart(_CHART_W, _CHART_H, points, y(WHO5_POOR), y(WHO5_LOW))


def _case_lines(view: CaseView) -> list[Text]:
    """The bot's `/case` lines but its heading (the page's) and its check-ins, which the
    page shows as a table and a chart."""
    lines = guidance_lines(view)
    lines.append(texts.TRENDS[view.trend].using(change=view.change))
    lines.append(schedule_line(view.schedule))
    if view.visit_due_at is not None:
        lines.append(texts.NEXT_VISIT.using(when=view.visit_due_at))
    return lines + home_visit_lines(view.home_visits) + child_status_lines(view.children)
