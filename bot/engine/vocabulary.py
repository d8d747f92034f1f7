"""The words flows and cases share: programmes, reintegration stages, risk levels.

Flows read and write a few fields of their case (`case: programme` in a condition, `set_case`
on a step), and the loader refuses a flow that names a value the host does not know. So the
vocabulary lives here, in the engine, and the host (config, storage, services) imports it.
"""

from __future__ import annotations

# The organisation's programmes (design.md).
PROGRAMMES = (
    "family_strengthening",
    "sos_family",
    "temporary_care",
    "foster_care",
    "kinship_care",
    "simba_family_care",
)

# The reintegration stages of domain.md (Guidelines on Children's Reintegration), in order.
STAGES = ("assessment", "preparation", "reunification", "follow_up", "closure")

# A case's risk level (domain.md: high / medium / low), set by the risk screening.
RISK_LEVELS = ("high", "medium", "low")

# What a flow may read of its case in conditions, with the values it may compare with
# (None: any short code, like a country "NL").
CASE_FACTS: dict[str, tuple[str, ...] | None] = {
    "programme": PROGRAMMES,
    "country": None,
    "stage": STAGES,
    "risk_level": RISK_LEVELS,
}

# What a flow may write to its case, with the values it may write. "closure: proposed" asks a
# coordinator to approve closing the case; only a coordinator closes it.
CASE_UPDATES: dict[str, tuple[str, ...]] = {
    "stage": STAGES,
    "risk_level": RISK_LEVELS,
    "closure": ("proposed",),
}

# Checklist items have one of these statuses; "not_applicable" needs a note saying why.
ITEM_STATUSES = ("done", "not_yet", "not_applicable")
