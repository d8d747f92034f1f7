"""`wegwijzer doctor`: what would make an alarm reach nobody, found before a family needs it.

The emergency route gives the numbers whatever happens, but the human follow-up needs people:
a caseworker on each case, a coordinator, someone who has not blocked the bot, a fallback
chat for when all of those fail. This looks at the deployment as it is and says what is
missing, most serious first. An *alarm* finding means an alarm today could reach nobody who
can act; a *warning* means it would reach fewer people than it should, or that something
waits (notices not delivered, alarms not yet in the database, danger lists not reviewed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from ..app import Wegwijzer
from ..i18n._registry import read_danger_lists

Severity = Literal["alarm", "warning"]

# A notice still waiting this long after it was queued means no sender is delivering it.
STUCK_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Finding:
    severity: Severity
    # For the operator at the command line (English, like the other operator output).
    text: str


async def examine(app: Wegwijzer) -> list[Finding]:
    """Everything found, alarms first."""
    findings: list[Finding] = []
    now = app.clock()
    async with app.database.reading() as uow:
        coordinators = [
            person
            for person in await uow.people.with_role("coordinator")
            if person.status == "active" and person.consent == "given"
        ]
        unreached = await uow.cases.without_reachable_caseworker()
        blocked = [
            *await uow.people.with_role("caseworker", "unreachable"),
            *await uow.people.with_role("coordinator", "unreachable"),
        ]
        waiting = await uow.outbox.counts()
        stuck = await uow.outbox.waiting_since(now - STUCK_AFTER)
    fallback = app.settings.alarm_fallback_chat
    if not coordinators:
        findings.append(
            Finding(
                "alarm",
                "No coordinator can be reached: escalations reach nobody, and neither does an "
                "alarm on a case without a caseworker"
                + ("" if fallback else " (and no ALARM_FALLBACK_CHAT is set)."),
            )
        )
    if unreached:
        severity: Severity = "alarm" if not coordinators and not fallback else "warning"
        findings.append(
            Finding(
                severity,
                f"{len(unreached)} open case(s) without a caseworker who can be reached "
                f"(alarms go to coordinators only): {', '.join(unreached)}",
            )
        )
    if not fallback:
        findings.append(
            Finding(
                "warning",
                "ALARM_FALLBACK_CHAT is not set: an alarm nobody can receive is only logged "
                "(at CRITICAL).",
            )
        )
    for person in blocked:
        findings.append(
            Finding("warning", f"{person.role} {person.id} has blocked the bot: not told.")
        )
    catalogs = app.catalogs
    drafts = [
        code for code in catalogs.languages if catalogs.language(code).danger_words == "draft"
    ] + [
        extra.code
        for extra in read_danger_lists(app.settings.locales_dir)
        if extra.danger_words == "draft"
    ]
    if drafts:
        findings.append(
            Finding(
                "warning",
                "Danger lists not yet reviewed by a native speaker and a child-protection "
                f"professional: {', '.join(drafts)} (locales/<code>/danger_words.txt).",
            )
        )
    if stuck:
        findings.append(
            Finding(
                "warning",
                f"{stuck} notice(s) queued more than {STUCK_AFTER} ago and not yet delivered: "
                "is the bot running (wegwijzer run)?",
            )
        )
    if waiting.get("failed"):
        findings.append(
            Finding("warning", f"{waiting['failed']} notice(s) could never be delivered.")
        )
    journaled = len(await app.journal.pending())
    if journaled:
        findings.append(
            Finding(
                "warning",
                f"{journaled} alarm(s) in the journal not yet in the database "
                f"({app.settings.alarm_journal_path}).",
            )
        )
    return sorted(findings, key=lambda finding: finding.severity != "alarm")
