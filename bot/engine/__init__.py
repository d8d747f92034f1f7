"""The pure flow engine: the flow model, its loader and validator, and the runner.

It imports neither `telegram` nor `sqlalchemy` (a test keeps it so): it reads flow files,
and turns a run's state plus an input into a `Sprint` of events for a channel to carry out.
"""

from .events import (
    AnswerRecorded,
    Ask,
    CaseUpdated,
    Choose,
    Event,
    FlagRaised,
    Input,
    Invalid,
    NonText,
    Option,
    Reply,
    RunEnded,
    RunState,
    Say,
    ScoreComputed,
    Sprint,
    Text,
    Value,
)
from .loader import FlowError, FlowLoadError, FlowRegistry, check_flows, load_flow_file, load_flows
from .model import ROLES, SPEC_VERSION, Flow
from .runner import AnswerRejected, Engine, RunNotActive, describe_answer

__all__ = [
    "ROLES",
    "SPEC_VERSION",
    "AnswerRecorded",
    "AnswerRejected",
    "Ask",
    "CaseUpdated",
    "Choose",
    "Engine",
    "Event",
    "FlagRaised",
    "Flow",
    "FlowError",
    "FlowLoadError",
    "FlowRegistry",
    "Input",
    "Invalid",
    "NonText",
    "Option",
    "Reply",
    "RunEnded",
    "RunNotActive",
    "RunState",
    "Say",
    "ScoreComputed",
    "Sprint",
    "Text",
    "Value",
    "check_flows",
    "describe_answer",
    "load_flow_file",
    "load_flows",
]
