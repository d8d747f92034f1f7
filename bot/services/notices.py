"""A notice: something the bot tells a person on its own initiative, not as a reply.

New flags, the daily digest, escalations and check-in reminders are all notices. The services
decide who is told what (and record it); a channel sends each notice to its own people, in
their language, with the buttons the notice asks for.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import Text
from .people import Recipient


@dataclass(frozen=True)
class Notice:
    recipient: Recipient
    text: Text
    # Flags the message offers buttons for (acknowledge, open).
    flag_ids: tuple[int, ...] = ()
    # More lines under the text (a digest's flags).
    lines: tuple[Text, ...] = ()
    # A reminder: the flow its button starts.
    start_flow: str | None = None
    # A home visit reminder: the case its "visit done" button records the visit for.
    visit_case: str | None = None
    # A guidance flow and the case its button starts it for (a risk screening due, say).
    guide: tuple[str, str] | None = None
    # A closure proposal: the case a coordinator approves or returns with its buttons, and
    # which proposal of it (`guidance.proposal_id`).
    closure: tuple[str, int] | None = None
    # Nothing to press: without this a notice offers the flag queue (what most notices are
    # about).
    plain: bool = False
