"""Danger words: per-language patterns that signal danger, kept beside the catalogs.

Every `locales/<lang>/danger_words.txt` is loaded, for every language together (a family may
write Dutch after choosing Arabic), including lists of languages without a catalog (Russian,
written by many Ukrainian families). Each shipped language must have one. The lists are
reviewed like any translation; `bot.services.emergency` decides what happens on a match.

How a text is read (`words_of`): casefolded; accents, Arabic diacritics and tatweel removed;
Arabic letter variants unified (أ إ آ → ا, ى → ي, ة → ه, ؤ → و, ئ → ي), Arabic-Indic digits
made ASCII; zero-width, soft-hyphen, bidi and control characters dropped (not made spaces, so
"he\u00adlp" is "help"); ł → l, ı → i, ґ → г, ё → е; a Latin letter inside a Cyrillic word (and
the other way round) read as its lookalike; a letter written three or more times in a row
once ("heeeelp" → "help"); an apostrophe joins ("don't" → "dont", "б'є" → "бє") except after
a French elision ("j'ai" → "j ai"); digits and letters are split ("12yo" → "12 yo"). Patterns
are compared on a skeleton where every doubled letter counts once ("slaat" = "slat"), so
"slaaaat" still matches.

The list syntax (also at the top of each list file):

    # comment                  a line starting with # (a # later in a line starts one too)
    [violence_at_home]         the kind(s) of alarm of the patterns below, most urgent first
    [violence_at_home, child_speaking]        (several kinds: every one of them is raised)
    [negation]                 words that cancel a danger phrase they directly govern
    [negation_after]           the same, written after the phrase (Turkish "değil", "yok")
    [clause]                   words that end a negation's reach ("but", "that", "maar")
    [everyday]                 idioms: a danger phrase overlapping one does not alarm
                               ("it threatens to rain", "ik schrik me dood")
    @me = mij | me | ons       a named set, usable in the patterns of that file
    hij sla* @me               a pattern: words in this order, one after the other
      word                     that word (accents, case, doubled letters do not matter)
      sla*                     a word beginning with "sla" (slaat, slaan, slaag...)
      *ضرب*                    a word containing "ضرب"; *xyz: a word ending in "xyz"
      a|b*|@set                any of these
      ..                       up to three words of anything in between ("hits .. mum")
      %age                     a number from 5 to 17 (a child's age)
      !a|b                     the next word is none of these (or the text ends):
                               "help me !with" is not "help me with the form"
      part & part              both parts in the same clause, in either order
    = help                     the whole message, and nothing else ("help", "help!!",
                               "help help"): bare words too common to match inside a text

A danger phrase is cancelled when a `[negation]` word stands right before it or one word
before it ("no emergency", "not an emergency"; further away it governs something else: "don't
tell him he beats me"), in its clause (no `[clause]` word or punctuation between), and the
phrase has no negation word of its own ("je ne me sens pas en sécurité" alarms); or when a
`[negation_after]` word follows it right away ("acil değil"); or when it overlaps an
`[everyday]` idiom (so an idiom must be narrow: "piga simu !polisi", not "piga simu"). A text
with an uncancelled phrase alarms, whatever else it says: a missed alarm costs more than a
needless one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..rules.alarms import ALARM_KINDS, AlarmKind

DANGER_FILE = "danger_words.txt"

GAP = 3  # the most words ".." skips
NEGATION_REACH = 2  # a negation word at most this many words before the phrase (1 between)
TOGETHER = 8  # the parts of an "&" pattern lie within this many words of each other
AGES = range(5, 18)
WHOLE_MESSAGE_WORDS = 8  # "= ..." patterns are short: longer messages are not tried

_SECTIONS = {"negation", "negation_after", "clause", "everyday"}


@dataclass(frozen=True)
class DangerMatch:
    """What a text's danger words are: the phrase found (the text's words that matched, as
    `words_of` gives them; it goes into the flag's evidence, never the whole message) and the
    kinds of alarm it signals, most urgent first (every kind found in the text, so "I am 12
    and my dad hits me" is violence_at_home and child_speaking)."""

    phrase: str
    kinds: tuple[AlarmKind, ...]

    @property
    def kind(self) -> AlarmKind:
        return self.kinds[0]


class DangerListMissing(Exception):
    """A shipped language has no danger word list."""


class DangerListInvalid(ValueError):
    """A danger list line that cannot be read: the list must be fixed before start-up."""


# --- reading a text -----------------------------------------------------------------------

_CHAR_MAP = str.maketrans(
    {
        "\U0001f198": " sos ",  # the 🆘 emoji, as the bot's own button shows it
        "\u0640": "",  # Arabic tatweel
        "\u0649": "\u064a",  # ى → ي
        "\u0629": "\u0647",  # ة → ه
        "\u06cc": "\u064a",  # Persian ی → ي
        "\u06a9": "\u0643",  # Persian ک → ك
        "\u0671": "\u0627",  # ٱ → ا
        "\u0142": "l",  # ł
        "\u0131": "i",  # dotless ı
        "\u0491": "\u0433",  # ґ → г
        "\u0451": "\u0435",  # ё → е
        "\u00df": "ss",
        **{chr(0x0660 + digit): str(digit) for digit in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + digit): str(digit) for digit in range(10)},  # Persian digits
    }
)
_APOSTROPHES = "'\u2019\u02bc\u2018`\u00b4"
_ELISIONS = {"c", "d", "j", "l", "m", "n", "s", "t", "qu"}  # French: j'ai, l'école, qu'il
_LATIN_TO_CYRILLIC = dict(zip("aeopcxyikmthb", "аеорсхуікмтнв", strict=True))
_CYRILLIC_TO_LATIN = {cyrillic: latin for latin, cyrillic in _LATIN_TO_CYRILLIC.items()}
_RUN = re.compile(r"([^\W\d_])\1{2,}")
_DOUBLE = re.compile(r"([^\W\d_])\1+")
_PIECE = re.compile(r"\d+|[^\W\d_]+|[^\w\s]+|\s+")
# Punctuation that ends a clause (for negation and "&"); apostrophes are handled before.
# A bot command ("/help", "/start@wegwijzer_bot") is not words someone wrote: "/help" is no cry.
_COMMAND = re.compile(r"^\s*/\w+(@\w+)?")
_CLAUSE_END = set('.,;:!?()[]{}"«»“”„—–/\\|،؛؟…\n')


