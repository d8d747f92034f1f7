"""Choosing the language to speak to someone in, from what they asked for and what we ship.

The chain, as in aiogram: the language asked for (the person's own choice, or else what
Telegram says their app uses), exactly; then that language without its region (`nl-BE` → `nl`,
`pt-br` → `pt`); then the deployment's default. Codes compare case-insensitively, with `-` or
`_` between language and region, because Telegram writes `pt-br` where catalogs say `pt_BR`.
"""

from __future__ import annotations

from collections.abc import Iterable


def negotiate(preferred: str | None, available: Iterable[str], default: str = "nl") -> str:
    """The available code (spelt as in `available`) that fits `preferred`, else `default`."""
    by_normal = {_normal(code): code for code in available}
    if preferred and preferred.strip():
        wanted = _normal(preferred)
        if wanted in by_normal:
            return by_normal[wanted]
        base = wanted.split("-", 1)[0]
        if base in by_normal:
            return by_normal[base]
    return default


def _normal(code: str) -> str:
    return code.strip().replace("_", "-").lower()
