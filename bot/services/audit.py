"""Reading the audit log, and recording what an operator looks at from the command line.

The log itself is written where things happen (`flags.py`, `case_view.py`, `duties.py`), in
the same transaction as the change. Here it is read back for `wegwijzer audit`, with case ids
turned into the case codes people know; and the command line's own looks at a family's answers
(an export, the flag list with its evidence) are recorded, by "an operator": whoever runs the
command line has the database in hand, and no person record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ..app import Wegwijzer
from ..engine.events import JSONValue
from ..rules.people import Participant
from ..storage import UnitOfWork
from .cases import UnknownCase


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    actor_role: str
    action: str
    case: str | None  # the case's code
    flag_id: int | None
    note: str | None
    detail: Mapping[str, JSONValue]

    def as_dict(self) -> dict[str, JSONValue]:
        """Plain values for JSON output (`wegwijzer audit --json`); moments in UTC."""
        return {
            "id": self.id,
            "at": self.at.astimezone(UTC).isoformat(),
            "actor_id": self.actor_id,
            "actor_role": self.actor_role,
            "action": self.action,
            "case": self.case,
            "flag_id": self.flag_id,
            "note": self.note,
            "detail": dict(self.detail),
        }


async def audit_log(
    app: Wegwijzer, case_code: str | None = None, since: datetime | None = None
) -> list[AuditEntry]:
    """The log, oldest first: everything, or one case's events; from `since` on when given.

    Raises UnknownCase for a case code that does not exist.
    """
    async with app.database.reading() as uow:
        case_id = None
        if case_code is not None:
            case = await uow.cases.by_code(case_code.strip().upper())
            if case is None:
                raise UnknownCase(case_code)
            case_id = case.id
        events = await uow.audit.events(case_id, since)
        codes = await uow.cases.codes({event.case_id for event in events if event.case_id})
        return [
            AuditEntry(
                id=event.id,
                at=event.at,
                actor_id=event.actor_id,
                actor_role=event.actor_role,
                action=event.action,
                case=codes.get(event.case_id) if event.case_id is not None else None,
                flag_id=event.flag_id,
                note=event.note,
                detail=dict(event.detail or {}),
            )
            for event in events
        ]


async def record_operator_look(app: Wegwijzer, action: str, **detail: JSONValue) -> None:
    """Record that the command line showed families' answers: `exported` (every answer) or
    `flags_listed` (the evidence of the flags shown). Recorded before anything is shown, so
    a look that fails halfway is on record too, and nothing is shown unrecorded."""
    async with app.database.transaction() as uow:
        await record(uow, OPERATOR, action, at=app.clock(), detail=detail)


# Who did it, when it was not a person in the bot: the bot itself (telling, escalating,
# reminding) or an operator at the command line.
SYSTEM = "system"
OPERATOR = "operator"


async def record(
    uow: UnitOfWork,
    actor: Participant | str,
    action: str,
    *,
    at: datetime,
    case_id: int | None = None,
    flag_id: int | None = None,
    note: str | None = None,
    detail: Mapping[str, JSONValue] | None = None,
) -> None:
    """One line in the audit log, in the caller's transaction; `actor` is the participant,
    or SYSTEM or OPERATOR."""
    actor_id, role = (None, actor) if isinstance(actor, str) else (actor.person_id, actor.role)
    await uow.audit.record(
        at=at,
        actor_id=actor_id,
        actor_role=role,
        action=action,
        case_id=case_id,
        flag_id=flag_id,
        note=note,
        detail=detail,
    )
