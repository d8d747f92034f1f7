"""The coordinators' overview in a real browser (headless Chromium, as `test_browser`; skipped
with the reason without it): a coordinator signs in through a link, opens the overview,
chooses a period with the keyboard, follows a figure to the flags behind it, and the page
fits a phone's screen.

A screenshot of the overview is saved and checked to be a real image; with
UPDATE_SCREENSHOTS=1 it is also written to docs/web-overview.png for the README.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.services import flags, web_login
from tests.world import Clock, World

from . import test_browser as shared
from .test_browser import click_and_wait, flag, in_browser, screenshot

pytest.importorskip("selenium")
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

# The browser, the server and their settings, as the other browser test has them.
pytestmark = shared.pytestmark
settings = shared.settings
server = shared.server
browser = shared.browser


async def test_a_coordinator_reads_the_overview_and_follows_a_figure(
    world: World, server: str, browser: Any, tmp_path: Path, clock: Clock
) -> None:
    app = world.app
    older = await flag(app, world.case_a, "very_low_wellbeing", "high")
    handled = await flag(app, world.case_b, "children_basic_needs", "medium")
    clock.advance(hours=5)
    await flags.acknowledge(app, world.coordinator, handled)
    clock.advance(days=2)
    await flags.resolve(app, world.coordinator, handled, "Food parcel arranged.")
    await flag(app, world.case_b, "child_unsafe_at_home", "urgent")
    await flag(app, world.case_a, "children_basic_needs", "medium")
    clock.advance(hours=3)
    issued = await web_login.issue_link(app, world.coordinator)
    link = f"{server}/login/{issued.token}"

    def open_overview() -> str:
        browser.set_window_size(1280, 2000)
        browser.get(link)
        click_and_wait(browser, By.CSS_SELECTOR, "button[type=submit]")
        click_and_wait(browser, By.CSS_SELECTOR, "nav a[href='/overview']")
        assert browser.current_url == f"{server}/overview", browser.page_source
        screenshot(browser, tmp_path, "web-overview.png")
        return browser.find_element(By.TAG_NAME, "h1").text

    assert await in_browser(open_overview) == "Overview"

    def choose_a_period_by_keyboard() -> str:
        field = browser.find_element(By.ID, "p-from")
        # A date field takes its digits in the locale's order; typing them all and Enter
        # submits the form (a keyboard's way), whatever that order is.
        field.send_keys("01012026")
        old = browser.find_element(By.TAG_NAME, "main")
        browser.find_element(By.ID, "p-to").send_keys(Keys.ENTER)
        WebDriverWait(browser, 20).until(seen.staleness_of(old))
        return str(browser.current_url)

    assert "from=" in await in_browser(choose_a_period_by_keyboard)

    def follow_the_high_flags() -> list[str]:
        click_and_wait(browser, By.CSS_SELECTOR, "#open-flags-table a[href='/flags?level=high']")
        rows = browser.find_elements(By.CSS_SELECTOR, "table.queue tbody a")
        return [row.text for row in rows]

    assert await in_browser(follow_the_high_flags) == [f"#{older}"]

    def on_a_phone() -> tuple[int, int]:
        browser.set_window_size(390, 844)
        browser.get(f"{server}/overview")
        widths = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth];"
        )
        return int(widths[0]), int(widths[1])

    # The wide tables scroll in their own regions: the page itself fits the phone.
    page_width, screen_width = await in_browser(on_a_phone)
    assert page_width <= screen_width
