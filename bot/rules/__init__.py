"""Pure rules: who may act on what, which commands a role has, when a schedule is due, how a
typed reply is read, when a home visit comes, where a case goes next.

Nothing here does I/O, reads a clock or a database, or imports a channel: every rule takes
what it decides on as arguments, so it can be tested without bootstrap or a database, and the
services and the conversation apply the same rule wherever it matters.
"""
