"""The wallboard in a real headless Chromium (Debian's, driven by Playwright) against the
running bridge: after scripted traffic it shows the right numbers, and the figures change live.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bridge.settings import Role
from tests.bridge.test_monitoring_service import (
    QUEUE,
    TOKENS,
    Bridge,
    ami_server,  # noqa: F401  (fixture)
    bridge,  # noqa: F401  (fixture)
    play,
    script,
)
from tests.bridge.test_monitoring_traffic import Caller, ScriptedAMI

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = "/tmp/hotline-wallboard.png"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def open_wallboard(browser: Browser, running: Bridge, token: str | None) -> Page:
    page = await browser.new_page(viewport={"width": 1920, "height": 1080})
    query = f"?token={token}" if token else ""
    await page.goto(str(running.http.make_url(f"/wallboard{query}")))
    return page


async def test_wallboard_shows_the_scripted_figures(
    browser: Browser,
    bridge: Bridge,  # noqa: F811
    ami_server: ScriptedAMI,  # noqa: F811
) -> None:
    await play(bridge, ami_server, script())
    waiting = Caller("live-1", QUEUE)
    await play(bridge, ami_server, waiting.join())
    page = await open_wallboard(browser, bridge, TOKENS[Role.MONITOR][1])
    row = page.locator(f'tr[data-queue="{QUEUE}"]')
    await expect(row.locator("td.early-rate")).to_contain_text("30.0%")
    await expect(row.locator("td.early-rate")).to_contain_text("3 / 10")
    await expect(row.locator("td.service-level")).to_have_text("50.0%")
    await expect(row.locator("td.waiting")).to_have_text("1")
    await expect(row).to_have_class("alert")  # 30 % is over the 5 % target: shown red
    await expect(page.locator("#callbacks")).to_have_text("2")
    await expect(page.locator("#total-early")).to_have_text("3")
    await expect(row.locator("td.name")).to_contain_text("济宁市公安局110报警服务台")
    assert await row.locator("svg.spark polyline").count() == 2
    await expect(page.locator("#overflow")).to_be_hidden()  # no overflow controller installed
    await page.screenshot(path=SCREENSHOT, full_page=True)

    # Live: the caller hangs up; the next poll shows it without reloading the page.
    await play(bridge, ami_server, waiting.early_release(20))
    await expect(row.locator("td.waiting")).to_have_text("0")
    await expect(row.locator("td.early-rate")).to_contain_text("4 / 11")
    await expect(page.locator("#callbacks")).to_have_text("3")


async def test_wallboard_without_a_token_says_the_data_is_unavailable(
    browser: Browser,
    bridge: Bridge,  # noqa: F811
) -> None:
    page = await open_wallboard(browser, bridge, None)  # config does not open it
    await expect(page.locator("#status")).to_contain_text("HTTP 404")
    page = await open_wallboard(browser, bridge, "not-a-token-at-all-0000")
    await expect(page.locator("#status")).to_contain_text("HTTP 401")
