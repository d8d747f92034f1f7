"""`wegwijzer privacy …`: what the deployment stores, for its privacy officer.

    wegwijzer privacy map [--json]   every stored field: table, what it holds, category,
                                     purpose, retention (with this deployment's term) and
                                     whether it is encrypted; then the files outside the
                                     database. Exit 1 when a column has no description.

The map is generated from the models (bot/storage/privacy_map.py) and reads privacy.yaml
(PRIVACY_FILE) for the terms; it opens no database and needs no key.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from .config import Settings
from .engine.events import JSONValue
from .rules.privacy import PrivacyPolicy

if TYPE_CHECKING:
    from .storage.privacy_map import MappedColumn, MappedFile

Subcommands = argparse._SubParsersAction


def add_privacy_commands(commands: Subcommands[argparse.ArgumentParser]) -> None:
    privacy = commands.add_parser("privacy", help="what is stored, for the privacy officer")
    sub = privacy.add_subparsers()
    mapped = sub.add_parser(
        "map",
        help="every stored field: what it holds, category, purpose, retention, encrypted; "
        "and the files outside the database",
    )
    mapped.add_argument("--json", action="store_true", help="print JSON")
    mapped.set_defaults(handler=_privacy_map)


def _privacy_map(settings: Settings, args: argparse.Namespace) -> int:
    from .storage import privacy_map

    policy: PrivacyPolicy = (
        args.assets.privacy
        if args.assets is not None
        else PrivacyPolicy.load(settings.privacy_path)
    )
    try:
        columns = privacy_map.processing_map(policy)
    except privacy_map.MapIncomplete as error:
        print(f"wegwijzer: privacy map: {error}", file=sys.stderr)
        return 1
    files = privacy_map.stored_files(settings)
    if args.json:
        document: dict[str, JSONValue] = {
            "controller": policy.controller,
            "contact": policy.contact,
            "legal_basis": policy.legal_basis,
            "categories": {name: text for name, text in privacy_map.CATEGORIES.items()},
            "purposes": {name: text for name, text in privacy_map.PURPOSES.items()},
            "retention": {
                kind: privacy_map.term_of(kind, policy) for kind in privacy_map.RETENTIONS
            },
            "columns": [column.as_dict() for column in columns],
            "files": [file.as_dict() for file in files],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    _print_map(policy, columns, files)
    return 0


def _print_map(
    policy: PrivacyPolicy,
    columns: tuple[MappedColumn, ...],
    files: tuple[MappedFile, ...],
) -> None:
    from .storage import privacy_map

    print(f"Processing map — {policy.controller}")
    print(f"Questions and requests: {policy.contact}. Legal basis: {policy.legal_basis}.")
    print("\nRetention (privacy.yaml):")
    for kind in privacy_map.RETENTIONS:
        print(f"  {kind:<18} {privacy_map.term_of(kind, policy)}")
    print("\nCategories:")
    for category, meaning in privacy_map.CATEGORIES.items():
        print(f"  {category:<18} {meaning}")
    print("\nPurposes:")
    for purpose, meaning in privacy_map.PURPOSES.items():
        print(f"  {purpose:<18} {meaning}")

    header = ("field", "category", "purpose", "retention", "encrypted", "holds")
    rows = [
        (
            column.name,
            ", ".join(column.categories),
            column.purpose,
            column.retention,
            "yes" if column.encrypted else "no",
            column.holds,
        )
        for column in columns
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    print("\nStored fields (the database):")
    table = None
    for column, row in zip(columns, rows, strict=True):
        if column.table != table:
            table = column.table
            print(f"\n{table}: {column.about}")
            print("  " + _cells(header, widths))
        print("  " + _cells(row, widths))

    print("\nFiles outside the database:")
    for file in files:
        print(f"\n{file.file.name}")
        print(f"  where       {file.where}")
        print(f"  holds       {file.file.holds}")
        print(f"  category    {', '.join(file.file.categories)}")
        print(f"  purpose     {file.file.purpose}")
        print(f"  kept        {file.file.kept}")
        print(f"  encrypted   {file.file.encrypted}")
        print(f"  protection  {file.file.protection}")


def _cells(row: tuple[str, ...], widths: list[int]) -> str:
    # Every cell padded to its column's width but the last, the long one.
    padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
    return "  ".join([*padded, row[-1]])
