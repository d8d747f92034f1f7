"""Wegwijzer: a Telegram bot for family strengthening and family-based care.

The packages, from the inside out: `engine` (flows as data, pure), `rules` (who may do what,
schedules, planning; pure), `storage` (the database), `i18n` (texts in every language),
`services` (use cases, one transaction each), `conversation` (what an input means, for every
channel), and the channels `telegram` and `console`; `app` and `bootstrap` wire them, `cli`
is the command line.
"""
