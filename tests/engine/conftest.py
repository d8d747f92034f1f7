"""Builders shared by the engine tests: flow files written from YAML text, engines built from
them, a driver that plays a list of inputs through a run, and the real `flows/` directory.

Flow texts in the tests are dedented before they are written, so they can be indented like
the code around them. A line ending in `# <- here` marks where a loader error is expected.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.engine import (
    Engine,
    Flow,
    FlowError,
    FlowRegistry,
    Input,
    RunState,
    Sprint,
    load_flow_file,
    load_flows,
)

REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "flows"
MARKER = "# <- here"

# The first lines of a small test flow; `steps:` (and `scores:`/`flags:`) follow.
HEADER = """\
spec: 1
id: demo
version: 1
title: Demo
roles: [family]
purpose: survey
start: q
"""

# An end step to append after a single question (which then continues to it by default).
END = """\
  - id: done
    kind: end
    text: Done.
"""


def one_question(question: str) -> str:
    """A flow of one question `q` (given as its YAML list item) followed by the end `done`."""
    return HEADER + "steps:\n" + textwrap.indent(textwrap.dedent(question), "  ") + END


def marked_lines(path: Path) -> list[int]:
    """The 1-based numbers of the lines marked `# <- here` in a written flow file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [number for number, line in enumerate(lines, start=1) if line.endswith(MARKER)]


@pytest.fixture
def write_flow(tmp_path: Path) -> Callable[..., Path]:
    """Write a (dedented) YAML text as a flow file in a temporary directory."""

    def write(text: str, name: str = "flow.yaml", directory: Path | None = None) -> Path:
        folder = directory or tmp_path / "flows"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def build_flow(write_flow: Callable[..., Path]) -> Callable[..., Flow]:
    """A flow from YAML text; fails the test when the loader finds anything wrong."""

    def build(text: str, name: str = "flow.yaml") -> Flow:
        path = write_flow(text, name)
        flow, errors = load_flow_file(path)
        assert errors == [], "\n".join(map(str, errors))
        assert flow is not None
        return flow

    return build


@pytest.fixture
def build_engine(build_flow: Callable[..., Flow]) -> Callable[..., Engine]:
    """An engine over the flows given as YAML texts."""

    def build(*texts: str) -> Engine:
        flows = [build_flow(text, name=f"flow_{number}.yaml") for number, text in enumerate(texts)]
        return Engine(FlowRegistry(flows))

    return build


@pytest.fixture
def expect_errors(write_flow: Callable[..., Path]) -> Callable[..., list[FlowError]]:
    """Load a broken flow and check its errors: exactly the lines marked `# <- here`, each
    naming the file, each message containing `fragment`, each printed as `file:line: message`.
    """

    def expect(text: str, fragment: str) -> list[FlowError]:
        path = write_flow(text)
        flow, errors = load_flow_file(path)
        assert flow is None
        expected = marked_lines(path)
        assert expected, "the test flow marks no line"
        assert sorted(error.line for error in errors) == expected, errors
        for error in errors:
            assert error.file == str(path)
            assert fragment in error.message, error
            assert str(error) == f"{path}:{error.line}: {error.message}"
        return errors

    return expect


@pytest.fixture
def play() -> Callable[..., list[Sprint]]:
    """Start a run and resume it with each input in turn: every sprint, the start's first.

    Each input must meet a waiting question: playing on past the end is a mistake in the test.
    """

    def run(
        engine: Engine,
        flow_id: str,
        inputs: Iterable[Input],
        context: Mapping[str, Any] | None = None,
    ) -> list[Sprint]:
        sprints = [engine.start(flow_id, context)]
        for given in inputs:
            assert not sprints[-1].ended, f"the run ended before input {given!r}"
            sprints.append(engine.resume(sprints[-1].state, given, context))
        return sprints

    return run


def events_of(sprints: Iterable[Sprint], kind: type) -> list[Any]:
    """Every event of one kind across sprints, in order."""
    return [event for sprint in sprints for event in sprint.of(kind)]


@pytest.fixture(scope="session")
def real_flows() -> FlowRegistry:
    return load_flows(FLOWS)


@pytest.fixture
def family_engine(real_flows: FlowRegistry) -> Engine:
    return Engine(real_flows)


@pytest.fixture
def restore() -> Callable[[RunState], RunState]:
    """A state as it comes back from storage: through `to_dict`, JSON and `from_dict`."""

    def through_json(state: RunState) -> RunState:
        return RunState.from_dict(json.loads(json.dumps(state.to_dict())))

    return through_json
