"""The Telegram channel: the only package that imports `telegram`.

`build_application` wires a python-telegram-bot `Application` to the channel: updates of one
person in order (`PerPersonUpdateProcessor`), flood control through PTB's rate limiter, and
one entry handler. `serve` runs it by long polling or behind a webhook until stopped; behind
a webhook on PostgreSQL, as one of any number of processes sharing the work (`_shared.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Bot, Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, TypeHandler

from ..app import Wegwijzer
from ..bootstrap import bring_up_to_date
from ..services import outbox
from ..services.duties import CONTACT_DUTIES, FLAG_DUTIES, UPKEEP_DUTIES, Duty
from ..services.retention import forget_old_updates
from ..storage import Unavailable
from ._activity import Activity
from ._application import StatelessApplication
from ._callbacks import CallbackSigner, ForgedCallback
from ._channel import CHANNEL, TelegramChannel
from ._inbox import Inbox, KeepingQueue
from ._menus import register_default_menus
from ._processor import PerPersonUpdateProcessor
from ._shared import SharedInbox
from ._watch import BotWatcher, WatchedRequest

__all__ = [
    "DUTY_LOOPS",
    "SENDERS",
    "Activity",
    "BotWatcher",
    "CallbackSigner",
    "ForgedCallback",
    "PerPersonUpdateProcessor",
    "TelegramChannel",
    "bot_username",
    "build_application",
    "deliver_due_notices",
    "paced_rate_limiter",
    "serve",
]

log = logging.getLogger(__name__)

# Edited messages only for the emergency route: danger written into an edited message.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
# At stop, how long emergency numbers still being tried get to arrive.
LAST_CHANCE_SECONDS = 10.0
# How often the bot looks for work that came due: flags to tell, the digest, escalations,
# whether the day's retention run is due.
DUTY_INTERVAL_SECONDS = 30.0
# How often a sender looks in the outbox when nothing woke it: for notices another process
# queued, and for those due again after a failed try. Notices queued here wake it at once.
# Processes sharing a database look as often for updates another process left (`_shared.py`).
OUTBOX_INTERVAL_SECONDS = 1.0
# Notices one sender has in flight at once; the rate limiter decides how fast they go. Small
# enough that an urgent notice never waits long behind a batch of reminders.
SENDING_AT_ONCE = 16
# The duty loops by name, as `Activity` counts their rounds: flags have their own, so that a
# morning's reminders never hold up an escalation; upkeep (the daily retention run) too.
DUTY_LOOPS = {"flags": FLAG_DUTIES, "contact": CONTACT_DUTIES, "upkeep": UPKEEP_DUTIES}
# The senders' loops, as `Activity` counts their rounds: for everything, and urgent only.
SENDERS = {False: "notices", True: "urgent notices"}

# python-telegram-bot's Application is generic in six types (bot, context, user, chat and bot
# data, job queue); ours takes PTB's defaults, whose data dicts PTB itself types with Any.
BotApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    app: Wegwijzer,
    *,
    token: str,
    base_url: str,
    rate_limit: bool = True,
    activity: Activity | None = None,
    inbox: Inbox | None = None,
    watcher: BotWatcher | None = None,
    shared: bool = False,
    connection_pool_size: int | None = None,
) -> BotApplication:
    """The bot's Application. `rate_limit=False` is for measuring handling cost only: a bot
    talking to Telegram always paces itself. `activity` counts the updates handled; `inbox`
    keeps each update on disk until it is handled (see `_inbox.py`); `shared` (PostgreSQL,
    with an inbox) keeps them in the database instead, for every process sharing it, and
    handles each person's updates in their turn across processes (`_shared.py`; close it
    with `application.bot_data["shared"].close()`); `watcher` is told of every update
    handled and every Bot API call, with the time each took (see `_watch.py`);
    `connection_pool_size`: the Bot API client's (default `BOT_API_CONNECTIONS`), for the
    bench, which gives its bare bots the same."""
    pool = BOT_API_CONNECTIONS if connection_pool_size is None else connection_pool_size
    channel = TelegramChannel(app, CallbackSigner.from_token(token))
    keeper: Inbox | SharedInbox | None = inbox
    if shared:
        if inbox is None:
            raise ValueError("updates are shared through the database with an inbox only")
        keeper = SharedInbox(app, inbox, overtakes=channel.overtakes, again=channel.again)

    async def handled(update: object) -> None:
        if keeper is not None:
            await keeper.handled(update)
        if activity is not None:
            activity.update_handled()

    # Typed loosely: setting a rate limiter changes the builder's type parameters in PTB.
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .application_class(StatelessApplication)
        .token(token)
        .base_url(base_url)
        .base_file_url(base_url.replace("/bot", "/file/bot"))
        .concurrent_updates(
            PerPersonUpdateProcessor(
                overtakes=channel.overtakes,
                on_handled=handled,
                shared=keeper if isinstance(keeper, SharedInbox) else None,
            )
        )
    )
    if watcher is None:
        builder = builder.connection_pool_size(pool).get_updates_connection_pool_size(
            GET_UPDATES_CONNECTIONS
        )
    else:
        # The clients PTB would make, each with a stopwatch (PTB takes either the client or
        # its settings, not both).
        builder = builder.request(
            WatchedRequest(watcher, connection_pool_size=pool)
        ).get_updates_request(WatchedRequest(watcher, connection_pool_size=GET_UPDATES_CONNECTIONS))
    if keeper is not None:
        builder = builder.update_queue(KeepingQueue(keeper))
    if rate_limit:
        builder = builder.rate_limiter(
            paced_rate_limiter(app.settings.telegram_messages_per_second)
        )
    application = builder.build()
    application.bot_data["channel"] = channel
    if isinstance(keeper, SharedInbox):
        keeper.process, keeper.bot = application.process_update, application.bot
        application.bot_data["shared"] = keeper
    on_update = channel.on_update if watcher is None else _timed(channel.on_update, watcher)
    application.add_handler(TypeHandler(Update, on_update))
    application.add_error_handler(_on_error)
    return application


# PTB's own connection pool sizes. On stop PTB confirms the last updates with one more
# getUpdates while the cancelled long poll may still hold the only connection: a second one
# avoids a pool timeout.
BOT_API_CONNECTIONS, GET_UPDATES_CONNECTIONS = 256, 2

UpdateCallback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def _timed(on_update: UpdateCallback, watcher: BotWatcher) -> UpdateCallback:
    async def timed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        started = time.perf_counter()
        try:
            await on_update(update, context)
        finally:
            watcher.update_handled(time.perf_counter() - started)

    return timed


# Sending is paced a little under Telegram's limit: the send times jitter with the event
# loop, and a window that catches one message too many gets a 429.
PACING_MARGIN = 0.95


def paced_rate_limiter(per_second: float, max_retries: int = 3) -> AIORateLimiter:
    """Flood control: messages evenly spaced under `per_second` (PTB's default allows a
    burst of a whole second's worth, then the next second's: up to twice the limit within
    one sliding second), and any 429 still waited out (retry_after) and retried."""
    return AIORateLimiter(
        overall_max_rate=1,
        overall_time_period=1 / (per_second * PACING_MARGIN),
        max_retries=max_retries,
    )


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Where it failed, never what it carried: exception messages can quote a person's text.
    error = context.error
    if error is None:
        return
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    log.error(
        "update failed",
        extra={
            "update_id": getattr(update, "update_id", None),
            "event": f"{type(error).__name__} at {where.filename}:{where.lineno}"
            if where
            else type(error).__name__,
        },
    )
    if isinstance(update, Update) and update.effective_chat is not None:
        # Nothing was stored (the transaction rolled back): say so, so the person tries again
        # instead of believing their answer arrived.
        channel: TelegramChannel = context.application.bot_data["channel"]
        await channel.apologise(update, context)


async def serve(
    app: Wegwijzer,
    *,
    webhook_url: str | None = None,
    listen: str = "0.0.0.0",
    port: int = 8443,
    stop: asyncio.Event | None = None,
    duty_interval: float = DUTY_INTERVAL_SECONDS,
    outbox_interval: float = OUTBOX_INTERVAL_SECONDS,
    activity: Activity | None = None,
    database_ready: bool = True,
    before_stopping: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the bot until `stop` is set (or SIGINT/SIGTERM arrives), doing the work that comes
    due with time (telling, digest, escalation) every `duty_interval` seconds, and sending
    what the outbox holds (looking every `outbox_interval` seconds when not woken).
    `activity`, when given, is kept up to date for a watcher (see `Activity`). With
    `OPERATIONS_PORT` set, the operations endpoint (health, readiness, Prometheus metrics;
    `bot.operations`) listens while the bot runs; its port is `activity.operations_port`.

    Behind a webhook on PostgreSQL any number of processes can serve one bot: each keeps the
    updates it receives in the database, and a person's updates are handled in their turn by
    whichever process (`_shared.py`), updates a killed process left behind by the others.

    `before_stopping`, when given, is awaited once `stop` is set and before any of the bot
    stops (`run --with-web`: the web view, so what its last requests queue is still sent).

    `database_ready=False`: the database could not be reached at start. The bot runs anyway
    — the emergency route needs no database — and migrates and checks it as soon as it can;
    until then other messages get an apology."""
    settings = app.settings
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    if webhook_url and not settings.webhook_secret:
        raise ValueError("webhook mode needs WEBHOOK_SECRET, checked on every request")
    activity = activity or Activity()
    inbox = Inbox(settings.update_inbox_path)
    operations = None
    if settings.operations_port is not None:
        # Imported only when asked for: a bot without it loads neither Prometheus nor more.
        from ..operations import Operations

        operations = Operations(app)
    application = build_application(
        app,
        token=settings.telegram_token,
        base_url=settings.telegram_base_url,
        activity=activity,
        inbox=inbox,
        watcher=operations,
        # Only a webhook lets several processes receive updates; polling is one process's.
        shared=bool(webhook_url) and app.database.dialect == "postgresql",
    )
    shared: SharedInbox | None = application.bot_data.get("shared")
    if shared is not None:
        with contextlib.suppress(Exception):  # down: updates are kept on disk meanwhile
            await shared.open()
    stop = stop or _stop_on_signals()
    with contextlib.suppress(Unavailable):
        await forget_old_updates(app)
    updater = application.updater
    if updater is None:
        raise RuntimeError("the Application was built without an updater")
    async with application:
        await register_default_menus(application.bot, app.catalogs, settings.timezone)
        channel: TelegramChannel = application.bot_data["channel"]
        channel.bot_username = application.bot.username
        if database_ready:
            with contextlib.suppress(Unavailable):
                await channel.conversation.remember_staff()
        await application.start()
        # What the last run took from Telegram and never finished, before anything new.
        unhandled = inbox.unhandled(application.bot)
        channel.again.update(update.update_id for update in unhandled)
        for update in unhandled:
            await application.update_queue.put(update)
        if shared is not None:
            await inbox.handed_over()  # kept in the database now, emergencies aside
        if webhook_url:
            await updater.start_webhook(
                listen=listen,
                port=port,
                url_path=_path_of(webhook_url),
                webhook_url=webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        log.warning("bot running", extra={"event": "webhook" if webhook_url else "polling"})
        loops = [
            asyncio.create_task(_do_duties(channel, duty_interval, name, duties, activity))
            for name, duties in DUTY_LOOPS.items()
        ]
        if not database_ready:
            loops.append(asyncio.create_task(_until_the_database_is_back(channel)))
        if shared is not None:
            processor = application.update_processor
            assert isinstance(processor, PerPersonUpdateProcessor)
            loops.append(asyncio.create_task(_adopt_forsaken(shared, processor, outbox_interval)))
        # Two senders: one for everything (urgent first), one for urgent notices only, so
        # that danger never waits for a batch of reminders to be through.
        senders = [
            _Sender(
                channel,
                application.bot,
                activity,
                outbox_interval,
                urgent_only=urgent,
                watcher=operations,
            )
            for urgent in (False, True)
        ]
        sending = [asyncio.create_task(sender.run()) for sender in senders]
        app.database.on_notices_queued.append(activity.notices_queued)
        if operations is not None:
            activity.operations_port = await operations.start()
        activity.running.set()
        try:
            await stop.wait()
            if before_stopping is not None:
                # The bot still whole: its senders send what this queues on the way out.
                await before_stopping()
        finally:
            activity.running.clear()
            app.database.on_notices_queued.remove(activity.notices_queued)
            if operations is not None:
                await operations.stop()
                activity.operations_port = None
        for loop in loops:
            loop.cancel()
        for loop in loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        await updater.stop()
        # The updates taken are handled to the end (their alarms' notices queued), then the
        # senders send what they claimed (one more look for each), and claim nothing new.
        await application.stop()
        for sender in senders:
            sender.stop()
        await asyncio.wait(sending, timeout=LAST_CHANCE_SECONDS)
        for task in sending:
            task.cancel()
        for task in sending:
            with contextlib.suppress(asyncio.CancelledError):
                await task  # a cancelled send leaves no connection behind
        await channel.finish_delivering(LAST_CHANCE_SECONDS)
        if shared is not None:
            await shared.close()


# While the database is unreachable at start, it is tried again after this long, and twice as
# long each time up to the longest wait.
DATABASE_RETRY_FIRST, DATABASE_RETRY_LONGEST = 0.5, 10.0


async def _until_the_database_is_back(channel: TelegramChannel) -> None:
    """Try the database until it answers; then migrate and check it, and at once do what
    waited for it (the journaled alarms become flags and their people are told)."""
    log.critical("database unavailable: answering emergencies only", extra={"event": "start"})
    wait = DATABASE_RETRY_FIRST
    while True:
        try:
            await bring_up_to_date(channel.app)
            await channel.conversation.remember_staff()
        except Unavailable:
            await asyncio.sleep(wait)
            wait = min(wait * 2, DATABASE_RETRY_LONGEST)
        else:
            log.warning("database available", extra={"event": "start"})
            await _round_of(channel, FLAG_DUTIES)
            return


async def _adopt_forsaken(
    shared: SharedInbox, processor: PerPersonUpdateProcessor, interval: float
) -> None:
    """Every interval (and at once at start), handle the updates that wait in the database
    and nobody has in hand: their process was killed after Telegram heard 200, or its turn
    failed (the database went away meanwhile). People this process has in hand are left to
    it."""
    while True:
        try:
            turns = [turn for turn in await shared.forsaken() if not processor.busy(turn)]
        except Exception as failed:  # the database is down: the updates wait in it
            log.error("forsaken updates not looked for", extra={"event": type(failed).__name__})
            turns = []
        if turns:
            log.warning("forsaken updates taken over", extra={"count": len(turns)})
            await asyncio.gather(*(processor.drain(turn) for turn in turns), return_exceptions=True)
        await asyncio.sleep(interval)


async def _do_duties(
    channel: TelegramChannel,
    interval: float,
    name: str,
    duties: tuple[Duty, ...],
    activity: Activity,
) -> None:
    """Every interval, each duty in turn: claim what has come due, then send it. A failure is
    logged and that duty tried again next time (its work stays in the database until it is
    claimed); it never ends the loop, nor keeps the other duties from their turn."""
    while True:
        activity.round_begun(name)
        await _round_of(channel, duties)
        activity.round_done(name)
        await asyncio.sleep(interval)


async def _round_of(channel: TelegramChannel, duties: tuple[Duty, ...]) -> None:
    # Each duty queues its notices in the outbox; the senders deliver them.
    for duty in duties:
        try:
            await duty(channel.app)
        except Exception as failed:  # the loop must outlive any one failure
            log.error("duty failed", extra={"event": f"{duty.__name__}: {type(failed).__name__}"})


class _Sender:
    """Sends what the outbox holds for Telegram people: claims a batch, sends it (paced by
    the rate limiter), and each notice is settled by Telegram's answer; then the next batch,
    or a wait until a transaction queues notices (or `interval` passes)."""

    def __init__(
        self,
        channel: TelegramChannel,
        bot: Bot,
        activity: Activity,
        interval: float,
        *,
        urgent_only: bool,
        watcher: BotWatcher | None = None,
    ) -> None:
        self.channel, self.bot, self.activity = channel, bot, activity
        self.watcher = watcher
        self.interval = interval
        self.urgent_only = urgent_only
        self.name = SENDERS[urgent_only]
        self._woken = asyncio.Event()
        self._stopping = False

    def stop(self) -> None:
        """Send what is due now, then stop."""
        self._stopping = True
        self._woken.set()

    async def run(self) -> None:
        database = self.channel.app.database
        database.on_notices_queued.append(self._woken.set)
        try:
            while True:
                self._woken.clear()
                stopping = self._stopping
                self.activity.round_begun(self.name)
                sent = await self.batch()
                self.activity.round_done(self.name)
                if stopping and not sent:
                    return  # asked to stop, and nothing was left to send
                if not sent and not self._stopping:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._woken.wait(), self.interval)
        finally:
            database.on_notices_queued.remove(self._woken.set)

    async def batch(self) -> int:
        """Claim and send one batch; how many were claimed."""
        app = self.channel.app
        try:
            batch = await outbox.claim(app, CHANNEL, SENDING_AT_ONCE, urgent_only=self.urgent_only)
        except Exception as failed:  # the database is down, say: the notices wait in it
            log.error("outbox not read", extra={"event": type(failed).__name__})
            return 0
        taken = await asyncio.gather(*(self._send(out) for out in batch))
        try:
            await outbox.sent(app, *(out for out, ok in zip(batch, taken, strict=True) if ok))
        except Exception as failed:  # unrecorded: sent again when the claims lapse
            log.error("deliveries not recorded", extra={"event": type(failed).__name__})
        return len(batch)

    async def _send(self, out: outbox.Outgoing) -> bool:
        try:
            delivered = await self.channel.send_notice(self.bot, out)
        except Exception as failed:  # unsettled: sent again when its claim lapses
            log.error(
                "notice not settled",
                extra={"person_id": out.notice.recipient.person_id, "event": type(failed).__name__},
            )
            return False
        if delivered and self.watcher is not None:
            self.watcher.notice_delivered(out.notice.urgent)
        return delivered


async def deliver_due_notices(application: BotApplication, *, urgent_only: bool = False) -> int:
    """Send what the outbox holds that is due now, batch after batch until none is left, and
    return how many were sent (for tests, benchmarks and one-off use; `serve` keeps senders
    running)."""
    channel: TelegramChannel = application.bot_data["channel"]
    sender = _Sender(channel, application.bot, Activity(), 0.0, urgent_only=urgent_only)
    total = 0
    while sent := await sender.batch():
        total += sent
    return total


async def bot_username(token: str, base_url: str) -> str:
    """The bot's @username as Telegram knows it (for invite links)."""
    async with Bot(token, base_url=base_url) as bot:
        return bot.username


def _path_of(url: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url).path.lstrip("/")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
