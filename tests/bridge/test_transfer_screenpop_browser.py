"""The screen-pop page in a real headless Chromium (Debian's, driven by Playwright): an agent
types the token, the page listens, and an answered linked call shows its ticket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright, expect

from bridge.screenpop.hub import LinkedCall
from tests.bridge.test_tickets_api import (
    TOKENS,
    Client,
    api,  # noqa: F401  (fixture)
    auth,
    internet,
)
from tests.bridge.test_transfer_orchestration import World

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def test_an_answered_linked_call_pops_its_ticket(
    browser: Browser,
    api: tuple[Client, World],  # noqa: F811
) -> None:
    client, world = api
    created = await client.post("/api/tickets", json=internet(), headers=auth("desk-110"))
    ticket = await created.json()
    page = await browser.new_page()
    await page.goto(str(client.make_url("/screenpop/12345-01")))
    await expect(page.locator("#agent")).to_have_text("12345-01")
    await page.fill("#token", TOKENS["desk-12345"][0])
    await page.click("#login button")
    await expect(page.locator("#state")).to_contain_text("waiting for a linked call")
    world.stack.hub.publish(
        LinkedCall("answered", ticket["id"], "pbx-12345", "q12345", "u1", "12345-01")
    )
    await expect(page.locator("#ticket-id")).to_have_text(ticket["id"])
    await expect(page.locator("#kind")).to_have_text("投诉举报")
    await expect(page.locator("#summary")).to_contain_text("夜间施工噪音")
    await expect(page.locator("#caller")).to_have_text("13900000001")
    # A call answered by someone else does not reach this agent's page.
    world.stack.hub.publish(
        LinkedCall("answered", "LK-20261129-999999", "pbx-12345", "q12345", "u2", "12345-02")
    )
    await expect(page.locator("#state")).to_contain_text(ticket["id"])
    await page.close()  # the stream ends with the page
    for _ in range(500):
        if world.stack.hub.listeners == 0:
            break
        await asyncio.sleep(0.01)
    assert world.stack.hub.listeners == 0


async def test_a_wrong_token_is_refused_on_the_page(
    browser: Browser,
    api: tuple[Client, World],  # noqa: F811
) -> None:
    client, _ = api
    page = await browser.new_page()
    await page.goto(str(client.make_url("/screenpop/12345-01")))
    await page.fill("#token", "not-a-token-at-all")
    await page.click("#login button")
    await expect(page.locator("#state")).to_have_text("refused: 401")
