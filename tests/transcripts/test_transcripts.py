"""Every golden conversation in tests/transcripts, played again and compared line by line.

The scenarios are the files (see harness.py): no Python per flow or scenario. A scenario
marked `same_in_every_language` is typed by option numbers in every shipped language and must
store the same answers, scores, flags and case changes in each — only the words differ.

After an intended change: `pytest tests/transcripts --update-goldens`, then review
`git diff tests/transcripts` line by line before committing. With `--update-goldens` a
`same_in_every_language` scenario missing in a language (a language just added) is written
from the lines of another language's file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import Assets
from tests.conftest import shipped_assets

from .harness import Scenario, play, stored_part

HERE = Path(__file__).parent
GOLDENS = sorted(HERE.glob("*/*/*.txt"))
LANGUAGES = shipped_assets().catalogs.languages
# Scenarios every shipped language has: (flow, scenario) → one of their files.
EVERYWHERE = {
    (path.parent.parent.name, path.stem): path
    for path in GOLDENS
    if Scenario.read(path).same_in_every_language
}


def _name(path: Path) -> str:
    return str(path.relative_to(HERE).with_suffix(""))


@pytest.mark.parametrize("golden", GOLDENS, ids=_name)
async def test_transcript(
    golden: Path, tmp_path: Path, assets: Assets, update_goldens: bool
) -> None:
    scenario = Scenario.read(golden)
    transcript = await play(scenario, tmp_path, assets)
    if update_goldens:
        golden.write_text(transcript, encoding="utf-8")
    assert transcript == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("flow_and_scenario", sorted(EVERYWHERE), ids="/".join)
async def test_every_language_stores_the_same(
    flow_and_scenario: tuple[str, str], tmp_path: Path, assets: Assets, update_goldens: bool
) -> None:
    source = Scenario.read(EVERYWHERE[flow_and_scenario])
    for language in LANGUAGES:
        wanted = source.in_language(language)
        if not wanted.path.exists():
            assert update_goldens, f"{_name(wanted.path)} is missing: run with --update-goldens"
            wanted.path.parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / language).mkdir()
            wanted.path.write_text(await play(wanted, tmp_path / language, assets), "utf-8")
    stored = {language: stored_part(source.in_language(language).path) for language in LANGUAGES}
    assert len(set(stored.values())) == 1, sorted(stored)


def test_every_golden_is_a_scenario_in_a_shipped_language() -> None:
    assert GOLDENS, "no golden transcripts found"
    for golden in GOLDENS:
        scenario = Scenario.read(golden)
        assert scenario.language in LANGUAGES, golden
        assert all(session.typed for session in scenario.sessions), golden
