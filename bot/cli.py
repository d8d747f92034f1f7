"""`wegwijzer …`: the command line of the project.

    wegwijzer flows check [--flows DIR]      validate every flow; exit 1 with file:line errors
    wegwijzer flows graph FLOW_ID            print a mermaid state diagram of a flow
    wegwijzer db upgrade                     bring the database schema up to date
    wegwijzer chat [--as ROLE] [--case CODE] [--lang LANG]
                                             play flows in the terminal (or piped on stdin)
    wegwijzer export --format json|csv|xlsx [--since YYYY-MM-DD] [--output FILE]
                     [--pseudonymise] [--encrypt] [--lang LANG]
                                             one row per answer, streamed (audited); a file
                                             0600; xlsx: a sheet per flow, titles in LANG;
                                             --encrypt: an AES-256 zip (EXPORT_PASSWORD)
                                             --pseudonymise: keyed pseudonyms, no typed
                                             text, the UTC day of an answer (no time)
    wegwijzer flags [--status open|acknowledged|resolved] [--json]
                                             flags with their evidence and history (audited)
    wegwijzer audit [--case CODE] [--person ID] [--since ISO] [--json]
                                             the audit log, oldest first; --person: every
                                             look at one person's data (their cases' events,
                                             their flags', and what they did, refusals too)
    wegwijzer schedule set --case CODE WHEN [--timezone TZ] [--start DATE] [--end DATE]
                                             check-in reminders, WHEN like "weekly mon 18:00",
                                             "every 14 days 09:30" or "monthly 1 10:00"
    wegwijzer schedule list [--json]         every schedule, next due in UTC and local time
    wegwijzer schedule pause|resume --case CODE
    wegwijzer case create --programme P [--json]
                                             a new case with a pseudonymous code
    wegwijzer case stage CODE STAGE          set the reintegration stage (plans home visits)
    wegwijzer case visit CODE                record a home visit
    wegwijzer case hold|release CODE --reason TEXT
                                             a legal hold: nothing of the case is removed
    wegwijzer retention run [--dry-run] [--json] [--batch N]
                                             remove what privacy.yaml's terms make due (audited)
    wegwijzer person leave ID                someone leaves: told nothing more
    wegwijzer person export CODE --output DIR [--person ID] [--lang LANG]
                                             everything stored about a case (or one person
                                             of it): JSON and a readable document (audited)
    wegwijzer person erase CODE --reason TEXT [--person ID] [--yes]
                                             erase a family's data, leaving tombstones;
                                             refused under a legal hold or an unresolved
                                             urgent flag (audited)
    wegwijzer answer correct RUN KEY VALUE --as PERSON_ID
                                             correct a wrong answer (old value audited)
    wegwijzer invite --role family --case CODE [--json] [--qr FILE.png]
    wegwijzer invite --role caseworker|coordinator [--case CODE] [--json] [--qr FILE.png]
                                             a single-use invite link (deep link or QR code)
    wegwijzer privacy map [--json]           every stored field: what it holds, category,
                                             purpose, retention, encrypted; the files too
    wegwijzer keys new|add|rotate|retire     the encryption key ring: make one, add a current
                                             key, re-seal everything under it, drop an old one
    wegwijzer i18n status [--json]          per language and flow: translated, missing, fuzzy
    wegwijzer bench [--json] [--updates N] [--rounds N] [--pool N] [--people N]
                    [--reminders N] [--postgres URL] [--profile FILE] [--traced]
                                             cost per answer vs the floor and an echo bot;
                                             memory per person; reminder fan-out (~1 min)
    wegwijzer bench --scale [--scale-cases N] [--scale-database URL] [--json]
                                             /flags, /case, outbox claim, digest and export
                                             timed on 100,000 seeded cases (SQLite, PostgreSQL)
    wegwijzer bench --processes [N] [--database URL]
                                             answers per second with 1 and N bot processes
                                             on one PostgreSQL (webhook, behind a balancer)
    wegwijzer run [--webhook-url URL] [--listen HOST] [--port N] [--with-web]
                                             run the Telegram bot (long polling by default);
                                             --with-web: the web view too, in this process
    wegwijzer web [--listen HOST] [--port N]  serve the web view for staff (WEB_BASE_URL;
                                             sign in with /web in the bot)

Settings come from the environment (see README, "Configuration").
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO, TypeVar

from .config import ConfigError, Settings
from .engine.vocabulary import STAGES
from .i18n import CatalogError
from .i18n.helplines import HelplinesError
from .rules.privacy import PrivacyError
from .services.cases import PROGRAMMES
from .storage import CaseErased
from .storage.crypto import KeyError_

if TYPE_CHECKING:  # for annotations only: commands import what they use when they run
    from .app import Assets, Wegwijzer
    from .engine.events import JSONValue
    from .services.audit import AuditEntry
    from .services.flags import FlagView
    from .services.visits import VisitPlan
    from .web.beside import WebBeside

T = TypeVar("T")


def main(argv: Sequence[str] | None = None, *, assets: Assets | None = None) -> int:
    """Run one command. `assets` already loaded (the tests') are used instead of loading the
    flows and catalogs again."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"wegwijzer: configuration: {error}", file=sys.stderr)
        return 2
    from . import logs

    logs.configure(settings.log_level)
    args.assets = assets
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        return handler(settings, args)
    except KeyError_ as error:
        # No key, or not the one the data was sealed with: nothing may be read or written.
        print(f"wegwijzer: encryption: {error}", file=sys.stderr)
        return 2
    except PrivacyError as error:
        print(f"wegwijzer: privacy policy: {error}", file=sys.stderr)
        return 2
    except HelplinesError as error:
        # A wrong helplines file must never reach a family: say where it is wrong and stop.
        print(f"wegwijzer: helplines: {error}", file=sys.stderr)
        return 2
    except CaseErased as erased:
        # Whichever command named it: an erased case is a tombstone, nothing is done with it.
        print(
            f"wegwijzer: case {erased.code} was erased: only its code is kept, "
            "nothing can be done with it",
            file=sys.stderr,
        )
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wegwijzer", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(title="commands")

    flows = commands.add_parser("flows", help="check flows and draw them").add_subparsers()
    check = flows.add_parser("check", help="validate every flow file")
    check.add_argument("--flows", type=Path, help="flows directory (default: WEGWIJZER_FLOWS)")
    check.set_defaults(handler=_flows_check)
    graph = flows.add_parser("graph", help="print a mermaid state diagram of a flow")
    graph.add_argument("flow_id")
    graph.add_argument("--version", type=int, help="a flow version (default: the newest)")
    graph.add_argument("--flows", type=Path, help="flows directory (default: WEGWIJZER_FLOWS)")
    graph.set_defaults(handler=_flows_graph)

    db = commands.add_parser("db", help="database schema").add_subparsers()
    db.add_parser("upgrade", help="apply all migrations").set_defaults(handler=_db_upgrade)

    chat = commands.add_parser("chat", help="play flows in the terminal")
    chat.add_argument(
        "--as", dest="role", default="family", choices=("family", "caseworker", "coordinator")
    )
    chat.add_argument("--case", help="case code (default: the demo case, created on first use)")
    chat.add_argument("--lang", help="language code, e.g. nl or en (default: your last choice)")
    chat.set_defaults(handler=_chat)

    export = commands.add_parser("export", help="export answers, one row per answer")
    export.add_argument("--format", dest="fmt", choices=("json", "csv", "xlsx"), default="json")
    export.add_argument(
        "--since",
        type=date.fromisoformat,
        help="only answers given on or after this local date (YYYY-MM-DD)",
    )
    export.add_argument(
        "--output",
        type=Path,
        help="write to this file, readable by you only (default: stdout; xlsx and --encrypt "
        "need a file)",
    )
    export.add_argument(
        "--pseudonymise",
        action="store_true",
        help="for research and M&E: case codes and runs as stable keyed pseudonyms, typed "
        "answers left out, answered_at as the UTC day only (no time)",
    )
    export.add_argument(
        "--encrypt",
        action="store_true",
        help="write an AES-256 zip; the password from EXPORT_PASSWORD, else asked for",
    )
    export.add_argument(
        "--lang", help="the language of the xlsx column titles (default: DEFAULT_LANGUAGE)"
    )
    export.set_defaults(handler=_export)

    flags = commands.add_parser("flags", help="list flags with their evidence and history")
    flags.add_argument(
        "--status",
        choices=("open", "acknowledged", "resolved"),
        help="only flags with this status (default: all)",
    )
    flags.add_argument("--json", action="store_true", help="print JSON")
    flags.set_defaults(handler=_flags)

    doctor = commands.add_parser(
        "doctor", help="what would make an alarm reach nobody (exit 1 when anything would)"
    )
    doctor.set_defaults(handler=_doctor)

    audit = commands.add_parser("audit", help="the audit log, oldest first")
    audit.add_argument("--case", help="only the events of this case (its code)")
    audit.add_argument(
        "--person",
        type=int,
        metavar="ID",
        help="every look at one person's data (their numeric person id): every event of a "
        "case they are or were a member of (views, answers shown, flags and each step on "
        "them, refused looks included) and everything they did themselves, granted or "
        "refused; with --case, only that case's",
    )
    audit.add_argument(
        "--since",
        type=datetime.fromisoformat,
        help="only events at or after this moment (ISO 8601, e.g. 2026-11-27 or "
        "2026-11-27T09:00; without an offset in the deployment's TIMEZONE)",
    )
    audit.add_argument("--json", action="store_true", help="print JSON")
    audit.set_defaults(handler=_audit)

    schedule = commands.add_parser("schedule", help="check-in reminders").add_subparsers()
    set_ = schedule.add_parser("set", help="set a case's check-in reminders")
    set_.add_argument("--case", required=True, help="the case code")
    set_.add_argument("when", nargs="+", help='e.g. "weekly mon 18:00", "every 14 days 09:30"')
    set_.add_argument("--timezone", help="the family's timezone (default: TIMEZONE)")
    set_.add_argument("--start", type=date.fromisoformat, help="first day (default: today)")
    set_.add_argument("--end", type=date.fromisoformat, help="last day (default: none)")
    set_.set_defaults(handler=_schedule_set)
    listing = schedule.add_parser("list", help="every schedule with its next due time")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_schedule_list)
    for name, paused in (("pause", True), ("resume", False)):
        sub = schedule.add_parser(name, help=f"{name} a case's reminders")
        sub.add_argument("--case", required=True, help="the case code")
        sub.set_defaults(handler=_schedule_pause, paused=paused)

    case = commands.add_parser("case", help="cases").add_subparsers()
    create = case.add_parser("create", help="create a case and print its code")
    create.add_argument("--programme", required=True, choices=PROGRAMMES)
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(handler=_case_create)
    stage = case.add_parser("stage", help="set a case's reintegration stage (plans home visits)")
    stage.add_argument("code", help="the case code")
    stage.add_argument("stage", choices=STAGES)
    stage.set_defaults(handler=_case_stage)
    visit = case.add_parser("visit", help="record a home visit to a case")
    visit.add_argument("code", help="the case code")
    visit.set_defaults(handler=_case_visit)
    assign = case.add_parser(
        "assign", help="give a case to a caseworker (audited; both caseworkers are told)"
    )
    assign.add_argument("code", help="the case code")
    assign.add_argument("caseworker", type=int, help="the caseworker's person id")
    assign.set_defaults(handler=_case_assign)
    # `case child add|list|set|remove`: a case's children, rated one by one in home visits.
    from .cli_children import add_child_commands

    add_child_commands(case)

    # `keys new|add|rotate|retire`: the encryption key ring.
    from .cli_keys import add_key_commands

    add_key_commands(commands)

    # `privacy map`: every stored field and file, for the privacy officer.
    from .cli_privacy import add_privacy_commands

    add_privacy_commands(commands)

    # `retention run`, and `case hold|release`: the terms of privacy.yaml, and what stops them.
    from .cli_retention import add_retention_commands

    add_retention_commands(commands, case)

    # `person leave|export|erase` and `answer correct`: a person's leaving and their rights.
    from .cli_person import add_person_commands

    add_person_commands(commands)

    invite = commands.add_parser("invite", help="make a single-use invite, or take one back")
    invite.add_argument("--role", choices=("family", "caseworker", "coordinator"))
    invite.add_argument(
        "--revoke", metavar="CODE", help="take back an unused invite (its code, or its link)"
    )
    invite.add_argument(
        "--case",
        help="the case (required for families; for caseworkers: the case to assign when they join)",
    )
    invite.add_argument("--json", action="store_true", help="print JSON with code and link")
    invite.add_argument("--qr", type=Path, help="also write the link as a QR code PNG")
    invite.set_defaults(handler=_invite)

    i18n = commands.add_parser("i18n", help="translations").add_subparsers()
    status = i18n.add_parser("status", help="per language and flow: translated, missing, fuzzy")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=_i18n_status)
    danger_check = i18n.add_parser(
        "danger-check",
        help="per language: distress messages caught and everyday messages alarming, against "
        "the corpora (exit 1 when a language misses the target)",
    )
    danger_check.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="folder of <code>.txt corpora (default: tests/i18n/danger_corpus in the checkout)",
    )
    danger_check.set_defaults(handler=_i18n_danger_check)

    bench = commands.add_parser("bench", help="measure the cost of an answer and memory")
    bench.add_argument(
        "--updates",
        type=int,
        default=500,
        help="updates per side: people who each press one button, split among the rounds",
    )
    bench.add_argument("--open-runs", type=int, default=10_000, help="open runs in the database")
    bench.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="the sides take turns in this many rounds (the updates split among them); the "
        "ratios printed are the rounds' medians",
    )
    bench.add_argument(
        "--pool",
        type=int,
        default=0,
        metavar="N",
        help="Bot API connections of every side (default: the bot's own)",
    )
    bench.add_argument(
        "--people",
        type=int,
        default=1000,
        help="new people in each of the two groups the memory slope is measured over (the "
        "issue's figure: 5000; 0: skip)",
    )
    bench.add_argument(
        "--traced",
        action="store_true",
        help="measure the memory groups with tracemalloc (Python's allocations only; about "
        "three times slower) instead of reading the allocators' level",
    )
    bench.add_argument(
        "--postgres",
        metavar="URL",
        help="also measure on PostgreSQL: a server where the bench creates (and drops) a "
        "throw-away database, e.g. postgresql://postgres@127.0.0.1:5432/test",
    )
    bench.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="write a cProfile of the bot process over the measured answers (SQLite)",
    )
    bench.add_argument(
        "--reminders",
        type=int,
        default=300,
        help="due reminders for the fan-out figure, sent at TELEGRAM_MESSAGES_PER_SECOND "
        "against a fake Bot API enforcing it (0: skip)",
    )
    bench.add_argument(
        "--faults",
        type=int,
        nargs="?",
        const=20,
        default=0,
        metavar="FAMILIES",
        help="only the fault-injection run (alarms, notices, answers while the database is "
        "locked, the Bot API fails and the bot restarts), with this many families per round",
    )
    bench.add_argument(
        "--scale",
        action="store_true",
        help="only the realistic-data run: seed a deployment of --scale-cases cases in bulk "
        "into SQLite and PostgreSQL and time /flags, /case, the outbox claim, the digest and "
        "the export on it",
    )
    bench.add_argument(
        "--scale-cases",
        type=int,
        default=100_000,
        metavar="N",
        help="cases to seed for --scale; people, answers, flags in proportion (2, 20, 0.5 each)",
    )
    bench.add_argument(
        "--scale-database",
        metavar="URL",
        default=None,
        help="the PostgreSQL server for --scale (default: TEST_DATABASE_URL; without either, "
        "SQLite only): a database is created next to the one named and dropped at the end",
    )
    bench.add_argument(
        "--processes",
        type=int,
        nargs="?",
        const=2,
        default=0,
        metavar="N",
        help="only the several-processes run: answers per second with 1 and with N (2) bot "
        "processes in webhook mode on one PostgreSQL database, behind a load balancer",
    )
    bench.add_argument(
        "--database",
        metavar="URL",
        help="for --processes: a PostgreSQL server (default TEST_DATABASE_URL); the bench "
        "makes a database of its own there and drops it at the end",
    )
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.set_defaults(handler=_bench)

    run = commands.add_parser("run", help="run the Telegram bot")
    run.add_argument(
        "--webhook-url",
        help="receive updates by webhook at this public URL "
        "(needs WEBHOOK_SECRET); default: long polling",
    )
    run.add_argument("--listen", default="0.0.0.0", help="webhook server address")
    run.add_argument("--port", type=int, default=8443, help="webhook server port")
    run.add_argument(
        "--with-web",
        action="store_true",
        help="serve the web view too, in the same process, on WEB_LISTEN:WEB_PORT (needs "
        "WEB_BASE_URL; `make run` adds this when WEB_BASE_URL is set)",
    )
    run.set_defaults(handler=_run)

    web = commands.add_parser(
        "web", help="serve the web view for staff (sign in with /web in the bot)"
    )
    web.add_argument("--listen", help="address to listen on (default: WEB_LISTEN, 127.0.0.1)")
    web.add_argument("--port", type=int, help="port (default: WEB_PORT, 8080)")
    web.set_defaults(handler=_web)
    return parser


