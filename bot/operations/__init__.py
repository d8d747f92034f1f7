"""Operations: a health and readiness endpoint and Prometheus metrics for the running bot.

Off unless `OPERATIONS_PORT` is set; then `wegwijzer run` (`bot.telegram.serve`) starts an
HTTP server on that port (on `OPERATIONS_LISTEN`, 127.0.0.1 by default) beside the bot, in
its event loop: `/healthz`, `/readyz` and `/metrics` (`_server.py`). The bot tells it what it
does through one small interface (`bot.telegram.BotWatcher`, and `Database.on_committed`
for what each transaction wrote): counters only, so the answer path stays as cheap as it
was. What must be read from the database (the outbox's age, open flags) is read when
scraped, at most once every few seconds (`_health.py`). Imports nothing of `telegram`.
"""

from ._health import (
    BOT_API_LIMIT,
    DATABASE_TIMEOUT,
    OUTBOX_LIMIT,
    BotApiContact,
    CachedReading,
    DatabaseReading,
    Readiness,
    read_database,
    readiness,
)
from ._metrics import METRIC_NAMES, Metrics
from ._server import READING_SECONDS, Operations

__all__ = [
    "BOT_API_LIMIT",
    "DATABASE_TIMEOUT",
    "METRIC_NAMES",
    "OUTBOX_LIMIT",
    "READING_SECONDS",
    "BotApiContact",
    "CachedReading",
    "DatabaseReading",
    "Metrics",
    "Operations",
    "Readiness",
    "read_database",
    "readiness",
]
