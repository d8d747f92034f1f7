"""`wegwijzer …`: the command line of the project.

    wegwijzer flows check [--flows DIR]      validate every flow; exit 1 with file:line errors
    wegwijzer flows graph FLOW_ID            print a mermaid state diagram of a flow
    wegwijzer db upgrade                     bring the database schema up to date
    wegwijzer chat [--as ROLE] [--case CODE] [--lang LANG]
                                             play flows in the terminal (or piped on stdin)
    wegwijzer export --format json|csv [--since YYYY-MM-DD] [--output FILE]
                                             one row per answer, streamed

Settings come from the environment (see README, "Configuration").
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from .config import ConfigError, Settings


def main(argv: Sequence[str] | None = None) -> int:
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
    return args.handler(settings, args)


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
    export.add_argument("--format", dest="fmt", choices=("json", "csv"), default="json")
    export.add_argument(
        "--since",
        type=date.fromisoformat,
        help="only answers given on or after this local date (YYYY-MM-DD)",
    )
    export.add_argument("--output", type=Path, help="write to this file (default: stdout)")
    export.set_defaults(handler=_export)

    run = commands.add_parser("run", help="run the Telegram bot")
    run.set_defaults(handler=_run)
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
            f"ok  {flow.ref:<24} {len(flow.steps):>3} steps  {questions:>3} questions  "
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
    from .storage import Database

    async def upgrade() -> str | None:
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

    return asyncio.run(run_chat(settings, role=args.role, case_code=args.case, language=args.lang))


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from .bootstrap import bootstrap
    from .services.export import export_answers

    async def export() -> int:
        app = await bootstrap(settings)
        try:
            if args.output is None:
                return await export_answers(app, sys.stdout, args.fmt, args.since)
            with args.output.open("w", encoding="utf-8", newline="") as output:
                return await export_answers(app, output, args.fmt, args.since)
        finally:
            await app.close()

    count = asyncio.run(export())
    print(f"{count} answer(s) exported", file=sys.stderr)
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    # The Telegram channel is its own piece of work (issue #3); until it lands this says so
    # plainly instead of pretending to run.
    print(
        "wegwijzer: the Telegram channel is not built yet; use `wegwijzer chat` "
        "(make demo) to run flows in the terminal.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
