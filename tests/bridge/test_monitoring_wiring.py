"""install_monitor in a service as `hotline-bridge run` builds it: the monitor finds the AMI
session the AMI component opens (after its login), catches up from QueueStatus, and counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bridge.commands.run import AmiComponent
from bridge.monitoring.wiring import install_monitor
from bridge.service import RedisComponent, Service
from bridge.settings import PbxSettings, RedisSettings, load_settings
from tests.bridge.test_monitoring_traffic import Caller, ScriptedAMI, settle
from tests.redis_server import RedisServer

JINING = Path(__file__).resolve().parents[2] / "config" / "jining.toml"
SECRET_ENV = "HB_TEST_MONITOR_AMI_SECRET"


@pytest.fixture
async def ami_server() -> AsyncIterator[ScriptedAMI]:
    server = ScriptedAMI(queues=["q110-city"])
    await server.start()
    yield server
    await server.stop()


async def test_monitor_attaches_to_the_ami_component_and_catches_up(
    ami_server: ScriptedAMI, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "secret")
    flush = aioredis.Redis.from_url(redis_server.url)
    await flush.flushdb()
    await flush.aclose()
    already = Caller("before-1", "q110-city")
    ami_server.waiting = [(already, 25)]  # waiting before the bridge started
    settings = load_settings(JINING).model_copy(
        update={"redis": RedisSettings(url=redis_server.url)}
    )
    service = Service(settings, JINING, environ={})
    service.add(RedisComponent(settings.redis))
    pbx = PbxSettings(
        name="pbx-110",
        ami_host="127.0.0.1",
        ami_port=ami_server.port,
        ami_username="hotline-bridge",
        secret_env=SECRET_ENV,
    )
    ami = AmiComponent(pbx)
    service.add(ami)
    monitor = install_monitor(service)
    await service.components.start_all()
    try:
        for _ in range(500):  # bounded: login, attach on a tick, catch-up resync
            if monitor.tracker.waiting("q110-city"):
                break
            await asyncio.sleep(0.01)
        assert "pbx-110" in monitor.clients
        live = monitor.live_figures("q110-city", monitor.clock())
        assert live.callers_waiting == 1 and live.longest_wait >= 25
        assert ami.client is not None
        ami_server.push(already.early_release(31))
        await settle(ami.client)
        await monitor.flush()
        today = monitor.metrics.today_counts("q110-city", monitor.clock())
        assert (today.offered, today.abandoned) == (1, 1)
        assert monitor.callbacks is not None
        assert await monitor.callbacks.pending_count() == 1
        await monitor.refresh_health()
        assert monitor.health_figures.ami_connected == {"pbx-110": True}
        assert monitor.health_figures.redis_latency_s is not None
    finally:
        await service.components.stop_all(5.0)
