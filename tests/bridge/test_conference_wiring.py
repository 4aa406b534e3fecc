"""install_conferences: the component is built on the transfer component, attaches to the
logged-in AMI clients, recovers the rooms a previous run left (Redis + ConfbridgeList) and
registers the HTTP and AGI routes."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bridge.conferences.model import Conference, Member
from bridge.conferences.store import ConferenceStore
from bridge.conferences.wiring import DangerFromRules, install_conferences
from bridge.ivr_wiring import SCOPE_RULES
from bridge.service import RedisComponent, Service
from bridge.settings import RedisSettings
from bridge.transfers.wiring import install_transfers
from routing.conference_rules import Role
from telephony.agi import AgiRoutes
from tests.bridge.test_transfer_orchestration import JINING, SETTINGS
from tests.bridge.test_transfer_peer import scripted
from tests.bridge.test_transfer_wiring import LoggedIn
from tests.redis_server import RedisServer


def left_behind(room: str) -> Conference:
    """A conference a previous run was keeping when it stopped."""
    caller = Member(uniqueid="c1", channel="PJSIP/citizen-1", role=Role.CALLER, in_room=True)
    return Conference(
        id=room,
        ticket_id="LK-20261129-000001",
        pbx="pbx-12345",
        origin_platform="12345-370800",
        other_platform="110-370800",
        first_platform="12345-370800",
        police_platform="110-370800",
        members={"c1": caller},
        other_leg=f"{room}-1",
        entry_context="hb-trunk",
        entry_extension="110",
        target_pbx="pbx-110",
        target_queue="q110-city",
        origin_context="hb-queue",
        origin_extension="12345",
        state="talking",
        answered=True,
        ring_deadline=0.0,
        created_at=0.0,
    )


async def test_the_component_attaches_recovers_and_registers_routes(
    redis_server: RedisServer, redis_client: aioredis.Redis
) -> None:
    await ConferenceStore(redis_client).save(left_behind("9000042"))
    async with (
        scripted("pbx-12345", {"q12345"}) as (pbx12345, c1),
        scripted("pbx-110", {"q110-city"}) as (_, c2),
    ):
        # The room is gone from the PBX: everyone left while the bridge was down.
        pbx12345.errors["ConfbridgeList"] = "No Conference by that name found."
        service = Service(SETTINGS, JINING, environ={})
        service.add(RedisComponent(RedisSettings(url=redis_server.url)))
        service.add(LoggedIn("pbx-12345", c1))
        service.add(LoggedIn("pbx-110", c2))
        agi_routes = AgiRoutes()
        transfers = install_transfers(service, agi_routes)
        component = install_conferences(service, agi_routes, transfers, SCOPE_RULES)
        assert agi_routes.get("threeparty") is not None
        assert agi_routes.get("conference-key") is not None
        paths = {(spec.method, spec.path) for spec in service.routes.specs}
        assert {
            ("POST", "/api/conferences"),
            ("GET", "/api/conferences/{conference_id}"),
            ("DELETE", "/api/conferences/{conference_id}/members/{member}"),
            ("POST", "/api/conferences/{conference_id}/decision"),
        } <= paths
        await service.components.start_all()
        try:
            for _ in range(1000):
                if component.recovered is not None:
                    break
                await asyncio.sleep(0.01)
            assert component.recovered == {"9000042": "ended"}
            health = await component.health()
            assert (health["status"], health["recovered"], health["danger_rules"]) == (
                "ok",
                1,
                True,
            )
            stored = await ConferenceStore(redis_client).get("9000042")
            assert stored is not None and stored.state == "ended"
            assert await ConferenceStore(redis_client).active() == []
            listed = pbx12345.named("ConfbridgeList")
            assert [a["Conference"] for a in listed] == ["9000042"]
        finally:
            await service.components.stop_all(deadline_seconds=5)


def test_danger_comes_from_the_scope_rules_once_loaded() -> None:
    danger = DangerFromRules(SCOPE_RULES)
    assert danger("有人拿刀在街上砍人") == ""  # not loaded yet: urgency alone decides
    asyncio.run(danger.load())
    reason = danger("有人拿刀在街上砍人")
    assert reason.startswith("classified as danger: ") and "砍人" in reason
    assert danger("小区门口井盖丢失") == ""