def _flows_check(settings: Settings, args: argparse.Namespace) -> int:
    from .engine import check_flows

    flows, errors = check_flows(args.flows or settings.flows_dir)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f"{len(errors)} error(s); no flow was loaded.", file=sys.stderr)
        return 1
    for flow in sorted(flows, key=lambda flow: (flow.id, flow.version)):
        questions = sum(1 for step in flow.steps if step.asks)
        print(
            f"ok  {flow.ref:<24} {flow.purpose:<16} {len(flow.steps):>3} steps  "
            f"{questions:>3} questions  "
            f"{len(flow.scores)} scores  {len(flow.flags)} flag rules  roles: "
            f"{', '.join(flow.roles)}  — {flow.title}"
        )
    return 0


def _flows_graph(settings: Settings, args: argparse.Namespace) -> int:
    from .engine import FlowLoadError, load_flows
    from .engine.graph import mermaid

    try:
        registry = load_flows(args.flows or settings.flows_dir)
        flow = registry.get(args.flow_id, args.version)
    except FlowLoadError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyError:
        print(f"wegwijzer: no flow {args.flow_id!r}", file=sys.stderr)
        return 1
    print(mermaid(flow), end="")
    return 0


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from .bootstrap import install_keyring
    from .storage import Database

    async def upgrade() -> str | None:
        # Migrations seal what they move into sealed columns.
        install_keyring(settings)
        database = Database.connect(settings.database_url)
        try:
            await database.upgrade()
            return await database.current_revision()
        finally:
            await database.dispose()

    revision = asyncio.run(upgrade())
    print(f"database is at revision {revision}")
    return 0


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from .console import run_chat

    return asyncio.run(
        run_chat(
            settings, role=args.role, case_code=args.case, language=args.lang, assets=args.assets
        )
    )


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from .services.audit import record_operator_look
    from .services.export import export_answers

    if args.output is None and (args.fmt == "xlsx" or args.encrypt):
        what = "an encrypted export" if args.encrypt else "an xlsx export"
        print(f"wegwijzer: {what} is binary: write it to a file with --output", file=sys.stderr)
        return 2
    if args.lang is not None and args.fmt != "xlsx":
        print("wegwijzer: --lang sets the titles of an xlsx export", file=sys.stderr)
        return 2
    password = None
    if args.encrypt:
        password = _export_password()
        if password is None:
            return 2
    language = (args.lang or settings.default_language) if args.fmt == "xlsx" else None
    detail: dict[str, JSONValue] = {
        "format": args.fmt,
        "since": None if args.since is None else args.since.isoformat(),
        "pseudonymised": args.pseudonymise,
        "encrypted": args.encrypt,
        "lang": language,
        "account": _login_name(),
    }

    async def export(app: Wegwijzer) -> int:
        if language is not None:
            app.catalogs.language(language)  # an unknown language, before anything is written
        # Every answer is looked at: on record before the first one is written.
        await record_operator_look(app, "exported", **detail)

        async def write(output: TextIO | BinaryIO) -> int:
            return await export_answers(
                app,
                output,
                args.fmt,
                args.since,
                pseudonymise=args.pseudonymise,
                language=language,
            )

        if args.output is None:
            rows = await write(sys.stdout)
        else:
            rows = await _export_to_file(args.output, args.fmt, password, write)
        await record_operator_look(app, "export_finished", **detail, rows=rows)
        return rows

    try:
        count = _using_app(settings, args.assets, export)
    except CatalogError as error:
        print(f"wegwijzer: {error}", file=sys.stderr)
        return 2
    print(f"{count} answer(s) exported", file=sys.stderr)
    return 0


