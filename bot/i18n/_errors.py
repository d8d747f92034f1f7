"""The errors of the translation layer.

Both are raised at start-up or by a programming mistake, never because of what a user typed:
a catalog problem stops the bot before anyone sees a half-translated conversation, and a
`Text` whose parameters do not fit its own English source is a bug the tests must catch.
"""

from __future__ import annotations


class CatalogError(RuntimeError):
    """The language registry or a compiled catalog is unusable; the message says how to fix it."""


class RenderError(ValueError):
    """A `Text` cannot be rendered even in English: its parameters do not fit its msgid."""
