"""Who may do what, decided without a database: the rules every service asks."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.rules.access import (
    FLAG_ACTIONS,
    decides_closure,
    handles_case,
    may_act_on_flag,
    may_invite,
    may_see_flags,
)
from bot.rules.commands import ROLE_COMMANDS, allowed
from bot.rules.people import Participant


def person(role: str, person_id: int = 1, status: str = "active") -> Participant:
    return Participant(person_id, role, "nl", None, None, "given", status)


CASEWORKER, OTHER = person("caseworker", 1), person("caseworker", 2)
COORDINATOR, FAMILY = person("coordinator", 3), person("family", 4)
THEIR_CASE = SimpleNamespace(caseworker_id=1)


def test_who_handles_a_case() -> None:
    assert handles_case(None, THEIR_CASE)  # the operator at the command line
    assert handles_case(CASEWORKER, THEIR_CASE) and handles_case(COORDINATOR, THEIR_CASE)
    assert not handles_case(OTHER, THEIR_CASE) and not handles_case(FAMILY, THEIR_CASE)
    assert not handles_case(CASEWORKER, None)
    assert not handles_case(person("coordinator", status="left"), THEIR_CASE)


@pytest.mark.parametrize("action", FLAG_ACTIONS)
def test_flags_by_role(action: str) -> None:
    flag = SimpleNamespace(assigned_to=None)
    assigned_to_other = SimpleNamespace(assigned_to=2)
    assert may_act_on_flag(COORDINATOR, action, flag, THEIR_CASE)
    assert may_act_on_flag(CASEWORKER, action, flag, THEIR_CASE) == (action != "assign")
    assert may_act_on_flag(OTHER, action, assigned_to_other, THEIR_CASE) == (action != "assign")
    assert not may_act_on_flag(OTHER, action, flag, THEIR_CASE)
    assert not may_act_on_flag(FAMILY, action, flag, THEIR_CASE)
    assert not may_act_on_flag(person("coordinator", status="unreachable"), action, flag, None)


def test_an_unknown_flag_action_is_refused() -> None:
    assert not may_act_on_flag(COORDINATOR, "delete", SimpleNamespace(assigned_to=None), None)


def test_flags_and_closures_are_for_staff_and_coordinators() -> None:
    assert may_see_flags(CASEWORKER) and may_see_flags(COORDINATOR) and not may_see_flags(FAMILY)
    assert decides_closure(COORDINATOR) and not decides_closure(CASEWORKER)


def test_who_may_invite_whom() -> None:
    for role in ("family", "caseworker", "coordinator"):
        assert may_invite(COORDINATOR, role, None)
        assert not may_invite(FAMILY, role, THEIR_CASE)
    assert may_invite(CASEWORKER, "family", THEIR_CASE)
    assert not may_invite(OTHER, "family", THEIR_CASE)
    assert not may_invite(CASEWORKER, "caseworker", THEIR_CASE)


def test_every_role_has_the_emergency_and_help_and_nobody_else_s_commands() -> None:
    for role, commands in ROLE_COMMANDS.items():
        assert {"sos", "help", "language", "privacy", "cancel"} <= set(commands), role
        assert allowed(role, "sos")
    assert not allowed("family", "flags") and not allowed("family", "case")
    assert not allowed("stranger", "help")
