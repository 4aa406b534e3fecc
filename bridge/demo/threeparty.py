"""Three-party calls in the demo (issue 5): the rooms the agents' `*9` presses open, followed
through the bridge's API, and the desk's decisions.

The driver tells this watch when a PBX starts a ConfBridge room (`ConfbridgeStart`). The watch
then reads `GET /api/conferences/{room}` (rooms that are not three-party calls answer 404 and
are dropped) and shows what happens: the room started, the other side answered, the desk's
decision or none (left to the tie-break), the acceptance. The emulator does not play
ConfBridge menus, so the agents' decision keys are stood in for by the desk posting
`POST /api/conferences/{room}/decision` as a supervisor on the starting agent's behalf.

Decision plans cycle: the starting platform accepts, the other platform accepts, nobody
decides (the platform that received the call first accepts: tie-break). The desk's drafts
for `*9` (desk.py) make the second of every four calls urgent: danger overrides whatever is decided.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bridge.demo.bridge_api import BridgeApi

log = logging.getLogger(__name__)

# Which platform the desk says should accept: the starting one, the other one, or nobody.
DECISION_PLANS = ("origin", "other", None)

Note = Callable[[str, str], None]  # (kind, text)


@dataclass
class Room:
    id: str
    pbx: str
    plan: str | None  # "origin", "other" or None (no decision: tie-break)
    view: dict[str, Any] | None = None
    answered_said: bool = False
    decided: bool = False
    done: bool = False  # acceptance shown, or ended without one
    not_ours: bool = False  # 404: a room of something else


@dataclass
class RoomWatch:
    bridge: BridgeApi
    note: Note
    rooms: dict[str, Room] = field(default_factory=dict)
    _plans: Iterator[str | None] = field(default_factory=lambda: itertools.cycle(DECISION_PLANS))

    def started(self, pbx: str, room: str) -> None:
        """A PBX said `ConfbridgeStart` for `room`."""
        if room not in self.rooms:
            self.rooms[room] = Room(room, pbx, next(self._plans))

    async def poll(self) -> None:
        """Reads every open room once and shows what changed; decides when the plan says."""
        for room in list(self.rooms.values()):
            if room.done or room.not_ours:
                continue
            view = await self.bridge.read_conference(room.id)
            if view is None:
                # A room the conference service does not know (e.g. another feature's).
                room.not_ours = self.bridge.problem.endswith("answered 404")
                continue
            await self._follow(room, view)

    async def _follow(self, room: Room, view: dict[str, Any]) -> None:
        first = room.view is None
        room.view = view
        platforms = view["platforms"]
        if first:
            self.note(
                "conference",
                f"three-party room {room.id} started: ticket {view['ticket_id']}, "
                f"{platforms['origin']} rings {platforms['other']}",
            )
        if view["answered"] and not room.answered_said:
            room.answered_said = True
            self.note("conference", f"room {room.id}: {platforms['other']} answered")
        if view["answered"] and not room.decided and view["acceptance"] is None:
            room.decided = True
            await self._decide(room, view)
        acceptance = view["acceptance"]
        if acceptance is not None:
            room.done = True
            self.note(
                "conference",
                f"room {room.id}: accepted_by {acceptance['platform']} "
                f"({acceptance['rule']}; ticket {view['ticket_id']})",
            )
        elif view["state"] == "ended":
            room.done = True
            last = view["notes"][-1] if view["notes"] else "no acceptance"
            self.note("conference", f"room {room.id} ended without acceptance: {last}")

    async def _decide(self, room: Room, view: dict[str, Any]) -> None:
        platforms = view["platforms"]
        if room.plan is None:
            self.note("conference", f"room {room.id}: nobody decides (tie-break at the end)")
            return
        accepting = platforms[room.plan]
        agent = _origin_agent(view)
        body = {"platform": accepting, "agent": agent, "voter_platform": platforms["origin"]}
        answer = await self._post(f"/api/conferences/{room.id}/decision", body)
        if answer is None:
            return
        now = answer["accepting_now"]
        self.note(
            "conference",
            f"room {room.id}: {agent} decides {accepting} accepts "
            f"(as things stand: {now['platform']}, {now['rule']})",
        )

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        headers = {"Authorization": f"Bearer {self.bridge.supervisor_token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.post(self.bridge.http_base + path, json=body, headers=headers) as answer,
            ):
                data: dict[str, Any] = await answer.json()
                if answer.status != 200:
                    # e.g. the caller hung up a moment before: the room is closing.
                    self.note("conference", f"decision refused ({answer.status}): {data}")
                    return None
                return data
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.debug("decision not posted", extra={"error": str(exc)})
            return None

    def summary(self) -> list[dict[str, Any]]:
        """The `--json` part: one entry per three-party room."""
        shown = []
        for room in self.rooms.values():
            if room.view is None:
                continue
            acceptance = room.view["acceptance"] or {}
            shown.append(
                {
                    "id": room.id,
                    "ticket": room.view["ticket_id"],
                    "platforms": room.view["platforms"],
                    "answered": room.view["answered"],
                    "decision_plan": room.plan or "none",
                    "accepted_by": acceptance.get("platform"),
                    "rule": acceptance.get("rule"),
                    "state": room.view["state"],
                }
            )
        return shown


def _origin_agent(view: dict[str, Any]) -> str:
    for member in view["members"]:
        if member.get("role") == "origin_agent" and member.get("agent"):
            return str(member["agent"])
    return "desk"
