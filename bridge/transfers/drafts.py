"""What an agent's desktop has typed so far, kept in Redis for the next key press.

Key: ``hb:draft:<agent>`` (string, JSON of :class:`AgentDraft`, expires after the draft TTL).
The one-key AGI route reads it, so the ticket carries the kind and summary the agent already
wrote; without one the ticket is minimal and the agent completes it afterwards.
"""

from __future__ import annotations

import re
from typing import Annotated

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field

from bridge import redis_keys
from routing.tickets import Kind, Urgency

AGENT_ID = re.compile(r"^[A-Za-z0-9@._:\-]{1,80}$")
DistrictCode = Annotated[str, Field(pattern=r"^\d{6}$")]


class AgentDraft(BaseModel):
    """Ticket fields an agent prepared; every field optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind | None = None
    summary: Annotated[str, Field(max_length=4000)] = ""
    urgency: Urgency | None = None
    caller_name: Annotated[str, Field(max_length=64)] | None = None
    location: Annotated[str, Field(max_length=400)] | None = None
    district_code: DistrictCode | None = None
    officers_contact: Annotated[str, Field(max_length=200)] | None = None
    origin_ref: Annotated[str, Field(max_length=64)] | None = None
    # "110" / "12345": needed only when city 110 sends to a county centre ("110" + district).
    target: Annotated[str, Field(pattern=r"^(110|12345)$")] | None = None
    mode: Annotated[str, Field(pattern=r"^(blind|consult)$")] | None = None


def check_agent_id(agent: str) -> str:
    if not AGENT_ID.fullmatch(agent):
        raise ValueError(
            f"agent must be 1-80 letters, digits or @._:- characters, got {agent[:100]!r}"
        )
    return agent


def agent_id_of(channel_or_interface: str) -> str:
    """The agent id of a channel or queue interface: device part without technology/suffix.

    ``PJSIP/110-city-01`` and its channel ``PJSIP/110-city-01-0000002a`` -> ``110-city-01``;
    ``Local/agent101@agents/n`` and ``Local/agent101@agents-0000004f;1`` -> ``agent101@agents``.
    """
    _, _, device = channel_or_interface.partition("/")
    device = device or channel_or_interface
    if device.endswith("/n"):
        return device[:-2]
    if device[-2:] in (";1", ";2"):
        device = device[:-2]
    prefix, dash, suffix = device.rpartition("-")
    if dash and re.fullmatch(r"[0-9a-f]{8}", suffix):
        return prefix
    return device


class DraftStore:
    def __init__(self, redis: aioredis.Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds

    def key(self, agent: str) -> str:
        return redis_keys.draft(check_agent_id(agent))

    async def put(self, agent: str, draft: AgentDraft) -> None:
        await self.redis.set(
            self.key(agent), draft.model_dump_json(exclude_none=True), ex=self.ttl_seconds
        )

    async def get(self, agent: str) -> AgentDraft | None:
        raw = await self.redis.get(self.key(agent))
        return None if raw is None else AgentDraft.model_validate_json(raw)

    async def clear(self, agent: str) -> None:
        await self.redis.delete(self.key(agent))
