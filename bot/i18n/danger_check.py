"""The danger lists measured against corpora: `wegwijzer i18n danger-check`.

A corpus is `tests/i18n/danger_corpus/<code>.txt` (invented messages, reviewable by natives):

    # comments
    [distress]
    hij slaat ons => violence_at_home          (the kinds expected, optional)
    ik ben 12 en papa slaat mij => violence_at_home, child_speaking
    [everyday]
    geen noodgeval, alles goed

`\\u200b` and other `\\uXXXX` escapes stand for the character (for invisible ones). A distress
message is caught when it alarms; an everyday message that alarms is a false alarm; a caught
message without every expected kind is listed as a kind miss. Target, per language: at least
95 % caught and at most 2 % false alarms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..rules.alarms import ALARM_KINDS
from .danger import DangerWords

MIN_CAUGHT = 0.95
MAX_FALSE_ALARMS = 0.02

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass
class Corpus:
    language: str
    distress: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    everyday: list[str] = field(default_factory=list)


@dataclass
class Result:
    language: str
    distress: int
    everyday: int
    misses: list[str]
    false_alarms: list[tuple[str, str]]  # text, phrase
    kind_misses: list[tuple[str, tuple[str, ...], tuple[str, ...]]]  # text, expected, found

    @property
    def caught(self) -> float:
        return 1 - len(self.misses) / self.distress if self.distress else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return len(self.false_alarms) / self.everyday if self.everyday else 1.0

    @property
    def meets_target(self) -> bool:
        return (
            self.distress > 0
            and self.everyday > 0
            and self.caught >= MIN_CAUGHT
            and self.false_alarm_rate <= MAX_FALSE_ALARMS
        )


def read_corpus(path: Path) -> Corpus:
    corpus = Corpus(path.stem)
    section = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line in ("[distress]", "[everyday]"):
            section = line[1:-1]
            continue
        text, _, expected = line.partition(" => ")
        text = _ESCAPE.sub(lambda found: chr(int(found.group(1), 16)), text.strip())
        if section == "distress":
            kinds = tuple(kind.strip() for kind in expected.split(",") if kind.strip())
            unknown = [kind for kind in kinds if kind not in ALARM_KINDS]
            if unknown:
                raise ValueError(f"{path}:{number}: unknown kind(s) {', '.join(unknown)}")
            corpus.distress.append((text, kinds))
        elif section == "everyday":
            corpus.everyday.append(text)
        else:
            raise ValueError(f"{path}:{number}: a message before [distress] or [everyday]")
    return corpus


def corpora(directory: Path) -> list[Corpus]:
    return [read_corpus(path) for path in sorted(Path(directory).glob("*.txt"))]


def check(danger: DangerWords, corpus: Corpus) -> Result:
    misses: list[str] = []
    kind_misses: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    for text, expected in corpus.distress:
        match = danger.find(text)
        if match is None:
            misses.append(text)
        elif not set(expected) <= set(match.kinds):
            kind_misses.append((text, expected, match.kinds))
    false_alarms = []
    for text in corpus.everyday:
        match = danger.find(text)
        if match is not None:
            false_alarms.append((text, match.phrase))
    return Result(
        corpus.language,
        len(corpus.distress),
        len(corpus.everyday),
        misses,
        false_alarms,
        kind_misses,
    )


def report(results: list[Result]) -> str:
    lines = [
        f"Target: at least {MIN_CAUGHT:.0%} of distress messages caught, at most "
        f"{MAX_FALSE_ALARMS:.0%} of everyday messages alarming, in every language.",
        "",
        f"{'lang':<5} {'distress':>8} {'caught':>7} {'everyday':>8} {'false':>6}  kinds  target",
    ]
    for result in results:
        lines.append(
            f"{result.language:<5} {result.distress:>8} {result.caught:>7.1%} "
            f"{result.everyday:>8} {result.false_alarm_rate:>6.1%}  "
            f"{len(result.kind_misses):>5}  {'met' if result.meets_target else 'MISSED'}"
        )
    for result in results:
        if not (result.misses or result.false_alarms or result.kind_misses):
            continue
        lines += ["", f"[{result.language}]"]
        lines += [f"  missed:       {text}" for text in result.misses]
        lines += [f"  false alarm:  {text}   ({phrase})" for text, phrase in result.false_alarms]
        lines += [
            f"  kinds:        {text}   (expected {', '.join(expected)}; found {', '.join(found)})"
            for text, expected, found in result.kind_misses
        ]
    return "\n".join(lines)
