"""Where a case stands in its guidance: what its flows may read of it, which flows are for
it, which one it needs next, and which closure proposal a decision is about."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from ..engine import Flow, FlowRegistry
from ..engine.conditions import evaluate


class CaseFacts(Protocol):
    """What `case:` conditions see of a case (a case row, or a summary of one)."""

    @property
    def programme(self) -> str: ...


class GuidedCase(CaseFacts, Protocol):
    @property
    def status(self) -> str: ...
    @property
    def stage(self) -> str | None: ...
    @property
    def risk_level(self) -> str | None: ...
    @property
    def review_due_at(self) -> datetime | None: ...
    @property
    def closure_proposed_at(self) -> datetime | None: ...


# A risk screening this recent counts as fresh before a child's first overnight stay at home
# and before the return (domain.md, "Corrections": safety is re-assessed then); 30 days is the
# organisation's own choice, as the reintegration flow says.
FRESH_SCREENING = timedelta(days=30)


def case_facts(case: CaseFacts, country: str, now: datetime | None = None) -> dict[str, str | None]:
    """Programme, country, stage, risk level, whether a Meldcode re-evaluation is planned, and
    (given `now`) whether the last risk screening is recent or old (a summary has only its
    programme)."""
    planned = getattr(case, "reevaluation_due_at", None) is not None
    screened: datetime | None = getattr(case, "risk_set_at", None)
    screening = None
    if now is not None and screened is not None:
        screening = "recent" if now - screened <= FRESH_SCREENING else "old"
    return {
        "programme": case.programme,
        "country": country,
        "stage": getattr(case, "stage", None),
        "risk_level": getattr(case, "risk_level", None),
        "reevaluation": "planned" if planned else None,
        "screening": screening,
    }


def applies(flow: Flow, case: CaseFacts | None, country: str) -> bool:
    """Whether a flow is for this case (its `only_if`: some programmes or countries)."""
    if flow.only_if is None:
        return True
    if case is None:
        return False
    return evaluate(flow.only_if, {}, {}, case=case_facts(case, country)) is True


def flows_for(flows: FlowRegistry, role: str, case: CaseFacts | None, country: str) -> list[Flow]:
    """The flows a role can start; with a case, only those meant for it."""
    found = flows.for_role(role)
    return found if case is None else [flow for flow in found if applies(flow, case, country)]


def next_step(flows: FlowRegistry, case: GuidedCase, country: str, now: datetime) -> Flow | None:
    """The guidance a case needs next: a risk screening when it has none or one is due, the
    closure check in the closure stage, the navigator otherwise. None for a closed case, a
    closure waiting for a coordinator, a case planning alternative care (out of the stages),
    a flow this deployment does not have, or one not meant for the case (the navigator for a
    family-strengthening case: its closure check is in /guide, for when the case is ready)."""
    if case.status == "closed" or case.closure_proposed_at is not None:
        return None
    if case.risk_level is None or (case.review_due_at is not None and case.review_due_at <= now):
        wanted = "screening"
    elif case.stage == "closure":
        wanted = "closure"
    elif case.stage == "alternative_care":
        return None
    else:
        wanted = "navigator"
    flow = flows.for_purpose(wanted)
    return flow if flow is not None and applies(flow, case, country) else None


def proposal_id(proposed_at: datetime | None) -> int:
    """Which proposal of a case a button or a typed note is about (the second it was made):
    a decision on an older proposal (returned since, and proposed again) must not count for
    the new one."""
    if proposed_at is None:
        return 0
    if proposed_at.tzinfo is None:
        proposed_at = proposed_at.replace(tzinfo=UTC)
    return int(proposed_at.timestamp())


# The Meldcode re-evaluation reminds the caseworker in the morning of the planned day, in the
# deployment's timezone, rather than at the minute of the night the decision was recorded.
REEVALUATION_AT = time(9, 0)


def reevaluation_due(now: datetime, weeks: int, timezone: str) -> datetime:
    """When a re-evaluation planned `weeks` from now is due: that local day at
    `REEVALUATION_AT`, in UTC."""
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date() + timedelta(weeks=weeks)
    return datetime.combine(day, REEVALUATION_AT, tzinfo=zone).astimezone(UTC)


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()
