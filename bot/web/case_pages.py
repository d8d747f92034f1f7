"""The list of cases and a case's page.

The list: the cases the reader handles, filtered and paged in the database
(`bot.services.case_list`), by code, caseworker, programme, stage, risk level and silence,
with the query string's names `case`, `caseworker`, `programme`, `stage`, `risk`, `silent`
(weeks) and `page` (other pages link to them).

A case's page: the case as the bot's `/case` shows it and more (`bot.services.case_detail`:
the same access check and audit record), with the WHO-5 well-being and each child's Child
Status Index as a chart and a table (the numbers are the chart's text alternative), the
risk level's history, a timeline of the last weeks, the flags, visits, schedule and closure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from babel.dates import format_date
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..engine import Text
from ..engine.events import JSONValue
from ..engine.vocabulary import RISK_LEVELS
from ..i18n import Translator
from ..rules.access import NotAllowed
from ..rules.wellbeing import CheckIn
from ..services import audit, case_list, flags, texts
from ..services.case_detail import Happening, case_detail
from ..services.case_view import CaseView, ChildStatus
from ..services.review_texts import guidance_lines, schedule_line
from . import texts as T
from .closure_pages import closure_outcome
from .view import PAGE_SIZE, WebView, as_int, case_param, day_param, here, page_number, start_of_day

# The longest silence the list's filter asks about (ten years): a number of weeks beyond
# any case's age, and still a date the database can compare.
MOST_SILENT_WEEKS = 520
CASE_STATUSES = ("open", "closed")


class CasePages(WebView):
    def case_routes(self) -> list[BaseRoute]:
        return [
            Route("/cases", self.cases, methods=["GET"]),
            Route("/cases/{code}", self.case, methods=["GET"]),
        ]

    # --- the cases -----------------------------------------------------------------------------

    async def cases(self, request: Request) -> Response:
        """The cases the reader handles, by code, filtered as the query string asks."""
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        who = page.sign_in.who
        query, chosen = _case_query(request, self.app.settings.timezone)
        number = page_number(request.query_params.get("page", ""))
        try:
            found = await case_list.case_page(self.app, who, number, PAGE_SIZE, query=query)
        except NotAllowed:
            return self.not_signed_in(page)
        shown: list[JSONValue] = [case.code for case in found.cases]
        # Who saw which cases, as for the flags listed.
        await audit.record_look(self.app, who, "cases_listed", cases=shown, page=found.page)
        kept = {key: value for key, value in chosen.items() if value}

        def page_link(to: int) -> str:
            return "/cases?" + urlencode({**kept, "page": to})

        now = self.app.clock()
        return self.render(
            page,
            "cases.html",
            T.CASES_TITLE,
            request_path=here(request),
            found=found,
            search=chosen["case"],
            chosen=chosen,
            programmes=texts.PROGRAMMES,
            stages=texts.STAGES,
            risks=RISK_LEVELS,
            may_choose_caseworker=who.role == "coordinator",
            page_link=page_link,
            day=_day(page.translate),
            silent_for=lambda at: _weeks_since(at, now),
        )

    # --- one case -----------------------------------------------------------------------------

    async def case(self, request: Request) -> Response:
        """A case in full (`case_detail`: the access check and audit record of `/case`)."""
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        code = str(request.path_params["code"]).strip().upper()
        if not _CASE_CODE.fullmatch(code):
            # No case has such a code: nothing to look up (or to fill the audit log with).
            return self.message(page, T.NOT_FOUND_TITLE, texts.NOT_YOUR_CASE.using(case="—"), 404)
        try:
            detail = await case_detail(self.app, page.sign_in.who, code)
        except NotAllowed:
            # The bot's answer, whether the case is another's or does not exist.
            return self.message(page, T.NOT_FOUND_TITLE, texts.NOT_YOUR_CASE.using(case=code), 404)
        view = detail.view
        closure, closure_problem = closure_outcome(request, view.code)
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
            detail=detail,
            now=self.app.clock(),
            summary=summary,
            chart=_chart(view.checkins),
            children=[_child_chart(status) for status in view.children],
            home_chart=_home_chart(view),
            domains=texts.CSI_DOMAINS,
            happened=_happened,
            schedule_text=schedule_line(view.schedule),
            day=_day(page.translate),
            closure=closure,
            closure_problem=closure_problem,
            note_max=flags.NOTE_MAX,
        )


# Case codes as the bot gives them out (letters, digits, dashes), with room to spare.
_CASE_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")


def _case_query(request: Request, zone: str) -> tuple[case_list.CaseQuery, dict[str, str]]:
    """The list's filters from the query string, and what was chosen (to show it again);
    values that are not among the choices are left out."""
    query = request.query_params
    programme = query.get("programme", "")
    stage = query.get("stage", "")
    risk = query.get("risk", "")
    silent = as_int(query.get("silent"))
    status = query.get("status", "")
    chosen = {
        "case": case_param(query.get("case", "")),
        "caseworker": str(as_int(query.get("caseworker")) or ""),
        "programme": programme if programme in texts.PROGRAMMES else "",
        "stage": stage if stage in texts.STAGES else "",
        "risk": risk if risk in (*RISK_LEVELS, "none") else "",
        "silent": str(min(silent, MOST_SILENT_WEEKS)) if silent else "",
        "status": status if status in CASE_STATUSES else "",
        # The overview's closures: the cases closed in a period (days in the deployment's
        # time zone, both included).
        "closed_from": day_param(query.get("closed_from", "")),
        "closed_to": day_param(query.get("closed_to", "")),
    }
    asked = case_list.CaseQuery(
        code_prefix=chosen["case"],
        caseworker_id=as_int(chosen["caseworker"]),
        programme=chosen["programme"] or None,
        stage=chosen["stage"] or None,
        risk_level=chosen["risk"] or None,
        silent_weeks=as_int(chosen["silent"]),
        status=chosen["status"] or None,
        closed_from=start_of_day(chosen["closed_from"], zone),
        closed_to=start_of_day(chosen["closed_to"], zone, next_day=True),
    )
    return asked, chosen


def _day(tr: Translator) -> object:
    def day(value: datetime | date | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(tr.timezone).date()
        return format_date(value, "medium", locale=tr.locale)

    return day


def _weeks_since(at: datetime | None, now: datetime) -> int | None:
    """Whole weeks since `at` (None: never)."""
    if at is None:
        return None
    return max((now - at) // timedelta(weeks=1), 0)


# --- the charts ---------------------------------------------------------------------------


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


# A Child Status Index domain scores two ratings of 1 (very bad) to 4 (good): 2 to 8.
CSI_LOWEST, CSI_HIGHEST = 2, 8


@dataclass(frozen=True)
class CsiChart:
    """One child's (or the case's, without children) Child Status Index over their visits:
    the visits' dates, the scores per domain (the table), and each domain's line on a chart
    of 2–8 (SVG user units)."""

    label: Text | None
    dates: tuple[datetime, ...]
    # The domain's number (its colour, the same in every chart), key, name, score per visit.
    rows: tuple[tuple[int, str, Text, tuple[str, ...]], ...]
    lines: tuple[tuple[int, str, str], ...]  # the domain's number (its colour), key, points
    width: int = _CHART_W
    height: int = _CHART_H
    # y of each whole score, for the grid: (y, score).
    grid: tuple[tuple[float, int], ...] = ()


def _csi_chart(
    label: Text | None, visits: list[tuple[datetime, dict[str, float]]]
) -> CsiChart | None:
    if not visits:
        return None

    def y(score: float) -> float:
        share = (score - CSI_LOWEST) / (CSI_HIGHEST - CSI_LOWEST)
        return round(_CHART_H - _PAD - share * (_CHART_H - 2 * _PAD), 1)

    step = (_CHART_W - 2 * _PAD) / max(len(visits) - 1, 1)
    rows, lines = [], []
    for number, (key, name) in enumerate(texts.CSI_DOMAINS.items()):
        values = [scores.get(key) for _at, scores in visits]
        if all(value is None for value in values):
            continue
        rows.append((number, key, name, tuple("—" if v is None else f"{v:g}" for v in values)))
        points = " ".join(
            f"{round(_PAD + index * step, 1)},{y(value)}"
            for index, value in enumerate(values)
            if value is not None
        )
        lines.append((number, key, points))
    grid = tuple((y(score), score) for score in range(CSI_LOWEST, CSI_HIGHEST + 1, 2))
    dates = tuple(at for at, _scores in visits)
    return CsiChart(label, dates, tuple(rows), tuple(lines), grid=grid)


def _child_chart(status: ChildStatus) -> tuple[ChildStatus, CsiChart | None]:
    child = status.child
    siblings = child.siblings()
    label = (
        texts.CHILD_CSI_HEADER.using(child=child.described(), siblings=siblings)
        if siblings is not None
        else texts.CHILD_CSI_LINE.using(child=child.described())
    )
    return status, _csi_chart(label, [(at, scores) for at, scores, _ in status.visits])


def _home_chart(view: CaseView) -> CsiChart | None:
    """The Child Status Index of visits that rated no registered child."""
    return _csi_chart(None, list(view.home_visits))


# --- the case's lines and timeline ------------------------------------------------------------


def _case_lines(view: CaseView) -> list[Text]:
    """The bot's `/case` lines but its heading (the page's), its check-ins and the Child
    Status Index, which the page shows as tables and charts."""
    lines = guidance_lines(view)
    lines.append(texts.TRENDS[view.trend].using(change=view.change))
    lines.append(schedule_line(view.schedule))
    if view.visit_due_at is not None:
        lines.append(texts.NEXT_VISIT.using(when=view.visit_due_at))
    return lines


def _happened(entry: Happening) -> Text:
    """What a timeline entry says."""
    detail = entry.detail
    kind = entry.kind
    if kind == "checkin":
        score = detail.get("score")
        return T.TL_CHECKIN.using(score=score) if score is not None else T.TL_CHECKIN_DONE
    if kind in ("raised", "resolved"):
        level = detail.get("level")
        text = T.TL_FLAG_RAISED if kind == "raised" else T.TL_FLAG_RESOLVED
        return text.using(
            id=detail.get("flag", "—"),
            level=texts.LEVELS.get(level, Text(str(level))) if isinstance(level, str) else "—",
        )
    if kind == "risk_level_set":
        level = detail.get("level")
        return T.TL_RISK.using(
            level=texts.LEVELS.get(level, Text(str(level))) if isinstance(level, str) else "—"
        )
    if kind == "stage_set":
        stage = detail.get("stage")
        return T.TL_STAGE.using(
            stage=texts.STAGES.get(stage, texts.NO_STAGE) if isinstance(stage, str) else "—"
        )
    return T.TIMELINE_KINDS.get(kind, Text(kind))
