"""Every rule of every shipped flow cites its source (issue #14): a flag rule's `source:` and a
result's `source:` say where the rule comes from, and staff see it in the flag's detail.

`FlagRule.source` is optional in the model only because archived versions (flows/archive/, kept
so that runs begun on them can finish) predate it; every current version must have one.
"""

from __future__ import annotations

import pytest

from bot.engine import Flow, load_flows

from .conftest import FLOWS

SHIPPED = sorted(load_flows(FLOWS).latest(), key=lambda flow: flow.id)


@pytest.mark.parametrize("flow", SHIPPED, ids=lambda flow: flow.id)
def test_every_flag_rule_and_result_names_its_source(flow: Flow) -> None:
    missing = [f"flag {rule.id}" for rule in flow.flags if not (rule.source or "").strip()]
    missing += [f"result {name}" for name, result in flow.results.items() if not result.source]
    assert missing == [], f"{flow.id}: no source for {', '.join(missing)}"
