"""The conversation: what an input means for the person who sent it, for every channel.

One pipeline (`Conversation`) takes what a channel received — a typed line, a pressed button,
a photo — decides in one order of checks what it means for this person (emergency first, then
who they are, their language, their consent, their role, then what is waiting) and says what
to show as channel-neutral outputs (`outputs`). The Telegram channel renders them as messages
with signed buttons, the terminal as numbered options and commands to type. Both channels have
every command (`pipeline.COMMANDS`), typed or pressed alike (`intents`).
"""

from .exchange import Incoming, Opened, Other, Pressed, Said, Typed
from .intents import Intent, decode, encode
from .notices import notice_message
from .outputs import (
    Button,
    Chosen,
    Joined,
    Line,
    Menu,
    Message,
    Outbox,
    Output,
    Photo,
    Toast,
    render,
)
from .pipeline import COMMANDS, Conversation

__all__ = [
    "COMMANDS",
    "Button",
    "Chosen",
    "Conversation",
    "Incoming",
    "Intent",
    "Joined",
    "Line",
    "Menu",
    "Message",
    "Opened",
    "Other",
    "Outbox",
    "Output",
    "Photo",
    "Pressed",
    "Said",
    "Toast",
    "Typed",
    "decode",
    "encode",
    "notice_message",
    "render",
]
