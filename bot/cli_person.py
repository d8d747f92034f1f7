"""`wegwijzer person …` and `wegwijzer answer correct`: a person's leaving and their rights.

    wegwijzer person leave ID                someone leaves: told nothing more
    wegwijzer person export CODE --output DIR [--person ID] [--lang LANG]
                                             everything stored about the case (or one person
                                             of it) as JSON and a readable document, 0600
                                             (the right of access; audited)
    wegwijzer person erase CODE --reason TEXT [--person ID] [--yes]
                                             erase the case's family data (or one person's),
                                             leaving tombstones; refused under a legal hold or
                                             with an unresolved urgent flag (audited)
    wegwijzer answer correct RUN KEY VALUE --as PERSON_ID
                                             correct a wrong answer, as the case's caseworker
                                             or a coordinator; the old value stays in the
                                             audit log

Kept apart from `bot.cli` so the commands about one person's data are one block there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .config import Settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .app import Wegwijzer
    from .services.corrections import Correction
    from .services.rights import Export

T = TypeVar("T")

Subcommands = argparse._SubParsersAction


def add_person_commands(commands: Subcommands[argparse.ArgumentParser]) -> None:
    """Add `person` (leave, export, erase) and `answer correct` to the top-level commands."""
    person = commands.add_parser("person", help="people and their data").add_subparsers()
    leave = person.add_parser(
        "leave", help="someone leaves: told nothing more; what waited for them goes to others"
    )
    leave.add_argument("person", type=int, help="the person's id")
    leave.set_defaults(handler=_person_leave)

    export = person.add_parser(
        "export", help="everything stored about a case or one person of it (JSON and document)"
    )
    export.add_argument("code", help="the case code")
    export.add_argument("--person", type=int, help="only this person of the case (their id)")
    export.add_argument("--output", type=Path, required=True, help="the folder to write to")
    export.add_argument("--lang", help="the document's language (default: the person's)")
    export.set_defaults(handler=_person_export)

    erase = person.add_parser(
        "erase", help="erase a case's family data (or one person's), leaving tombstones"
    )
    erase.add_argument("code", help="the case code")
    erase.add_argument("--reason", required=True, help="why (kept, sealed, in the audit log)")
    erase.add_argument(
        "--person",
        type=int,
        help="only this person's data of the case (their id; staff: their contact data only)",
    )
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(handler=_person_erase)

    answer = commands.add_parser("answer", help="answers").add_subparsers()
    correct = answer.add_parser(
        "correct", help="correct a wrong answer (the old value stays in the audit log)"
    )
    correct.add_argument("run", type=int, help="the run's id")
    correct.add_argument("key", help="the answer's key, like children.safe_at_home")
    correct.add_argument(
        "value",
        help='the new value: an option\'s value ("not_always", "3", "yes"), a number or text',
    )
    correct.add_argument(
        "--as", dest="who", type=int, required=True, help="the caseworker's or coordinator's id"
    )
    correct.set_defaults(handler=_answer_correct)


def _person_leave(settings: Settings, args: argparse.Namespace) -> int:
    from .cli import _using_app
    from .services.staffing import person_leaves

    try:
        left = _using_app(settings, args.assets, lambda app: person_leaves(app, args.person))
    except LookupError:
        print(f"wegwijzer: no person {args.person}", file=sys.stderr)
        return 1
    print(f"{left.role} {args.person} has left")
    if left.cases:
        print(f"cases without a caseworker now: {', '.join(left.cases)}")
    return 0


def _of_case(
    settings: Settings, args: argparse.Namespace, work: Callable[[Wegwijzer], Awaitable[T]]
) -> T | None:
    """Run `work` on the case `args.code` (and its person `args.person`); None, said on
    stderr, when there is no such case or the person is not in it."""
    from .cli import _using_app
    from .services.cases import UnknownCase
    from .services.rights import UnknownPerson

    try:
        return _using_app(settings, args.assets, work)
    except UnknownCase:
        print(f"wegwijzer: no case with code {args.code!r}", file=sys.stderr)
    except UnknownPerson:
        print(f"wegwijzer: person {args.person} is not in case {args.code}", file=sys.stderr)
    return None


def _person_export(settings: Settings, args: argparse.Namespace) -> int:
    from .services.rights import export_person_data

    def export(app: Wegwijzer) -> Awaitable[Export]:
        return export_person_data(
            app, args.code, args.output, person_id=args.person, language=args.lang
        )

    try:
        done = _of_case(settings, args, export)
    except ValueError as error:
        print(f"wegwijzer: {error}", file=sys.stderr)
        return 2
    if done is None:
        return 1
    rows = sum(done.counts.values())
    print(f"{done.json_path}\n{done.document_path}")
    print(f"{rows} row(s) exported, document in {done.language} (audited)", file=sys.stderr)
    return 0


def _person_erase(settings: Settings, args: argparse.Namespace) -> int:
    from .services.rights import ErasureRefused, erase

    whom = f"person {args.person} of case {args.code}" if args.person else f"case {args.code}"
    if not args.yes:
        print(
            f"Erase every personal data of {whom}? This cannot be undone. Type 'erase': ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if sys.stdin.readline().strip() != "erase":
            print("wegwijzer: nothing erased", file=sys.stderr)
            return 1
    try:
        done = _of_case(settings, args, lambda app: erase(app, args.code, args.reason, args.person))
    except ErasureRefused as refused:
        print(f"wegwijzer: erasure refused: {refused}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"wegwijzer: {error}", file=sys.stderr)
        return 2
    if done is None:
        return 1
    print(json.dumps({"erased": whom, "removed": dict(done.counts)}, sort_keys=True))
    return 0


def _answer_correct(settings: Settings, args: argparse.Namespace) -> int:
    from .cli import _using_app
    from .engine import AnswerRejected
    from .rules.access import NotAllowed
    from .services.corrections import NoSuchAnswer, correct_answer
    from .services.people import participant

    async def correct(app: Wegwijzer) -> Correction:
        async with app.database.reading() as uow:
            who = await participant(uow, await uow.people.get_by_id(args.who))
        return await correct_answer(app, who, args.run, args.key, args.value)

    try:
        done = _using_app(settings, args.assets, correct)
    except (LookupError, NotAllowed) as error:
        if isinstance(error, NoSuchAnswer):
            print(f"wegwijzer: run {args.run} has no answer {args.key!r}", file=sys.stderr)
        else:
            print(f"wegwijzer: person {args.who} may not correct run {args.run}", file=sys.stderr)
        return 1
    except AnswerRejected as rejected:
        why = rejected.text.msgid.format_map(dict(rejected.text.params))
        print(f"wegwijzer: not a valid answer: {why}", file=sys.stderr)
        return 1
    shown = {
        "run": done.run_id,
        "key": done.key,
        "scores": done.scores,
        "flags_raised": list(done.flags),
    }
    print(json.dumps(shown, ensure_ascii=False, sort_keys=True))
    return 0
