"""The command menu Telegram shows for each role, in each language.

The table in `services.texts` decides what a command may do (a family cannot ask for /flags)
and what Telegram's menu offers (set per chat once a person has joined, per language for
strangers).
"""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from ..i18n import Catalogs, Translator
from ..rules.commands import ROLE_COMMANDS, STRANGER_COMMANDS
from ..services.texts import COMMANDS


def bot_commands(commands: tuple[str, ...], translate: Translator) -> list[BotCommand]:
    return [BotCommand(name, translate(COMMANDS[name])) for name in commands]


async def register_default_menus(bot: Bot, catalogs: Catalogs, timezone: str) -> None:
    """The menu strangers see, in each shipped language (Telegram picks by the user's app)."""
    for language in catalogs.languages:
        translate = catalogs.translator(language, timezone)
        await bot.set_my_commands(
            bot_commands(STRANGER_COMMANDS, translate),
            scope=BotCommandScopeDefault(),
            language_code=language,
        )
    default = catalogs.translator(catalogs.source_language, timezone)
    await bot.set_my_commands(bot_commands(STRANGER_COMMANDS, default))


async def register_menu_for(bot: Bot, chat_id: int, role: str, translate: Translator) -> None:
    """A person's own menu: their role's commands in their language."""
    await bot.set_my_commands(
        bot_commands(ROLE_COMMANDS[role], translate), scope=BotCommandScopeChat(chat_id)
    )
