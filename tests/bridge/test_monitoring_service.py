"""Scripted traffic through a real AMI socket gives exactly the expected figures on every
interface: /metrics, /api/queues, /api/queues/{name}/metrics, the call-back list, the early
release log lines and the Redis history (which a new monitor loads back)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bridge.http import create_app
from bridge.monitoring.monitor import QueueMonitor
from bridge.monitoring.wiring import install_monitor
from bridge.service import RedisComponent, Service
from bridge.settings import RedisSettings, Role, load_settings
from telephony.ami.client import AMIClient
from tests.bridge.test_monitoring_traffic import Caller, ScriptedAMI, settle
from tests.redis_server import RedisServer

JINING = Path(__file__).resolve().parents[2] / "config" / "jining.toml"
TOKENS = {
    Role.SUPERVISOR: ("HOTLINE_TOKEN_SUPERVISOR", "supervisor-token-0123456789"),
    Role.MONITOR: ("HOTLINE_TOKEN_MONITOR", "monitor-token-0123456789ab"),
    Role.AGENT_110: ("HOTLINE_TOKEN_DESK_110", "desk110-token-0123456789ab"),
}
QUEUE = "q110-city"
# Known traffic: answered at 2, 10, 25, 40 s (service level 20 s -> 2 of 4); early releases at
# 3 (short, <= 5 s), 12 and 30 s, one of them anonymous; one withdrawal, one exit key, one
# timeout. Offered 10; early-release rate 3/10; without short ones 2/9; ASA 19.25 s.
ANSWER_WAITS = (2, 10, 25, 40)
EARLY_RELEASES = (("13800000101", 3), ("13800000102", 12), ("anonymous", 30))


def auth(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role][1]}"}


def script(offset: int = 0) -> bytes:
    """The ten callers' whole stories, in the order Asterisk would send them."""
    data = b""
    callers = [Caller(f"a{offset}-{i}", QUEUE, f"1370000{i:04d}") for i in range(len(ANSWER_WAITS))]
    for caller, wait in zip(callers, ANSWER_WAITS, strict=True):
        data += caller.join() + caller.answered(wait)
    for i, (number, wait) in enumerate(EARLY_RELEASES):
        caller = Caller(f"e{offset}-{i}", QUEUE, number)
        data += caller.join(2, 2) + caller.early_release(wait, position=1, original=2)
    withdrawn, keyed, timed = (Caller(f"{k}{offset}", QUEUE) for k in ("w", "k", "t"))
    data += withdrawn.join() + withdrawn.withdrawn(7)
    data += keyed.join() + keyed.exit_key()
    data += timed.join() + timed.timed_out()
    return data


@dataclass
class Bridge:
    service: Service
    monitor: QueueMonitor
    ami: AMIClient
    http: TestClient[web.Request, web.Application]


async def start_bridge(redis_url: str, ami_server: ScriptedAMI) -> Bridge:
    settings = load_settings(JINING)
    settings = settings.model_copy(update={"redis": RedisSettings(url=redis_url)})
    service = Service(settings, JINING, environ=dict(TOKENS.values()))
    service.add(RedisComponent(settings.redis))
    monitor = install_monitor(service)
    ami = ami_server.client()
    monitor.attach("pbx-110", ami)
    await service.components.start_all()
    await ami.connect()
    app = create_app(
        routes=service.routes,
        tokens=service.tokens,
        health=service.components.health,
        control=service,
    )
    http = TestClient(TestServer(app))
    await http.start_server()
    return Bridge(service, monitor, ami, http)


async def stop_bridge(bridge: Bridge) -> None:
    await bridge.http.close()
    await bridge.ami.close()
    await bridge.service.components.stop_all(5.0)


@pytest.fixture
async def ami_server() -> AsyncIterator[ScriptedAMI]:
    server = ScriptedAMI(queues=[QUEUE, "q12345"])
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bridge(redis_server: RedisServer, ami_server: ScriptedAMI) -> AsyncIterator[Bridge]:
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushdb()
    await client.aclose()
    started = await start_bridge(redis_server.url, ami_server)
    yield started
    await stop_bridge(started)


