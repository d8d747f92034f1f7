"""Reading flags for the people allowed to see them.

Coordinators see every open flag of the organisation; a caseworker sees the flags of their
own case(s); families never see flags (design.md, principle 8). Review actions come later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..bootstrap import Wegwijzer
from .people import Participant, Recipient


@dataclass(frozen=True)
class FlagView:
    id: int
    level: str
    rule: str
    reason: str
    case_code: str | None
    evidence: dict[str, Any]
    raised_at: datetime
    due_at: datetime


async def visible_open_flags(app: Wegwijzer, who: Participant) -> list[FlagView]:
    if who.role == "family":
        raise PermissionError("families do not see flags")
    async with app.database.reading() as uow:
        if who.role == "caseworker":
            own = await uow.cases.of_caseworker(who.person_id)
            flags = await uow.flags.open_flags([case.case_id for case in own])
        else:
            flags = await uow.flags.open_flags()
        codes = await uow.cases.codes({flag.case_id for flag in flags if flag.case_id})
    return [
        FlagView(
            id=flag.id,
            level=flag.level,
            rule=flag.rule,
            reason=flag.reason,
            case_code=codes.get(flag.case_id),
            evidence=dict(flag.evidence),
            raised_at=flag.raised_at,
            due_at=flag.due_at,
        )
        for flag in flags
    ]


# Levels that cannot wait for someone to open /flags: told at once (design.md, issue #5).
NOTIFY_AT_ONCE = ("urgent", "high")


async def flag_recipients(app: Wegwijzer, case_id: int | None) -> list[Recipient]:
    """Who hears at once of an urgent or high flag on a case: its caseworker and every
    coordinator — active people who agreed to the bot's terms, each once."""
    async with app.database.reading() as uow:
        people = list(await uow.people.with_role("coordinator"))
        case = await uow.cases.by_id(case_id) if case_id is not None else None
        if case is not None and case.caseworker_id is not None:
            caseworker = await uow.people.get_by_id(case.caseworker_id)
            if caseworker is not None:
                people.insert(0, caseworker)
    seen: set[int] = set()
    recipients = []
    for person in people:
        if person.id in seen or person.status != "active" or person.consent != "given":
            continue
        seen.add(person.id)
        code = None if case is None else case.code
        recipients.append(
            Recipient(person.id, person.channel, person.external_id, person.language, code)
        )
    return recipients
