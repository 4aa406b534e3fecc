"""The transfer and ticket API over real HTTP, a real Redis and scripted AMI peers: auth and
platform visibility, transfers, internet-channel tickets, search, the feedback loop, drafts,
bad input to every endpoint (a 4xx naming the field, nothing written) and screen-pop SSE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.http import RouteTable, create_app
from bridge.http.auth import TokenBook
from bridge.http.service_routes import add_service_routes
from bridge.screenpop.hub import LinkedCall
from bridge.screenpop.routes import ScreenPopRoutes, add_screenpop_routes
from bridge.service import Service
from bridge.settings import ApiToken, Role
from bridge.tickets import TicketDraft, TicketStore
from bridge.transfers.config import TransferConfig
from bridge.transfers.routes import TicketRoutes, add_ticket_routes
from routing.tickets import TicketStatus
from tests.bridge.test_transfer_orchestration import (
    JINING,
    PLATFORMS,
    SETTINGS,
    ZONES,
    World,
    world_of,
)

TOKENS = {
    "desk-12345": ("t-desk-12345-0123456789", Role.AGENT_12345, "12345-370800"),
    "desk-110": ("t-desk-110-0123456789ab", Role.AGENT_110, "110-370800"),
    "desk-zoucheng": ("t-desk-370883-01234567", Role.AGENT_110, "110-370883"),
    "supervisor": ("t-supervisor-0123456789", Role.SUPERVISOR, None),
    "wallboard": ("t-monitor-0123456789abc", Role.MONITOR, None),
}
Client = TestClient[web.Request, web.Application]


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][0]}"}


def token_book() -> TokenBook:
    return TokenBook(
        {
            value: ApiToken(name=name, token_env="UNUSED", role=role, platform=platform)
            for name, (value, role, platform) in TOKENS.items()
        }
    )


@pytest.fixture
async def api(redis_client: aioredis.Redis) -> AsyncIterator[tuple[Client, World]]:
    async with world_of(redis_client) as world:
        routes = RouteTable()
        add_service_routes(routes)
        add_ticket_routes(routes, TicketRoutes(lambda: world.stack, PLATFORMS, ZONES))
        queues = {q.name: p.id for p in PLATFORMS for q in p.queues}
        add_screenpop_routes(routes, ScreenPopRoutes(world.stack.hub, queues))
        service = Service(SETTINGS, JINING, environ={})
        app = create_app(
            routes=routes, tokens=token_book(), health=service.components.health, control=service
        )
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        try:
            yield client, world
        finally:
            await client.close()


def internet(request_id: str = "web-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": request_id,
        "target": "12345",
        "kind": "投诉举报",
        "summary": "夜间施工噪音，已出警调解，需住建部门处理",
        "district_code": "370811",
        "caller_number": "13900000001",
        "officers_contact": "李警官 0537-1234567",
        "originating_agent": "110-city-01",
    }
    body.update(changes)
    return body


async def ticket_keys(world: World) -> list[Any]:
    return list(await world.stack.store.redis.keys("hb:ticket:*"))


# --- auth ------------------------------------------------------------------------------------


async def test_every_ticket_endpoint_needs_a_token_and_an_allowed_role(
    api: tuple[Client, World],
) -> None:
    client, _ = api
    calls = [
        ("POST", "/api/transfers"),
        ("POST", "/api/tickets"),
        ("GET", "/api/tickets"),
        ("GET", "/api/tickets/LK-20261129-000001"),
        ("GET", "/api/calls/c1/ticket"),
        ("POST", "/api/tickets/LK-20261129-000001/feedback"),
        ("POST", "/api/tickets/LK-20261129-000001/status"),
        ("PUT", "/api/agents/seat-01/draft"),
        ("GET", "/api/screenpop/agents/seat-01/events"),
    ]
    for method, path in calls:
        missing = await client.request(method, path)
        assert missing.status == 401, path
        wrong = await client.request(method, path, headers={"Authorization": "Bearer nope-0000"})
        assert wrong.status == 401, path
        monitor = await client.request(method, path, headers=auth("wallboard"))
        assert monitor.status == 403, path  # tickets carry personal data


async def test_openapi_documents_the_ticket_api(api: tuple[Client, World]) -> None:
    client, _ = api
    document = await (await client.get("/api/openapi.json", headers=auth("supervisor"))).json()
    assert {
        "/api/transfers",
        "/api/tickets/{ticket_id}/feedback",
        "/api/calls/{uniqueid}/ticket",
    } <= set(document["paths"])
    assert "TransferRequest" in document["components"]["schemas"]


# --- transfers -------------------------------------------------------------------------------


async def test_an_agent_desktop_transfers_a_caller_and_the_call_finds_its_ticket(
    api: tuple[Client, World],
) -> None:
    client, world = api
    await world.seat("pbx-12345", "q12345", "c1", "a1", "PJSIP/12345-01", "13800000001")
    body = {
        "pbx": "pbx-12345",
        "channel": "PJSIP/citizen-c1",
        "agent": "12345-01",
        "kind": "报警",
        "summary": "对方扬言报复",
        "urgency": "urgent",
        "request_id": "d-1",
    }
    reply = await client.post("/api/transfers", json=body, headers=auth("desk-12345"))
    assert reply.status == 202, await reply.text()
    answer = await reply.json()
    assert (answer["status"], answer["target_queue"], answer["entry"]) == (
        "transferring",
        "q110-city",
        "hb-trunk,110@pbx-12345",
    )
    assert world.pbx["pbx-12345"].named("Redirect")[0]["Exten"] == "110"
    found = await client.get("/api/calls/c1/ticket", headers=auth("desk-12345"))
    ticket = await found.json()
    assert (ticket["id"], ticket["urgency"], ticket["originating_agent"]) == (
        answer["ticket_id"],
        "urgent",
        "12345-01",
    )
    assert [h["to_status"] for h in ticket["history"]] == ["created", "transferring"]
    # The receiving side sees it too; an uninvolved county centre does not.
    assert (await client.get("/api/calls/c1/ticket", headers=auth("desk-110"))).status == 200
    other = await client.get("/api/calls/c1/ticket", headers=auth("desk-zoucheng"))
    assert other.status == 403


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"pbx": "pbx-12345", "agent": "a"}, 422, "give channel or uniqueid"),
        ({"pbx": "pbx-12345", "channel": "c", "agent": "a", "kind": "闲聊"}, 422, "kind"),
        ({"pbx": "pbx-12345", "channel": "c", "agent": "has space"}, 422, "agent"),
        ({"pbx": "pbx-12345", "channel": "c", "agent": "a", "colour": "red"}, 422, "colour"),
        (
            {"pbx": "pbx-12345", "channel": "c", "agent": "a", "district_code": "37"},
            422,
            "district_code",
        ),
        ({"pbx": "pbx-9", "channel": "c", "agent": "a"}, 404, "PBX 'pbx-9' is not configured"),
        ({"pbx": "pbx-12345", "channel": "ghost", "agent": "a"}, 404, "'ghost' is not up"),
    ],
)
async def test_bad_transfer_requests_name_the_field_and_write_nothing(
    api: tuple[Client, World], body: dict[str, Any], status: int, named: str
) -> None:
    client, world = api
    reply = await client.post("/api/transfers", json=body, headers=auth("desk-12345"))
    assert reply.status == status
    assert named in (await reply.json())["detail"]
    assert await ticket_keys(world) == []


async def test_a_body_that_is_not_json_is_a_400(api: tuple[Client, World]) -> None:
    client, world = api
    for path in ("/api/transfers", "/api/tickets"):
        reply = await client.post(path, data=b"{nope", headers=auth("desk-110"))
        assert reply.status == 400
        assert (await reply.json())["detail"] == "the body is not JSON"
    assert await ticket_keys(world) == []


# --- internet-channel tickets, search, feedback loop -------------------------------------------


async def test_internet_ticket_reaches_the_other_list_and_the_loop_closes(
    api: tuple[Client, World],
) -> None:
    client, _ = api
    created = await client.post("/api/tickets", json=internet(), headers=auth("desk-110"))
    assert created.status == 201, await created.text()
    ticket = await created.json()
    assert (ticket["status"], ticket["direction"], ticket["channel"]) == (
        "queued",
        "110->12345",
        None,
    )
    again = await client.post("/api/tickets", json=internet(), headers=auth("desk-110"))
    assert (again.status, (await again.json())["id"]) == (200, ticket["id"])
    clash = await client.post(
        "/api/tickets", json=internet(summary="别的事"), headers=auth("desk-110")
    )
    assert clash.status == 409

    listed = await client.get("/api/tickets?status=queued", headers=auth("desk-12345"))
    assert [t["id"] for t in (await listed.json())["tickets"]] == [ticket["id"]]
    hidden = await client.get("/api/tickets", headers=auth("desk-zoucheng"))
    assert (await hidden.json())["tickets"] == []

    path = f"/api/tickets/{ticket['id']}"
    # Feedback before acceptance is out of order; only the receiving platform gives it.
    early = await client.post(
        f"{path}/feedback", json={"text": "已处理"}, headers=auth("desk-12345")
    )
    assert early.status == 409
    accept = await client.post(
        f"{path}/status", json={"status": "accepted"}, headers=auth("desk-12345")
    )
    assert (await accept.json())["accepted_by"] == "desk-12345"
    by_origin = await client.post(f"{path}/feedback", json={"text": "x"}, headers=auth("desk-110"))
    assert by_origin.status == 403
    feedback = await client.post(
        f"{path}/feedback", json={"text": "已转住建局，限期整改"}, headers=auth("desk-12345")
    )
    assert (await feedback.json())["feedback"][0]["text"] == "已转住建局，限期整改"
    closed = await client.post(
        f"{path}/status", json={"status": "closed"}, headers=auth("desk-110")
    )
    assert (await closed.json())["status"] == "closed"
    history = (await (await client.get(path, headers=auth("desk-110"))).json())["history"]
    assert [h["to_status"] for h in history] == [
        "created",
        "queued",
        "accepted",
        "feedback_given",
        "closed",
    ]


async def test_county_110_internet_ticket_records_both_hops(api: tuple[Client, World]) -> None:
    client, _ = api
    reply = await client.post(
        "/api/tickets",
        json=internet("web-c", district_code="370883"),
        headers=auth("desk-zoucheng"),
    )
    ticket = await reply.json()
    assert ticket["direction"] == "county110->12345"
    assert [(h["from_district"], h["to_platform"]) for h in ticket["hops"]] == [
        ("370883", "110"),
        ("370800", "12345"),
    ]
    # City 110 is party through the hop, so it sees the ticket.
    seen = await client.get(f"/api/tickets/{ticket['id']}", headers=auth("desk-110"))
    assert seen.status == 200


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"kind": "chat"}, "kind"),
        ({"target": "119"}, "target"),
        ({"district_code": "x"}, "district_code"),
        ({"summary": ""}, "summary"),
        ({"caller_number": "phone"}, "caller_number"),
        ({"request_id": "has space"}, "request_id"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_bad_internet_tickets_name_the_field_and_write_nothing(
    api: tuple[Client, World], changes: dict[str, Any], named: str
) -> None:
    client, world = api
    reply = await client.post("/api/tickets", json=internet(**changes), headers=auth("desk-110"))
    assert reply.status == 422
    assert (await reply.json())["detail"].startswith(named)
    assert await ticket_keys(world) == []


async def test_supervisor_must_say_the_source_platform(api: tuple[Client, World]) -> None:
    client, world = api
    reply = await client.post("/api/tickets", json=internet(), headers=auth("supervisor"))
    assert (reply.status, (await reply.json())["detail"]) == (
        422,
        "source_platform: required for this token's role",
    )
    same = await client.post(
        "/api/tickets",
        json=internet("web-s", source_platform="12345-370800", target="12345"),
        headers=auth("supervisor"),
    )
    assert "no transfer path from city 12345" in (await same.json())["detail"]
    assert await ticket_keys(world) == []


async def test_overdue_lists_only_late_unhandled_tickets(api: tuple[Client, World]) -> None:
    client, world = api
    fresh = await client.post("/api/tickets", json=internet("new"), headers=auth("desk-110"))
    fresh_id = (await fresh.json())["id"]
    # The same request made a month ago by a store whose clock says so: long past its due.
    stored = await world.stack.store.get(fresh_id)
    draft = TicketDraft.model_validate(stored.model_dump(include=set(TicketDraft.model_fields)))
    long_ago = datetime.now(UTC) - timedelta(days=30)
    old_store = TicketStore(
        world.stack.store.redis, TransferConfig().deadline_policy(), clock=lambda: long_ago
    )
    late = await old_store.create(draft, request_id="old", by="desk-110")
    overdue = await client.get("/api/tickets?overdue=true", headers=auth("supervisor"))
    assert [t["id"] for t in (await overdue.json())["tickets"]] == [late.ticket.id]
    mine = await client.get("/api/tickets?overdue=true", headers=auth("desk-12345"))
    assert [t["id"] for t in (await mine.json())["tickets"]] == [late.ticket.id]
    everything = await client.get("/api/tickets", headers=auth("supervisor"))
    assert {t["id"] for t in (await everything.json())["tickets"]} == {late.ticket.id, fresh_id}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("status=lost", "'lost'"),
        ("district=37", "district"),
        ("platform=119", "'119'"),
        ("since=yesterday", "since"),
        ("overdue=yes", "overdue"),
        ("limit=lots", "limit"),
        ("limit=0", "limit"),
        ("colour=red", "'colour'"),
    ],
)
async def test_bad_search_parameters_are_named(
    api: tuple[Client, World], query: str, named: str
) -> None:
    client, _ = api
    reply = await client.get(f"/api/tickets?{query}", headers=auth("supervisor"))
    assert reply.status == 400
    assert named in (await reply.json())["detail"]


async def test_status_changes_are_checked(api: tuple[Client, World]) -> None:
    client, _ = api
    ticket = await (
        await client.post("/api/tickets", json=internet(), headers=auth("desk-110"))
    ).json()
    path = f"/api/tickets/{ticket['id']}/status"
    no_reason = await client.post(path, json={"status": "returned"}, headers=auth("desk-12345"))
    assert (no_reason.status, "note" in (await no_reason.json())["detail"]) == (422, True)
    illegal = await client.post(path, json={"status": "closed"}, headers=auth("desk-12345"))
    assert illegal.status == 409  # queued -> closed is not an edge
    unknown = await client.post(path, json={"status": "done"}, headers=auth("desk-12345"))
    assert (unknown.status, (await unknown.json())["detail"].startswith("status")) == (422, True)
    missing = await client.post(
        "/api/tickets/LK-20261129-999999/status",
        json={"status": "closed"},
        headers=auth("desk-110"),
    )
    assert missing.status == 404
    stored = await client.get(f"/api/tickets/{ticket['id']}", headers=auth("desk-110"))
    assert (await stored.json())["status"] == "queued"  # nothing half-written


async def test_calls_without_a_ticket_are_404(api: tuple[Client, World]) -> None:
    client, _ = api
    reply = await client.get("/api/calls/nobody/ticket", headers=auth("desk-110"))
    assert (reply.status, (await reply.json())["detail"]) == (
        404,
        "no linkage ticket on call 'nobody'",
    )


# --- drafts ------------------------------------------------------------------------------------


async def test_agent_drafts_are_stored_and_bad_ones_named(api: tuple[Client, World]) -> None:
    client, world = api
    ok = await client.put(
        "/api/agents/12345-01/draft",
        json={"kind": "报警", "summary": "持刀", "target": "110"},
        headers=auth("desk-12345"),
    )
    assert ok.status == 200
    draft = await world.stack.drafts.get("12345-01")
    assert draft is not None and draft.summary == "持刀"
    bad_field = await client.put(
        "/api/agents/12345-01/draft", json={"urgency": "now"}, headers=auth("desk-12345")
    )
    assert (bad_field.status, (await bad_field.json())["detail"].startswith("urgency")) == (
        422,
        True,
    )
    bad_agent = await client.put("/api/agents/a%20b/draft", json={}, headers=auth("desk-12345"))
    assert bad_agent.status == 400
    kept = await world.stack.drafts.get("12345-01")
    assert kept is not None and kept.summary == "持刀"


# --- screen-pop --------------------------------------------------------------------------------


async def test_screenpop_stream_announces_linked_calls(api: tuple[Client, World]) -> None:
    client, world = api
    forbidden = await client.get(
        "/api/screenpop/queues/q110-city/events", headers=auth("desk-12345")
    )
    assert forbidden.status == 403
    assert (
        await client.get("/api/screenpop/queues/nope/events", headers=auth("supervisor"))
    ).status == 404
    stream = await client.get("/api/screenpop/queues/q110-city/events", headers=auth("desk-110"))
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert await stream.content.readline() == b": connected\n"
    await stream.content.readline()
    world.stack.hub.publish(
        LinkedCall("arrived", "LK-20261129-000007", "pbx-110", "q110-city", "u7")
    )
    world.stack.hub.publish(LinkedCall("arrived", "LK-20261129-000008", "pbx-110", "q12345", "u8"))
    world.stack.hub.publish(
        LinkedCall("answered", "LK-20261129-000007", "pbx-110", "q110-city", "u7", "110-city-01")
    )
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while len(events) < 2:
            line = await stream.content.readline()
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
    assert [(e["stage"], e["ticket_id"]) for e in events] == [
        ("arrived", "LK-20261129-000007"),
        ("answered", "LK-20261129-000007"),
    ]
    stream.close()


async def test_the_screenpop_page_is_served_without_data(api: tuple[Client, World]) -> None:
    client, _ = api
    page = await client.get("/screenpop/110-city-01")
    assert page.status == 200
    assert "/api/screenpop/agents/" in await page.text()
    assert (await client.get("/screenpop/a%20b")).status == 400


async def test_accepted_but_untouched_is_listed_as_not_acted(api: tuple[Client, World]) -> None:
    client, world = api
    long_ago = datetime.now(UTC) - timedelta(days=2)
    old_store = TicketStore(
        world.stack.store.redis, TransferConfig().deadline_policy(), clock=lambda: long_ago
    )
    fresh = await client.post("/api/tickets", json=internet("fresh"), headers=auth("desk-110"))
    fresh_id = (await fresh.json())["id"]
    stored = await world.stack.store.get(fresh_id)
    draft = TicketDraft.model_validate(stored.model_dump(include=set(TicketDraft.model_fields)))
    idle = (await old_store.create(draft, request_id="idle", by="desk-110")).ticket.id
    await old_store.transition(idle, TicketStatus.QUEUED, by="desk-110")
    await old_store.transition(idle, TicketStatus.ACCEPTED, by="desk-12345")  # 联而不动 since
    listed = await client.get("/api/tickets?not_acted=true", headers=auth("desk-12345"))
    assert [t["id"] for t in (await listed.json())["tickets"]] == [idle]


async def test_a_transfer_by_uniqueid_and_its_retry(api: tuple[Client, World]) -> None:
    client, world = api
    await world.seat("pbx-110", "q110-city", "c2", "a2", "PJSIP/110-city-02", "13900000002")
    body = {"pbx": "pbx-110", "uniqueid": "c2", "agent": "110-city-02", "request_id": "d-2"}
    first = await client.post("/api/transfers", json=body, headers=auth("desk-110"))
    again = await client.post("/api/transfers", json=body, headers=auth("desk-110"))
    one, two = await first.json(), await again.json()
    assert (first.status, one["target_queue"], one["created"]) == (202, "q12345", True)
    assert (two["ticket_id"], two["created"]) == (one["ticket_id"], False)
    assert len(world.pbx["pbx-110"].named("Redirect")) == 1


async def test_an_agent_token_cannot_act_for_another_platform(api: tuple[Client, World]) -> None:
    client, world = api
    body = internet("web-x", source_platform="110-370883")
    reply = await client.post("/api/tickets", json=body, headers=auth("desk-110"))
    assert (reply.status, (await reply.json())["detail"]) == (
        403,
        "source_platform: this token acts for 110-370800",
    )
    transfer = {"pbx": "pbx-110", "uniqueid": "c1", "agent": "a", "source_platform": "110-370883"}
    moved = await client.post("/api/transfers", json=transfer, headers=auth("desk-110"))
    assert moved.status == 403
    assert await ticket_keys(world) == []


async def test_export_streams_json_lines_filtered_and_role_checked(
    api: tuple[Client, World],
) -> None:
    client, _ = api
    ids = []
    for n in range(3):
        made = await client.post("/api/tickets", json=internet(f"x-{n}"), headers=auth("desk-110"))
        ids.append((await made.json())["id"])
    reply = await client.get("/api/tickets/export?status=queued", headers=auth("supervisor"))
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/x-ndjson")
    lines = (await reply.text()).splitlines()
    assert [json.loads(line)["id"] for line in lines] == ids
    none = await client.get("/api/tickets/export?status=closed", headers=auth("supervisor"))
    assert await none.text() == ""
    bad = await client.get("/api/tickets/export?status=nonsense", headers=auth("supervisor"))
    assert bad.status == 400
    assert "status" in await bad.text()
    assert (await client.get("/api/tickets/export")).status == 401
    mine = await client.get("/api/tickets/export", headers=auth("desk-zoucheng"))
    assert await mine.text() == ""  # a county centre is party to none of them
    denied = await client.get("/api/tickets/export", headers=auth("wallboard"))
    assert denied.status == 403
