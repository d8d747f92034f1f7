"""Danger phrases match on whole words, whatever the case, accents or punctuation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n.danger import DangerListMissing, DangerWords, words_of

LOCALES = Path(__file__).resolve().parents[2] / "locales"
SHIPPED = ("nl", "en", "ar", "tr", "pl", "uk", "fr", "sw")


def lists(tmp_path: Path, **by_language: str) -> DangerWords:
    for language, content in by_language.items():
        (tmp_path / language).mkdir()
        (tmp_path / language / "danger_words.txt").write_text(content, encoding="utf-8")
    return DangerWords.load(tmp_path, by_language)


def test_phrases_match_whole_words_case_and_accent_insensitively(tmp_path: Path) -> None:
    danger = lists(tmp_path, nl="# geweld\nhij slaat mij\nin gevaar\n", fr="je suis en danger\n")
    assert danger.find("Help, HIJ slaat   mij!!").phrase == "hij slaat mij"
    assert danger.find("We zijn in Gevaar.").phrase == "in gevaar"
    assert danger.find("Je suis en dânger").phrase == "je suis en danger"  # accents do not matter
    assert danger.find("hij slaat mijn bal weg") is None  # "mijn" is not "mij"
    assert danger.find("ongevaarlijk") is None  # no match inside a word
    assert danger.find("") is None


def test_arabic_diacritics_are_ignored() -> None:
    assert words_of("أَنَا فِي خَطَر") == words_of("انا في خطر") == ["انا", "في", "خطر"]


def test_every_shipped_language_has_a_list_and_a_missing_one_stops_start_up(tmp_path: Path):
    loaded = DangerWords.load(LOCALES, SHIPPED)
    assert len(loaded.phrases) >= 8 * 10
    with pytest.raises(DangerListMissing, match=r"danger_words\.txt"):
        DangerWords.load(tmp_path, ["nl"])


@pytest.mark.parametrize("language", SHIPPED)
def test_no_list_contains_words_of_ordinary_use(language: str) -> None:
    """A false alarm costs a coordinator's hour: no bare 'help', numbers or yes/no."""
    phrases = DangerWords.load(LOCALES, [language]).phrases
    too_common = {("help",), ("hulp",), ("yes",), ("no",), ("ja",), ("nee",), ("1",), ("2",)}
    assert not phrases & too_common
