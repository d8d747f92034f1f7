"""What a running bot has done so far, for whoever watches it.

`serve` marks when the bot is up, counts the updates it has finished handling and the rounds
its duty loops have completed. A watcher (a health check, the end-to-end tests) waits on
these instead of guessing how long the bot needs: idle is every update handed to the bot
handled, and a whole round of every duty loop begun and finished since the question was asked.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Activity:
    running: asyncio.Event = field(default_factory=asyncio.Event)
    updates_handled: int = 0
    # By duty loop: rounds begun and rounds finished. Kept over a restart of the bot.
    rounds_begun: dict[str, int] = field(default_factory=dict)
    rounds_done: dict[str, int] = field(default_factory=dict)
    # The rounds begun when notices were last queued (None: never): the senders have sent
    # them once a round begun later is done.
    queued_at_round: dict[str, int] | None = None
    # Where the operations endpoint listens while the bot runs (None: it does not).
    operations_port: int | None = None

    def update_handled(self) -> None:
        self.updates_handled += 1

    def round_begun(self, loop: str) -> None:
        self.rounds_begun[loop] = self.rounds_begun.get(loop, 0) + 1

    def round_done(self, loop: str) -> None:
        self.rounds_done[loop] = self.rounds_done.get(loop, 0) + 1

    def notices_queued(self) -> None:
        self.queued_at_round = dict(self.rounds_begun)

    def notices_sent(self, senders: tuple[str, ...]) -> bool:
        """Have the senders done a round since notices were last queued?"""
        since = self.queued_at_round
        return since is None or self.a_round_since(since, senders)

    def a_round_since(self, begun: dict[str, int], loops: tuple[str, ...] = ()) -> bool:
        """Has every loop (or each of `loops`) begun and finished a round since `begun` (a
        copy of `rounds_begun` taken earlier)?"""
        watched = loops or tuple(self.rounds_begun)
        return bool(watched) and all(
            self.rounds_done.get(loop, 0) > begun.get(loop, 0) for loop in watched
        )
