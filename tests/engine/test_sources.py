"""Every rule of every shipped flow cites its source (issue #14): a flag rule's `source:` and a
result's `source:` say where the rule comes from, and staff see it in the flag's detail.

`FlagRule.source` is optional in the model for now, while the flows other helpers of issue #14
rework (meldcode, reintegration, case_closure, home_visit) get theirs; their cases are
non-strict xfails until then. Once all flows cite their sources, the field becomes required
and this test strict.
"""

from __future__ import annotations

import pytest

from bot.engine import Flow, load_flows

from .conftest import FLOWS

SHIPPED = sorted(load_flows(FLOWS).latest(), key=lambda flow: flow.id)
# Flows reworked in parallel for issue #14, by other hands: sources still to come there.
PENDING = {"meldcode", "reintegration", "case_closure", "home_visit"}


def _cases() -> list[object]:
    return [
        pytest.param(
            flow,
            id=flow.id,
            marks=[pytest.mark.xfail(reason="sources being added with issue #14", strict=False)]
            if flow.id in PENDING
            else [],
        )
        for flow in SHIPPED
    ]


@pytest.mark.parametrize("flow", _cases())
def test_every_flag_rule_and_result_names_its_source(flow: Flow) -> None:
    missing = [f"flag {rule.id}" for rule in flow.flags if not (rule.source or "").strip()]
    missing += [f"result {name}" for name, result in flow.results.items() if not result.source]
    assert missing == [], f"{flow.id}: no source for {', '.join(missing)}"
