"""A notice: something the bot tells a person on its own initiative, not as a reply.

New flags, the daily digest, escalations, check-in reminders, assignments and closure
decisions are all notices. The services decide who is told what and `queue` it in the outbox
in the same transaction as the change that causes it; a channel's sender then tells each
person in their language, with the buttons the notice asks for (`bot.services.outbox`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import cast

from ..engine import Text
from ..engine.events import JSONValue
from ..storage import UnitOfWork
from .people import Recipient

log = logging.getLogger(__name__)


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
    # Sent before everything else queued (a new urgent flag, an escalation): a morning's
    # reminders must not hold up danger.
    urgent: bool = False
    # Flags whose history records this notice's delivery, when not those it has buttons for
    # (a digest lists its flags without buttons).
    tells_of: tuple[int, ...] = ()
    # Meant for whoever can act on its flag (a new flag, an escalation), not for this person
    # in particular (an assignment, a digest of their flags): when its recipient cannot be
    # reached, it goes to the others who can act.
    for_whoever_acts: bool = False

    @property
    def about(self) -> tuple[int, ...]:
        """The flags this notice tells of."""
        return self.tells_of or self.flag_ids


async def queue(uow: UnitOfWork, notices: Iterable[Notice], at: datetime) -> None:
    """Put the notices in the outbox, in the caller's transaction: they are sent if and only
    if the change that caused them commits."""
    for notice in notices:
        await uow.outbox.add(
            notice.recipient.person_id,
            encode(notice),
            channel=notice.recipient.channel,
            at=at,
            urgent=notice.urgent,
            flag_id=notice.about[0] if notice.about else None,
            flush=False,
        )
    await uow.outbox.flush()  # all in one round trip: a digest queues a hundred


# The fallback chat is on Telegram: where the operators of a deployment can be reached.
FALLBACK_CHANNEL = "telegram"


async def queue_for_fallback(
    uow: UnitOfWork, chat: str | None, text: Text, flag_id: int, at: datetime
) -> None:
    """A flag that would reach nobody who can act: to the deployment's fallback chat (when
    one is configured), and loudly in the log either way."""
    log.critical("flag reaches nobody who can act", extra={"flag_id": flag_id})
    if chat is None:
        return
    body = encode(Notice(Recipient(0, FALLBACK_CHANNEL, chat, None), text, plain=True))
    body["tells_of"] = [flag_id]
    await uow.outbox.add(
        None, body, channel=FALLBACK_CHANNEL, chat=chat, at=at, urgent=True, flag_id=flag_id
    )


# --- stored form --------------------------------------------------------------------------
# A notice waits in the outbox as JSON and is rendered when sent, in the language its
# recipient has then. Texts keep their parameters' types (a date stays a date, formatted for
# the reader), tagged where JSON has no type of its own.


def encode(notice: Notice) -> dict[str, JSONValue]:
    return {
        "text": _text(notice.text),
        "flag_ids": list(notice.flag_ids),
        "lines": [_text(line) for line in notice.lines],
        "start_flow": notice.start_flow,
        "visit_case": notice.visit_case,
        "guide": list(notice.guide) if notice.guide else None,
        "closure": list(notice.closure) if notice.closure else None,
        "plain": notice.plain,
        "tells_of": list(notice.tells_of),
        "for_whoever_acts": notice.for_whoever_acts,
    }


def decode(body: Mapping[str, JSONValue], recipient: Recipient, *, urgent: bool) -> Notice:
    guide, closure = body.get("guide"), body.get("closure")
    return Notice(
        recipient,
        _from_text(body["text"]),
        tuple(int(cast(int, flag_id)) for flag_id in cast(list[JSONValue], body["flag_ids"])),
        tuple(_from_text(line) for line in cast(list[JSONValue], body["lines"])),
        cast(str | None, body.get("start_flow")),
        cast(str | None, body.get("visit_case")),
        (str(guide[0]), str(guide[1])) if isinstance(guide, list) else None,
        (str(closure[0]), int(cast(int, closure[1]))) if isinstance(closure, list) else None,
        bool(body.get("plain")),
        urgent,
        tuple(int(cast(int, flag_id)) for flag_id in cast(list[JSONValue], body["tells_of"])),
        bool(body.get("for_whoever_acts")),
    )


def _text(text: Text) -> dict[str, JSONValue]:
    return {
        "msgid": text.msgid,
        "params": {name: _value(value) for name, value in text.params.items()},
        "plural": text.plural,
    }


def _value(value: object) -> JSONValue:
    # bool and int before the rest; datetime before date (a datetime is a date).
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Text):
        return {"text": _text(value)}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, timedelta):
        return {"seconds": value.total_seconds()}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    raise TypeError(f"a notice cannot keep a {type(value).__name__}")


def _from_text(stored: JSONValue) -> Text:
    data = cast(dict[str, JSONValue], stored)
    params = cast(dict[str, JSONValue], data["params"])
    plural = data.get("plural")
    return Text(
        str(data["msgid"]),
        {name: _from_value(value) for name, value in params.items()},
        None if plural is None else str(plural),
    )


def _from_value(stored: JSONValue) -> object:
    if not isinstance(stored, dict):
        return stored
    (tag, value), *_ = stored.items()
    if tag == "text":
        return _from_text(value)
    if tag == "decimal":
        return Decimal(str(value))
    if tag == "seconds":
        return timedelta(seconds=float(cast(float, value)))
    if tag == "datetime":
        return datetime.fromisoformat(str(value))
    if tag == "date":
        return date.fromisoformat(str(value))
    raise ValueError(f"unknown stored value {tag!r}")
