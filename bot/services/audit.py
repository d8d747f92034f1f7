"""Reading the audit log, and recording what an operator looks at and what a person was refused.

The log itself is written where things happen (`flags.py`, `case_view.py`, `duties.py`), in
the same transaction as the change. Here it is read back for `wegwijzer audit`, with case ids
turned into the case codes people know — all of it, one case's, or every look at one person's
data; the command line's own looks at a family's answers (an export, the flag list with its
evidence) are recorded, by "an operator": whoever runs the command line has the database in
hand, and no person record; and a refused look or flag action is recorded (`refusal_recorded`),
in a transaction of its own, after the refused one was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from ..app import Wegwijzer
from ..engine.events import JSONValue
from ..rules.access import NotAllowed, possible_id
from ..rules.people import Participant
from ..storage import UnitOfWork
from .cases import UnknownCase

log = logging.getLogger(__name__)

# A request the access rules refused: what was asked for is in the detail (`what`: "case",
# "cases", "flag" or "flags"; `action`: "view", or what was to be done with a flag).
REFUSED = "refused"


class UnknownPerson(LookupError):
    """No person has this id."""


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
    app: Wegwijzer,
    case_code: str | None = None,
    since: datetime | None = None,
    person_id: int | None = None,
) -> list[AuditEntry]:
    """The log, oldest first: everything, one case's events, or every look at one person's
    data (`person_id`: the events of each case they are a member of, its flags' included, and
    everything they did themselves, granted or refused); both narrow to that person's events
    of that case; from `since` on when given.

    Raises UnknownCase for a case code that does not exist, UnknownPerson for a person id.
    """
    async with app.database.reading() as uow:
        case_id = None
        if case_code is not None:
            # The history of an erased case is still history.
            case = await uow.cases.by_code(case_code.strip().upper(), erased=True)
            if case is None:
                raise UnknownCase(case_code)
            case_id = case.id
        if person_id is not None and (
            not possible_id(person_id) or await uow.people.get_by_id(person_id) is None
        ):
            raise UnknownPerson(person_id)
        events = await uow.audit.events(case_id, since, person_id)
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


async def record_look(app: Wegwijzer, who: Participant, action: str, **detail: JSONValue) -> None:
    """Record that a person was shown a list of flags or cases (the web view's queue), as
    `record_operator_look` does for the command line's."""
    async with app.database.transaction() as uow:
        await record(uow, who, action, at=app.clock(), detail=detail)


@asynccontextmanager
async def refusal_recorded(
    app: Wegwijzer,
    who: Participant | None,
    what: str,
    *,
    action: str | None = "view",
    case_code: str | None = None,
    flag_id: int | None = None,
) -> AsyncIterator[None]:
    """Around a request the access rules may refuse (`who` asking to see or act on `what`):
    a NotAllowed coming out of it is recorded (`record_refusal`) and raised on as it was, so
    the refused person's answer stays the same. Wrap it around the request's transaction,
    which must be over (rolled back) before the refusal's own opens. `who` None is the
    operator, who is never refused."""
    try:
        yield
    except NotAllowed:
        if who is not None:
            await record_refusal(
                app, who, what, action=action, case_code=case_code, flag_id=flag_id
            )
        raise


async def record_refusal(
    app: Wegwijzer,
    who: Participant,
    what: str,
    *,
    action: str | None = "view",
    case_code: str | None = None,
    flag_id: int | None = None,
) -> None:
    """Record that `who` was refused `action` on `what`, with the ids of the case and flag
    asked for when they exist — never what was typed (a code that names no case is the
    person's own text). In a transaction of its own: the refused request's may have been
    rolled back, and its refusal must stay on record."""
    detail: dict[str, JSONValue] = {"what": what}
    if action is not None:
        detail["action"] = action
    async with app.database.transaction() as uow:
        known = flag_id is not None and possible_id(flag_id)
        flag = await uow.flags.get(flag_id) if flag_id is not None and known else None
        case = (
            await uow.cases.by_code(case_code.strip().upper(), erased=True) if case_code else None
        )
        case_id = case.id if case is not None else flag.case_id if flag is not None else None
        await record(
            uow,
            who,
            REFUSED,
            at=app.clock(),
            case_id=case_id,
            flag_id=None if flag is None else flag.id,
            detail=detail,
        )
    log.warning("refused", extra={"person_id": who.person_id, "event": f"{what} {action or ''}"})


# Who did it, when it was not a person in the bot: the bot itself (telling, escalating,
# reminding) or an operator at the command line.
SYSTEM = "system"
OPERATOR = "operator"
# Someone in a browser not signed in (yet): a sign-in link that did not work.
BROWSER = "browser"


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
    flush: bool = True,
) -> None:
    """One line in the audit log, in the caller's transaction; `actor` is the participant,
    or SYSTEM or OPERATOR. `flush=False`: written with the transaction's next flush (many
    lines in one round trip)."""
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
        flush=flush,
    )