async def _export_to_file(
    path: Path,
    fmt: str,
    password: str | None,
    write: Callable[[TextIO | BinaryIO], Awaitable[int]],
) -> int:
    """Write the export into `path` (0600), inside an AES-256 zip when there is a password.
    A half-written file is removed: the bot keeps no exports."""
    from .storage import crypto

    try:
        with crypto.open_private(path) as file:
            if password is None:
                if fmt == "xlsx":
                    return await write(file)
                with _text(file) as text:
                    return await write(text)
            from .services.export import ENCRYPTED_ENTRY, encrypted_zip

            with (
                encrypted_zip(file, password) as archive,
                archive.open(ENCRYPTED_ENTRY[fmt], "w") as entry,
            ):
                if fmt == "xlsx":
                    return await write(entry)
                with _text(entry) as text:
                    return await write(text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@contextmanager
def _text(binary: BinaryIO) -> Iterator[TextIO]:
    """UTF-8 text onto a binary file, handing the file back (open) at the end."""
    text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
    try:
        yield text
    finally:
        text.flush()
        text.detach()


def _export_password() -> str | None:
    """EXPORT_PASSWORD, or asked twice at a terminal; never an argument (`ps` shows those)."""
    import getpass
    import os

    password = os.environ.get("EXPORT_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            print(
                "wegwijzer: --encrypt needs a password: set EXPORT_PASSWORD or run it at a "
                "terminal to be asked",
                file=sys.stderr,
            )
            return None
        password = getpass.getpass("Password for the export: ")
        if getpass.getpass("The same password again: ") != password:
            print("wegwijzer: the passwords differ", file=sys.stderr)
            return None
    from .services.export import MIN_PASSWORD

    if len(password) < MIN_PASSWORD:
        print(
            f"wegwijzer: the export password must be at least {MIN_PASSWORD} characters",
            file=sys.stderr,
        )
        return None
    return password


def _login_name() -> str | None:
    """Who runs the command, as the machine knows them: the audit's nearest thing to a name
    for an operator, who has no person record."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return None


def _flags(settings: Settings, args: argparse.Namespace) -> int:
    from .services.audit import record_operator_look
    from .services.flags import all_flags

    async def listed(app: Wegwijzer) -> int:
        found = await all_flags(app, args.status)
        # The evidence holds families' answers: the look is on record before it is shown.
        shown: list[JSONValue] = [flag.id for flag in found]
        await record_operator_look(app, "flags_listed", status=args.status, flags=shown)
        if args.json:
            print(json.dumps([flag.as_dict() for flag in found], indent=2, ensure_ascii=False))
        else:
            _print_flags(app, found)
        return len(found)

    count = _using_app(settings, args.assets, listed)
    print(f"{count} flag(s)", file=sys.stderr)
    return 0


def _print_flags(app: Wegwijzer, found: list[FlagView]) -> None:
    """One block per flag, as a reviewer reads it in the bot, in the source language (English),
    with the rule and flow version that raised it."""
    from .services.review_texts import flag_detail_lines

    tr = app.catalogs.translator(app.catalogs.source_language, app.settings.timezone)
    now = app.clock()
    for number, flag in enumerate(found):
        if number:
            print()
        lines = [tr(line) for line in flag_detail_lines(app, flag, now)]
        lines.insert(2, f"Rule: {flag.rule} ({flag.flow_id}@{flag.flow_version})")
        print("\n".join(lines))


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from .services.doctor import examine

    findings = _using_app(settings, args.assets, examine)
    for finding in findings:
        print(f"{finding.severity.upper():8} {finding.text}")
    alarms = sum(finding.severity == "alarm" for finding in findings)
    print(f"{alarms} alarm(s), {len(findings) - alarms} warning(s)", file=sys.stderr)
    return 1 if alarms else 0


def _audit(settings: Settings, args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from .services.audit import UnknownPerson, audit_log
    from .services.cases import UnknownCase

    since = args.since
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=ZoneInfo(settings.timezone))
    try:
        entries = _using_app(
            settings, args.assets, lambda app: audit_log(app, args.case, since, args.person)
        )
    except UnknownCase:
        print(f"wegwijzer: no case with code {args.case!r}", file=sys.stderr)
        return 2
    except UnknownPerson:
        print(f"wegwijzer: no person with id {args.person}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([entry.as_dict() for entry in entries], indent=2, ensure_ascii=False))
    else:
        for entry in entries:
            print(_audit_line(entry))
    print(f"{len(entries)} event(s)", file=sys.stderr)
    return 0


def _audit_line(entry: AuditEntry) -> str:
    """`2026-11-27 17:17:07Z  #12  acknowledged  coordinator 3  case K7Q-4MX  flag 4  …`"""
    actor = entry.actor_role if entry.actor_id is None else f"{entry.actor_role} {entry.actor_id}"
    parts = [
        f"{entry.at.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z",
        f"#{entry.id:<5}",
        f"{entry.action:<13}",
        f"{actor:<15}",
        f"case {entry.case or '—':<10}",
        f"flag {entry.flag_id or '—':<5}",
    ]
    if entry.detail:
        parts.append(json.dumps(entry.detail, ensure_ascii=False, sort_keys=True))
    if entry.note:
        parts.append(json.dumps(entry.note, ensure_ascii=False))
    return "  ".join(parts).rstrip()


def _case_create(settings: Settings, args: argparse.Namespace) -> int:
    from .services.cases import create_case

    async def create(app: Wegwijzer) -> str:
        async with app.database.transaction() as uow:
            return (await create_case(uow, args.programme)).code

    code = _using_app(settings, args.assets, create)
    print(json.dumps({"code": code, "programme": args.programme}) if args.json else code)
    return 0


def _using_app(
    settings: Settings, assets: Assets | None, work: Callable[[Wegwijzer], Awaitable[T]]
) -> T:
    """Run `work(app)` with the app bootstrapped, and closed again afterwards."""
    from .bootstrap import bootstrap

    async def run() -> T:
        app = await bootstrap(settings, assets=assets)
        try:
            return await work(app)
        finally:
            await app.close()

    return asyncio.run(run())


def _case_stage(settings: Settings, args: argparse.Namespace) -> int:
    from .services.visits import set_stage

    return _print_visit_plan(settings, args, lambda app: set_stage(app, args.code, args.stage))


def _case_visit(settings: Settings, args: argparse.Namespace) -> int:
    from .services.visits import record_visit

    return _print_visit_plan(settings, args, lambda app: record_visit(app, args.code))


def _print_visit_plan(
    settings: Settings, args: argparse.Namespace, work: Callable[[Wegwijzer], Awaitable[VisitPlan]]
) -> int:
    code = args.code
    from .rules.access import NotAllowed

    try:
        plan = _using_app(settings, args.assets, work)
    except NotAllowed:
        print(f"wegwijzer: no case with code {code!r}", file=sys.stderr)
        return 2
    due = plan.visit_due_at.isoformat() if plan.visit_due_at else None
    print(json.dumps({"case": plan.case_code, "stage": plan.stage, "next_visit_due": due}))
    return 0


def _schedule_set(settings: Settings, args: argparse.Namespace) -> int:
    from .rules.access import NotAllowed
    from .rules.cadence import parse_cadence
    from .services.schedules import set_schedule

    zone = args.timezone or settings.timezone
    start = args.start or datetime.now(UTC).date()
    try:
        cadence = parse_cadence(" ".join(args.when), zone, starts_on=start, ends_on=args.end)
    except ValueError as error:
        print(f"wegwijzer: {error}", file=sys.stderr)
        return 2
    try:
        view = _using_app(settings, args.assets, lambda app: set_schedule(app, args.case, cadence))
    except NotAllowed:
        print(f"wegwijzer: no case with code {args.case!r}", file=sys.stderr)
        return 2
    print(json.dumps(view.as_dict(), ensure_ascii=False))
    return 0


def _schedule_list(settings: Settings, args: argparse.Namespace) -> int:
    from .services.schedules import list_schedules

    views = [view.as_dict() for view in _using_app(settings, args.assets, list_schedules)]
    if args.json:
        print(json.dumps(views, indent=2, ensure_ascii=False))
        return 0
    for view in views:
        paused = f"paused by {view['paused_by']}" if view["status"] == "paused" else ""
        print(
            f"{view['case']:<12} {view['flow']:<16} {view['cadence']:<22} "
            f"{view['timezone']:<18} next {view['next_due_local'] or '—'} "
            f"(UTC {view['next_due_utc'] or '—'}) missed {view['missed']} {paused}".rstrip()
        )
    return 0


def _schedule_pause(settings: Settings, args: argparse.Namespace) -> int:
    from .rules.access import NotAllowed
    from .services.schedules import pause_schedule, resume_schedule

    change = pause_schedule if args.paused else resume_schedule
    try:
        view = _using_app(settings, args.assets, lambda app: change(app, args.case))
    except (NotAllowed, LookupError):
        print(f"wegwijzer: case {args.case!r} has no schedule", file=sys.stderr)
        return 2
    print(json.dumps(view.as_dict(), ensure_ascii=False))
    return 0


def _invite(settings: Settings, args: argparse.Namespace) -> int:
    from .services.cases import UnknownCase
    from .services.invites import create_invite, invite_qr_png

    if args.revoke:
        return _revoke_invite(settings, args)
    if args.role is None:
        print("wegwijzer: --role is required (or --revoke CODE)", file=sys.stderr)
        return 2
    if args.role == "family" and not args.case:
        print("wegwijzer: a family invite needs --case CODE", file=sys.stderr)
        return 2
    if args.role == "coordinator" and args.case:
        print("wegwijzer: coordinators are not invited to a case", file=sys.stderr)
        return 2
    username = settings.bot_username
    if username is None and settings.telegram_token:
        from .telegram import bot_username

        username = asyncio.run(bot_username(settings.telegram_token, settings.telegram_base_url))
    if username is None:
        print(
            "wegwijzer: set TELEGRAM_BOT_USERNAME (or TELEGRAM_BOT_TOKEN) for the link",
            file=sys.stderr,
        )
        return 2

    try:
        invite = _using_app(
            settings, args.assets, lambda app: create_invite(app, args.role, args.case)
        )
    except UnknownCase:
        print(f"wegwijzer: no case with code {args.case!r}", file=sys.stderr)
        return 1
    link = invite.link(username)
    if args.qr:
        from .storage import crypto

        # Whoever scans it joins the case: the file is its owner's only (0600).
        crypto.write_private(args.qr, invite_qr_png(link))
    if args.json:
        print(json.dumps({"code": invite.code, "link": link}))
    else:
        print(link)
        print(f"single use, valid until {invite.expires_at:%Y-%m-%d %H:%M} UTC", file=sys.stderr)
    return 0


def _revoke_invite(settings: Settings, args: argparse.Namespace) -> int:
    from .services.staffing import revoke_invite

    code = args.revoke.rsplit("start=", 1)[-1]  # the link works as well as the code
    if not _using_app(settings, args.assets, lambda app: revoke_invite(app, code)):
        print("wegwijzer: no unused invite with that code", file=sys.stderr)
        return 1
    print("invite revoked", file=sys.stderr)
    return 0


def _case_assign(settings: Settings, args: argparse.Namespace) -> int:
    from .services.cases import UnknownCase
    from .services.staffing import NotACaseworker, reassign_case

    try:
        before = _using_app(
            settings, args.assets, lambda app: reassign_case(app, args.code, args.caseworker)
        )
    except UnknownCase:
        print(f"wegwijzer: no case with code {args.code!r}", file=sys.stderr)
        return 1
    except NotACaseworker:
        print(f"wegwijzer: person {args.caseworker} is no active caseworker", file=sys.stderr)
        return 1
    if before == args.caseworker:
        was = "theirs already: nothing changed"
    else:
        was = "was nobody's" if before is None else f"was caseworker {before}'s"
    print(f"case {args.code.upper()}: caseworker {args.caseworker} ({was})")
    return 0


def _i18n_status(settings: Settings, args: argparse.Namespace) -> int:
    from .i18n.status import catalog_status, report

    rows = catalog_status(settings.locales_dir, settings.flows_dir)
    print(json.dumps([row.as_dict() for row in rows], indent=2) if args.json else report(rows))
    return 0


def _i18n_danger_check(settings: Settings, args: argparse.Namespace) -> int:
    from .config import PROJECT_ROOT
    from .i18n._registry import read_registry
    from .i18n.danger import DangerWords
    from .i18n.danger_check import check, corpora, report

    folder = args.corpus or PROJECT_ROOT / "tests" / "i18n" / "danger_corpus"
    found = corpora(folder) if folder.is_dir() else []
    if not found:
        print(f"wegwijzer: no corpora (<code>.txt) in {folder}: use --corpus", file=sys.stderr)
        return 2
    languages = [language.code for language in read_registry(settings.locales_dir)]
    results = [check(DangerWords.load(settings.locales_dir, languages), c) for c in found]
    print(report(results))
    return 0 if all(result.meets_target for result in results) else 1


def _bench(settings: Settings, args: argparse.Namespace) -> int:
    # A development tool that lives with the tests' fake Bot API: only in a source checkout.
    from .config import PROJECT_ROOT

    if not (PROJECT_ROOT / "tests" / "bench").is_dir():
        print(
            "wegwijzer: the bench runs from a source checkout (make install): "
            f"{PROJECT_ROOT / 'tests' / 'bench'} is not there",
            file=sys.stderr,
        )
        return 2
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    if args.scale:
        from tests.bench.scale import main as scale

        scaled: int = scale(args.scale_cases, args.scale_database, args.json)
        return scaled
    if args.processes > 0:
        from tests.bench.processes import main as processes

        measured: int = processes(args.database, args.processes, as_json=args.json)
        return measured

    from tests.bench import main

    only_faults = args.faults > 0
    code: int = main(
        0 if only_faults else args.updates,
        args.open_runs,
        args.json,
        people=args.people,
        traced=args.traced,
        postgres=args.postgres,
        profile=args.profile,
        reminders=0 if only_faults else args.reminders,
        limit=settings.telegram_messages_per_second,
        faults=args.faults,
        rounds=args.rounds,
        connection_pool_size=args.pool,
    )
    return code


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from .bootstrap import bootstrap, bring_up_to_date
    from .storage import Unavailable
    from .telegram import serve

    if args.with_web and settings.web_base_url is None:
        print(
            "wegwijzer: --with-web needs WEB_BASE_URL, the address staff open the web view at",
            file=sys.stderr,
        )
        return 2
    if not settings.telegram_token:
        print(
            'wegwijzer: set TELEGRAM_BOT_TOKEN (see README, "Running on Telegram")', file=sys.stderr
        )
        return 2
    if args.webhook_url and not settings.webhook_secret:
        print("wegwijzer: webhook mode needs WEBHOOK_SECRET", file=sys.stderr)
        return 2

    async def run() -> None:
        app = await bootstrap(settings, assets=args.assets, migrate=False)
        web = None
        try:
            try:
                await bring_up_to_date(app)
                ready = True
            except Unavailable:
                ready = False  # families in danger still get the numbers: the bot waits for it
            if args.with_web:
                web = await _web_beside(settings, app)
            await serve(
                app,
                webhook_url=args.webhook_url,
                listen=args.listen,
                port=args.port,
                database_ready=ready,
                # The web view first (no new requests, running downloads given the grace
                # time), then the bot: a notice the web view's last action queues is sent by
                # the bot's senders still running, not left in the outbox until next start.
                before_stopping=None if web is None else web.stop,
            )
        finally:
            if web is not None:
                await web.stop()  # when the bot failed: stopped now (else it already is)
            await app.close()

    asyncio.run(run())
    return 0


async def _web_beside(settings: Settings, app: Wegwijzer) -> WebBeside | None:
    """The web view started beside the bot, or None, said loudly, when it cannot start: the
    bot runs on without it (the emergency route matters more than the review desk)."""
    from .web.beside import WebBeside, WebViewFailed

    web = WebBeside(app, settings.web_listen, settings.web_port)
    try:
        await web.start()
    except WebViewFailed as failed:
        print(f"wegwijzer: {failed}; the bot runs without it", file=sys.stderr)
        return None
    print(f"web view on {web.address} for {settings.web_base_url}", file=sys.stderr)
    return web


def _web(settings: Settings, args: argparse.Namespace) -> int:
    from .web import serve

    if settings.web_base_url is None:
        print(
            "wegwijzer: set WEB_BASE_URL, the address staff open the web view at (the links "
            "/web gives start with it)",
            file=sys.stderr,
        )
        return 2
    listen = args.listen or settings.web_listen
    port = settings.web_port if args.port is None else args.port
    print(f"web view on http://{listen}:{port} for {settings.web_base_url}", file=sys.stderr)
    _using_app(settings, args.assets, lambda app: serve(app, listen, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
