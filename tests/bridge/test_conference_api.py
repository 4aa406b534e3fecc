"""The three-party call API over real HTTP, on the emulated PBX with a real Redis: start,
members and roles, decision, removing a member, who may see what, and bad input (a 4xx
naming what was wrong, nothing moved)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.conferences.config import ConferenceConfig
from bridge.conferences.routes import ConferenceRoutes, add_conference_routes
from bridge.http import RouteTable, create_app
from bridge.http.auth import TokenBook
from bridge.http.service_routes import add_service_routes
from bridge.service import Service
from bridge.settings import ApiToken, Role
from routing.tickets import TicketStatus
from tests.bridge.test_conference_emulated import (
    HOTLINE,
    PBX,
    POLICE,
    World,
    answered_12345_call,
    emulated,
    ended,
    eventually,
    three_in_room,
    until,
)
from tests.bridge.test_transfer_orchestration import JINING, SETTINGS

TOKENS = {
    "desk-12345": ("t-desk-12345-0123456789", Role.AGENT_12345, HOTLINE),
    "desk-110": ("t-desk-110-0123456789ab", Role.AGENT_110, POLICE),
    "desk-zoucheng": ("t-desk-370883-01234567", Role.AGENT_110, "110-370883"),
    "supervisor": ("t-supervisor-0123456789", Role.SUPERVISOR, None),
    "wallboard": ("t-monitor-0123456789abc", Role.MONITOR, None),
}
Client = TestClient[web.Request, web.Application]


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][0]}"}


@pytest.fixture
async def api(redis_client: aioredis.Redis, tmp_path: Path) -> AsyncIterator[tuple[Client, World]]:
    async with emulated(redis_client, tmp_path, ConferenceConfig()) as world:
        routes = RouteTable()
        add_service_routes(routes)
        add_conference_routes(routes, ConferenceRoutes(lambda: world.conferences))
        tokens = TokenBook(
            {
                value: ApiToken(name=name, token_env="UNUSED", role=role, platform=platform)
                for name, (value, role, platform) in TOKENS.items()
            }
        )
        service = Service(SETTINGS, JINING, environ={})
        app = create_app(
            routes=routes, tokens=tokens, health=service.components.health, control=service
        )
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        try:
            yield client, world
        finally:
            await client.close()


async def started(client: Client, world: World) -> tuple[str, str]:
    caller = await answered_12345_call(world)
    body = {"pbx": PBX, "channel": caller, "agent": "12345-01", "target": "110"}
    body["summary"] = "楼道堆放杂物堵塞消防通道"
    response = await client.post("/api/conferences", json=body, headers=auth("desk-12345"))
    assert response.status == 201, await response.text()
    return (await response.json())["id"], caller


async def test_endpoints_need_a_token_and_an_allowed_role(api: tuple[Client, World]) -> None:
    client, _ = api
    calls = [
        ("POST", "/api/conferences"),
        ("GET", "/api/conferences/9000001"),
        ("DELETE", "/api/conferences/9000001/members/caller"),
        ("POST", "/api/conferences/9000001/decision"),
    ]
    for method, path in calls:
        assert (await client.request(method, path)).status == 401, path
        forbidden = await client.request(method, path, headers=auth("wallboard"))
        assert forbidden.status == 403, path


async def test_start_show_decide_and_remove_over_http(api: tuple[Client, World]) -> None:
    client, world = api
    room, _caller = await started(client, world)
    await three_in_room(world, room)

    shown = await client.get(f"/api/conferences/{room}", headers=auth("desk-110"))
    assert shown.status == 200
    view: dict[str, Any] = await shown.json()
    roles = {m["role"]: m for m in view["members"]}
    assert set(roles) == {"caller", "origin_agent", "other_agent"}
    assert roles["origin_agent"]["agent"] == "12345-01"
    assert roles["other_agent"]["agent"].startswith("agent11")
    assert view["platforms"] == {"origin": HOTLINE, "other": POLICE, "first": HOTLINE}
    # A platform that is not in the call sees nothing of it.
    outsider = await client.get(f"/api/conferences/{room}", headers=auth("desk-zoucheng"))
    assert outsider.status == 403

    decided = await client.post(
        f"/api/conferences/{room}/decision",
        json={"platform": POLICE, "agent": "110-07"},
        headers=auth("desk-110"),
    )
    assert decided.status == 200
    now = (await decided.json())["accepting_now"]
    assert (now["platform"], now["rule"], now["by"]) == (POLICE, "decision", "110-07")

    removed = await client.delete(
        f"/api/conferences/{room}/members/caller", headers=auth("supervisor")
    )
    assert removed.status == 202
    final = await ended(world, room)
    assert final.acceptance is not None and final.acceptance.platform == POLICE
    ticket = await world.transfers.store.get(final.ticket_id)
    assert (ticket.status, ticket.accepted_by) == (TicketStatus.ACCEPTED, POLICE)
    assert ticket.summary == "楼道堆放杂物堵塞消防通道"
    shown = await client.get(f"/api/conferences/{room}", headers=auth("desk-12345"))
    view = await shown.json()
    assert (view["state"], view["acceptance"]["platform"]) == ("ended", POLICE)
    # Once ended, nothing more is decided or removed.
    late = await client.post(
        f"/api/conferences/{room}/decision",
        json={"platform": HOTLINE, "agent": "12345-01"},
        headers=auth("desk-12345"),
    )
    assert late.status == 409 and "has ended" in (await late.json())["detail"]


async def test_bad_input_is_named_and_moves_nobody(api: tuple[Client, World]) -> None:
    client, world = api
    headers = auth("desk-12345")
    not_json = await client.post("/api/conferences", data=b"{", headers=headers)
    assert not_json.status == 400
    no_agent = await client.post(
        "/api/conferences", json={"pbx": PBX, "channel": "x"}, headers=headers
    )
    assert no_agent.status == 422 and "agent" in (await no_agent.json())["detail"]
    no_call = await client.post(
        "/api/conferences",
        json={"pbx": PBX, "channel": "Local/nobody;1", "agent": "a"},
        headers=headers,
    )
    assert no_call.status == 404 and "Local/nobody;1" in (await no_call.json())["detail"]
    no_pbx = await client.post(
        "/api/conferences", json={"pbx": "nowhere", "channel": "c", "agent": "a"}, headers=headers
    )
    assert no_pbx.status == 404 and "nowhere" in (await no_pbx.json())["detail"]
    assert (await client.get("/api/conferences/abc", headers=headers)).status == 422
    missing = await client.get("/api/conferences/9999999", headers=headers)
    assert missing.status == 404 and "9999999" in (await missing.json())["detail"]
    assert not world.conferences.rooms.rooms

    room, _ = await started(client, world)
    await three_in_room(world, room)
    wrong = await client.post(
        f"/api/conferences/{room}/decision",
        json={"platform": "110-370883", "agent": "12345-01"},
        headers=headers,
    )
    assert wrong.status == 422 and "platform must be one of" in (await wrong.json())["detail"]
    unnamed = await client.post(
        f"/api/conferences/{room}/decision",
        json={"platform": POLICE, "agent": "sup-1"},
        headers=auth("supervisor"),
    )
    assert unnamed.status == 422 and "voter_platform" in (await unnamed.json())["detail"]
    extra = await client.post(
        f"/api/conferences/{room}/decision",
        json={"platform": POLICE, "agent": "a", "color": "red"},
        headers=headers,
    )
    assert extra.status == 422 and "color" in (await extra.json())["detail"]
    stranger = await client.delete(f"/api/conferences/{room}/members/nobody", headers=headers)
    assert stranger.status == 404 and "nobody" in (await stranger.json())["detail"]
    conference = await world.conference(room)
    assert not conference.votes and len(conference.in_room()) == 3


async def test_the_openapi_document_has_the_conference_routes(api: tuple[Client, World]) -> None:
    client, _ = api
    response = await client.get("/api/openapi.json", headers=auth("desk-110"))
    assert response.status == 200
    paths = (await response.json())["paths"]
    assert set(paths["/api/conferences/{conference_id}"]) == {"get"}
    assert "delete" in paths["/api/conferences/{conference_id}/members/{member}"]
    assert "post" in paths["/api/conferences/{conference_id}/decision"]


async def test_removing_the_other_side_while_it_rings_stops_the_ringing(
    api: tuple[Client, World],
) -> None:
    client, world = api
    for agent in ("agent111", "agent112"):
        interface = f"Local/{agent}@agents/n"
        await world.client.action(
            "QueuePause", Queue="q110-city", Interface=interface, Paused="true"
        )
    room, caller = await started(client, world)
    await until(
        lambda: any(c.name.startswith("Local/110@inbound") for c in world.live.channels.values()),
        "the 110 queue is being rung",
    )
    removed = await client.delete(
        f"/api/conferences/{room}/members/other_agent", headers=auth("desk-12345")
    )
    assert removed.status == 202
    assert (await removed.json())["removed"]["channel"].startswith("Local/110@inbound")
    await until(
        lambda: (
            not any(c.name.startswith("Local/110@inbound") for c in world.live.channels.values())
        ),
        "nothing rings at 110",
    )
    conference = await world.conference(room)

    async def failed() -> bool:
        ticket = await world.transfers.store.get(conference.ticket_id)
        return ticket.status is TicketStatus.TRANSFER_FAILED

    await eventually(failed, "the ticket says 110 did not answer")
    now = await world.conference(room)
    assert now.state == "talking" and not now.answered
    assert world.live.bridge_of(caller) is not None  # still with the 12345 agent
