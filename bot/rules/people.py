"""Who is talking: the small identity the rules decide on, and what it is waiting for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# Staff are everyone but families (the roles: `engine.ROLES`).
STAFF = ("caseworker", "coordinator")

# How long a note asked for is waited for: an "ok" typed days later must not resolve an
# urgent flag.
NOTE_WAIT = timedelta(minutes=30)


@dataclass(frozen=True)
class Participant:
    """The small, frozen identity a channel works with for one person."""

    person_id: int
    role: str
    language: str | None
    case_id: int | None
    case_code: str | None
    consent: str | None = None
    status: str = "active"
    # What the person's next typed message is for when not a flow's answer (a flag note).
    awaiting: Mapping[str, object] | None = None

    @property
    def consented(self) -> bool:
        return self.consent == "given"

    @property
    def staff(self) -> bool:
        return self.role in STAFF


def waiting_for_text(who: Participant, now: datetime) -> bool:
    """Whether the person's next message is the note they were asked for (`NOTE_WAIT`)."""
    asked = (who.awaiting or {}).get("at")
    if not isinstance(asked, str):
        return False
    try:
        return now - datetime.fromisoformat(asked) < NOTE_WAIT
    except ValueError:
        return False
