"""privacy.yaml's terms as the bot reads them: the term of processed update keys is held to
2 to 7 days, where an update is neither handled twice nor a new one ignored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.rules.privacy import UPDATE_TERM_DAYS, PrivacyError, PrivacyPolicy
from bot.telegram._inbox import MAX_AGE

SHIPPED = PROJECT_ROOT / "privacy.yaml"


def policy_with(tmp_path: Path, term: str) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert "processed_updates: 2 days" in text
    path = tmp_path / "privacy.yaml"
    path.write_text(text.replace("processed_updates: 2 days", f"processed_updates: {term}"))
    return path


@pytest.mark.parametrize("term", ["2 days", "5 days", "7 days", "1 week"])
def test_an_update_term_of_two_to_seven_days_is_taken(tmp_path: Path, term: str) -> None:
    policy = PrivacyPolicy.load(policy_with(tmp_path, term))
    assert str(policy.retention.processed_updates) == term


@pytest.mark.parametrize(
    ("term", "reason"),
    [
        ("1 day", "handled twice"),
        ("8 days", "ignored"),
        ("2 weeks", "ignored"),
        ("1 month", "ignored"),
        ("1 year", "ignored"),
    ],
)
def test_an_update_term_outside_two_to_seven_days_is_refused(
    tmp_path: Path, term: str, reason: str
) -> None:
    path = policy_with(tmp_path, term)
    with pytest.raises(PrivacyError) as refused:
        PrivacyPolicy.load(path)
    message = str(refused.value)
    assert message.startswith(f"{path}:")
    assert f"processed_updates is {term}" in message and "2 to 7 days" in message
    assert reason in message


def test_the_shortest_term_outlasts_the_inbox_replay() -> None:
    # An update the inbox replays after a crash must still find its key on record.
    assert timedelta(days=UPDATE_TERM_DAYS[0]) > MAX_AGE
