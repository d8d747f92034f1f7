"""When a case's next home visit is due, by its reintegration stage and risk level.

domain.md gives no fixed frequency in the guidelines, but comparable practice: weekly contact
in the first weeks (up to 8) after the child returns home, then at least monthly, for at least
a year. So each stage has its number of days between visits (`visit_days`; a stage without one
plans none), and in the first `visit_weekly_weeks` after contact and reunification began the
visits are weekly; a higher risk level brings them closer together (`risk_visit_days`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from ..config import Settings
from ..engine.vocabulary import STAGES


class VisitedCase(Protocol):
    stage: str | None
    stage_since: datetime | None
    status: str
    returned_at: datetime | None
    last_visit_at: datetime | None
    risk_level: str | None
    visit_due_at: datetime | None


def next_visit(settings: Settings, case: VisitedCase, now: datetime) -> datetime | None:
    """When the case's next home visit is due by its stage's plan; None for no visits."""
    if case.stage is None or case.status == "closed":
        return None
    days = settings.visit_days.get(case.stage)
    if days is None:
        return None
    returned = case.returned_at
    weekly_until = returned + timedelta(weeks=settings.visit_weekly_weeks) if returned else None
    if weekly_until is not None and now < weekly_until:
        days = min(days, 7)
    if case.risk_level is not None:
        days = min(days, settings.risk_visit_days.get(case.risk_level, days))
    # Counted from the last visit, or the start of the stage; a moment already past is due
    # at once (the next round of duties reminds).
    return (case.last_visit_at or case.stage_since or now) + timedelta(days=days)


def move_to_stage(settings: Settings, case: VisitedCase, stage: str, now: datetime) -> None:
    """Put a case in a stage and plan its visits by it (the caller records who and why)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; one of: {', '.join(STAGES)}")
    case.stage, case.stage_since = stage, now
    if stage == "reunification" and case.returned_at is None:
        case.returned_at = now
    case.visit_due_at = next_visit(settings, case, now)
