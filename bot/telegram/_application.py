"""python-telegram-bot's Application, keeping nothing per person.

PTB marks the chat and the user of every update handled "to be updated in persistence", in
two sets that only a persistence's periodic run empties. Without a persistence (the bot keeps
its state in the database, never in PTB's user_data or chat_data) nothing ever empties them:
two ids per person served stay for the life of the process (issue #16, found with a
tracemalloc comparison in `wegwijzer bench`). This Application marks nothing when it has no
persistence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application

if TYPE_CHECKING:
    from telegram.ext import Job


class StatelessApplication(Application[Any, Any, Any, Any, Any, Any]):
    # PTB's Application has slots; a subclass without them would add a __dict__ per instance.
    __slots__ = ()

    def _mark_for_persistence_update(
        self, *, update: object | None = None, job: Job[Any] | None = None
    ) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)
