"""A notice (a new flag, a digest, a reminder, a decision) as a message with its buttons."""

from __future__ import annotations

from ..engine import FlowRegistry, Text
from ..services import texts
from ..services.notices import Notice
from .intents import CheckIn, Flags, Guide, OnFlag, Visit
from .outputs import Button, Joined, Message
from .review import closure_buttons


def notice_message(notice: Notice, flows: FlowRegistry) -> Message:
    """The notice's text, and the buttons it asks for: acknowledge or open its flags, start
    the check-in, a visit done, the guidance to go on with, a closure to decide — or, by
    default, the queue of flags (what most notices are about)."""
    rows: list[tuple[Button, ...]] = [
        (Button(texts.ACKNOWLEDGE, OnFlag(flag_id, "ack")), Button(texts.OPEN, OnFlag(flag_id)))
        for flag_id in notice.flag_ids
    ]
    if notice.start_flow is not None:
        rows = [(Button(texts.START_CHECKIN, CheckIn()),)]
    elif notice.visit_case is not None:
        rows = [(Button(texts.VISIT_DONE, Visit(notice.visit_case)),)]
    elif notice.guide is not None:
        flow_id, code = notice.guide
        title = Text(flows.get(flow_id).title)
        rows = [(Button(Joined(title, " · ", code), Guide(flow_id, code)),)]
    elif notice.closure is not None:
        rows = closure_buttons(*notice.closure)
    elif not rows and not notice.plain:
        rows = [(Button(texts.OPEN, Flags(1)),)]
    return Message(((notice.text, *notice.lines),), tuple(rows))
