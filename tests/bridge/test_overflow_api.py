"""Operator endpoints on the emulated 110 PBX: GET /api/overflow shows the loans and the audit,
release gives everything back, override forces or forbids support; roles are enforced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from bridge.http import RouteTable, TokenBook, create_app
from bridge.overflow.controller import OverflowController
from bridge.overflow.routes import add_overflow_routes
from bridge.settings import ApiToken, Role
from telephony.ami.client import AMIClient
from telephony.pbxsim import EmulatedPBX
from tests.bridge.test_overflow_pbx import (
    AID,
    SURGED,
    ami,
    controller_for,
    hang_up_all,
    pbx,
    surge,
    view,
)

__all__ = ["ami", "pbx"]  # fixtures shared with the PBX tests
SUPERVISOR, AGENT = "supervisor-token", "agent-token"


class NoControl:
    async def drain(self) -> None:
        return None


@pytest.fixture
async def controller(
    pbx: EmulatedPBX, ami: AMIClient, redis_client: aioredis.Redis
) -> OverflowController:
    return controller_for(pbx, ami, redis_client)


@pytest.fixture
async def http(controller: OverflowController) -> AsyncIterator[TestClient[Any, Any]]:
    routes = RouteTable()
    add_overflow_routes(routes, controller)
    tokens = TokenBook(
        {
            SUPERVISOR: ApiToken(name="duty", token_env="SUP_TOKEN", role=Role.SUPERVISOR),
            AGENT: ApiToken(name="seat", token_env="AGENT_TOKEN", role=Role.AGENT_110),
        }
    )

    async def health() -> dict[str, Any]:
        return {}

    app = create_app(routes=routes, tokens=tokens, health=health, control=NoControl())  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_show_and_release(
    http: TestClient[Any, Any], controller: OverflowController, ami: AMIClient, pbx: EmulatedPBX
) -> None:
    await controller.tick()
    await surge(ami)
    await controller.tick()
    shown = await http.get("/api/overflow", headers=auth(AGENT))
    assert shown.status == 200
    body = await shown.json()
    assert SURGED in body["supported"] and body["routed"] == {SURGED: "aid110370883"}
    assert any(loan["queue"] == AID for loan in body["loans"])
    assert body["audit"] and body["audit"][0]["kind"]

    refused = await http.post("/api/overflow/release", headers=auth(AGENT))
    assert refused.status == 403
    released = await http.post("/api/overflow/release", headers=auth(SUPERVISOR))
    assert released.status == 200
    body = await released.json()
    assert body["released_loans"] > 0 and body["loans"] == [] and body["release_until"]
    assert not [m for m in (await view(ami)).members if m.dynamic]
    await controller.tick()  # still swamped, but the release holds automatic support off
    assert not controller.state.loans
    await hang_up_all(ami, pbx)


async def test_override_forbid_and_force(
    http: TestClient[Any, Any], controller: OverflowController, ami: AMIClient, pbx: EmulatedPBX
) -> None:
    await controller.tick()
    await surge(ami)
    await controller.tick()
    assert SURGED in controller.state.supported
    forbid = await http.post(
        "/api/overflow/override",
        json={"centre": SURGED, "mode": "forbid"},
        headers=auth(SUPERVISOR),
    )
    assert forbid.status == 200
    await controller.tick()
    assert SURGED not in controller.state.supported
    assert not [m for m in (await view(ami)).in_queue(AID) if m.dynamic]

    force = await http.post(
        "/api/overflow/override",
        json={"centre": "370811", "mode": "force"},
        headers=auth(SUPERVISOR),
    )
    assert force.status == 200
    await controller.tick()
    assert "370811" in controller.state.supported
    assert (await http.get("/api/overflow", headers=auth(AGENT))).status == 200
    body = await (await http.get("/api/overflow", headers=auth(AGENT))).json()
    assert body["overrides"] == {SURGED: "forbid", "370811": "force"}

    unknown = await http.post(
        "/api/overflow/override",
        json={"centre": "999999", "mode": "force"},
        headers=auth(SUPERVISOR),
    )
    assert unknown.status == 404 and "999999" in (await unknown.json())["detail"]
    bad = await http.post(
        "/api/overflow/override", json={"centre": SURGED, "mode": "maybe"}, headers=auth(SUPERVISOR)
    )
    assert bad.status == 400 and "mode" in (await bad.json())["detail"]
    await hang_up_all(ami, pbx)
