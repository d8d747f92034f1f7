"""Who may handle a case: the one rule the services ask before anyone sees or changes one.

design.md, principle 8 (least knowledge): a coordinator handles every case of the
organisation, a caseworker the cases assigned to them, a family none (their own check-in is
theirs, not a case to handle). The operator at the command line (no participant) has the
database in hand anyway. Checked on the server, from the database, on every action — never
from what a button or a typed code claims.
"""

from __future__ import annotations

from typing import Any

from .people import Participant


def handles_case(who: Participant | None, case: Any) -> bool:
    if who is None:
        return True  # the operator at the command line
    if who.status != "active":
        return False
    if who.role == "coordinator":
        return True
    return who.role == "caseworker" and case is not None and case.caseworker_id == who.person_id
