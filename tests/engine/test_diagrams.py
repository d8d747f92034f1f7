"""Every flow has its diagram in docs/flows/, generated from its definition, never by hand.

After changing a flow: `pytest tests/engine/test_diagrams.py --update-goldens` rewrites the
diagrams; review the diff with the flow's change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import load_flows
from bot.engine.graph import mermaid

REPO = Path(__file__).resolve().parents[2]
FLOWS = load_flows(REPO / "flows").latest()


def page(flow) -> str:
    return (
        f"# {flow.title} (`{flow.ref}`)\n\n"
        "Generated from `flows/` by `wegwijzer flows graph "
        f"{flow.id}`; do not edit by hand.\n\n"
        f"```mermaid\n{mermaid(flow)}```\n"
    )


@pytest.mark.parametrize("flow", FLOWS, ids=[flow.id for flow in FLOWS])
def test_each_flow_has_its_current_diagram(flow, update_goldens: bool) -> None:
    path = REPO / "docs" / "flows" / f"{flow.id}.md"
    if update_goldens:
        path.write_text(page(flow), encoding="utf-8")
    assert path.exists(), f"no diagram for {flow.id}: run pytest with --update-goldens"
    assert path.read_text(encoding="utf-8") == page(flow)
