"""What a reviewer reads about one flag and one case, as texts every channel renders alike.

Telegram and the terminal show a flag's detail and a case view from these functions, so both
say exactly the same thing; each channel only adds its own way to act (buttons, or typed
`/flag` commands). Every line is a `Text`, translated for the reader when it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from ..app import Wegwijzer
from ..engine import Text
from ..rules.wellbeing import sparkline
from . import texts
from .case_view import CaseView, ChildStatus
from .flags import FlagView, HistoryEntry, evidence_lines, rule_source
from .schedules import ScheduleView

# History entries a reviewer is not shown in a flag's detail: every look at a flag is one,
# and the list would soon be mostly looks; and looks or actions someone was refused. They
# stay in the audit log (`wegwijzer audit`).
HIDDEN_HISTORY = ("viewed", "refused")


def flag_detail_lines(app: Wegwijzer, flag: FlagView, now: datetime) -> list[Text]:
    """One flag: what, how serious, since when and until when, why (the evidence), and
    everything that was done with it."""
    lines = [
        texts.FLAG_HEADER.using(
            id=flag.id, level=texts.LEVELS[flag.level], case=flag.case_code or "—"
        ),
        Text(flag.reason),
        texts.FLAG_FACTS.using(
            status=texts.STATUSES[flag.status],
            raised=flag.raised_at,
            age=max(now - flag.raised_at, timedelta(0)),
            due=flag.due_at,
        ),
    ]
    if flag.overdue(now):
        lines.append(texts.OVERDUE)
    if flag.assigned_to is not None:
        lines.append(texts.ASSIGNED_TO.using(person=flag.assigned_to))
    if flag.status == "resolved" and flag.resolution:
        lines.append(texts.RESOLUTION.using(note=flag.resolution))
    evidence = evidence_lines(app, flag)
    if evidence:
        lines += [texts.EVIDENCE_HEADER, *evidence]
    source = rule_source(app, flag)
    if source:  # where the rule comes from, so the reviewer can weigh it
        lines.append(texts.RULE_SOURCE.using(source=source))
    history = [entry for entry in flag.history if entry.action not in HIDDEN_HISTORY]
    if history:
        lines.append(texts.HISTORY_HEADER)
        for entry in history:
            lines.append(
                texts.HISTORY_LINE.using(
                    at=entry.at,
                    action=_history_action(entry),
                    actor=texts.actor(entry.actor_role, entry.actor_id),
                )
            )
            if entry.note:
                lines.append(texts.HISTORY_NOTE.using(note=entry.note))
    return lines


def _history_action(entry: HistoryEntry) -> Text:
    """What happened; a delivery names whom it reached ("told caseworker 4")."""
    action = texts.HISTORY_ACTIONS.get(entry.action, Text(entry.action))
    to, role = entry.detail.get("to"), entry.detail.get("role")
    if entry.action in ("told", "not_told") and isinstance(to, int) and isinstance(role, str):
        return action.using(person=texts.actor(role, to))
    return action


def case_view_lines(view: CaseView, now: datetime) -> list[Text]:
    """One case: programme and stage, the last check-ins with their trend, the open flags;
    for an erased case, what is left of it."""
    if view.erased_at is not None:
        header = texts.CASE_ERASED_HEADER.using(
            case=view.code,
            programme=texts.PROGRAMMES.get(view.programme, Text(view.programme)),
            date=view.erased_at.date(),
        )
        return [header, *case_flag_lines(view.open_flags, now)]
    return [*case_summary_lines(view), *case_flag_lines(view.open_flags, now)]


def case_summary_lines(view: CaseView) -> list[Text]:
    """The case view without its open flags (a channel that lists them its own way)."""
    lines = [
        texts.CASE_HEADER.using(
            case=view.code,
            programme=texts.PROGRAMMES.get(view.programme, Text(view.programme)),
            stage=texts.STAGES.get(view.stage, texts.NO_STAGE) if view.stage else texts.NO_STAGE,
        )
    ]
    lines += guidance_lines(view)
    if not view.checkins:
        lines.append(texts.NO_CHECKINS)
    else:
        lines.append(texts.CHECKINS_HEADER)
        lines += [
            texts.CHECKIN_LINE.using(date=checkin.at, score=checkin.well_being)
            for checkin in view.checkins
        ]
        # Bars, not words: nothing to translate, and the same in every language.
        lines.append(Text(sparkline(view.checkins)))
    lines.append(texts.TRENDS[view.trend].using(change=view.change))
    lines.append(schedule_line(view.schedule))
    if view.visit_due_at is not None:
        lines.append(texts.NEXT_VISIT.using(when=view.visit_due_at))
    lines += home_visit_lines(view.home_visits)
    lines += child_status_lines(view.children)
    return lines


def guidance_lines(view: CaseView) -> list[Text]:
    """Where the case stands in its guidance: stage and its missing essential steps, risk
    level and review, siblings (Simba), closure."""
    lines: list[Text] = []
    if view.essentials:
        lines.append(texts.STAGE_ITEMS.using(done=view.essentials_done, total=view.essentials))
        lines += [texts.STAGE_MISSING.using(items=item) for item in view.missing]
    if view.risk_level is None:
        lines.append(texts.NOT_SCREENED)
    else:
        lines.append(
            texts.RISK_LINE.using(
                level=texts.LEVELS[view.risk_level],
                date=view.risk_set_at.date() if view.risk_set_at else "–",
                review=view.review_due_at.date() if view.review_due_at else "–",
            )
        )
    if view.reevaluation_due_at is not None:
        lines.append(texts.REEVALUATION_LINE.using(date=view.reevaluation_due_at.date()))
    if view.alternative_care_since is not None:
        lines.append(
            texts.NOT_IN_BEST_INTERESTS.using(
                date=view.alternative_care_since.date(),
                reason=view.alternative_care_reason or "—",
            )
        )
    if view.siblings_together is not None:
        lines.append(texts.SIBLINGS_TOGETHER.using(answer=view.siblings_together))
    if view.closed_at is not None or view.status == "closed":
        lines.append(texts.CLOSED_ON.using(date=view.closed_at.date() if view.closed_at else "–"))
    elif view.closure_proposed_at is not None:
        lines.append(texts.CLOSURE_WAITING.using(date=view.closure_proposed_at.date()))
        if view.closure_summary:
            lines.append(texts.CLOSURE_PROPOSAL.using(case=view.code, summary=view.closure_summary))
    elif view.closure_returned is not None:
        lines.append(
            texts.CLOSURE_RETURNED_NOTICE.using(case=view.code, note=view.closure_returned)
        )
    return lines


def home_visit_lines(visits: Iterable[tuple[datetime, dict[str, float]]]) -> list[Text]:
    """The Child Status Index of the last home visits, one line per domain with its scores
    from the oldest visit to the newest ("food and nutrition: 7 → 6 → 4")."""
    shown = list(visits)
    if not shown:
        return []
    lines = [texts.HOME_VISITS_HEADER.using(since=shown[0][0])]
    for name, label in texts.CSI_DOMAINS.items():
        values = [f"{scores[name]:g}" for _ended, scores in shown if name in scores]
        if values:
            lines.append(texts.DOMAIN_SCORES.using(domain=label, scores=" → ".join(values)))
    return lines


def child_status_lines(children: Iterable[ChildStatus]) -> list[Text]:
    """Each child's Child Status Index: per domain the scores of their last visits, oldest
    first ("food and nutrition: 7 → 5"), and the factors the last visit rated bad or very
    bad (domain.md: they need action). Once any child is rated, a child not rated yet says
    so; before that the section is left out."""
    shown = list(children)
    if not any(status.visits for status in shown):
        return []  # nothing rated yet: the section would only list the children
    lines = [texts.CHILDREN_CSI_HEADER]
    for status in shown:
        child, siblings = status.child, status.child.siblings()
        described = child.described()
        lines.append(
            texts.CHILD_CSI_HEADER.using(child=described, siblings=siblings)
            if siblings is not None
            else texts.CHILD_CSI_LINE.using(child=described)
        )
        if not status.visits:
            lines.append(texts.CHILD_NOT_RATED)
            continue
        last_at, _, last_ratings = status.visits[-1]
        lines.append(texts.CHILD_LAST_RATED.using(date=last_at.date()))
        for name, label in texts.CSI_DOMAINS.items():
            values = [f"{scores[name]:g}" for _at, scores, _ in status.visits if name in scores]
            if values:
                lines.append(texts.CHILD_DOMAIN.using(domain=label, scores=" → ".join(values)))
        for key, factor in texts.CSI_FACTORS.items():
            rating = last_ratings.get(key)
            if rating is not None and rating <= 2:
                lines.append(
                    texts.CHILD_NEEDS_ACTION.using(factor=factor, rating=texts.CSI_RATINGS[rating])
                )
    return lines


def schedule_line(schedule: ScheduleView | None) -> Text:
    """How the family is reminded of their check-in, and whether they paused it."""
    if schedule is None:
        return texts.NO_SCHEDULE
    if schedule.status == "paused":
        paused_by_family = schedule.paused_by == "family"
        return texts.SCHEDULE_PAUSED_BY_FAMILY if paused_by_family else texts.SCHEDULE_PAUSED
    return texts.SCHEDULE_LINE.using(cadence=schedule.cadence, when=schedule.next_due_at or "—")


def case_flag_lines(flags: Iterable[FlagView], now: datetime) -> list[Text]:
    """The open flags of a case under their heading; nothing when there are none."""
    shown = [texts.flag_line(flag, now) for flag in flags]
    return [texts.CASE_FLAGS_HEADER, *shown] if shown else []
