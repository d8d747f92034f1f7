"""Translation: catalogs of the shipped languages, rendering of texts, language negotiation.

The engine and the services speak in `Text` values — an English source string (a gettext
msgid) with its parameters — and never translate. A channel asks `Catalogs` (loaded once at
start-up, failing there if a catalog is missing) for the reader's `Translator` and renders
each `Text` at display time, in the reader's language, numbers and dates in their locale and
timezone. `negotiate` picks the language to use; `extract_flow` feeds the flows' texts to
`pybabel extract` (see babel.cfg and the README, "Translating").
"""

from bot.i18n._catalogs import Catalogs, catalog_path
from bot.i18n._errors import CatalogError, RenderError
from bot.i18n._negotiate import negotiate
from bot.i18n._registry import Language
from bot.i18n._translator import Localized, Parts, Translator, placeholders
from bot.i18n.extract import FlowMessage, extract_flow, flow_messages, read_flow_messages

__all__ = [
    "CatalogError",
    "Catalogs",
    "FlowMessage",
    "Language",
    "Localized",
    "Parts",
    "RenderError",
    "Translator",
    "catalog_path",
    "extract_flow",
    "flow_messages",
    "negotiate",
    "placeholders",
    "read_flow_messages",
]
