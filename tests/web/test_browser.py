"""The web view in a real browser (headless Chromium, Debian's `chromium` and
`chromium-driver`; `.ci/run` installs them when missing, and without them this test is
skipped with the reason): a coordinator asks the bot for a link, signs in, filters the queue,
acknowledges and resolves a flag, and the bot's `/flags` shows the change; a caseworker opens
their case's page (its WHO-5 chart and timeline) and is refused another's.

Screenshots of the queue, of a flag and of a case are saved and checked to be real images;
with UPDATE_SCREENSHOTS=1 they are also written to docs/ for the README (web-flags.png,
web-flag.png, web-flags-phone.png, web-case.png), so an ordinary test run leaves the
checkout as it was.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.app import Wegwijzer
from bot.config import PROJECT_ROOT, Settings
from bot.conversation import Conversation
from bot.services import flags as flag_service
from tests.conversation.test_pipeline import send
from tests.flows import CHECKIN_FLOW
from tests.world import CASE_A, CASE_B, Clock, World, checkin, external_id, flag_row

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PNG = b"\x89PNG\r\n\x1a\n"
T = TypeVar("T")

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - the test extra installs it
    webdriver = None

pytestmark = pytest.mark.skipif(
    webdriver is None or not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason=f"needs selenium and Debian's chromium and chromium-driver ({CHROMIUM}, "
    f"{CHROMEDRIVER}): apt-get install chromium chromium-driver",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PORT = free_port()
BASE = f"http://127.0.0.1:{PORT}"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A browser on this machine over http: the one place the cookie may go without Secure.
    return replace(settings, web_base_url=BASE, web_cookie_secure=False)


@pytest.fixture
async def server(app: Wegwijzer) -> AsyncIterator[str]:
    """The web view served by uvicorn in the test's event loop (the browser is driven from a
    thread, so the loop stays free to answer it)."""
    import uvicorn

    from bot.web import create_app

    config = uvicorn.Config(
        create_app(app), host="127.0.0.1", port=PORT, log_config=None, access_log=False
    )
    served = uvicorn.Server(config)
    task = asyncio.create_task(served.serve())
    while not served.started:
        assert not task.done(), "the web view did not start"
        await asyncio.sleep(0.02)
    yield BASE
    served.should_exit = True
    await task


@pytest.fixture
def browser() -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--lang=en",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


async def in_browser(work: Callable[[], T]) -> T:
    return await asyncio.to_thread(work)


def click_and_wait(driver: Any, by: str, what: str) -> None:
    """Press a button or link that loads another page, and wait until the page it left is
    gone (reading the old page's elements after that fails as stale)."""
    old = driver.find_element(By.TAG_NAME, "main")
    driver.find_element(by, what).click()
    WebDriverWait(driver, 20).until(lambda _driver: _gone(old))


def _gone(element: Any) -> bool:
    """Whether an element's page was left. Chromium says so as a stale element, or, when the
    question comes while the old document is being replaced, as an inspector error that the
    node "does not belong to the document" (`staleness_of` took that for a failure)."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def screenshot(driver: Any, folder: Path, name: str) -> Path:
    path = folder / name
    driver.save_screenshot(str(path))
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000, (name, len(data))
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(path, PROJECT_ROOT / "docs" / name)
    return path


async def flag(app: Wegwijzer, case_id: int, rule: str, level: str) -> int:
    """A flag of the check-in's rule, with that rule's reason and the answer behind it."""
    flow = app.flows.get(CHECKIN_FLOW)
    (found,) = [each for each in flow.flags if each.id == rule]
    evidence = {
        "child_unsafe_at_home": {"children.safe_at_home": "no"},
        "very_low_wellbeing": {"who5_raw": 6},
        "children_basic_needs": {"children.food": "often_not"},
        "message_for_caseworker": {},
    }[rule]
    async with app.database.transaction() as uow:
        raised, _ = await flag_service.raise_or_repeat(
            app,
            uow,
            by=None,
            case_id=case_id,
            run_id=None,
            flow_id=CHECKIN_FLOW,
            flow_version=flow.version,
            rule=rule,
            level=level,
            reason=found.reason,
            evidence=evidence,
            now=app.clock(),
        )
        return raised.id


async def test_a_coordinator_reviews_flags_in_the_browser_and_the_bot_sees_it(
    world: World, server: str, browser: Any, tmp_path: Path, clock: Clock
) -> None:
    app = world.app
    urgent = await flag(app, world.case_a, "child_unsafe_at_home", "urgent")
    clock.advance(hours=3)  # the urgent flag is overdue by now
    high = await flag(app, world.case_b, "very_low_wellbeing", "high")
    medium = await flag(app, world.case_a, "children_basic_needs", "medium")
    await flag(app, world.case_b, "message_for_caseworker", "low")
    conversation = Conversation(app)
    coordinator = await external_id(app, world.coordinator)
    said = (await send(conversation, coordinator, "/web")).text()
    link = re.search(re.escape(server) + r"/login/\S+", said)
    assert link is not None, said

    def refused_from_another_origin() -> str:
        # The same server under another name is another site to the browser: its Origin
        # header (real, under `Referrer-Policy: same-origin`) refuses the sign-in form.
        browser.get(link[0].replace("127.0.0.1", "localhost", 1))
        click_and_wait(browser, By.CSS_SELECTOR, "button[type=submit]")
        return str(browser.current_url)

    assert "/login/" in await in_browser(refused_from_another_origin)
    assert "Probeer het opnieuw" in browser.title  # the refusal, in the default language

    def sign_in() -> str:
        browser.get(link[0])
        click_and_wait(browser, By.CSS_SELECTOR, "button[type=submit]")
        assert browser.current_url == f"{server}/flags", browser.page_source
        return browser.page_source

    queue = await in_browser(sign_in)
    assert all(f'id="flag-{flag}"' in queue for flag in (urgent, high, medium))
    await in_browser(lambda: screenshot(browser, tmp_path, "web-flags.png"))

    def filter_urgent() -> list[str]:
        Select(browser.find_element(By.ID, "f-level")).select_by_value("urgent")
        browser.find_element(By.ID, "f-case").send_keys(CASE_A)
        click_and_wait(browser, By.ID, "apply")
        assert "level=urgent" in browser.current_url
        rows = browser.find_elements(By.CSS_SELECTOR, "table.queue tbody a")
        return [row.text for row in rows]

    assert await in_browser(filter_urgent) == [f"#{urgent}"]

    def acknowledge() -> str:
        click_and_wait(browser, By.ID, f"flag-{urgent}")
        click_and_wait(browser, By.ID, "acknowledge")
        assert browser.find_element(By.ID, "done").is_displayed()
        return browser.find_element(By.ID, "status").text

    assert await in_browser(acknowledge) == "acknowledged"
    assert (await flag_row(app, urgent)).status == "acknowledged"
    # The bot shows the acknowledgement at once.
    assert (
        "Status: acknowledged" in (await send(conversation, coordinator, f"/flag {urgent}")).text()
    )
    await in_browser(lambda: screenshot(browser, tmp_path, "web-flag.png"))

    def resolve() -> str:
        browser.find_element(By.ID, "resolution").send_keys(
            "Visited the family; safety plan agreed."
        )
        click_and_wait(browser, By.ID, "resolve")
        assert "done=resolved" in browser.current_url
        return browser.find_element(By.ID, "status").text

    assert await in_browser(resolve) == "resolved"
    flags_in_bot = (await send(conversation, coordinator, "/flags")).text()
    assert f"#{urgent} " not in flags_in_bot and f"#{high} " in flags_in_bot
    assert CASE_B in flags_in_bot

    def keyboard_and_language() -> tuple[str, str]:
        # The skip link is the first thing a keyboard reaches.
        browser.get(f"{server}/flags")
        active = browser.switch_to.active_element
        active.send_keys("\t")
        first = browser.switch_to.active_element.get_attribute("class") or ""
        Select(browser.find_element(By.ID, "language")).select_by_value("nl")
        click_and_wait(browser, By.CSS_SELECTOR, "form[action='/language'] button")
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
        return first, browser.find_element(By.TAG_NAME, "h1").text

    skip, heading = await in_browser(keyboard_and_language)
    assert skip == "skip" and heading == "Signalen"

    def on_a_phone() -> tuple[int, int]:
        browser.set_window_size(390, 844)
        browser.get(f"{server}/flags")
        screenshot(browser, tmp_path, "web-flags-phone.png")
        widths = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth];"
        )
        return int(widths[0]), int(widths[1])

    # Nothing wider than the phone's screen: the queue's rows are cards there.
    page_width, screen_width = await in_browser(on_a_phone)
    assert page_width <= screen_width


async def test_a_caseworker_opens_their_case_s_page_and_not_another_s(
    world: World, server: str, browser: Any, tmp_path: Path, clock: Clock
) -> None:
    app = world.app
    for who5 in ((3, 3, 3, 3, 3), (2, 2, 2, 2, 2), (3, 4, 3, 4, 3), (4, 4, 4, 3, 4)):
        clock.advance(days=7)
        await checkin(app, world.family, who5=who5)
    await flag(app, world.case_a, "children_basic_needs", "medium")
    conversation = Conversation(app)
    caseworker = await external_id(app, world.caseworker)
    said = (await send(conversation, caseworker, "/web")).text()
    link = re.search(re.escape(server) + r"/login/\S+", said)
    assert link is not None, said

    def open_own_case() -> tuple[str, int, int]:
        browser.set_window_size(1280, 1300)
        browser.get(link[0])
        click_and_wait(browser, By.CSS_SELECTOR, "button[type=submit]")
        browser.get(f"{server}/cases")
        click_and_wait(browser, By.ID, f"case-{CASE_A}")
        chart = browser.find_element(By.ID, "who5-chart")
        points = chart.find_elements(By.CSS_SELECTOR, "circle.who5-point")
        entries = browser.find_elements(By.CSS_SELECTOR, "#timeline li")
        return browser.find_element(By.TAG_NAME, "h1").text, len(points), len(entries)

    heading, points, entries = await in_browser(open_own_case)
    assert heading.startswith(f"Case {CASE_A}")
    assert points == 4 and entries >= 5  # four check-ins and the flag, at least
    shot = await in_browser(lambda: screenshot(browser, tmp_path, "web-case.png"))
    assert shot.stat().st_size > 10_000

    def open_another_s() -> str:
        browser.get(f"{server}/cases/{CASE_B}")
        return browser.find_element(By.TAG_NAME, "main").text

    refused = await in_browser(open_another_s)
    assert f"Case {CASE_B} is not one of your cases." in refused
    assert "Timeline" not in refused

    def on_a_phone() -> tuple[int, int]:
        browser.set_window_size(390, 844)
        browser.get(f"{server}/cases/{CASE_A}")
        widths = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth];"
        )
        return int(widths[0]), int(widths[1])

    # Nothing wider than the phone's screen: wide tables scroll within their own box.
    page_width, screen_width = await in_browser(on_a_phone)
    assert page_width <= screen_width
