"""Column types that make SQLite and PostgreSQL hand back the same Python values.

SQLite has no time zones and PostgreSQL's `timestamp with time zone` converts to the session's
zone, so the two backends would return different datetimes for the same row. Storing naive UTC
and re-attaching UTC on the way out gives every caller an aware UTC datetime on both, and
refusing naive datetimes on the way in catches local-time bugs where they are made.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A `DateTime` column that only accepts aware datetimes and returns aware UTC ones."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive value could be local time or UTC; guessing would shift answers by hours.
            raise ValueError(f"naive datetime {value.isoformat()} given: pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
