"""Log records that carry ids and event names — never names, message text or answers.

Code logs an event name as the message and puts ids in `extra` (`run_id`, `flag_id`, …);
this formatter prints those ids after the message. Only keys listed in SAFE_FIELDS are
printed, so an answer passed in `extra` by mistake still never reaches a log line.
"""

from __future__ import annotations

import logging
import sys

SAFE_FIELDS = (
    "run_id",
    "flag_id",
    "person_id",
    "case_id",
    "update_id",
    "flow",
    "step",
    "level",
    "rule",
    "event",
    "count",
)


class IdsOnlyFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [
            f"{name}={getattr(record, name)}" for name in SAFE_FIELDS if hasattr(record, name)
        ]
        return f"{line} {' '.join(fields)}" if fields else line


# Libraries that log request URLs (which contain the bot token) or whole updates (which
# contain names and message text) at INFO or DEBUG: they only ever speak up for problems.
QUIET_LIBRARIES = ("httpx", "httpcore", "telegram", "apscheduler", "tornado", "aiosqlite")


def configure(level: str = "WARNING") -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h.formatter, IdsOnlyFormatter)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(IdsOnlyFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
