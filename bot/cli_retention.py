"""`wegwijzer retention run` and `wegwijzer case hold|release`: the retention terms of
privacy.yaml applied, and the legal hold that stops them for one case.

    wegwijzer retention run [--dry-run] [--json] [--batch N]
                                  remove what the terms make due, in batches (audited with
                                  the counts); --dry-run only says what would go
    wegwijzer case hold CODE --reason TEXT
                                  keep everything of the case until released (audited)
    wegwijzer case release CODE --reason TEXT
                                  the case's retention term applies again (audited)

The bot runs retention once a day by itself; the command is for a first run, a check (dry
run) or a run at a moment of the operator's choosing.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:
    from .services.retention import Removed

Subcommands = argparse._SubParsersAction

# What each kind's count is of, what happens to them, and from when the term runs (operator
# output, English).
_WHAT = {
    "contact": ("people", "forgotten", "left, or last case closed, before"),
    "case_file": ("cases", "erased", "closed before"),
    "processed_updates": ("update ids", "deleted", "handled before"),
    "notices": ("notices", "deleted", "sent or given up on before"),
    "invites": ("invites", "deleted", "used or expired before"),
}


def add_retention_commands(
    commands: Subcommands[argparse.ArgumentParser], case: Subcommands[argparse.ArgumentParser]
) -> None:
    """`retention run` among the commands, `hold` and `release` among the `case` commands."""
    retention = commands.add_parser("retention", help="the retention terms of privacy.yaml")
    run = retention.add_subparsers().add_parser(
        "run", help="remove what the retention terms make due (audited)"
    )
    run.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    run.add_argument("--json", action="store_true", help="print JSON")
    run.add_argument("--batch", type=int, default=50, help="cases, people or rows per transaction")
    run.set_defaults(handler=_retention_run)
    for name, text in (
        ("hold", "put a case on legal hold: nothing of it is removed until released (audited)"),
        ("release", "release a case's legal hold: its retention term applies again (audited)"),
    ):
        sub = case.add_parser(name, help=text)
        sub.add_argument("code", help="the case code")
        sub.add_argument("--reason", required=True, help="why (a reference; kept sealed)")
        sub.set_defaults(handler=_case_hold, holding=name == "hold")


def _retention_run(settings: Settings, args: argparse.Namespace) -> int:
    from .cli import _using_app
    from .services.retention import run

    if args.batch < 1:
        print("wegwijzer: --batch must be at least 1", file=sys.stderr)
        return 2
    removed = _using_app(
        settings, args.assets, lambda app: run(app, batch=args.batch, dry_run=args.dry_run)
    )
    if args.json:
        print(json.dumps(removed.as_dict(), indent=2))
    else:
        print(report(removed))
    return 0


def report(removed: Removed) -> str:
    """The run (or dry run) for the operator: per kind how many, the term and the cut-off."""
    at = removed.at.astimezone(UTC)
    lines = [
        f"retention {'dry run: nothing removed' if removed.dry_run else 'run'} at "
        f"{at:%Y-%m-%d %H:%M} UTC"
    ]
    for due in removed.kinds:
        noun, done, since = _WHAT[due.kind]
        what = f"{noun} {'would be ' if removed.dry_run else ''}{done}"
        cutoff = due.cutoff.astimezone(UTC)
        lines.append(
            f"  {due.kind:<18} {due.count:>7} {what:<29} {since} {cutoff:%Y-%m-%d} ({due.term})"
        )
    if removed.held:
        lines.append(f"  {removed.held} case(s) past their term kept by a legal hold")
    parts = [f"{name} {count}" for name, count in sorted(removed.erased.items()) if count]
    if parts:
        lines.append(f"  removed with the erased cases: {', '.join(parts)}")
    lines.append("  exports and QR images: never kept by the bot, nothing to remove")
    return "\n".join(lines)


def _case_hold(settings: Settings, args: argparse.Namespace) -> int:
    from .cli import _using_app
    from .services.cases import UnknownCase
    from .services.legal_hold import AlreadyHeld, NotHeld, hold_case, release_case

    change = hold_case if args.holding else release_case
    try:
        done = _using_app(settings, args.assets, lambda app: change(app, args.code, args.reason))
    except UnknownCase:
        print(f"wegwijzer: no case with code {args.code!r}", file=sys.stderr)
        return 1
    except AlreadyHeld as held:
        since = f"{held.args[1]:%Y-%m-%d}"
        print(f"wegwijzer: the case is on legal hold already (since {since})", file=sys.stderr)
        return 1
    except NotHeld:
        print("wegwijzer: the case is not on legal hold", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"wegwijzer: {error}", file=sys.stderr)
        return 2
    if args.holding:
        print(f"case {done.code}: on legal hold from {done.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    else:
        print(f"case {done.code}: legal hold released; its retention term applies again")
    return 0
