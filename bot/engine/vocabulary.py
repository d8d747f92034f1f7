"""The words flows and cases share: programmes, stages, risk levels, what a flow is for.

Flows read and write a few fields of their case (`case: programme` in a condition, `set_case`
on a step), and the loader refuses a flow that names a value the host does not know. So the
vocabulary lives here, in the engine, and the host (config, storage, services) imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# The organisation's programmes (design.md).
PROGRAMMES = (
    "family_strengthening",
    "sos_family",
    "temporary_care",
    "foster_care",
    "kinship_care",
    "simba_family_care",
)

# The reintegration stages of domain.md (Guidelines on Children's Reintegration), in order,
# then where a case goes when returning home is not in the child's best interests: planning an
# alternative or permanent care placement (domain.md, "Corrections to the notes above"). It is
# no step on the way home: `REINTEGRATION_STAGES` are the five a case is counted through.
Stage = Literal[
    "assessment", "preparation", "reunification", "follow_up", "closure", "alternative_care"
]
STAGES: tuple[Stage, ...] = get_args(Stage)
REINTEGRATION_STAGES: tuple[Stage, ...] = STAGES[:5]

# A case's risk level (domain.md: high / medium / low), set by the risk screening.
RISK_LEVELS = ("high", "medium", "low")

# What a flow may read of its case in conditions, with the values it may compare with
# (None: any short code, like a country "NL").
CASE_FACTS: dict[str, tuple[str, ...] | None] = {
    "programme": PROGRAMMES,
    "country": None,
    "stage": STAGES,
    "risk_level": RISK_LEVELS,
    # "planned" while the case has a Meldcode re-evaluation planned (or due); unset otherwise.
    "reevaluation": ("planned",),
    # Whether the last risk screening is "recent" (30 days, rules.guidance.FRESH_SCREENING) or
    # "old"; unset when the case was never screened.
    "screening": ("recent", "old"),
}

# When the Meldcode's re-evaluation is to be (afwegingskader, question 5), in weeks from the
# decision; "none" plans none (and cancels one that was planned).
REEVALUATION_WEEKS = {"weeks_2": 2, "weeks_4": 4, "weeks_6": 6, "weeks_8": 8, "weeks_12": 12}

# What a flow may write to its case, with the values it may write. "closure: proposed" asks a
# coordinator to approve closing the case; only a coordinator closes it.
CASE_UPDATES: dict[str, tuple[str, ...]] = {
    "stage": STAGES,
    "risk_level": RISK_LEVELS,
    "closure": ("proposed",),
    "reevaluate_in": (*REEVALUATION_WEEKS, "none"),
}

# Checklist items have one of these statuses; "not_applicable" needs a note saying why.
ITEM_STATUSES = ("done", "not_yet", "not_applicable")


# What a flow is for. The host finds flows by purpose, never by id, so a deployment can rename
# or replace a flow file without touching code. Each purpose says who it is for, whether a
# deployment may have at most one flow of it (the host must know which one to start), and
# which field of its case such a flow must write (the host relies on it: a screening sets the
# risk level). Checked when flows load.
@dataclass(frozen=True)
class Purpose:
    for_families: bool
    single: bool = False
    writes: str | None = None


PurposeName = Literal[
    "checkin",
    "caregiver_check",
    "screening",
    "navigator",
    "home_visit",
    "closure",
    "meldcode",
    "guidance",
    "survey",
]
PURPOSES: dict[PurposeName, Purpose] = {
    # The family's regular check-in: /checkin, the scheduled reminders, the WHO-5 in /case.
    "checkin": Purpose(for_families=True, single=True),
    # A caregiver's safety check about the child in their care.
    "caregiver_check": Purpose(for_families=True),
    # The caseworker's risk screening: the case's risk level, its review and visit frequency.
    "screening": Purpose(for_families=False, single=True, writes="risk_level"),
    # The reintegration navigator: a stage's checklist and the stage gate.
    "navigator": Purpose(for_families=False, single=True, writes="stage"),
    # Home-visit monitoring: completing it records the visit; its scores show in /case.
    "home_visit": Purpose(for_families=False, single=True),
    # Case closure readiness: proposes closing the case to the coordinators.
    "closure": Purpose(for_families=False, single=True, writes="closure"),
    # The Dutch reporting code (Meldcode) walkthrough.
    "meldcode": Purpose(for_families=False),
    # Any other step-by-step guidance for staff.
    "guidance": Purpose(for_families=False),
    # Any other questions for families (a survey a deployment adds).
    "survey": Purpose(for_families=True),
}
