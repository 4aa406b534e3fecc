"""The demo desk's following of three-party rooms (bridge/demo/threeparty.py) against a small
HTTP server answering as the bridge's conference routes do: event lines in order, decisions
by the cycling plan, rooms of other features (404) dropped, the `--json` part."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.demo.bridge_api import BridgeApi
from bridge.demo.threeparty import RoomWatch


def _view(room: str, answered: bool, acceptance: dict[str, str] | None) -> dict[str, Any]:
    return {
        "id": room,
        "ticket_id": f"LK-{room}",
        "state": "ended" if acceptance else "talking",
        "answered": answered,
        "platforms": {"origin": "12345-370800", "other": "110-370800", "first": "12345-370800"},
        "members": [{"role": "origin_agent", "agent": "12345-01@phones"}],
        "acceptance": acceptance,
        "notes": [],
    }


class FakeConferences:
    """Room 9000001 rings, then is answered, then accepted; the decisions posted are kept."""

    def __init__(self) -> None:
        self.reads = 0
        self.decisions: list[dict[str, Any]] = []

    async def get(self, request: web.Request) -> web.Response:
        room = request.match_info["room"]
        if room != "9000001":
            return web.json_response({"error": "not_found"}, status=404)
        self.reads += 1
        accepted = {"platform": "110-370800", "rule": "decision", "by": "x", "reason": "y"}
        view = _view(room, self.reads > 1, accepted if self.reads > 2 else None)
        return web.json_response(view)

    async def decide(self, request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer sup"
        body = await request.json()
        self.decisions.append(body)
        now = {"platform": body["platform"], "rule": "decision", "by": "a", "reason": "r"}
        return web.json_response({"accepting_now": now})


async def test_room_followed_from_start_to_acceptance() -> None:
    fake = FakeConferences()
    app = web.Application()
    app.router.add_get("/api/conferences/{room}", fake.get)
    app.router.add_post("/api/conferences/{room}/decision", fake.decide)
    server = TestServer(app)
    await server.start_server()
    try:
        lines: list[str] = []
        bridge = BridgeApi(str(server.make_url("")).rstrip("/"), "mon", "sup")
        watch = RoomWatch(bridge, lambda kind, text: lines.append(f"{kind}: {text}"))
        watch.started("pbx-12345", "9000001")
        watch.started("pbx-12345", "1234")  # e.g. another feature's room: 404, dropped
        for _ in range(4):
            await watch.poll()
    finally:
        await server.close()
    assert lines == [
        "conference: three-party room 9000001 started: ticket LK-9000001, "
        "12345-370800 rings 110-370800",
        "conference: room 9000001: 110-370800 answered",
        "conference: room 9000001: 12345-01@phones decides 12345-370800 accepts "
        "(as things stand: 12345-370800, decision)",
        "conference: room 9000001: accepted_by 110-370800 (decision; ticket LK-9000001)",
    ]
    # The first plan: the starting platform accepts, voted for the starting platform.
    assert fake.decisions == [
        {
            "platform": "12345-370800",
            "agent": "12345-01@phones",
            "voter_platform": "12345-370800",
        }
    ]
    assert fake.reads == 3  # an accepted room is not read again
    assert watch.rooms["1234"].not_ours
    assert watch.summary() == [
        {
            "id": "9000001",
            "ticket": "LK-9000001",
            "platforms": {
                "origin": "12345-370800",
                "other": "110-370800",
                "first": "12345-370800",
            },
            "answered": True,
            "decision_plan": "origin",
            "accepted_by": "110-370800",
            "rule": "decision",
            "state": "ended",
        }
    ]


def test_decision_plans_cycle_origin_other_none() -> None:
    watch = RoomWatch(BridgeApi("http://unused", "", ""), lambda kind, text: None)
    for room in ("1", "2", "3", "4"):
        watch.started("pbx-110", room)
    watch.started("pbx-110", "1")  # a room seen twice keeps its plan
    assert [watch.rooms[r].plan for r in ("1", "2", "3", "4")] == [
        "origin",
        "other",
        None,
        "origin",
    ]
