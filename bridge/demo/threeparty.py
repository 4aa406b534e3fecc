"""Three-party calls in the demo (issue 5): the rooms the agents' `*9` presses open, followed
through the bridge's API, and the desk's decisions.

The driver tells this watch when a PBX starts a ConfBridge room (`ConfbridgeStart`). The watch
then reads `GET /api/conferences/{room}` (rooms that are not three-party calls answer 404 and
are dropped) and shows what happens: the room started, the other side answered, the starting
agent's decision key or none (left to the tie-break), each decision the bridge recorded, the
acceptance. The decision is a key pressed on the agent's phone in the room, as a call-taker
does it: the shipped confbridge.conf menu (`hb_menu`: 1 = my platform accepts, 2 = the other
one) runs `dialplan_exec(hb-conf-keys,...)` -> AGI -> the bridge.

Decision plans cycle: the starting platform accepts (key 1), the other platform accepts
(key 2), nobody decides (the platform that received the call first accepts: tie-break). The
desk's drafts for `*9` (desk.py) make the second of every four calls urgent: danger overrides
whatever is decided.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bridge.demo.bridge_api import BridgeApi

# Which platform the starting agent says should accept: its own, the other one, or nobody.
DECISION_PLANS = ("origin", "other", None)
# hb_menu in the shipped confbridge.conf: 1 = my platform accepts, 2 = the other platform.
DECISION_KEYS = {"origin": "1", "other": "2"}

Note = Callable[[str, str], None]  # (kind, text)
PressKey = Callable[[str, str, str], Awaitable[None]]  # (pbx, member channel, digit)


@dataclass
class Room:
    id: str
    pbx: str
    plan: str | None  # "origin", "other" or None (no decision: tie-break)
    view: dict[str, Any] | None = None
    answered_said: bool = False
    decided: bool = False
    votes_shown: int = 0
    done: bool = False  # acceptance shown, or ended without one
    not_ours: bool = False  # 404: a room of something else


@dataclass
class RoomWatch:
    bridge: BridgeApi
    note: Note
    press_key: PressKey
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
        for vote in view["votes"][room.votes_shown :]:
            self.note(
                "conference",
                f"room {room.id}: decision recorded by key, {vote['by']} "
                f"({vote['voter_platform']}): {vote['platform']} accepts",
            )
        room.votes_shown = len(view["votes"])
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
        if room.plan is None:
            self.note("conference", f"room {room.id}: nobody decides (tie-break at the end)")
            return
        member = _origin_agent(view)
        if member is None:
            return
        key = DECISION_KEYS[room.plan]
        accepting = view["platforms"][room.plan]
        await self.press_key(room.pbx, member["channel"], key)
        self.note(
            "conference",
            f"room {room.id}: {member.get('agent') or 'the agent'} presses {key} "
            f"({accepting} accepts)",
        )

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
                    # What the bridge recorded from the agents' keys in the room.
                    "decisions": [
                        {k: vote[k] for k in ("by", "voter_platform", "platform")}
                        for vote in room.view["votes"]
                    ],
                    "accepted_by": acceptance.get("platform"),
                    "rule": acceptance.get("rule"),
                    "state": room.view["state"],
                }
            )
        return shown


def _origin_agent(view: dict[str, Any]) -> dict[str, Any] | None:
    """The starting agent's member entry while it is in the room."""
    for member in view["members"]:
        if member.get("role") == "origin_agent" and member.get("in_room"):
            found: dict[str, Any] = member
            return found
    return None
