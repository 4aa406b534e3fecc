"""The demo desk's following of three-party rooms (bridge/demo/threeparty.py) against a small
HTTP server answering as the bridge's conference routes do: event lines in order, decision
keys pressed in the room by the cycling plan, the decisions the bridge recorded, rooms of other
features (404) dropped, the `--json` part."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.demo.bridge_api import BridgeApi
from bridge.demo.threeparty import RoomWatch

AGENT_LEG = "Local/12345-01@hb-demo-phones-00000003;1"
VOTE = {"by": "12345-01@hb-demo-phones", "voter_platform": "12345-370800", "at": 1.0}


def _view(
    room: str, answered: bool, acceptance: dict[str, str] | None, votes: list[dict[str, Any]]
) -> dict[str, Any]:
    agent = {"role": "origin_agent", "agent": "12345-01@hb-demo-phones", "in_room": True}
    return {
        "id": room,
        "ticket_id": f"LK-{room}",
        "state": "ended" if acceptance else "talking",
        "answered": answered,
        "platforms": {"origin": "12345-370800", "other": "110-370800", "first": "12345-370800"},
        "members": [{**agent, "channel": AGENT_LEG, "uniqueid": "a1"}],
        "votes": votes,
        "acceptance": acceptance,
        "notes": [],
    }


class FakeConferences:
    """Room 9000001 rings, is answered, then shows the decision the key made and is accepted."""

    def __init__(self) -> None:
        self.reads = 0

    async def get(self, request: web.Request) -> web.Response:
        room = request.match_info["room"]
        if room != "9000001":
            return web.json_response({"error": "not_found"}, status=404)
        self.reads += 1
        accepted = {"platform": "12345-370800", "rule": "decision", "by": "x", "reason": "y"}
        later = self.reads > 2
        votes = [{**VOTE, "platform": "12345-370800"}] if later else []
        return web.json_response(_view(room, self.reads > 1, accepted if later else None, votes))


async def test_room_followed_from_start_to_acceptance() -> None:
    fake = FakeConferences()
    app = web.Application()
    app.router.add_get("/api/conferences/{room}", fake.get)
    server = TestServer(app)
    await server.start_server()
    pressed: list[tuple[str, str, str]] = []

    async def press_key(pbx: str, member: str, digit: str) -> None:
        pressed.append((pbx, member, digit))

    try:
        lines: list[str] = []
        bridge = BridgeApi(str(server.make_url("")).rstrip("/"), "mon", "sup")
        watch = RoomWatch(bridge, lambda kind, text: lines.append(f"{kind}: {text}"), press_key)
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
        "conference: room 9000001: 12345-01@hb-demo-phones presses 1 (12345-370800 accepts)",
        "conference: room 9000001: decision recorded by key, 12345-01@hb-demo-phones "
        "(12345-370800): 12345-370800 accepts",
        "conference: room 9000001: accepted_by 12345-370800 (decision; ticket LK-9000001)",
    ]
    # The first plan: the starting agent presses 1 (its own platform) on its leg in the room.
    assert pressed == [("pbx-12345", AGENT_LEG, "1")]
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
            "decisions": [
                {
                    "by": "12345-01@hb-demo-phones",
                    "voter_platform": "12345-370800",
                    "platform": "12345-370800",
                }
            ],
            "accepted_by": "12345-370800",
            "rule": "decision",
            "state": "ended",
        }
    ]


async def _no_press(pbx: str, member: str, digit: str) -> None:
    raise AssertionError("no room is answered here: nothing is pressed")


def test_decision_plans_cycle_origin_other_none() -> None:
    watch = RoomWatch(BridgeApi("http://unused", "", ""), lambda kind, text: None, _no_press)
    for room in ("1", "2", "3", "4"):
        watch.started("pbx-110", room)
    watch.started("pbx-110", "1")  # a room seen twice keeps its plan
    assert [watch.rooms[r].plan for r in ("1", "2", "3", "4")] == [
        "origin",
        "other",
        None,
        "origin",
    ]
