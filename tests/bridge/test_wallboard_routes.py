"""Wallboard routes without a browser: assets are open, figures need a monitor token unless the
monitoring config opens them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.http import RouteTable, TokenBook, create_app
from bridge.monitoring.config import MonitoringConfig, QueueDirectory, QueueInfo
from bridge.monitoring.monitor import QueueMonitor
from bridge.settings import ApiToken, Role
from bridge.wallboard.routes import add_wallboard_routes

TOKEN = "monitor-token-0123456789ab"
DIRECTORY = QueueDirectory([QueueInfo("q12345", "12345-370800", "济宁市12345", "370800", "pbx")])


class NoControl:
    settings = None
    config_file = ""

    async def reload_config(self) -> str | None:
        return None


async def serve(config: MonitoringConfig) -> TestClient[web.Request, web.Application]:
    routes = RouteTable()
    add_wallboard_routes(routes, QueueMonitor(DIRECTORY, config))
    tokens = TokenBook({TOKEN: ApiToken(name="wall", token_env="WALL_TOKEN", role=Role.MONITOR)})

    async def health() -> dict[str, dict[str, object]]:
        return {}

    app = create_app(routes=routes, tokens=tokens, health=health, control=NoControl())  # type: ignore[arg-type]
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def closed() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    client = await serve(MonitoringConfig())
    yield client
    await client.close()


async def test_page_and_assets_are_open(closed: TestClient[web.Request, web.Application]) -> None:
    page = await closed.get("/wallboard")
    assert page.status == 200 and "排队监控" in await page.text()
    assert (await closed.get("/wallboard/wallboard.js")).content_type == "text/javascript"
    assert (await closed.get("/wallboard/wallboard.css")).content_type == "text/css"


async def test_figures_need_the_monitor_token(
    closed: TestClient[web.Request, web.Application],
) -> None:
    assert (await closed.get("/api/wallboard")).status == 401
    answer = await closed.get("/api/wallboard", headers={"Authorization": f"Bearer {TOKEN}"})
    body = await answer.json()
    assert [q["queue"] for q in body["queues"]] == ["q12345"]
    assert body["targets"]["early_release"] == 0.05
    assert len(body["queues"][0]["spark_offered"]) == 60
    assert (await closed.get("/wallboard/data")).status == 404


async def test_config_can_open_the_figures() -> None:
    client = await serve(MonitoringConfig(wallboard_open=True))
    try:
        answer = await client.get("/wallboard/data")
        assert answer.status == 200
        assert (await answer.json())["callbacks_pending"] == 0
    finally:
        await client.close()