async def play(bridge: Bridge, ami_server: ScriptedAMI, data: bytes) -> None:
    ami_server.push(data)
    await settle(bridge.ami)
    await bridge.monitor.flush()


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def labelled(queue: str, **more: str) -> tuple[tuple[str, str], ...]:
    labels = {"queue": queue, "platform": "110-370800", "district": "370800", **more}
    return tuple(sorted(labels.items()))


async def test_known_traffic_gives_exact_figures_everywhere(
    bridge: Bridge, ami_server: ScriptedAMI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.monitoring.monitor")
    await play(bridge, ami_server, script())

    metrics = await (await bridge.http.get("/metrics")).text()
    count = {
        name: samples(metrics, f"hotline_queue_callers_{name}_total")[labelled(QUEUE)]
        for name in ("offered", "answered", "early_released", "early_released_short")
    }
    assert count == {"offered": 10, "answered": 4, "early_released": 3, "early_released_short": 1}
    for name in ("withdrawn", "exit_key", "timed_out", "transferred"):
        expected = 0 if name == "transferred" else 1
        assert samples(metrics, f"hotline_queue_callers_{name}_total")[labelled(QUEUE)] == expected
    for window in ("5m", "1h", "today"):
        key = labelled(QUEUE, window=window)
        assert samples(metrics, "hotline_queue_early_release_ratio")[key] == pytest.approx(0.3)
        assert samples(metrics, "hotline_queue_early_release_excl_short_ratio")[
            key
        ] == pytest.approx(2 / 9)
        assert samples(metrics, "hotline_queue_service_level_ratio")[key] == pytest.approx(0.5)
        assert samples(metrics, "hotline_queue_answer_delay_average_seconds")[key] == pytest.approx(
            19.25
        )
    assert samples(metrics, "hotline_callbacks_pending")[()] == 2
    assert samples(metrics, "hotline_ami_connected")[(("pbx", "pbx-110"),)] == 1
    assert samples(metrics, "hotline_queue_callers_waiting")[labelled(QUEUE)] == 0

    queues = await (await bridge.http.get("/api/queues", headers=auth(Role.MONITOR))).json()
    city = next(q for q in queues["queues"] if q["queue"] == QUEUE)
    for window in ("5m", "1h", "today"):
        figures = city["windows"][window]
        assert (figures["offered"], figures["answered"], figures["abandoned"]) == (10, 4, 3)
        assert figures["early_release_rate"] == pytest.approx(0.3)
        assert figures["service_level"] == pytest.approx(0.5)
    assert city["platform"] == "110-370800"

    one = await bridge.http.get(
        f"/api/queues/{QUEUE}/metrics?window=5m", headers=auth(Role.MONITOR)
    )
    assert (await one.json())["figures"]["abandoned_short"] == 1
    now = bridge.monitor.clock()
    ranged = await bridge.http.get(
        f"/api/queues/{QUEUE}/metrics",
        params={"window": f"{int(now) - 3600}..{int(now) + 60}"},
        headers=auth(Role.MONITOR),
    )
    ranged_figures = (await ranged.json())["figures"]  # from the Redis history
    assert (ranged_figures["offered"], ranged_figures["abandoned"]) == (10, 3)
    assert ranged_figures["asa"] == pytest.approx(19.25)

    logged = [r for r in caplog.records if r.getMessage() == "early release"]
    assert sorted(r.__dict__["wait"] for r in logged) == [3, 12, 30]
    first: Any = next(r for r in logged if r.__dict__["wait"] == 12)
    assert (first.queue, first.position, first.original_position) == (QUEUE, 1, 2)
    assert (first.caller, first.district) == ("13800000102", "370800")
    anonymous: Any = next(r for r in logged if r.__dict__["wait"] == 30)
    assert anonymous.caller == ""


async def test_bad_window_and_unknown_queue(bridge: Bridge) -> None:
    headers = auth(Role.MONITOR)
    bad = await bridge.http.get(f"/api/queues/{QUEUE}/metrics?window=3days", headers=headers)
    assert bad.status == 400
    assert "window" in (await bad.json())["detail"]
    backwards = await bridge.http.get(
        f"/api/queues/{QUEUE}/metrics?window=2026-11-29T10:00..2026-11-29T09:00", headers=headers
    )
    assert backwards.status == 400
    assert "end must be after" in (await backwards.json())["detail"]
    missing = await bridge.http.get("/api/queues/nope/metrics", headers=headers)
    assert missing.status == 404


async def test_callback_list_marks_and_calls(bridge: Bridge, ami_server: ScriptedAMI) -> None:
    await play(bridge, ami_server, script())
    assert (await bridge.http.get("/api/callbacks", headers=auth(Role.MONITOR))).status == 403
    listed = await (await bridge.http.get("/api/callbacks", headers=auth(Role.AGENT_110))).json()
    assert listed["count"] == 2  # the anonymous caller is not listed
    entries = {entry["number"]: entry for entry in listed["callbacks"]}
    assert set(entries) == {"13800000101", "13800000102"}
    assert entries["13800000102"]["wait"] == 12
    assert entries["13800000102"]["district"] == "370800"

    first, second = entries["13800000101"]["id"], entries["13800000102"]["id"]
    done = await bridge.http.post(
        f"/api/callbacks/{first}", json={"status": "done"}, headers=auth(Role.SUPERVISOR)
    )
    assert (await done.json())["status"] == "done"
    bad = await bridge.http.post(
        f"/api/callbacks/{first}", json={"status": "maybe"}, headers=auth(Role.SUPERVISOR)
    )
    assert bad.status == 400 and "status" in (await bad.json())["detail"]
    assert (
        await bridge.http.post(
            "/api/callbacks/999", json={"status": "done"}, headers=auth(Role.SUPERVISOR)
        )
    ).status == 404

    called = await bridge.http.post(
        f"/api/callbacks/{second}/call",
        json={"agent_channel": "PJSIP/1001"},
        headers=auth(Role.AGENT_110),
    )
    body = await called.json()
    assert body["result"] == "originated"
    assert body["callback"]["attempts"][0]["by"] == "desk-110-city"
    originate = next(a for a in ami_server.actions if a.get("Action") == "Originate")
    assert (originate["Channel"], originate["Exten"]) == ("PJSIP/1001", "13800000102")

    pending = await (await bridge.http.get("/api/callbacks", headers=auth(Role.SUPERVISOR))).json()
    assert [e["number"] for e in pending["callbacks"]] == ["13800000102"]
    assert bridge.monitor.callbacks_pending == 1


async def test_history_survives_a_restart(
    bridge: Bridge, ami_server: ScriptedAMI, redis_server: RedisServer
) -> None:
    await play(bridge, ami_server, script())
    await stop_bridge(bridge)
    again = await start_bridge(redis_server.url, ami_server)
    try:
        now = again.monitor.clock()
        today = again.monitor.metrics.today_counts(QUEUE, now)
        assert (today.offered, today.answered, today.abandoned, today.withdrawn) == (10, 4, 3, 1)
        await play(again, ami_server, script(offset=1))
        hour = await (
            await again.http.get(
                f"/api/queues/{QUEUE}/metrics?window=1h", headers=auth(Role.MONITOR)
            )
        ).json()
        assert (hour["figures"]["offered"], hour["figures"]["abandoned"]) == (20, 6)
        assert again.monitor.callbacks_pending == 4
    finally:
        await stop_bridge(again)
    bridge.http = again.http  # the fixture's teardown closes what is open


async def test_reconnect_neither_double_counts_nor_loses_callers(
    bridge: Bridge, ami_server: ScriptedAMI
) -> None:
    stays, leaves = Caller("s1", QUEUE), Caller("s2", QUEUE)
    await play(bridge, ami_server, stays.join() + leaves.join(2, 2))
    assert bridge.monitor.live_figures(QUEUE, bridge.monitor.clock()).callers_waiting == 2
    ami_server.waiting = [(stays, 30)]  # s2 went away while we could not see
    ami_server.drop()
    for _ in range(500):  # bounded wait for the client's own reconnect
        if ami_server.logins >= 2 and bridge.ami.connected:
            break
        await asyncio.sleep(0.01)
    assert ami_server.logins == 2
    await settle(bridge.ami)
    monitor = bridge.monitor
    assert [c.uniqueid for c in monitor.tracker.waiting(QUEUE)] == ["s1"]
    assert monitor.tracker.stats.closed_on_resync == 1
    await play(bridge, ami_server, stays.early_release(40))
    today = monitor.metrics.today_counts(QUEUE, monitor.clock())
    assert (today.offered, today.abandoned, today.transferred) == (2, 1, 1)
    assert monitor.live_figures(QUEUE, monitor.clock()).callers_waiting == 0
