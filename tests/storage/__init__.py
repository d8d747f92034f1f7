"""Contract tests of bot.storage; a package so that its modules can share conftest helpers."""
