"""Settings of a deployment, read once from the environment and passed down.

Nothing in the project reads `os.environ` but this module, and nothing here runs at import
time: `Settings.from_env()` is called by the entry points (CLI, bot, tests) and the result is
handed to whatever needs it. Every setting is listed in the README's configuration table.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import make_url

# The reintegration stages of domain.md, in order, and the risk levels of a case: flows name
# them too, so they live in the engine's vocabulary.
from bot.engine.vocabulary import RISK_LEVELS, STAGES

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Flag levels, most serious first; the order is used for sorting and escalation.
FLAG_LEVELS = ("urgent", "high", "medium", "low")

# Response times per level. domain.md: "high within 24 hours, medium within 3 days, low within
# a week" (country practice, not verified) and urgent within the hour; keep them configurable.
DEFAULT_FLAG_DUE = {
    "urgent": timedelta(hours=1),
    "high": timedelta(hours=24),
    "medium": timedelta(days=3),
    "low": timedelta(days=7),
}


# Where the key ring is read from when neither ENCRYPTION_KEYS nor KEY_FILE is set.
DEFAULT_KEY_FILE = "wegwijzer.keys"


class ConfigError(ValueError):
    """A setting has a value the bot cannot work with; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///wegwijzer.db"
    # PostgreSQL: the connections each bot process keeps open for its work (up to as many
    # again at a peak). Connections opened and closed again cost the server a process each.
    database_pool_size: int = 10
    flows_dir: Path = PROJECT_ROOT / "flows"
    locales_dir: Path = PROJECT_ROOT / "locales"
    default_language: str = "nl"
    timezone: str = "Europe/Amsterdam"
    # The helplines by kind of alarm, per country (domain.md: deployment data); unset:
    # `<locales_dir>/helplines.yaml`. The country is `country` below.
    helplines_file: Path | None = None
    # Who is responsible, where to ask, the legal basis and the retention terms; unset:
    # `privacy.yaml` beside the flows (the project's root).
    privacy_file: Path | None = None
    # What a check-in tells as the next one when its case has no schedule: this many days on.
    # Two weeks, the period the WHO-5 asks about (flows/family_checkin.yaml): a weekly
    # check-in would ask about every day twice.
    checkin_interval_days: int = 14
    flag_due: Mapping[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_FLAG_DUE))
    # A flag nobody acknowledged by its due time goes to every coordinator, and again after
    # this interval until someone does; by default the level's own response time.
    escalation_repeat: Mapping[str, timedelta] = field(
        default_factory=lambda: dict(DEFAULT_FLAG_DUE)
    )
    # Medium and low flags are told once a day, in a digest at this local time.
    digest_time: time = time(8, 0)
    # Scheduled check-ins: one gentle follow-up this long after a reminder, and a "no
    # contact" flag after this many unanswered reminders in a row.
    reminder_follow_up: timedelta = timedelta(hours=24)
    missed_checkins_flag: int = 2
    # Home visits by reintegration stage (domain.md: weekly in the first 8 weeks after the
    # return home, then at least monthly; configurable). Days between visits per stage (a
    # stage not listed plans no visits), and the weeks after the return with weekly visits.
    visit_days: Mapping[str, int] = field(
        default_factory=lambda: {"reunification": 7, "follow_up": 30}
    )
    visit_weekly_weeks: int = 8
    # The deployment's country (ISO 3166 code): flows show steps for some countries only (the
    # Meldcode is Dutch law), and the helplines given are this country's.
    country: str = "NL"
    # The risk screening: days until a case's next review, and at most this many days between
    # home visits, per risk level. Not from a guideline (domain.md gives none): the
    # organisation's own choice, to review with its professionals.
    review_days: Mapping[str, int] = field(
        default_factory=lambda: {"high": 30, "medium": 90, "low": 180}
    )
    risk_visit_days: Mapping[str, int] = field(default_factory=lambda: {"high": 7, "medium": 14})
    # Telegram's limit for a bot: messages per second overall (one per chat per second).
    telegram_messages_per_second: float = 30.0
    log_level: str = "WARNING"
    invite_days: int = 14
    # Telegram: the token from BotFather, the Bot API base URL (tests point it at a fake
    # server), the bot's @username for invite links (asked from getMe when not set), and the
    # secret Telegram must send with every webhook request.
    telegram_token: str | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    bot_username: str | None = None
    webhook_secret: str | None = None
    # Where the emergency route writes each alarm before the database (see
    # bot/storage/journal.py); one file per bot process. Unset: next to the SQLite file, or
    # `wegwijzer-alarms.jsonl` in the working directory with PostgreSQL.
    alarm_journal: Path | None = None
    # Where the Telegram bot keeps each update it took until it has been handled (see
    # bot/telegram/_inbox.py); one file per bot process. Unset: beside the alarm journal.
    update_inbox: Path | None = None
    # A notice claimed for sending but never settled (its process was killed mid-send) is
    # sent again after this long; long enough for a send held up by Telegram's flood control.
    outbox_lease: timedelta = timedelta(minutes=5)
    # A Telegram chat (an operators' group, say; its numeric id) told of an alarm or an urgent
    # flag that would otherwise reach nobody: no caseworker or coordinator can be reached.
    alarm_fallback_chat: str | None = None
    # The encryption key ring (bot/storage/crypto.py): its JSON in ENCRYPTION_KEYS, or the
    # file KEY_FILE (`wegwijzer.keys` in the working directory unless set). Without either
    # the bot refuses to start: answers and Telegram ids are stored sealed.
    encryption_keys: str | None = None
    key_file: Path | None = None
    # The operations endpoint (bot/operations: /healthz, /readyz, /metrics) listens on this
    # port while the bot runs (0: any free one); unset, nothing listens. On 127.0.0.1 unless
    # OPERATIONS_LISTEN says otherwise: the metrics are for the deployment's own monitoring.
    operations_port: int | None = None
    operations_listen: str = "127.0.0.1"
    # The web view (`wegwijzer web`, bot/web): the public address staff open it at (the
    # links `/web` gives start with it; unset: the bot says the web view is not set up), the
    # address and port it listens on behind the reverse proxy, and how long a sign-in link, an
    # idle session and any session last. The session cookie is `Secure` unless
    # WEB_COOKIE_SECURE=false, which is accepted only for a base URL on http://127.0.0.1 or
    # http://localhost (development, tests).
    web_base_url: str | None = None
    web_listen: str = "127.0.0.1"
    web_port: int = 8080
    web_link_minutes: float = 10.0
    web_idle_minutes: float = 30.0
    web_session_hours: float = 12.0
    web_cookie_secure: bool = True
    # The reverse proxies whose `X-Forwarded-For` names the client (addresses or networks):
    # the sign-in rate limit counts per client address, so only a proxy of our own may say it.
    web_forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")

    @property
    def helplines_path(self) -> Path:
        return self.helplines_file or self.locales_dir / "helplines.yaml"

    @property
    def privacy_path(self) -> Path:
        return self.privacy_file or PROJECT_ROOT / "privacy.yaml"

    @property
    def alarm_journal_path(self) -> Path:
        if self.alarm_journal is not None:
            return self.alarm_journal
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(f"{url.database}.alarms.jsonl")
        return Path("wegwijzer-alarms.jsonl")

    @property
    def update_inbox_path(self) -> Path:
        if self.update_inbox is not None:
            return self.update_inbox
        journal = self.alarm_journal_path
        stem = journal.name.removesuffix(".jsonl").removesuffix(".alarms")
        return journal.with_name(f"{stem}.updates.jsonl")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        flag_due = _hours_per_level(env, "FLAG_DUE_{}_HOURS", defaults.flag_due)
        # Unset, a level repeats its escalation at its own (possibly configured) due time.
        escalation_repeat = _hours_per_level(env, "ESCALATION_REPEAT_{}_HOURS", flag_due)
        return cls(
            database_url=env.get("DATABASE_URL", defaults.database_url),
            database_pool_size=int(_number(env, "DATABASE_POOL_SIZE", defaults.database_pool_size)),
            flows_dir=Path(env.get("WEGWIJZER_FLOWS", defaults.flows_dir)),
            locales_dir=Path(env.get("WEGWIJZER_LOCALES", defaults.locales_dir)),
            default_language=env.get("DEFAULT_LANGUAGE", defaults.default_language),
            timezone=env.get("TIMEZONE", defaults.timezone),
            helplines_file=Path(env["HELPLINES_FILE"]) if env.get("HELPLINES_FILE") else None,
            privacy_file=Path(env["PRIVACY_FILE"]) if env.get("PRIVACY_FILE") else None,
            checkin_interval_days=int(
                _number(env, "CHECKIN_INTERVAL_DAYS", defaults.checkin_interval_days)
            ),
            flag_due=flag_due,
            escalation_repeat=escalation_repeat,
            digest_time=_time_of_day(env, "DIGEST_TIME", defaults.digest_time),
            reminder_follow_up=timedelta(hours=_number(env, "REMINDER_FOLLOW_UP_HOURS", 24.0)),
            missed_checkins_flag=int(
                _number(env, "MISSED_CHECKINS_FLAG", defaults.missed_checkins_flag)
            ),
            visit_days=_days_per(env, "VISIT_DAYS_{}", STAGES, defaults.visit_days),
            visit_weekly_weeks=int(_number(env, "VISIT_WEEKLY_WEEKS", defaults.visit_weekly_weeks)),
            country=env.get("COUNTRY", defaults.country).strip().upper(),
            review_days=_days_per(env, "REVIEW_DAYS_{}", RISK_LEVELS, defaults.review_days),
            risk_visit_days=_days_per(
                env, "RISK_VISIT_DAYS_{}", RISK_LEVELS, defaults.risk_visit_days
            ),
            telegram_messages_per_second=_number(
                env, "TELEGRAM_MESSAGES_PER_SECOND", defaults.telegram_messages_per_second
            ),
            log_level=env.get("LOG_LEVEL", defaults.log_level),
            invite_days=int(_number(env, "INVITE_DAYS", defaults.invite_days)),
            telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_base_url=env.get("TELEGRAM_BASE_URL", defaults.telegram_base_url),
            bot_username=(env.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@") or None,
            webhook_secret=env.get("WEBHOOK_SECRET") or None,
            alarm_journal=Path(env["ALARM_JOURNAL"]) if env.get("ALARM_JOURNAL") else None,
            alarm_fallback_chat=_chat_id(env, "ALARM_FALLBACK_CHAT"),
            update_inbox=Path(env["UPDATE_INBOX"]) if env.get("UPDATE_INBOX") else None,
            encryption_keys=env.get("ENCRYPTION_KEYS") or None,
            key_file=Path(env.get("KEY_FILE") or DEFAULT_KEY_FILE),
            outbox_lease=timedelta(
                seconds=_number(env, "OUTBOX_LEASE_SECONDS", defaults.outbox_lease.total_seconds())
            ),
            operations_port=_port(env, "OPERATIONS_PORT"),
            operations_listen=env.get("OPERATIONS_LISTEN") or defaults.operations_listen,
            web_base_url=_web_base_url(env),
            web_listen=env.get("WEB_LISTEN") or defaults.web_listen,
            web_port=_port(env, "WEB_PORT") or defaults.web_port,
            web_link_minutes=_number(env, "WEB_LINK_MINUTES", defaults.web_link_minutes),
            web_idle_minutes=_number(env, "WEB_IDLE_MINUTES", defaults.web_idle_minutes),
            web_session_hours=_number(env, "WEB_SESSION_HOURS", defaults.web_session_hours),
            web_cookie_secure=_cookie_secure(env),
            web_forwarded_allow_ips=_proxies(env, defaults.web_forwarded_allow_ips),
        )

    def __repr__(self) -> str:
        # Settings end up in tracebacks and logs: never the token or the webhook secret.
        hidden = {"telegram_token", "webhook_secret", "encryption_keys"}
        shown = ", ".join(
            f"{name}={'***' if name in hidden and value else value!r}"
            for name, value in self.__dict__.items()
        )
        return f"Settings({shown})"


def _hours_per_level(
    env: Mapping[str, str], pattern: str, defaults: Mapping[str, timedelta]
) -> dict[str, timedelta]:
    values = dict(defaults)
    for level in FLAG_LEVELS:
        name = pattern.format(level.upper())
        if name in env:
            values[level] = timedelta(hours=_number(env, name))
    return values


def _days_per(
    env: Mapping[str, str], pattern: str, names: tuple[str, ...], defaults: Mapping[str, int]
) -> dict[str, int]:
    """Days per stage or level, like VISIT_DAYS_FOLLOW_UP=30."""
    days = dict(defaults)
    for name in names:
        variable = pattern.format(name.upper())
        if variable in env:
            days[name] = int(_number(env, variable))
    return days


def _time_of_day(env: Mapping[str, str], name: str, default: time) -> time:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a time of day like 08:00, not {raw!r}") from None


def _number(env: Mapping[str, str], name: str, default: float | None = None) -> float:
    raw = env.get(name)
    if raw is None:
        if default is None:
            raise ConfigError(f"{name} is not set")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than zero")
    return value


def _port(env: Mapping[str, str], name: str) -> int | None:
    """A TCP port (0: any free one); unset or empty is None."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"{name} must be a port number (0 to 65535), not {raw!r}")
    return int(raw)


def _chat_id(env: Mapping[str, str], name: str) -> str | None:
    """A Telegram chat's numeric id (a group's is negative); unset is None."""
    value = (env.get(name) or "").strip()
    if value and not value.removeprefix("-").isdigit():
        raise ConfigError(f"{name} must be a Telegram chat's numeric id (like -1001234567890)")
    return value or None


# Hosts on which the session cookie may go without `Secure`: a browser on the same machine.
_LOCAL_HOSTS = ("127.0.0.1", "localhost")


def _local_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS


def _web_base_url(env: Mapping[str, str]) -> str | None:
    raw = (env.get("WEB_BASE_URL") or "").strip().rstrip("/")
    if not raw:
        return None
    if not (urlsplit(raw).scheme == "https" or _local_http(raw)):
        raise ConfigError(
            "WEB_BASE_URL must start with https:// (http:// only for 127.0.0.1 or localhost)"
        )
    return raw


def _proxies(env: Mapping[str, str], default: tuple[str, ...]) -> tuple[str, ...]:
    """WEB_FORWARDED_ALLOW_IPS: addresses or networks, comma-separated. Never `*`: any client
    could then name its own address and so escape the sign-in rate limit."""
    raw = (env.get("WEB_FORWARDED_ALLOW_IPS") or "").strip()
    if not raw:
        return default
    proxies = tuple(part.strip() for part in raw.split(",") if part.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                "WEB_FORWARDED_ALLOW_IPS must list the reverse proxy's addresses or networks "
                f"(like 127.0.0.1,::1 or 10.0.0.0/24), not {proxy!r}"
            ) from None
    return proxies


def _cookie_secure(env: Mapping[str, str]) -> bool:
    """`Secure` cookies, unless turned off for a web view on this very machine over http."""
    raw = (env.get("WEB_COOKIE_SECURE") or "true").strip().lower()
    if raw in ("true", "1", "yes"):
        return True
    if raw not in ("false", "0", "no"):
        raise ConfigError(f"WEB_COOKIE_SECURE must be true or false, not {raw!r}")
    if not _local_http(_web_base_url(env) or ""):
        raise ConfigError(
            "WEB_COOKIE_SECURE=false is only for WEB_BASE_URL on http://127.0.0.1 or "
            "http://localhost: anywhere else the session cookie must be Secure"
        )
    return False
