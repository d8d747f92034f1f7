"""The danger lists against the corpora, as `wegwijzer i18n danger-check` reports them: every
language catches at least 95 % of its distress messages and alarms on at most 2 % of its
everyday ones, or the build fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.i18n.danger import DangerWords
from bot.i18n.danger_check import MAX_FALSE_ALARMS, MIN_CAUGHT, check, corpora, read_corpus

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / "tests" / "i18n" / "danger_corpus"
SHIPPED = ("nl", "en", "ar", "tr", "pl", "uk", "fr", "sw")


@pytest.fixture(scope="module")
def danger() -> DangerWords:
    return DangerWords.load(ROOT / "locales", SHIPPED)


def test_every_list_has_a_corpus_of_the_agreed_size_marked_draft() -> None:
    found = {corpus.language: corpus for corpus in corpora(CORPORA)}
    assert set(found) == {*SHIPPED, "ru"}
    for language, corpus in found.items():
        assert len(corpus.distress) >= 60, language
        assert len(corpus.everyday) >= 80, language
        head = (CORPORA / f"{language}.txt").read_text("utf-8")[:400]
        assert "DRAFT, AWAITING REVIEW BY A NATIVE SPEAKER" in head, language
        kinds = {kind for _, expected in corpus.distress for kind in expected}
        assert kinds == {"immediate_danger", "violence_at_home", "self_harm", "child_speaking"}


@pytest.mark.parametrize("language", [*SHIPPED, "ru"])
def test_the_corpus_meets_the_target(danger: DangerWords, language: str) -> None:
    result = check(danger, read_corpus(CORPORA / f"{language}.txt"))
    assert result.caught >= MIN_CAUGHT, f"missed: {result.misses}"
    assert result.false_alarm_rate <= MAX_FALSE_ALARMS, f"false alarms: {result.false_alarms}"
    assert not result.kind_misses, f"kinds: {result.kind_misses}"


def test_the_command_prints_the_figures_and_fails_on_a_missed_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["i18n", "danger-check"]) == 0
    printed = capsys.readouterr().out
    assert "ru " in printed and "met" in printed and "MISSED" not in printed

    (tmp_path / "en.txt").write_text(
        "[distress]\nhe hits me\nthe weather is nice\n[everyday]\nhelp\nhello\n", "utf-8"
    )
    assert main(["i18n", "danger-check", "--corpus", str(tmp_path)]) == 1
    printed = capsys.readouterr().out
    assert "missed:       the weather is nice" in printed
    assert "false alarm:  help" in printed
    assert main(["i18n", "danger-check", "--corpus", str(tmp_path / "none")]) == 2