def _clean(text: str) -> str:
    """Casefolded, accents and invisible characters gone, letter variants unified."""
    kept = []
    for char in text:
        if char.isspace():
            kept.append("\n" if char in "\n\r\u2028\u2029" else " ")
        elif unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs"):
            continue  # zero-width, soft hyphen, bidi marks, controls: dropped, not spaces
        else:
            kept.append(char)
    decomposed = unicodedata.normalize("NFKD", "".join(kept).casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.translate(_CHAR_MAP)


def _lookalikes(word: str) -> str:
    """A Latin letter in a Cyrillic word read as Cyrillic, and the other way round."""
    latin = sum("a" <= char <= "z" for char in word)
    cyrillic = sum("\u0400" <= char <= "\u04ff" for char in word)
    if not latin or not cyrillic:
        return word
    table = _LATIN_TO_CYRILLIC if cyrillic >= latin else _CYRILLIC_TO_LATIN
    return "".join(table.get(char, char) for char in word)


def _tokens(text: str) -> Iterator[str | None]:
    """The words of a text, with None where a clause ends."""
    cleaned = _clean(text)

    # An apostrophe between letters: a French elision splits, anything else joins.
    def apostrophe(found: re.Match[str]) -> str:
        before = found.group(1)
        return f"{before} " if before in _ELISIONS else before

    joined = re.sub(rf"\b(\w+)[{_APOSTROPHES}](?=\w)", apostrophe, cleaned)
    for piece in _PIECE.findall(joined):
        if piece[0].isspace():
            if "\n" in piece:
                yield None
        elif piece[0].isalnum():
            yield _lookalikes(_RUN.sub(r"\1", piece))
        elif any(char in _CLAUSE_END for char in piece):
            yield None


def words_of(text: str) -> list[str]:
    """The normalised words of a text: 'Hij SLAAT mij!', 'hij sla\u00adat mij' and 'hij slaat
    mij' are the same words (see the module's docstring for everything that is folded)."""
    return [token for token in _tokens(text) if token is not None]


def _skeleton(word: str) -> str:
    return _DOUBLE.sub(r"\1", word)


@dataclass(frozen=True)
class _Text:
    words: tuple[str, ...]  # skeletons
    clauses: tuple[int, ...]  # each word's clause number
    shown: tuple[str, ...]  # as `words_of` gives them: what a match records

    @classmethod
    def of(cls, text: str) -> _Text:
        shown: list[str] = []
        clauses: list[int] = []
        clause = 0
        for token in _tokens(text):
            if token is None:
                clause += 1
            else:
                shown.append(token)
                clauses.append(clause)
        return cls(tuple(map(_skeleton, shown)), tuple(clauses), tuple(shown))


# --- patterns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    """One word of a pattern: a set of alternatives, a gap, an age or a lookahead."""

    exact: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    infixes: tuple[str, ...] = ()
    age: bool = False
    gap: bool = False
    lookahead_not: bool = False

    def accepts(self, word: str) -> bool:
        return (
            word in self.exact
            or (bool(self.prefixes) and word.startswith(self.prefixes))
            or (bool(self.suffixes) and word.endswith(self.suffixes))
            or any(infix in word for infix in self.infixes)
            or (self.age and word.isdigit() and int(word) in AGES)
        )


@dataclass
class _Negation:
    """One list's negation and clause words: they apply to that list's patterns only, for a
    word that negates in one language is an ordinary word in another (Dutch "nee" read as
    French "ne", Swahili "ni" as French "ni", Polish "no" as English "no")."""

    negations: _Item = field(default_factory=lambda: _Item())
    negations_after: _Item = field(default_factory=lambda: _Item())
    clause_words: _Item = field(default_factory=lambda: _Item())


@dataclass(frozen=True)
class _Pattern:
    source: str  # as written in the list
    kinds: tuple[AlarmKind, ...]
    parts: tuple[tuple[_Item, ...], ...]
    whole: bool = False  # the whole message
    # Its own list's negation words (filled in as the list is read).
    negation: _Negation = field(default_factory=_Negation, compare=False, hash=False)

    @property
    def negatable(self) -> bool:
        """Only words that name a state can be denied ("geen noodgeval", "not in danger"):
        a phrase of harm done or threatened is no less an alarm with a negation before it
        ("don't hurt me", "niet slaan!", "nie zabijaj mnie" are pleas). When in doubt, alarm."""
        return not self.whole and self.kinds == ("immediate_danger",)


def _match_part(part: tuple[_Item, ...], words: tuple[str, ...], start: int) -> int | None:
    """Where a part matching at `start` ends (exclusive), or None; gaps are tried shortest
    first."""

    def at(item_index: int, position: int) -> int | None:
        if item_index == len(part):
            return position
        item = part[item_index]
        if item.gap:
            for skip in range(GAP + 1):
                if position + skip > len(words):
                    break
                end = at(item_index + 1, position + skip)
                if end is not None:
                    return end
            return None
        if item.lookahead_not:
            if position < len(words) and item.accepts(words[position]):
                return None
            return at(item_index + 1, position)
        if position < len(words) and item.accepts(words[position]):
            return at(item_index + 1, position + 1)
        return None

    return at(0, start)


@dataclass
class _Rules:
    """Everything the lists say, indexed by a pattern part's first word."""

    patterns: list[_Pattern] = field(default_factory=list)
    idioms: list[_Pattern] = field(default_factory=list)


class _Index:
    """Pattern parts by their first word, so a text is read once, word by word."""

    def __init__(self, patterns: Iterable[_Pattern]):
        self.exact: dict[str, list[tuple[_Pattern, int]]] = {}
        self.prefixes: dict[str, list[tuple[_Pattern, int]]] = {}
        self.others: list[tuple[_Pattern, int]] = []  # suffix, infix or age first
        self.whole: list[_Pattern] = []
        for pattern in patterns:
            if pattern.whole:
                self.whole.append(pattern)
                continue
            for number, part in enumerate(pattern.parts):
                first = part[0]
                for word in first.exact:
                    self.exact.setdefault(word, []).append((pattern, number))
                for prefix in first.prefixes:
                    self.prefixes.setdefault(prefix, []).append((pattern, number))
                if first.suffixes or first.infixes or first.age:
                    self.others.append((pattern, number))
        self.longest_prefix = max(map(len, self.prefixes), default=0)
        # One quick test of a word against every "*suffix" and "*infix*" first item, so that
        # the few patterns starting with one are only tried on the words that may fit.
        firsts = [pattern.parts[number][0] for pattern, number in self.others]
        self._suffixes = tuple(suffix for item in firsts for suffix in item.suffixes)
        infixes = sorted({infix for item in firsts for infix in item.infixes})
        self._infix = re.compile("|".join(map(re.escape, infixes))) if infixes else None
        self._ages = any(item.age for item in firsts)

    def candidates(self, word: str) -> Iterator[tuple[_Pattern, int]]:
        yield from self.exact.get(word, ())
        for length in range(1, min(len(word), self.longest_prefix) + 1):
            yield from self.prefixes.get(word[:length], ())
        if not (
            (self._ages and word.isdigit())
            or (self._suffixes and word.endswith(self._suffixes))
            or (self._infix is not None and self._infix.search(word))
        ):
            return
        for pattern, number in self.others:
            if pattern.parts[number][0].accepts(word):
                yield pattern, number

    def matches(self, text: _Text) -> Iterator[tuple[_Pattern, int, int]]:
        """Every (pattern, start, end) in the text; `&` patterns span all their parts."""
        words = text.words
        # "= help": the whole message, a word repeated counting once ("help help help").
        deduplicated = tuple(w for n, w in enumerate(words) if n == 0 or words[n - 1] != w)
        if len(deduplicated) <= WHOLE_MESSAGE_WORDS:
            for pattern in self.whole:
                if _match_part(pattern.parts[0], deduplicated, 0) == len(deduplicated):
                    yield pattern, 0, len(words)
        for start, word in enumerate(words):
            for pattern, number in self.candidates(word):
                end = _match_part(pattern.parts[number], words, start)
                if end is None:
                    continue
                if len(pattern.parts) == 1:
                    yield pattern, start, end
                    continue
                span = _others_nearby(pattern, number, text, start, end)
                if span is not None:
                    yield pattern, *span


def _others_nearby(
    pattern: _Pattern, found: int, text: _Text, start: int, end: int
) -> tuple[int, int] | None:
    """The span of an `&` pattern whose part `found` is at start..end, when its other parts
    are in the same clause, near it."""
    clause = text.clauses[start]
    low, high = max(0, start - TOGETHER), min(len(text.words), end + TOGETHER)
    first, last = start, end
    for number, part in enumerate(pattern.parts):
        if number == found:
            continue
        for position in range(low, high):
            if text.clauses[position] != clause:
                continue
            other_end = _match_part(part, text.words, position)
            if other_end is not None and (other_end <= start or position >= end):
                first, last = min(first, position), max(last, other_end)
                break
        else:
            return None
    return first, last


def _item(token: str, sets: dict[str, list[str]], where: str) -> _Item:
    if token == "..":
        return _Item(gap=True)
    lookahead = token.startswith("!")
    alternatives: list[str] = []
    for alternative in token.lstrip("!").split("|"):
        if alternative.startswith("@"):
            if alternative[1:] not in sets:
                raise DangerListInvalid(f"{where}: no set {alternative} in this file")
            alternatives.extend(sets[alternative[1:]])
        elif alternative:
            alternatives.append(alternative)
        else:
            raise DangerListInvalid(f"{where}: an empty alternative in {token!r}")
    exact, prefixes, suffixes, infixes, age = set(), [], [], [], False
    for alternative in alternatives:
        if alternative == "%age":
            age = True
            continue
        core = "".join(words_of(alternative.strip("*")))
        if not core or len(words_of(alternative.strip("*"))) != 1:
            raise DangerListInvalid(f"{where}: {alternative!r} is not one word")
        core = _skeleton(core)
        if alternative.startswith("*") and alternative.endswith("*") and len(alternative) > 1:
            infixes.append(core)
        elif alternative.startswith("*"):
            suffixes.append(core)
        elif alternative.endswith("*"):
            prefixes.append(core)
        else:
            exact.add(core)
    return _Item(
        frozenset(exact), tuple(prefixes), tuple(suffixes), tuple(infixes), age, False, lookahead
    )


def _split_tokens(line: str) -> list[str]:
    """A pattern's words; spaces around "|" do not split ("mij | me")."""
    return re.sub(r"\s*\|\s*", "|", line).split()


def _read(path: Path, rules: _Rules) -> None:
    lines = [raw.split("#", 1)[0].strip() for raw in path.read_text("utf-8").splitlines()]
    sets: dict[str, list[str]] = {}  # a file's sets, wherever in it they are defined
    for line in lines:
        if re.match(r"@\w+\s*=", line):
            name, _, values = line[1:].partition("=")
            sets[name.strip()] = [
                value for token in _split_tokens(values) for value in token.split("|") if value
            ]
    section: str | tuple[AlarmKind, ...] | None = None
    negation = _Negation()
    for number, line in enumerate(lines, 1):
        where = f"{path}:{number}"
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            names = [name.strip() for name in line[1:-1].split(",")]
            if len(names) == 1 and names[0] in _SECTIONS:
                section = names[0]
            elif all(name in ALARM_KINDS for name in names):
                section = tuple(kind for kind in ALARM_KINDS if kind in names)
            else:
                raise DangerListInvalid(f"{where}: unknown section {line}")
            continue
        if re.match(r"@\w+\s*=", line):
            continue
        if section is None:
            raise DangerListInvalid(f"{where}: a pattern before any [section]")
        if section in ("negation", "negation_after", "clause"):
            item = _item("|".join(_split_tokens(line)), sets, where)
            target = {"negation": "negations", "negation_after": "negations_after"}.get(
                section, "clause_words"
            )
            setattr(negation, target, _merge(getattr(negation, target), item))
            continue
        if re.search(r"\s\||\|\s", line):
            # "a b | c d" would read as "a b|c d": one line per phrase, "a|b" for one word.
            raise DangerListInvalid(f"{where}: no spaces around | in a pattern: {line!r}")
        whole = line.startswith("=")
        body = line.lstrip("=").strip()
        parts = tuple(
            tuple(_item(token, sets, where) for token in _split_tokens(part))
            for part in body.split(" & ")
        )
        for part in parts:
            if not part or part[0].gap or part[0].lookahead_not:
                raise DangerListInvalid(f"{where}: a pattern starts with a word")
        kinds: tuple[AlarmKind, ...] = () if section == "everyday" else section  # type: ignore[assignment]
        pattern = _Pattern(" ".join(body.split()), kinds, parts, whole, negation)
        (rules.idioms if section == "everyday" else rules.patterns).append(pattern)


def _merge(one: _Item, other: _Item) -> _Item:
    return _Item(
        one.exact | other.exact,
        one.prefixes + other.prefixes,
        one.suffixes + other.suffixes,
        one.infixes + other.infixes,
        one.age or other.age,
    )


@dataclass(frozen=True)
class DangerWords:
    """The patterns of every list together: a family may well write in Dutch when they chose
    Arabic, and a missed alarm costs more than a needless one."""

    rules: _Rules
    index: _Index
    idioms: _Index
    lists: tuple[str, ...] = ()  # the languages whose lists were read

    @classmethod
    def load(cls, locales_dir: Path, languages: Iterable[str]) -> DangerWords:
        """Every `<locales_dir>/*/danger_words.txt`; each of `languages` must have one."""
        locales_dir = Path(locales_dir)
        for language in languages:
            path = locales_dir / language / DANGER_FILE
            if not path.exists():
                raise DangerListMissing(f"{path} is missing: every shipped language needs one")
        rules = _Rules()
        paths = sorted(locales_dir.glob(f"*/{DANGER_FILE}"))
        for path in paths:
            _read(path, rules)
        return cls(
            rules,
            _Index(rules.patterns),
            _Index(rules.idioms),
            tuple(path.parent.name for path in paths),
        )

    @property
    def phrases(self) -> frozenset[str]:
        """Every pattern, as written in the lists."""
        return frozenset(pattern.source for pattern in self.rules.patterns)

    def find(self, text: str) -> DangerMatch | None:
        """The danger a text signals, or None: the phrase of the most urgent kind found first,
        and every kind found, most urgent first."""
        read = _Text.of(_COMMAND.sub("", text, count=1))
        if not read.words:
            return None
        idioms = [(start, end) for _, start, end in self.idioms.matches(read)]
        found: dict[AlarmKind, str] = {}
        for pattern, start, end in self.index.matches(read):
            if all(kind in found for kind in pattern.kinds):
                continue
            if any(start < idiom_end and idiom_start < end for idiom_start, idiom_end in idioms):
                continue
            if pattern.negatable and _negated(pattern.negation, read, start, end):
                continue
            for kind in pattern.kinds:
                found.setdefault(kind, " ".join(read.shown[start:end]))
        if not found:
            return None
        kinds = tuple(kind for kind in ALARM_KINDS if kind in found)
        return DangerMatch(found[kinds[0]], kinds)


def _negated(rules: _Negation, text: _Text, start: int, end: int) -> bool:
    """A negation word of the phrase's own list directly before the phrase (its clause, no
    clause word between), or right after it."""
    clause = text.clauses[start]
    if any(rules.negations.accepts(word) for word in text.words[start:end]):
        # The phrase is itself negative ("niet veilig"); a negation before it is its other
        # half ("je ne me sens pas en sécurité", "ik ben niet meer veilig").
        return False
    for position in range(start - 1, max(-1, start - 1 - NEGATION_REACH), -1):
        word = text.words[position]
        if text.clauses[position] != clause or rules.clause_words.accepts(word):
            break
        if rules.negations.accepts(word):
            return True
    if end < len(text.words) and text.clauses[end] == text.clauses[end - 1]:
        return rules.negations_after.accepts(text.words[end])
    return False
