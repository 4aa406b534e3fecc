"""A three-party call as the bridge keeps it (JSON in Redis, see bridge.conferences.store)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from routing.conference_rules import Acceptance, Role, Vote

State = Literal["ringing", "talking", "ended"]


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uniqueid: str
    channel: str
    role: Role
    agent: str = ""  # agent id for the agents' legs
    in_room: bool = False


class Conference(BaseModel):
    """One room. `id` is the room number (digits: [hb-conf] matches `_X.`)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    ticket_id: str
    pbx: str  # the room lives on the origin PBX
    origin_platform: str
    other_platform: str
    first_platform: str  # received the call first (tie-break)
    police_platform: str | None  # the 110 one of the two (urgent rule)
    danger: str = ""  # why the request is a danger to life/property/safety ("" if not)
    members: dict[str, Member] = Field(default_factory=dict)  # by uniqueid
    other_leg: str  # uniqueid the Originate gives the other side's ;1 (ChannelId)
    entry_context: str  # where the other side's queue is reached from the origin PBX
    entry_extension: str
    target_pbx: str
    target_queue: str
    origin_context: str  # the origin queue's entry (a caller handed back goes there)
    origin_extension: str
    state: State = "ringing"
    answered: bool = False
    ring_deadline: float
    votes: list[Vote] = Field(default_factory=list)
    acceptance: Acceptance | None = None  # final, once recorded on the ticket
    notes: list[str] = Field(default_factory=list)  # what happened, in order
    created_at: float

    def role_of(self, uniqueid: str) -> Role | None:
        member = self.members.get(uniqueid)
        return None if member is None else member.role

    def member_by_role(self, role: Role) -> Member | None:
        return next((m for m in self.members.values() if m.role is role), None)

    def in_room(self) -> list[Member]:
        return [m for m in self.members.values() if m.in_room]

    def platform_of(self, role: Role) -> str | None:
        if role is Role.ORIGIN_AGENT:
            return self.origin_platform
        if role is Role.OTHER_AGENT:
            return self.other_platform
        return None

    def role_of_platform(self, platform: str) -> Role:
        return Role.ORIGIN_AGENT if platform == self.origin_platform else Role.OTHER_AGENT

    def view(self) -> dict[str, Any]:
        """What GET /api/conferences/{id} shows."""
        data: dict[str, Any] = self.model_dump(
            mode="json", include={"id", "ticket_id", "pbx", "state", "answered", "danger"}
        )
        data["platforms"] = {
            "origin": self.origin_platform,
            "other": self.other_platform,
            "first": self.first_platform,
        }
        data["members"] = [m.model_dump(mode="json") for m in self.members.values()]
        data["votes"] = [
            {"by": v.by, "voter_platform": v.voter_platform, "platform": v.platform, "at": v.at}
            for v in self.votes
        ]
        data["acceptance"] = None if self.acceptance is None else _acceptance(self.acceptance)
        data["notes"] = list(self.notes)
        return data


def _acceptance(acceptance: Acceptance) -> dict[str, str]:
    return {
        "platform": acceptance.platform,
        "rule": acceptance.rule.value,
        "by": acceptance.by,
        "reason": acceptance.reason,
    }
