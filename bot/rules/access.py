"""Who may do what: the one place every refusal is decided, and the one error it raises.

design.md, principle 8 (least knowledge): a coordinator handles every case of the
organisation, a caseworker the cases assigned to them, a family none (their own check-in is
theirs, not a case to handle). The operator at the command line (no participant) has the
database in hand anyway. The services ask these rules on the server, from the database, on
every action — never trusting what a button or a typed code claims — and refuse with
`NotAllowed`. "No such thing" and "not yours" are the same refusal, so codes and ids cannot be
probed.
"""

from __future__ import annotations

from typing import Protocol

from .people import Participant

# What can be done with a flag.
FLAG_ACTIONS = ("view", "acknowledge", "assign", "note", "resolve", "reopen")
# Ids arrive from buttons and typed commands; one wider than the database's integer (int4 on
# PostgreSQL) is no such thing at all, not a driver error.
MAX_ID = 2**31 - 1


class NotAllowed(PermissionError):
    """This person may not do this, or the thing does not exist: one answer for both."""


class CaseLike(Protocol):
    @property
    def caseworker_id(self) -> int | None: ...


class FlagLike(Protocol):
    @property
    def assigned_to(self) -> int | None: ...


def possible_id(value: int) -> bool:
    """Whether an id that arrived from outside could name a row at all."""
    return 0 < value <= MAX_ID


def handles_case(who: Participant | None, case: CaseLike | None) -> bool:
    """Whether `who` handles this case (None: the operator at the command line)."""
    if who is None:
        return True
    if who.status != "active":
        return False
    if who.role == "coordinator":
        return True
    return who.role == "caseworker" and case is not None and case.caseworker_id == who.person_id


def may_act_on_flag(who: Participant, action: str, flag: FlagLike, case: CaseLike | None) -> bool:
    """Coordinators act on every flag; a caseworker on the flags of their own cases and those
    assigned to them; only coordinators assign (they share out the work); families on none."""
    if action not in FLAG_ACTIONS or who.status != "active":
        return False
    if action == "assign":
        return who.role == "coordinator"
    assigned = who.role == "caseworker" and flag.assigned_to == who.person_id
    return handles_case(who, case) or assigned


def may_see_flags(who: Participant) -> bool:
    return who.staff and who.status == "active"


def may_invite(by: Participant, role: str, case: CaseLike | None) -> bool:
    """Coordinators invite anyone; a caseworker a family to one of their own cases; families
    nobody."""
    if by.role == "coordinator":
        return True
    own_case = case is not None and case.caseworker_id == by.person_id
    return by.role == "caseworker" and role == "family" and own_case


def decides_closure(who: Participant) -> bool:
    """Closing and reopening a case is a coordinator's decision (domain.md: a supervisor
    approves)."""
    return who.role == "coordinator"


def may_use_web(who: Participant) -> bool:
    """The web view is the review desk: staff who may see flags, who agreed to the terms."""
    return may_see_flags(who) and who.consented


def may_export(who: Participant, *, pseudonymised: bool) -> bool:
    """An export holds the answers of every case of the organisation: in the web view only a
    coordinator (who handles every case) downloads one, and only pseudonymised (the research
    export: keyed pseudonyms, typed answers left out, the day only). A file leaves the audit
    log behind — once on a laptop or in a mail, nobody knows who reads it, and no retention
    term reaches it — so the export with case codes and what families typed stays with the
    operator at the command line, who has the database in hand anyway. A caseworker handles
    some cases, and an export is not one case: none."""
    return who.role == "coordinator" and who.status == "active" and pseudonymised


def may_see_overview(who: Participant) -> bool:
    """The overview of the whole organisation (every caseworker's caseload, every programme)
    is the coordinators' desk: a caseworker sees their own cases and flags, not everyone's."""
    return who.role == "coordinator" and who.status == "active"
