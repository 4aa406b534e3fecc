"""HTTP: open health and metrics, bearer auth per role under /api, OpenAPI from the routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel

from bridge.http import ALL_ROLES, RouteTable, create_app
from bridge.json_logging import JsonFormatter
from bridge.service import RedisComponent, Service
from bridge.settings import RedisSettings, Role, load_settings
from tests.redis_server import RedisServer, free_port

JINING = Path(__file__).resolve().parents[2] / "config" / "jining.toml"
TOKENS = {
    Role.AGENT_12345: ("HOTLINE_TOKEN_DESK_12345", "desk12345-token-0123456789"),
    Role.AGENT_110: ("HOTLINE_TOKEN_DESK_110", "desk110-token-0123456789ab"),
    Role.SUPERVISOR: ("HOTLINE_TOKEN_SUPERVISOR", "supervisor-token-0123456789"),
    Role.ADMIN: ("HOTLINE_TOKEN_ADMIN", "admin-token-0123456789abcd"),
    Role.MONITOR: ("HOTLINE_TOKEN_MONITOR", "monitor-token-0123456789ab"),
}
UNKNOWN_TOKEN = "not-a-configured-token-42"


def auth(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role][1]}"}


def make_service() -> Service:
    environ = dict(TOKENS.values())
    return Service(load_settings(JINING), JINING, environ=environ)


async def client_for(service: Service) -> TestClient[web.Request, web.Application]:
    app = create_app(
        routes=service.routes,
        tokens=service.tokens,
        health=service.components.health,
        control=service,
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    test_client = await client_for(make_service())
    yield test_client
    await test_client.close()


async def health_with(redis: RedisComponent) -> tuple[int, dict[str, Any]]:
    """GET /health (no token) of a service whose one component is `redis`: status and body."""
    service = make_service()
    service.add(redis)
    await redis.start()
    client = await client_for(service)
    try:
        response = await client.get("/health")
        body: dict[str, Any] = await response.json()
    finally:
        await client.close()
        await redis.stop()
    return response.status, body


async def test_health_is_open_and_reports_redis(redis_server: RedisServer) -> None:
    status, body = await health_with(RedisComponent(RedisSettings(url=redis_server.url)))
    assert status == 200
    assert body["status"] == "ok"
    assert body["components"]["redis"]["status"] == "ok"
    assert body["components"]["redis"]["latency_ms"] >= 0


async def test_health_is_503_when_a_component_is_down() -> None:
    dead = RedisComponent(
        RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0", connect_timeout_seconds=0.5)
    )
    # Its start logs a warning and does not raise: the service keeps running.
    status, body = await health_with(dead)
    assert status == 503
    assert body["status"] == "degraded"
    assert body["components"]["redis"]["status"] == "down"
    assert "Error" in body["components"]["redis"]["error"]


async def test_metrics_is_open(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/metrics")
    assert response.status == 200
    assert "python_info" in await response.text()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"Bearer {UNKNOWN_TOKEN}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {TOKENS[Role.ADMIN][1]}"},
    ],
    ids=["none", "unknown", "empty", "basic-scheme"],
)
async def test_api_without_a_valid_token_is_401(
    client: TestClient[web.Request, web.Application], headers: dict[str, str]
) -> None:
    for path in ("/api/whoami", "/api/openapi.json", "/api/no-such-route"):
        response = await client.get(path, headers=headers)
        assert response.status == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await response.json())["error"] == "unauthorized"


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_may_ask_who_it_is(
    client: TestClient[web.Request, web.Application], role: Role
) -> None:
    response = await client.get("/api/whoami", headers=auth(role))
    assert response.status == 200
    body = await response.json()
    assert body["role"] == role.value
    expected_platform = {Role.AGENT_12345: "12345-370800", Role.AGENT_110: "110-370800"}
    assert body["platform"] == expected_platform.get(role)


async def test_bearer_scheme_is_case_insensitive(
    client: TestClient[web.Request, web.Application],
) -> None:
    headers = {"Authorization": f"bearer {TOKENS[Role.MONITOR][1]}"}
    assert (await client.get("/api/whoami", headers=headers)).status == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.AGENT_12345, 403),
        (Role.AGENT_110, 403),
        (Role.MONITOR, 403),
        (Role.SUPERVISOR, 200),
        (Role.ADMIN, 200),
    ],
)
async def test_config_summary_is_for_supervisors_and_admins(
    client: TestClient[web.Request, web.Application], role: Role, status: int
) -> None:
    response = await client.get("/api/config", headers=auth(role))
    assert response.status == status
    body = await response.json()
    if status == 403:
        assert body["error"] == "forbidden"
        assert "admin, supervisor" in body["detail"]
    else:
        assert "q110-370883" in body["queues"]
        assert "HOTLINE" not in str(body)  # not even the names of secret variables


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
async def test_reload_is_admin_only(
    client: TestClient[web.Request, web.Application], role: Role
) -> None:
    response = await client.post("/api/config/reload", headers=auth(role))
    assert response.status == 403


async def test_admin_reload_over_http(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post("/api/config/reload", headers=auth(Role.ADMIN))
    assert response.status == 200
    assert (await response.json())["reloaded"] is True


async def test_unknown_api_route_with_a_token_is_404(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/api/no-such-route", headers=auth(Role.ADMIN))
    assert response.status == 404


async def test_tokens_never_reach_the_logs(
    client: TestClient[web.Request, web.Application], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.get("/api/whoami", headers={"Authorization": f"Bearer {UNKNOWN_TOKEN}"})
    await client.get("/api/config", headers=auth(Role.MONITOR))
    await client.get("/api/whoami", headers=auth(Role.ADMIN))
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("request rejected" in line for line in lines)
    assert any("request forbidden" in line for line in lines)
    secrets = [UNKNOWN_TOKEN, *(value for _, value in TOKENS.values())]
    for line in lines:
        assert not any(secret in line for secret in secrets), line


async def test_openapi_document_lists_routes_with_roles(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/api/openapi.json", headers=auth(Role.MONITOR))
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    health = document["paths"]["/health"]["get"]
    assert "security" not in health
    assert health["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HealthReport"
    }
    config = document["paths"]["/api/config"]["get"]
    assert config["x-roles"] == ["admin", "supervisor"]
    assert config["security"] == [{"bearer": []}]
    assert {"401", "403"} <= set(config["responses"])
    assert document["paths"]["/api/config/reload"]["post"]["x-roles"] == ["admin"]
    assert "HealthReport" in document["components"]["schemas"]


class TicketNote(BaseModel):
    text: str


async def test_openapi_follows_routes_added_later() -> None:
    service = make_service()

    async def add_note(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["ticket_id"]})

    service.routes.add(
        "POST",
        "/api/tickets/{ticket_id:[A-Z0-9-]+}/notes",
        add_note,
        summary="Add a note",
        roles={Role.AGENT_12345, Role.AGENT_110},
        request_model=TicketNote,
    )
    client = await client_for(service)
    try:
        document = await (await client.get("/api/openapi.json", headers=auth(Role.ADMIN))).json()
        allowed = await client.post("/api/tickets/LK-1/notes", headers=auth(Role.AGENT_110))
        refused = await client.post("/api/tickets/LK-1/notes", headers=auth(Role.MONITOR))
    finally:
        await client.close()
    operation = document["paths"]["/api/tickets/{ticket_id}/notes"]["post"]
    assert operation["parameters"][0]["name"] == "ticket_id"
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/TicketNote"
    )
    assert "TicketNote" in document["components"]["schemas"]
    assert (allowed.status, refused.status) == (200, 403)


def test_route_table_refuses_mistakes() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    table = RouteTable()
    with pytest.raises(ValueError, match="everything under /api needs roles"):
        table.add("GET", "/api/open", handler, summary="x", roles=None)
    with pytest.raises(ValueError, match="unsupported HTTP method 'FETCH'"):
        table.add("FETCH", "/x", handler, summary="x", roles=None)
    with pytest.raises(ValueError, match="starts with '/'"):
        table.add("GET", "x", handler, summary="x", roles=None)
    table.add("GET", "/api/a", handler, summary="x", roles=ALL_ROLES)
    with pytest.raises(ValueError, match="already registered"):
        table.add("get", "/api/a", handler, summary="x", roles=ALL_ROLES)
