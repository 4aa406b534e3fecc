"""The wallboard's overflow part: supported centres with their lenders, the last actions in
Chinese (bursts grouped), and /api/wallboard carrying it only when a controller is installed.
The controller is a real one with a scripted state; its audit is a real Redis stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.http import RouteTable, TokenBook, create_app
from bridge.monitoring.config import MonitoringConfig, QueueDirectory
from bridge.monitoring.monitor import QueueMonitor
from bridge.overflow.audit import AuditEntry
from bridge.overflow.config import load_scenario, pbx_overflow_config
from bridge.overflow.controller import OverflowController
from bridge.settings import ApiToken, Role
from bridge.settings.loading import load_settings
from bridge.wallboard.overflow_summary import (
    CentreNames,
    OverflowFeed,
    reason_in_chinese,
    recent_actions,
    supported_centres,
)
from bridge.wallboard.routes import add_wallboard_routes, short_name
from routing.overflow import Loan, OverflowState, Support

TOKEN = "monitor-token-0123456789ab"
ZONE = ZoneInfo("Asia/Shanghai")
SURGED, RENCHENG, YANZHOU, QUFU = "370883", "370811", "370812", "370881"
NAMES = CentreNames({SURGED: "邹城市110指挥中心", RENCHENG: "任城区110指挥中心"})


def loan(member: str, donor: str, recipient: str, queue: str, penalty: int = 1) -> Loan:
    return Loan(member, donor, recipient, queue, penalty)


def scripted_state() -> OverflowState:
    """370883 supported (routing flag on); 任城 lends 3 seats (one in both queues), 兖州 1."""
    aid, own = f"q110-aid-{SURGED}", f"q110-{SURGED}"
    return OverflowState(
        now=100.0,
        supported={SURGED: Support(since=40.0)},
        donors=frozenset({RENCHENG, YANZHOU}),
        routed=frozenset({SURGED}),
        loans=frozenset(
            {
                loan("PJSIP/811-1", RENCHENG, SURGED, aid),
                loan("PJSIP/811-1", RENCHENG, SURGED, own, 2),
                loan("PJSIP/811-2", RENCHENG, SURGED, aid),
                loan("PJSIP/811-3", RENCHENG, SURGED, aid),
                loan("PJSIP/812-1", YANZHOU, SURGED, aid),
                loan("PJSIP/812-2", YANZHOU, RENCHENG, f"q110-{RENCHENG}", 3),  # mutual aid
            }
        ),
    )


def test_the_policy_reasons_read_in_chinese() -> None:
    assert reason_in_chinese(
        "start support for 370883: new calls to q110-aid-370883, waiting callers withdrawn "
        "from q110-370883; because pressure 1.80 >= 1.2 with no seat free; 370883: pressure"
    ) == ("压力 1.80 ≥ 1.2，本中心无空闲坐席")
    assert reason_in_chinese(
        "stop support for 370883: pressure low (< 0.8, nobody waiting) for 121 s; 370883: ..."
    ) == ("压力低于 0.8 且无人排队已持续 121 秒")
    assert "等待 95 秒" in reason_in_chinese("because a caller has waited 95 s >= 60 s; x")
    assert reason_in_chinese("something the policy never says") == ""


def test_a_supported_centre_lists_its_lenders_by_seats() -> None:
    snapshot = {
        "supported": {SURGED: {"since": 40.0, "low_since": None}},
        "routed": {SURGED: f"aid110{SURGED}"},
        "loans": [vars(x) for x in scripted_state().loans],
    }
    [centre] = supported_centres(snapshot, NAMES)
    assert centre["centre"] == SURGED and centre["name"] == "邹城市110指挥中心"
    # PJSIP/811-1 sits in two of 370883's queues but is one seat; 812-2 helps 任城, not 邹城.
    assert centre["lenders"] == [
        {"centre": RENCHENG, "name": "任城区110指挥中心", "seats": 3},
        {"centre": YANZHOU, "name": YANZHOU, "seats": 1},
    ]
    assert centre["seats"] == 4 and centre["routed"] is True


def entry(id_ms: int, kind: str, detail: dict[str, str], **more: Any) -> dict[str, Any]:
    return {"id": f"{id_ms}-0", "kind": kind, "outcome": "done", "detail": detail, **more}


def lend(member: str, donor: str = RENCHENG, queue: str = f"q110-aid-{SURGED}") -> dict[str, str]:
    return {"member": member, "donor": donor, "recipient": SURGED, "queue": queue}


def test_recent_actions_group_a_burst_and_skip_notes() -> None:
    newest_first = [
        entry(1_764_400_010_000, "note", {}, explain="standing down: ..."),
        entry(1_764_400_009_000, "lend", lend("PJSIP/811-1")),
        entry(1_764_400_008_000, "lend", lend("PJSIP/811-1", queue=f"q110-{SURGED}")),  # same seat
        entry(1_764_400_007_000, "lend", lend("PJSIP/811-2")),
        entry(1_764_400_006_900, "lend", lend("PJSIP/812-1", YANZHOU)),  # another donor
        entry(
            1_764_400_006_000,
            "lend",
            lend("PJSIP/811-3"),
            outcome="failed",
            error="Permission denied",
        ),
        entry(
            1_764_400_005_000,
            "route_on",
            {"centre": SURGED, "to": f"aid110{SURGED}"},
            explain="because a caller has waited 70 s >= 60 s; ...",
        ),
        entry(1_764_400_004_000, "override", {"centre": QUFU, "override": "forbid", "by": "duty"}),
    ]
    actions = recent_actions(newest_first, NAMES, ZONE, shown=4)
    assert [(a["kind"], a["count"], a["failed"]) for a in actions] == [
        ("lend", 2, False),
        ("lend", 1, False),
        ("lend", 1, True),
        ("route_on", 1, False),
    ]
    first, other_donor, failed, started = actions
    assert first["time"] == "15:06:49"  # 1764400009 s in Asia/Shanghai
    assert first["action"] == "借调坐席" and first["reason"] == "任城区110指挥中心 借出 2 席"
    assert first["name"] == "邹城市110指挥中心"
    assert other_donor["reason"] == f"{YANZHOU} 借出 1 席"  # a code without a name: the code
    assert failed["reason"] == "任城区110指挥中心 借出 1 席（失败：Permission denied）"
    assert started["action"] == "启动支援" and "等待 70 秒" in started["reason"]
    assert not any(a["at_least"] for a in actions)
    [override] = recent_actions(newest_first[-1:], NAMES, ZONE)
    assert override["reason"] == "duty 设为禁止支援" and override["name"] == QUFU


def test_a_burst_longer_than_what_was_read_says_so() -> None:
    burst = [entry(1_764_400_000_000 - n, "lend", lend(f"PJSIP/811-{n}")) for n in range(5)]
    [action] = recent_actions(burst, NAMES, ZONE, complete=False)
    assert action["count"] == 5 and action["at_least"] is True
    assert action["reason"] == "任城区110指挥中心 借出 5 席（或更多）"
    # Cut off by `shown`, the last group shown is whole: no "or more".
    two = [burst[0], entry(1, "override", {"centre": QUFU, "override": "auto", "by": "x"})]
    assert recent_actions(two, NAMES, ZONE, shown=1, complete=False)[0]["at_least"] is False


def test_short_names_keep_the_place() -> None:
    assert short_name("任城区110指挥中心") == "任城区"
    assert short_name("济宁市公安局110报警服务台") == "济宁市"
    assert short_name("110指挥中心") == "110指挥中心"  # nothing would be left
    assert short_name("") == ""


def jining_directory() -> QueueDirectory:
    return QueueDirectory.from_settings(load_settings("config/jining.toml"))


def scripted_controller(redis: aioredis.Redis) -> OverflowController:
    from benchmarks.surge_e2e import SCENARIO

    controller = OverflowController(
        pbx_overflow_config(load_scenario(SCENARIO)), lambda: None, lambda: redis
    )
    controller.state = scripted_state()
    return controller


async def serve(
    monitor: QueueMonitor, overflow: OverflowController | None
) -> TestClient[web.Request, web.Application]:
    routes = RouteTable()
    add_wallboard_routes(routes, monitor, overflow)
    tokens = TokenBook({TOKEN: ApiToken(name="wall", token_env="WALL_TOKEN", role=Role.MONITOR)})

    async def health() -> dict[str, dict[str, object]]:
        return {}

    app = create_app(routes=routes, tokens=tokens, health=health, control=None)  # type: ignore[arg-type]
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def with_overflow(
    redis_client: aioredis.Redis,
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    controller = scripted_controller(redis_client)
    audit = controller.audit
    await audit.record(
        AuditEntry(
            "route_on",
            "done",
            {"centre": SURGED},
            "because pressure 2.00 >= 1.5 with no seat free; x",
        )
    )
    await audit.record(AuditEntry("lend", "done", {"donor": RENCHENG, "recipient": SURGED}))
    client = await serve(QueueMonitor(jining_directory(), MonitoringConfig()), controller)
    yield client
    await client.close()


async def wallboard(client: TestClient[web.Request, web.Application]) -> dict[str, Any]:
    answer = await client.get("/api/wallboard", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status == 200
    body: dict[str, Any] = await answer.json()
    return body


async def test_the_figures_carry_the_overflow_summary(
    with_overflow: TestClient[web.Request, web.Application],
) -> None:
    overflow = (await wallboard(with_overflow))["overflow"]
    [centre] = overflow["supported"]
    assert centre["name"] == "邹城市"
    assert [(x["name"], x["seats"]) for x in centre["lenders"]] == [
        ("任城区", 3),
        ("兖州区", 1),
    ]
    assert overflow["queues"][f"q110-{SURGED}"] == SURGED
    assert overflow["queues"]["q110-city"] == "370800"
    assert overflow["aid_queues"][f"q110-aid-{SURGED}"] == SURGED
    assert f"q110-{SURGED}" not in overflow["aid_queues"]
    assert [(a["action"], a["reason"]) for a in overflow["actions"]] == [
        ("借调坐席", "任城区 借出 1 席"),
        ("启动支援", "压力 2.00 ≥ 1.5，本中心无空闲坐席"),
    ]


async def test_without_a_controller_there_is_no_overflow_part() -> None:
    client = await serve(QueueMonitor(jining_directory(), MonitoringConfig()), None)
    try:
        assert "overflow" not in await wallboard(client)
    finally:
        await client.close()


async def test_the_feed_builds_once_per_second_for_all_screens(
    redis_client: aioredis.Redis,
) -> None:
    controller = scripted_controller(redis_client)
    now = [0.0]
    feed = OverflowFeed(controller, {}, ZONE, max_age_s=1.0, clock=lambda: now[0])
    await controller.audit.record(AuditEntry("route_on", "done", {"centre": SURGED}))
    first = await feed.summary()
    await controller.audit.record(AuditEntry("route_off", "done", {"centre": SURGED}))
    now[0] = 0.9
    assert await feed.summary() is first  # another screen's poll within the second
    now[0] = 1.0
    assert [a["kind"] for a in (await feed.summary())["actions"]] == ["route_off", "route_on"]
