"""The web view for coordinators and caseworkers (issue #17): `wegwijzer web` serves it.

Staff sign in with a one-time link from the bot (`/web`); the pages call the same services
and the one access module as the bot, so both show the same thing and every look is audited.
Templates (`templates/`) and the style sheet (`static/`) ship with the package; nothing is
loaded from elsewhere.
"""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
