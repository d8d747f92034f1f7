"""Which commands each role has: what a command may do, and what a menu offers."""

from __future__ import annotations

EVERYONE = ("sos", "help", "language", "privacy", "cancel")
ROLE_COMMANDS: dict[str, tuple[str, ...]] = {
    "family": ("checkin", "guide", "stop", "resume", *EVERYONE),
    "caseworker": (
        "cases",
        "case",
        "visit",
        "schedule",
        "guide",
        "invite",
        "flags",
        "flag",
        "correct",
        "web",
        *EVERYONE,
    ),
    "coordinator": (
        "flags",
        "flag",
        "case",
        "closure",
        "guide",
        "schedule",
        "invite",
        "correct",
        "web",
        *EVERYONE,
    ),
}
# Someone without an invite has these (and /sos, which works for everyone, always).
STRANGER_COMMANDS = ("start", "help")


def allowed(role: str, command: str) -> bool:
    return command in ROLE_COMMANDS.get(role, ())
