"""Where a case goes next, and which flows are for it: decided from the flows' purposes and
the case alone, whatever the flows are called."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.app import Assets
from bot.engine import FlowRegistry
from bot.rules.guidance import applies, flows_for, next_step, proposal_id

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


@dataclass
class Case:
    programme: str = "sos_family"
    status: str = "open"
    stage: str | None = "assessment"
    risk_level: str | None = "low"
    review_due_at: datetime | None = NOW + timedelta(days=30)
    closure_proposed_at: datetime | None = None


def purpose(flows: FlowRegistry, case: Case) -> str | None:
    flow = next_step(flows, case, "NL", NOW)
    return flow.purpose if flow else None


def test_the_next_step_follows_the_case(assets: Assets) -> None:
    flows = assets.flows
    assert purpose(flows, Case(risk_level=None)) == "screening"
    assert purpose(flows, Case(review_due_at=NOW)) == "screening"
    assert purpose(flows, Case()) == "navigator"
    assert purpose(flows, Case(stage="closure")) == "closure"
    assert purpose(flows, Case(stage="closure", closure_proposed_at=NOW)) is None
    assert purpose(flows, Case(status="closed")) is None
    # Out of the stages (returning home is not in the child's best interests): nothing next.
    assert purpose(flows, Case(stage="alternative_care")) is None
    # Family strengthening has no navigator: nothing next once screened (its closure check is
    # in /guide, for when the case is ready).
    assert purpose(flows, Case("family_strengthening", stage=None)) is None
    assert purpose(flows, Case("family_strengthening", stage=None, risk_level=None)) == "screening"


def test_the_closure_check_is_for_the_closure_stage_and_family_strengthening(
    assets: Assets,
) -> None:
    closure = assets.flows.for_purpose("closure")
    navigator = assets.flows.for_purpose("navigator")
    assert closure is not None and navigator is not None
    for stage in (None, "assessment", "preparation", "reunification", "follow_up"):
        assert not applies(closure, Case(stage=stage), "NL")
        assert applies(closure, Case("family_strengthening", stage=stage), "NL")
        assert applies(navigator, Case(stage=stage), "NL")
        assert not applies(navigator, Case("family_strengthening", stage=stage), "NL")
    assert applies(closure, Case(stage="closure"), "NL")
    assert not applies(closure, Case(stage="alternative_care"), "NL")


def test_the_next_step_is_found_by_purpose_not_by_name(assets: Assets) -> None:
    renamed = FlowRegistry(
        [flow.model_copy(update={"id": f"local_{flow.id}"}) for flow in assets.flows]
    )
    step = next_step(renamed, Case(), "NL", NOW)
    assert step is not None and step.id == "local_reintegration"
    without = FlowRegistry([flow for flow in assets.flows if flow.purpose != "navigator"])
    assert next_step(without, Case(), "NL", NOW) is None


def test_flows_for_a_case_follow_their_only_if(assets: Assets) -> None:
    meldcode = assets.flows.for_purpose("meldcode")
    assert meldcode is not None
    assert applies(meldcode, Case(), "NL") and not applies(meldcode, Case(), "BE")
    strengthening = Case("family_strengthening")
    caregivers = [f.purpose for f in flows_for(assets.flows, "family", strengthening, "NL")]
    assert caregivers == ["checkin"]
    foster = [f.purpose for f in flows_for(assets.flows, "family", Case("foster_care"), "NL")]
    assert sorted(foster) == ["caregiver_check", "checkin"]


def test_a_proposal_is_known_by_its_second() -> None:
    assert proposal_id(None) == 0
    assert proposal_id(NOW) == proposal_id(NOW.replace(tzinfo=None)) == int(NOW.timestamp())
