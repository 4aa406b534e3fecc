"""The wallboard's worst case fits one wall screen: all 13 queues and the 12 aid queues red and
busy, every 110 centre (the city's and each county's) supported at once with its lenders, and
more overflow actions than the board lists — at 1920×1080 and at 1280×720, in a real headless
Chromium: no scrolling, every queue's figures and red figures on screen, every supported centre
marked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, expect

from bridge.monitoring.config import MonitoringConfig
from bridge.monitoring.monitor import QueueMonitor
from bridge.overflow.audit import AuditEntry
from bridge.overflow.controller import OverflowController
from routing.overflow import Loan, OverflowState, Support
from telephony.ami.events import to_event
from telephony.ami.parser import AMIParser
from tests.bridge.test_monitoring_traffic import Caller
from tests.bridge.test_wallboard_browser import browser  # noqa: F401  (fixture)
from tests.bridge.test_wallboard_overflow import (
    TOKEN,
    jining_directory,
    scripted_controller,
    serve,
)

NOW = 1_800_000_000.0
WAITED = 600  # the callers still waiting joined ten minutes ago: "10分00秒", the widest figure
SCREENS = [(1920, 1080), (1280, 720)]
SCREENSHOT = "/tmp/hotline-wallboard-worst-{width}.png"


def supported_everywhere(controller: OverflowController) -> OverflowState:
    """Every centre, the city's and each county's, supported and routed at once; each of its
    neighbours (the counties for the city) lends it three seats: the longest lender lists."""
    centres = controller.config.centres
    counties = [c.code for c in centres if c.level == "county"]
    loans = frozenset(
        Loan(f"PJSIP/{donor[-3:]}-{seat}-{c.code}", donor, c.code, c.aid_queue, 1)
        for c in centres
        for donor in c.neighbours or counties
        for seat in range(3)
    )
    codes = [c.code for c in centres]
    return OverflowState(
        now=NOW,
        supported={code: Support(since=NOW - WAITED) for code in codes},
        donors=frozenset(),
        routed=frozenset(codes),
        loans=loans,
    )


def busy_traffic(monitor: QueueMonitor, queues: list[str], clock: list[float]) -> None:
    """In every queue: 120 callers today, 40 released early (33 %: over the 5 % target), the
    rest answered after 45 s (service level 0 %: under target), and 37 still waiting."""
    parser = AMIParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    clock[0] = NOW - WAITED
    for queue in queues:
        for n in range(157):
            caller = Caller(f"{queue}-{n}", queue)
            data = caller.join()
            if n < 40:
                data += caller.early_release(30)
            elif n < 120:
                data += caller.answered(45)
            for parsed in parser.feed(data):
                monitor.tracker.apply(to_event(parsed))
    clock[0] = NOW
    monitor.tracker.expire(NOW)


async def many_actions(controller: OverflowController) -> None:
    """More actions than the board lists, failed ones (red) among them."""
    for centre in controller.config.centres[1:]:
        detail = {"centre": centre.code}
        await controller.audit.record(AuditEntry("route_on", "done", detail, "pressure 2.00"))
        lend = {"member": "PJSIP/1", "donor": centre.neighbours[0], "recipient": centre.code}
        await controller.audit.record(AuditEntry("lend", "failed", lend, error="No such queue"))


Served = tuple[TestClient[web.Request, web.Application], OverflowController]


@pytest.fixture
async def worst_case(redis_client: aioredis.Redis) -> AsyncIterator[Served]:
    controller = scripted_controller(redis_client)
    controller.state = supported_everywhere(controller)
    await many_actions(controller)
    clock = [NOW]
    monitor = QueueMonitor(jining_directory(), MonitoringConfig(), clock=lambda: clock[0])
    aid_queues = [c.aid_queue for c in controller.config.centres]
    busy_traffic(monitor, monitor.directory.names + aid_queues, clock)
    client = await serve(monitor, controller)
    yield client, controller
    await client.close()


async def open_board(
    chromium: Browser, client: TestClient[web.Request, web.Application], width: int, height: int
) -> Page:
    page = await chromium.new_page(viewport={"width": width, "height": height})
    await page.goto(str(client.make_url(f"/wallboard?token={TOKEN}")))
    await expect(page.locator("#queues tbody tr").first).to_be_visible()
    return page


async def on_screen(page: Page, selector: str) -> list[str]:
    """The text of every element matching `selector` that lies wholly inside the viewport.
    Queried and measured in one call: the page replaces its rows every second."""
    texts: list[str] = await page.evaluate(
        """selector => [...document.querySelectorAll(selector)].filter(e => {
             const box = e.getBoundingClientRect();
             return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight
               && box.left >= 0 && box.right <= window.innerWidth;
           }).map(e => e.textContent)""",
        selector,
    )
    return texts


@pytest.mark.parametrize(("width", "height"), SCREENS)
async def test_the_worst_case_fits_the_screen_without_scrolling(
    browser: Browser,  # noqa: F811
    worst_case: Served,
    width: int,
    height: int,
) -> None:
    client, controller = worst_case
    page = await open_board(browser, client, width, height)
    centres = controller.config.centres
    await expect(page.locator("#queues .badge")).to_have_count(len(centres))
    await expect(page.locator("#overflow-actions li.failed").first).to_be_visible()
    await page.screenshot(path=SCREENSHOT.format(width=width))

    scroll = await page.evaluate(
        "[document.scrollingElement.scrollHeight, window.innerHeight,"
        " document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert scroll[0] <= scroll[1], f"the board is {scroll[0]} px high in {scroll[1]}: it scrolls"
    assert scroll[2] <= scroll[3], f"the board is {scroll[2]} px wide in {scroll[3]}: it scrolls"
    await expect(page.locator("body")).to_have_class("dense")  # the normal layout would scroll

    # Every queue's figures, the aid queues' in their centre's sub-row, are on the screen.
    queues = jining_directory().names + [c.aid_queue for c in centres]
    for queue in queues:
        row = f'#queues tr[data-queue="{queue}"]'
        assert await on_screen(page, f"{row} td.waiting") == ["37"], queue
        assert await on_screen(page, f"{row} td.longest") == ["10分00秒"], queue
    # Each queue's two red figures (early release over target, service level under it).
    red = await on_screen(page, "#queues td.bad")
    assert len(red) == 2 * len(queues) and set(red) == {"33.3%40 / 120", "0.0%"}
    # Every supported centre: the badge on its row, its lenders on its aid queue's sub-row.
    for centre in centres:
        assert await on_screen(page, f'#queues tr[data-queue="{centre.queue}"] .badge') == [
            "支援中"
        ]
        [lenders] = await on_screen(page, f'tr.aid[data-centre="{centre.code}"] .lenders')
        assert lenders.startswith("借入 ") and "3席" in lenders, lenders
    # Seven lenders: the two first named, the other five counted with their seats.
    assert await on_screen(page, 'tr.aid[data-centre="370811"] .lenders') == [
        "借入 兖州区 3席 · 微山县 3席 · 另5处 15席"
    ]
    assert len(await on_screen(page, "#overflow-actions li")) == 4
