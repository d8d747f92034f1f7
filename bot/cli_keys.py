"""`wegwijzer keys …`: the encryption key ring (bot/storage/crypto.py).

    wegwijzer keys new [--file F] [--if-missing]
                                  write a new key ring (0600); refuses to overwrite one
    wegwijzer keys add [--file F] add a new key and make it current (old ones stay, to read)
    wegwijzer keys rotate [--batch N]
                                  re-seal every value under the current key, in batches,
                                  while the bot runs (audited with counts); exit 1
                                  when values do not open with the ring (load the key
                                  they were sealed with) or stayed held by the bot
    wegwijzer keys retire ID [--file F]
                                  drop an old key once nothing is sealed with it any more

The file is KEY_FILE (default `wegwijzer.keys`); with ENCRYPTION_KEYS set the ring comes from
there and these commands print the new JSON for the secret store instead of writing a file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import DEFAULT_KEY_FILE, Settings
from .storage import crypto

Subcommands = argparse._SubParsersAction


def add_key_commands(commands: Subcommands[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="the encryption key ring").add_subparsers()
    new = keys.add_parser("new", help="write a new key ring (0600)")
    new.add_argument("--file", type=Path, help="where (default: KEY_FILE)")
    new.add_argument("--if-missing", action="store_true", help="do nothing if it exists")
    new.set_defaults(handler=_keys_new)
    add = keys.add_parser("add", help="add a new key and make it current")
    add.add_argument("--file", type=Path, help="which ring (default: KEY_FILE)")
    add.set_defaults(handler=_keys_add)
    rotate = keys.add_parser("rotate", help="re-seal every value under the current key")
    rotate.add_argument("--batch", type=int, default=200, help="rows per transaction")
    rotate.set_defaults(handler=_keys_rotate)
    retire = keys.add_parser("retire", help="drop a key nothing is sealed with any more")
    retire.add_argument("key_id")
    retire.add_argument("--file", type=Path, help="which ring (default: KEY_FILE)")
    retire.set_defaults(handler=_keys_retire)


def _ring_file(settings: Settings, args: argparse.Namespace) -> Path:
    return Path(args.file or settings.key_file or DEFAULT_KEY_FILE)


def _keys_new(settings: Settings, args: argparse.Namespace) -> int:
    path = _ring_file(settings, args)
    if path.exists():
        if args.if_missing:
            return 0
        print(
            f"wegwijzer: {path} exists: a new ring would make its data unreadable", file=sys.stderr
        )
        return 1
    crypto.write_private(path, crypto.Keyring.generate().to_json().encode())
    print(f"wrote a new key ring to {path} (0600): keep a copy somewhere safe")
    return 0


def _save(settings: Settings, args: argparse.Namespace, ring: crypto.Keyring) -> None:
    if settings.encryption_keys and not args.file:
        # The ring lives in a secret store: print it for the operator to put back there.
        print(ring.to_json())
        return
    path = _ring_file(settings, args)
    crypto.write_private(path, ring.to_json().encode())
    print(f"{path}: current key {ring.current}; keys {', '.join(sorted(ring.keys))}")


def _current(settings: Settings, args: argparse.Namespace) -> crypto.Keyring:
    if args.file:
        return crypto.Keyring.load(None, args.file)
    return crypto.Keyring.load(settings.encryption_keys, settings.key_file)


def _keys_add(settings: Settings, args: argparse.Namespace) -> int:
    ring = _current(settings, args).with_new_key()
    _save(settings, args, ring)
    print("run `wegwijzer keys rotate` (the bot may keep running) to re-seal the old values")
    return 0


def _keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from .cli import _using_app
    from .services.keys import rotate

    def progress(column: str, done: int) -> None:
        print(f"\r{column}: {done} re-sealed", end="", file=sys.stderr, flush=True)

    done = _using_app(settings, args.assets, lambda app: rotate(app, args.batch, progress))
    print(file=sys.stderr)
    for column, count in done.resealed.items():
        print(f"{column}: {count} re-sealed")
    for column, count in done.unopenable.items():
        print(f"{column}: {count} do not open with the key ring, left as they are", file=sys.stderr)
    if done.unopenable:
        print(
            "wegwijzer: load the key they were sealed with into the ring (ENCRYPTION_KEYS or "
            "KEY_FILE; a value altered in the database never opens) and run `wegwijzer keys "
            "rotate` again",
            file=sys.stderr,
        )
    for column, count in done.left.items():
        print(f"{column}: {count} still under an old key (held by the bot)", file=sys.stderr)
    if done.left:
        print("wegwijzer: run `wegwijzer keys rotate` again", file=sys.stderr)
    return 1 if done.unopenable or done.left else 0


def _keys_retire(settings: Settings, args: argparse.Namespace) -> int:
    from .cli import _using_app
    from .services.keys import left

    ring = _current(settings, args)
    remaining = _using_app(settings, args.assets, left)
    if any(remaining.values()):
        print(
            "wegwijzer: values are not under the current key yet; run `wegwijzer keys rotate`",
            file=sys.stderr,
        )
        return 1
    _save(settings, args, ring.without(args.key_id))
    return 0
