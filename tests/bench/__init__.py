"""`wegwijzer bench`: what an answer costs, the memory a conversation leaves, and the reminder
fan-out against Telegram's flood limit — measured against the fake Bot API of the tests.

A development tool, not part of the bot: it lives with the fake server it needs (tests/fakes)
and runs from a source checkout after `make install`; `wegwijzer bench` finds it there. The
running bot never imports it.
"""

from .answer import main

__all__ = ["main"]
