"""The kinds of alarm, most urgent first: what set off the emergency route decides the help a
family gets (the deployment's helplines for that kind) and what the flag and the staff notice
name. A match may be of several kinds ("I am 12 and my dad hits me"): the family gets the help
for each, the most urgent first.
"""

from __future__ import annotations

from typing import Literal

AlarmKind = Literal["immediate_danger", "violence_at_home", "self_harm", "child_speaking"]

# Most urgent first: the order the help is given in.
ALARM_KINDS: tuple[AlarmKind, ...] = (
    "immediate_danger",
    "violence_at_home",
    "self_harm",
    "child_speaking",
)
