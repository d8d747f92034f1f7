"""The emergency route: danger in a message gets the emergency numbers first, always.

Whatever the bot is doing — a question waiting, onboarding half done, nobody known at all —
a message that signals immediate danger (`/sos`, the "I need help now" button, or words from
the per-language danger lists in `locales/<lang>/danger_words.txt`) is answered at once with
the deployment's emergency numbers, in the person's language. For a known person it also
raises an urgent flag on their case, so a human follows up; a repeated alarm while that flag
is open adds to its evidence instead of making another. The interrupted flow is left as it
was and can be continued.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..app import Wegwijzer
from ..config import Settings
from ..engine import Text
from ..rules.people import Participant
from . import texts
from .flags import raise_or_repeat
from .once import claim

log = logging.getLogger(__name__)

EMERGENCY_FLOW = "emergency"


def emergency_numbers(settings: Settings) -> Text:
    """The deployment's emergency numbers, as one text in the reader's language."""
    return texts.EMERGENCY.using(
        emergency_number=settings.emergency_number, advice_line=settings.advice_line
    )


@dataclass(frozen=True)
class Alarm:
    flag_id: int | None
    new: bool  # False when it added to an unresolved emergency flag of the same case


async def raise_alarm(
    app: Wegwijzer, who: Participant, trigger: str, once: str | None = None
) -> Alarm:
    """Record an urgent flag on the person's case (or add to the open one).

    `trigger` is what set it off — "sos", "button" or the matched danger phrase — never the
    whole message: the reviewer sees why, the logs see nothing.
    """
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        flag, new = await raise_or_repeat(
            app,
            uow,
            by=who,
            case_id=who.case_id,
            run_id=None,
            flow_id=EMERGENCY_FLOW,
            flow_version=1,
            rule=EMERGENCY_FLOW,
            level="urgent",
            reason=texts.EMERGENCY_FLAG.msgid,
            evidence={"trigger": trigger, "role": who.role},
            now=now,
        )
        flag_id = flag.id
    log.warning("emergency route", extra={"flag_id": flag_id, "person_id": who.person_id})
    return Alarm(flag_id, new)
