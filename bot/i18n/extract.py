"""Finding the translatable texts of a flow file, for Babel and for the start-up checks.

A flow's texts are English source strings (gettext msgids) kept in YAML, so `pybabel extract`
needs this extractor to put them in `locales/messages.pot` next to the strings marked
`Text("...")` in the code. It is registered in pyproject.toml as the `wegwijzer_flow` method
and mapped to the flow files in babel.cfg. The translatable fields are the flow's `title`,
each step's `text` and `invalid`, each option's and checklist item's `label`, each flag rule's
`reason` and each result rule's `label`. Each
message carries a translator comment saying where it comes from
(`flow family_checkin, step who5_calm, option 3`) and which placeholders to keep. Options
shared through a YAML anchor yield their labels once per step that uses them; Babel merges
the duplicates into one message with all the comments.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase
from ruamel.yaml.error import YAMLError

from bot.i18n._translator import placeholders


@dataclass(frozen=True)
class FlowMessage:
    """One translatable text of a flow, with its 1-based line and where it sits in the flow."""

    lineno: int
    msgid: str
    where: str

    @property
    def comments(self) -> list[str]:
        """The translator comments for this message, as they appear in the .pot file."""
        comments = [self.where]
        try:
            names = sorted(placeholders(self.msgid))
        except ValueError:
            names = []
        if names:
            kept = ", ".join("{" + name + "}" for name in names)
            comments.append(f"keep {kept} exactly as written: the bot fills in the value")
        return comments


def flow_messages(source: str, filename: str = "<flow>") -> list[FlowMessage]:
    """Every translatable text of a flow file's content: title, steps (in order), flags."""
    try:
        document = YAML(typ="rt", pure=True).load(source)
    except YAMLError as error:
        raise ValueError(f"{filename}: not valid YAML: {error}") from None
    if not isinstance(document, Mapping):
        raise ValueError(f"{filename}: a flow file must be a mapping with id, title and steps")
    flow = f"flow {document.get('id') or Path(filename).stem}"
    messages = [*_field(document, "title", f"{flow}, title")]
    for step in _mappings(document.get("steps")):
        where = f"{flow}, step {step.get('id')}"
        messages += _field(step, "text", where)
        for number, option in enumerate(_mappings(step.get("options")), start=1):
            messages += _field(option, "label", f"{where}, option {number}")
        for item in _mappings(step.get("items")):
            messages += _field(item, "label", f"{where}, item {item.get('id')}")
        messages += _field(step, "invalid", f"{where}, invalid answer")
    for flag in _mappings(document.get("flags")):
        messages += _field(flag, "reason", f"{flow}, flag {flag.get('id')}")
    results = document.get("results")
    for name, result in results.items() if isinstance(results, Mapping) else ():
        rules = result.get("rules") if isinstance(result, Mapping) else None
        for rule in _mappings(rules):
            messages += _field(rule, "label", f"{flow}, result {name} = {rule.get('value')}")
    return messages


def read_flow_messages(path: Path) -> list[FlowMessage]:
    """Every translatable text of the flow file at `path`."""
    return flow_messages(Path(path).read_text(encoding="utf-8"), str(path))


def extract_flow(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, str],
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extraction method for flow files: yields (lineno, funcname, message, comments).

    `keywords` and `comment_tags` concern function calls and code comments, which a flow
    file does not have: every translatable field is extracted, with its own comment. The
    function name is None because the text is not an argument of any call.
    """
    filename = getattr(fileobj, "name", "<flow>")
    source = fileobj.read().decode(options.get("encoding") or "utf-8")
    for message in flow_messages(source, str(filename)):
        yield message.lineno, None, message.msgid, message.comments


def _mappings(value: object) -> Iterator[Mapping[str, object]]:
    # Shapes are the loader's business; here anything that is not a list of mappings is skipped.
    if isinstance(value, Sequence) and not isinstance(value, str):
        yield from (item for item in value if isinstance(item, Mapping))


def _field(mapping: Mapping[str, object], key: str, where: str) -> list[FlowMessage]:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        return []
    return [FlowMessage(_line(mapping, key), str(value), where)]


def _line(mapping: Mapping[str, object], key: str) -> int:
    # ruamel's round-trip loader keeps 0-based positions; a folded scalar (`text: >-`) is
    # reported on the line of its key, where the text begins.
    if isinstance(mapping, CommentedBase):
        line: int = mapping.lc.value(key)[0]
        return line + 1
    return 0
