"""The bot's Prometheus metrics, in a registry of their own.

Each `Metrics` has its own `CollectorRegistry`, never prometheus_client's global one: two
bots in one process (the tests, the bench) count apart, and the scrape shows the bot's
figures only. Labels are fixed words — a flag level, an alarm's kind or rule, a Bot API
method, urgent or not — never a person, a case code, a chat id or a text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ..config import FLAG_LEVELS
from ..storage.uow import Written
from ._health import DatabaseReading

__all__ = ["METRIC_NAMES", "Metrics"]

# Seconds: the answer path takes milliseconds, a Bot API call tens of them; a long poll
# (getUpdates) waits up to its timeout, ten seconds.
HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_URGENCY = {True: "true", False: "false"}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.updates_handled = Counter(
            "wegwijzer_updates_handled",
            "Telegram updates the bot handled (well or not).",
            registry=registry,
        )
        self.update_seconds = Histogram(
            "wegwijzer_update_handling_seconds",
            "Time the bot took to handle one update.",
            buckets=HANDLING_BUCKETS,
            registry=registry,
        )
        self.answers_stored = Counter(
            "wegwijzer_answers_stored",
            "Answers to flow questions committed to the database.",
            registry=registry,
        )
        self.alarms_raised = Counter(
            "wegwijzer_alarms_raised",
            "Flags raised or added to, by level and kind (the emergency route's kind of "
            "danger, or the flag's rule).",
            ["level", "kind"],
            registry=registry,
        )
        self.notices_queued = Counter(
            "wegwijzer_notices_queued",
            "Notices committed to the outbox.",
            ["urgent"],
            registry=registry,
        )
        self.notices_delivered = Counter(
            "wegwijzer_notices_delivered",
            "Notices from the outbox that Telegram took.",
            ["urgent"],
            registry=registry,
        )
        self.bot_api_seconds = Histogram(
            "wegwijzer_bot_api_call_seconds",
            "Time one Bot API call took, answered or not, by method.",
            ["method"],
            buckets=HANDLING_BUCKETS,
            registry=registry,
        )
        self.outbox_age = Gauge(
            "wegwijzer_outbox_age_seconds",
            "How long the oldest notice that is due has waited to be sent (0: none waits).",
            registry=registry,
        )
        self.open_flags = Gauge(
            "wegwijzer_open_flags",
            "Unresolved flags (open or acknowledged), by level.",
            ["level"],
            registry=registry,
        )
        self.overdue_flags = Gauge(
            "wegwijzer_overdue_flags",
            "Unresolved flags past their due time, by level.",
            ["level"],
            registry=registry,
        )
        self.database_up = Gauge(
            "wegwijzer_database_up",
            "1 when the database answered the last reading for the gauges above; 0 when it "
            "did not (they then show the last reading that worked).",
            registry=registry,
        )
        # Every series that can be known in advance starts at zero, so a rate over it works
        # from the first scrape and a level without flags shows 0 rather than nothing.
        for urgent in _URGENCY.values():
            self.notices_queued.labels(urgent)
            self.notices_delivered.labels(urgent)
        for level in FLAG_LEVELS:
            self.open_flags.labels(level)
            self.overdue_flags.labels(level)

    def committed(self, written: Written) -> None:
        """What a transaction wrote, after its commit (`Database.on_committed`)."""
        if written.answers:
            self.answers_stored.inc(written.answers)
        for level, kind in written.alarms:
            self.alarms_raised.labels(level, kind).inc()
        if written.notices:
            urgent = written.urgent_notices
            self.notices_queued.labels(_URGENCY[True]).inc(urgent)
            self.notices_queued.labels(_URGENCY[False]).inc(written.notices - urgent)

    def update_handled(self, seconds: float) -> None:
        self.updates_handled.inc()
        self.update_seconds.observe(seconds)

    def bot_api_called(self, method: str, seconds: float) -> None:
        self.bot_api_seconds.labels(method).observe(seconds)

    def notice_delivered(self, urgent: bool) -> None:
        self.notices_delivered.labels(_URGENCY[urgent]).inc()

    def show(self, reading: DatabaseReading | None) -> None:
        """The gauges read from the database at scrape time; None: it did not answer."""
        self.database_up.set(0 if reading is None else 1)
        if reading is None:
            return
        self.outbox_age.set(reading.outbox_age)
        for level in FLAG_LEVELS:
            unresolved, overdue = reading.flags.get(level, (0, 0))
            self.open_flags.labels(level).set(unresolved)
            self.overdue_flags.labels(level).set(overdue)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)


# As scraped (counters with their `_total`), for the README and the tests.
METRIC_NAMES = (
    "wegwijzer_updates_handled_total",
    "wegwijzer_update_handling_seconds",
    "wegwijzer_answers_stored_total",
    "wegwijzer_alarms_raised_total",
    "wegwijzer_notices_queued_total",
    "wegwijzer_notices_delivered_total",
    "wegwijzer_bot_api_call_seconds",
    "wegwijzer_outbox_age_seconds",
    "wegwijzer_open_flags",
    "wegwijzer_overdue_flags",
    "wegwijzer_database_up",
)
