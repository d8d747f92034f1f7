"""A case's children: registered by staff, rated one by one in the home visit (issue #14).

The Child Status Index rates one child (domain.md, "Corrections to the notes above"), so a
case knows its children — by a number within the case and, if staff like, a short
pseudonymous label ("eldest"), never a name — with year of birth, placement and, for Simba
family care, the sibling group and whether the child lives with their siblings. The command
line manages them (`wegwijzer case child ...`); the home visit asks which child it rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..app import Wegwijzer
from ..engine import Text
from ..rules.access import NotAllowed, handles_case
from ..rules.people import Participant
from ..storage import Case, CaseChild, UnitOfWork
from . import audit, texts
from .cases import UnknownCase

# Where a child lives now: the organisation's care forms (design.md's programmes) and home.
PLACEMENTS = tuple(texts.PLACEMENTS)
LABEL_MAX = 32
SIBLING_GROUP_MAX = 16
OLDEST_BIRTH_YEAR = 1990
# Home-visit ratings within this long of each other belong to one visit: the children still
# to rate are those without a rating in this window.
VISIT_WINDOW = timedelta(hours=12)


@dataclass(frozen=True)
class Child:
    """A child as the bot shows it: never more than the pseudonymous facts."""

    id: int
    number: int
    label: str | None = None
    birth_year: int | None = None
    placement: str | None = None
    sibling_group: str | None = None
    with_siblings: bool | None = None

    @classmethod
    def of(cls, row: CaseChild) -> Child:
        return cls(
            row.id,
            row.number,
            row.label,
            row.birth_year,
            row.placement,
            row.sibling_group,
            row.with_siblings,
        )

    def name(self) -> Text | str:
        """The label staff gave, or "child 2"."""
        return self.label or texts.CHILD.using(number=self.number)

    def described(self) -> Text:
        """ "child 2 (born 2015, foster family)": what the home visit's texts call the child."""
        name = self.name()
        placement = texts.PLACEMENTS.get(self.placement or "")
        if self.birth_year is not None and placement is not None:
            return texts.CHILD_BORN_PLACED.using(
                child=name, year=str(self.birth_year), placement=placement
            )
        if self.birth_year is not None:
            return texts.CHILD_BORN.using(child=name, year=str(self.birth_year))
        if placement is not None:
            return texts.CHILD_PLACED.using(child=name, placement=placement)
        return name if isinstance(name, Text) else Text("{child}", {"child": name})

    def siblings(self) -> Text | None:
        """ "sibling group A, placed together", or None outside a sibling group."""
        if not self.sibling_group:
            return None
        template = {
            True: texts.SIBLING_GROUP_TOGETHER,
            False: texts.SIBLING_GROUP_APART,
            None: texts.SIBLING_GROUP,
        }[self.with_siblings]
        return template.using(group=self.sibling_group)


def check_child(
    label: str | None,
    birth_year: int | None,
    placement: str | None,
    sibling_group: str | None,
    now: datetime,
) -> None:
    """ValueError for facts a child cannot have (the message is for the operator)."""
    if label is not None and not 0 < len(label.strip()) <= LABEL_MAX:
        raise ValueError(f"a label has 1 to {LABEL_MAX} characters (a pseudonym, never a name)")
    if birth_year is not None and not OLDEST_BIRTH_YEAR <= birth_year <= now.year:
        raise ValueError(f"a year of birth from {OLDEST_BIRTH_YEAR} to {now.year}")
    if placement is not None and placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}; one of: {', '.join(PLACEMENTS)}")
    if sibling_group is not None and not 0 < len(sibling_group.strip()) <= SIBLING_GROUP_MAX:
        raise ValueError(f"a sibling group has 1 to {SIBLING_GROUP_MAX} characters")


async def add_child(
    app: Wegwijzer,
    case_code: str,
    *,
    label: str | None = None,
    birth_year: int | None = None,
    placement: str | None = None,
    sibling_group: str | None = None,
    with_siblings: bool | None = None,
    by: Participant | None = None,
) -> Child:
    """Register a child of a case; it gets the case's next number."""
    now = app.clock()
    check_child(label, birth_year, placement, sibling_group, now)
    async with app.database.transaction() as uow:
        case = await _case(uow, case_code, by)
        await uow.cases.lock(case.id)
        row = await uow.children.add(
            case.id,
            now=now,
            label=label.strip() if label else None,
            birth_year=birth_year,
            placement=placement,
            sibling_group=sibling_group.strip() if sibling_group else None,
            with_siblings=with_siblings,
        )
        await audit.record(
            uow,
            by or audit.OPERATOR,
            "child_added",
            at=now,
            case_id=case.id,
            detail={"number": row.number},
        )
        return Child.of(row)


async def change_child(
    app: Wegwijzer,
    case_code: str,
    number: int,
    fields: Mapping[str, object],
    *,
    by: Participant | None = None,
) -> Child:
    """Change what is known of a child: a new placement (home again), a sibling group."""
    now = app.clock()
    check_child(
        _str(fields.get("label")),
        _int(fields.get("birth_year")),
        _str(fields.get("placement")),
        _str(fields.get("sibling_group")),
        now,
    )
    async with app.database.transaction() as uow:
        case = await _case(uow, case_code, by)
        row = await uow.children.by_number(case.id, number)
        if row is None:
            raise LookupError(f"case {case.code} has no child {number}")
        await uow.children.update(row, **fields)
        await audit.record(
            uow,
            by or audit.OPERATOR,
            "child_changed",
            at=now,
            case_id=case.id,
            detail={"number": number, "fields": ",".join(sorted(fields))},
        )
        return Child.of(row)


async def remove_child(
    app: Wegwijzer, case_code: str, number: int, *, by: Participant | None = None
) -> None:
    """Remove a child registered by mistake. A child already rated stays: their number is in
    flags and ratings, and a number given again to another child would make those seem about
    them (change the placement instead when a child leaves the case)."""
    now = app.clock()
    async with app.database.transaction() as uow:
        case = await _case(uow, case_code, by)
        row = await uow.children.by_number(case.id, number)
        if row is None:
            raise LookupError(f"case {case.code} has no child {number}")
        if await uow.children.has_runs(row.id):
            raise ValueError(
                f"child {number} of case {case.code} has ratings and stays on record "
                "(change the placement instead)"
            )
        await uow.children.remove(row)
        await audit.record(
            uow,
            by or audit.OPERATOR,
            "child_removed",
            at=now,
            case_id=case.id,
            detail={"number": number},
        )


async def children_of(app: Wegwijzer, case_code: str, by: Participant | None = None) -> list[Child]:
    async with app.database.reading() as uow:
        case = await _case(uow, case_code, by)
        return [Child.of(row) for row in await uow.children.of_case(case.id)]


async def to_rate(
    uow: UnitOfWork, case_id: int, flow_id: str, now: datetime
) -> tuple[list[Child], set[int]]:
    """The case's children, and the ids of those already rated in this visit."""
    children = [Child.of(row) for row in await uow.children.of_case(case_id)]
    if not children:
        return [], set()
    rated = await uow.children.rated_since(case_id, flow_id, now - VISIT_WINDOW)
    return children, rated


async def _case(uow: UnitOfWork, case_code: str, by: Participant | None) -> Case:
    case = await uow.cases.by_code(case_code.strip().upper())
    if case is None:
        raise UnknownCase(case_code)
    if by is not None and not handles_case(by, case):
        raise NotAllowed(case_code)
    return case


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
