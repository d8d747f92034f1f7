"""Test doubles shipped with the bot: a fake Telegram Bot API server on 127.0.0.1.

It lives in the package (not only under tests/) because `wegwijzer bench` measures the real
python-telegram-bot stack against it too. Nothing in the running bot imports it.
"""

from .fake_bot_api import DEFAULT_TOKEN, BotAPIError, Call, Edit, FakeBotAPI, StoredFile, User

__all__ = ["DEFAULT_TOKEN", "BotAPIError", "Call", "Edit", "FakeBotAPI", "StoredFile", "User"]
