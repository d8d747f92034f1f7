"""The kinds of alarm an emergency flag's reports record, read back from its evidence.

An alarm's flag keeps, in its evidence, the kinds of the first report (`kinds`, most urgent
first) and of every repeat (under `repeats`, each with its time `at`). The flag's reason, the
staff notices and the review name the kinds from here. A flag raised before alarms had kinds
records none: it was immediate danger, the only kind there was.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .alarms import ALARM_KINDS, AlarmKind

IMMEDIATE: tuple[AlarmKind, ...] = ("immediate_danger",)


def kinds_of(report: Mapping[str, object]) -> tuple[AlarmKind, ...]:
    """The kinds one report records, most urgent first."""
    found = report.get("kinds")
    if not isinstance(found, list | tuple):
        return IMMEDIATE
    return tuple(kind for kind in ALARM_KINDS if kind in found) or IMMEDIATE


def reported_kinds(
    evidence: Mapping[str, object], since: datetime | None = None
) -> tuple[AlarmKind, ...]:
    """The kinds of all of a flag's reports (only the repeats after `since`, when given),
    most urgent first."""
    reports: list[Mapping[str, object]] = [] if since is not None else [evidence]
    repeats = evidence.get("repeats")
    for repeat in repeats if isinstance(repeats, list) else []:
        if not isinstance(repeat, dict):
            continue
        at = repeat.get("at")
        if since is None or (isinstance(at, str) and datetime.fromisoformat(at) > since):
            reports.append(repeat)
    seen = {kind for report in reports for kind in kinds_of(report)}
    return tuple(kind for kind in ALARM_KINDS if kind in seen)
