"""The coordinators' overview (`/overview`): the figures of `bot.services.overview` over a
chosen period, each linking to the list behind it — the flag queue or the case list with
the filters that find exactly those flags or cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..engine import Text
from ..engine.vocabulary import RISK_LEVELS
from ..rules.access import NotAllowed
from ..services import overview as figures
from ..services import texts
from ..storage.models import FLAG_LEVELS
from . import texts as T
from .view import WebView, here

# Durations up to two days are shown in hours, longer ones in days.
_HOURS_UP_TO = 48


class OverviewPages(WebView):
    def overview_routes(self) -> list[BaseRoute]:
        return [Route("/overview", self.overview, methods=["GET"])]

    async def overview(self, request: Request) -> Response:
        page = await self.page(request)
        if page.sign_in is None:
            return self.not_signed_in(page)
        query = request.query_params
        today = self.app.clock().astimezone(ZoneInfo(self.app.settings.timezone)).date()
        period, understood = figures.period_from(
            today, query.get("days", ""), query.get("from", ""), query.get("to", "")
        )
        try:
            found = await figures.overview(self.app, page.sign_in.who, period)
        except NotAllowed:
            return self.message(page, T.OVERVIEW_REFUSED_TITLE, T.OVERVIEW_REFUSED, 403)
        return self.render(
            page,
            "overview.html",
            T.OVERVIEW_TITLE,
            request_path=here(request),
            o=found,
            links=Links(period.first, period.last),
            understood=understood,
            periods=figures.PERIODS,
            levels=FLAG_LEVELS,
            risk_levels=RISK_LEVELS,
            stages=tuple(texts.STAGES),
            programmes=texts.PROGRAMMES,
            duration=lambda seconds: _duration(page.translate.render, seconds),
            bar=_bar_width(found),
            chart_width=CHART_WIDTH,
            bar_height=BAR_HEIGHT,
        )


@dataclass(frozen=True)
class Links:
    """Where each figure leads: the flag queue's and the case list's filters."""

    first: date
    last: date

    def flags(self, **wanted: object) -> str:
        return "/flags?" + urlencode({key: value for key, value in wanted.items() if value})

    def raised(self, level: str, status: str = "all") -> str:
        """The flags of a level raised in the period (of a status)."""
        return self.flags(level=level, status=status, raised_from=self.first, raised_to=self.last)

    def escalated(self, level: str) -> str:
        return self.flags(
            level=level, status="all", escalated_from=self.first, escalated_to=self.last
        )

    def cases(self, **wanted: object) -> str:
        """Open cases (the overview counts those), filtered as asked."""
        chosen = {key: value for key, value in wanted.items() if value is not None}
        return "/cases?" + urlencode({**chosen, "status": "open"})

    def closed(self) -> str:
        """The cases closed in the period."""
        return "/cases?" + urlencode(
            {"status": "closed", "closed_from": self.first, "closed_to": self.last}
        )


def _duration(render: Callable[[Text], str], seconds: float | None) -> str:
    """A time to acknowledge or resolve, in hours or days (one decimal); "—" for none."""
    if seconds is None:
        return "—"
    hours = seconds / 3600
    if hours <= _HOURS_UP_TO:
        return render(T.HOURS.using(hours=round(hours, 1)))
    return render(T.DAYS.using(days=round(hours / 24, 1)))


# The open flags' chart: its width in SVG user units, and the height of a level's bar.
CHART_WIDTH = 300
BAR_HEIGHT = 24


def _bar_width(found: figures.Overview) -> float:
    """Chart units per open flag: the level with the most fills the chart's width."""
    most = max((each.total for each in found.open_flags.values()), default=0)
    return CHART_WIDTH / most if most else 0.0
