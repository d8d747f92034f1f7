"""`wegwijzer case child …`: a case's children, for the Child Status Index per child.

    wegwijzer case child add CODE [--label L] [--born YEAR] [--placement P]
                                  [--siblings GROUP] [--together | --apart] [--json]
                                             register a child (a pseudonym, never a name)
    wegwijzer case child list CODE [--json]  the case's children
    wegwijzer case child set CODE NUMBER [--label L] [--born YEAR] [--placement P]
                                  [--siblings GROUP] [--together | --apart]
                                             change what is known (a new placement, say)
    wegwijzer case child remove CODE NUMBER  remove a child registered by mistake

Kept apart from `bot.cli` so the children's commands are one block there.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .config import Settings
from .services.children import PLACEMENTS, Child

if TYPE_CHECKING:
    from .app import Wegwijzer

Subcommands = argparse._SubParsersAction


def add_child_commands(case: Subcommands[argparse.ArgumentParser]) -> None:
    """Add `child` and its subcommands to the `case` subparsers."""
    child = case.add_parser("child", help="a case's children (rated one by one in home visits)")
    sub = child.add_subparsers()
    add = sub.add_parser("add", help="register a child of a case: a pseudonym, never a name")
    add.add_argument("code", help="the case code")
    _facts(add)
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(handler=_child_add)
    listed = sub.add_parser("list", help="a case's children")
    listed.add_argument("code", help="the case code")
    listed.add_argument("--json", action="store_true", help="print JSON")
    listed.set_defaults(handler=_child_list)
    change = sub.add_parser("set", help="change what is known of a child")
    change.add_argument("code", help="the case code")
    change.add_argument("number", type=int, help="the child's number in the case")
    _facts(change)
    change.add_argument("--json", action="store_true", help="print JSON")
    change.set_defaults(handler=_child_set)
    remove = sub.add_parser("remove", help="remove a child registered by mistake")
    remove.add_argument("code", help="the case code")
    remove.add_argument("number", type=int, help="the child's number in the case")
    remove.set_defaults(handler=_child_remove)


def _facts(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--label", help='a short pseudonym like "eldest" (default: "child N")')
    parser.add_argument("--born", type=int, help="year of birth")
    parser.add_argument("--placement", choices=PLACEMENTS, help="where the child lives now")
    parser.add_argument("--siblings", help="the sibling group, like A (Simba family care)")
    together = parser.add_mutually_exclusive_group()
    together.add_argument(
        "--together",
        dest="with_siblings",
        action="store_const",
        const=True,
        help="placed together with the siblings of the group",
    )
    together.add_argument(
        "--apart",
        dest="with_siblings",
        action="store_const",
        const=False,
        help="not placed with the siblings of the group",
    )


def _given(args: argparse.Namespace) -> dict[str, object]:
    named = {
        "label": args.label,
        "birth_year": args.born,
        "placement": args.placement,
        "sibling_group": args.siblings,
        "with_siblings": args.with_siblings,
    }
    return {name: value for name, value in named.items() if value is not None}


def _child_add(settings: Settings, args: argparse.Namespace) -> int:
    from .services.children import add_child

    return _run(
        settings,
        args,
        lambda app: add_child(
            app,
            args.code,
            label=args.label,
            birth_year=args.born,
            placement=args.placement,
            sibling_group=args.siblings,
            with_siblings=args.with_siblings,
        ),
    )


def _child_set(settings: Settings, args: argparse.Namespace) -> int:
    from .services.children import change_child

    given = _given(args)
    if not given:
        print("wegwijzer: nothing to change", file=sys.stderr)
        return 2
    return _run(settings, args, lambda app: change_child(app, args.code, args.number, given))


def _child_list(settings: Settings, args: argparse.Namespace) -> int:
    from .services.children import children_of

    return _run(settings, args, lambda app: children_of(app, args.code))


def _child_remove(settings: Settings, args: argparse.Namespace) -> int:
    from .services.children import remove_child

    return _run(settings, args, lambda app: remove_child(app, args.code, args.number))


def _run(
    settings: Settings, args: argparse.Namespace, work: Callable[[Wegwijzer], Awaitable[object]]
) -> int:
    from .cli import _using_app
    from .services.cases import UnknownCase

    try:
        done = _using_app(settings, args.assets, work)
    except UnknownCase:
        print(f"wegwijzer: no case with code {args.code!r}", file=sys.stderr)
        return 2
    except (ValueError, LookupError) as problem:
        print(f"wegwijzer: {problem}", file=sys.stderr)
        return 2
    if done is None:
        return 0
    listed = done if isinstance(done, list) else [done]
    children = [child for child in listed if isinstance(child, Child)]
    if getattr(args, "json", False):
        shown = [_as_dict(child) for child in children]
        print(json.dumps(shown if isinstance(done, list) else shown[0], ensure_ascii=False))
    else:
        for child in children:
            print(_line(child))
    return 0


def _as_dict(child: Child) -> dict[str, object]:
    return {
        "number": child.number,
        "label": child.label,
        "born": child.birth_year,
        "placement": child.placement,
        "sibling_group": child.sibling_group,
        "with_siblings": child.with_siblings,
    }


def _line(child: Child) -> str:
    """`2  eldest  born 2015  foster_care  siblings A (together)`"""
    together = {True: " (together)", False: " (apart)", None: ""}[child.with_siblings]
    parts = [
        f"{child.number:<3}",
        f"{child.label or '—':<12}",
        f"born {child.birth_year}" if child.birth_year else "born —   ",
        f"{child.placement or '—':<18}",
        f"siblings {child.sibling_group}{together}" if child.sibling_group else "",
    ]
    return "  ".join(parts).rstrip()
