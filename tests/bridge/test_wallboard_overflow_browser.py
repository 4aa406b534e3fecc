"""Surge overflow on the wallboard in a real headless Chromium at 1920×1080: with a scripted
overflow state the supported centre's row has the "支援中" badge and its lenders on the sub-row
under it, the action list shows the audit's last steps in Chinese, and the list follows the
audit live."""

from __future__ import annotations

import re

import redis.asyncio as aioredis
from playwright.async_api import Browser, Page, expect

from bridge.monitoring.config import MonitoringConfig
from bridge.monitoring.monitor import QueueMonitor
from bridge.overflow.audit import AuditEntry
from bridge.overflow.controller import OverflowController
from tests.bridge.test_wallboard_browser import browser  # noqa: F401  (fixture)
from tests.bridge.test_wallboard_overflow import (
    RENCHENG,
    SURGED,
    TOKEN,
    jining_directory,
    scripted_controller,
    serve,
)

SCREENSHOT = "/tmp/hotline-wallboard-overflow.png"
STARTED = "start support for 370883: ...; because pressure 2.10 >= 1.5 with no seat free; ..."


async def lend_burst(controller: OverflowController, seats: int) -> None:
    for n in range(seats):
        detail = {"member": f"PJSIP/811-{n}", "donor": RENCHENG, "recipient": SURGED}
        await controller.audit.record(AuditEntry("lend", "done", detail))


async def test_the_supported_centre_and_the_last_actions_show(
    browser: Browser,  # noqa: F811
    redis_client: aioredis.Redis,
) -> None:
    controller = scripted_controller(redis_client)
    await controller.audit.record(AuditEntry("route_on", "done", {"centre": SURGED}, STARTED))
    await lend_burst(controller, 3)
    client = await serve(QueueMonitor(jining_directory(), MonitoringConfig()), controller)
    try:
        page: Page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await page.goto(str(client.make_url(f"/wallboard?token={TOKEN}")))

        row = page.locator(f'tr[data-queue="q110-{SURGED}"]')
        await expect(row.locator(".badge")).to_have_text("支援中")
        # Its lenders on the thin sub-row of its aid queue, under its row.
        aid = page.locator(f'tr.aid[data-centre="{SURGED}"]')
        await expect(aid).to_have_attribute("data-queue", f"q110-aid-{SURGED}")
        await expect(aid.locator(".lenders")).to_have_text("借入 任城区 3席 · 兖州区 1席")
        # Only the supported centre: a lender's row has no badge.
        await expect(page.locator(f'tr[data-queue="q110-{RENCHENG}"] .badge')).to_have_count(0)

        items = page.locator("#overflow-actions li")
        await expect(items).to_have_count(2)
        await expect(items.nth(0).locator(".action")).to_have_text("借调坐席")
        await expect(items.nth(0).locator(".centre")).to_have_text("邹城市")
        await expect(items.nth(0).locator(".reason")).to_have_text("任城区 借出 3 席")
        await expect(items.nth(1).locator(".action")).to_have_text("启动支援")
        await expect(items.nth(1).locator(".reason")).to_have_text(
            "压力 2.10 ≥ 1.5，本中心无空闲坐席"
        )
        await expect(items.nth(1).locator(".time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
        # The whole board, actions included, fits one 1080-line screen without scrolling, and
        # one sub-row does not need the tighter layout: the figures stay full size.
        await expect(page.locator("body")).not_to_have_class(re.compile("dense"))
        await page.screenshot(path=SCREENSHOT, full_page=True)
        size = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        assert size[0] <= 1920 and size[1] <= 1080, f"the wallboard is {size} px: it scrolls"
        await page.screenshot(path=SCREENSHOT)

        # Live: support ends; the badge goes and the newest action is shown on the next poll.
        controller.state = type(controller.state)()
        await controller.audit.record(
            AuditEntry(
                "route_off",
                "done",
                {"centre": SURGED},
                "stop support for 370883: pressure low (< 0.8, nobody waiting) for 120 s; ...",
            )
        )
        await expect(row.locator(".badge")).to_have_count(0)
        await expect(aid).to_have_count(0)  # no aid traffic, no support: no sub-row
        await expect(items.nth(0).locator(".reason")).to_have_text(
            "压力低于 0.8 且无人排队已持续 120 秒"
        )
        await expect(items.nth(0).locator(".action")).to_have_text("结束支援")
    finally:
        await client.close()
