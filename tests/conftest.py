"""Shared test switches and builders."""

from __future__ import annotations

import os

import pytest

# python-telegram-bot 22 warns (an error here) each time it builds a RetryAfter unless told to
# use timedelta values, which is what v23 will do anyway; the rate-limit tests need RetryAfter.
os.environ.setdefault("PTB_TIMEDELTA", "true")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite golden transcripts from the current behaviour (review the diff!)",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))
