"""The one-key press from a phone (ivr.onekey) served by the transfer service.

Which PBX: the AGI's ``?pbx=`` when the dialplan gives it, else the PBX whose live model has
the agent's channel. Which caller: the agent's bridged peer in that PBX's live model; only when
the model cannot tell, ``BRIDGEPEER`` asked over AGI (one round trip less on the key press's
path). Which agent: the agent id of its channel (``agent_id_of``), which is also the key of the
draft its desktop posted with ``PUT /api/agents/{agent}/draft``; the draft is used for the
ticket and cleared once the transfer is under way.
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from bridge.transfers.drafts import AgentDraft, agent_id_of
from bridge.transfers.orchestrator import TransferError, TransferOrder
from bridge.transfers.stack import TransferStack
from ivr.onekey import CallerLookup, KeyPress, OneKeyResult

log = logging.getLogger(__name__)


class PhoneTransfers:
    def __init__(self, stack: TransferStack) -> None:
        self.stack = stack

    def pbx_of(self, press: KeyPress) -> str | None:
        if press.pbx:
            return press.pbx
        for name, link in self.stack.links.items():
            if link.live.channel(press.agent_uniqueid or press.agent_channel) is not None:
                return name
        return None

    async def one_key(self, press: KeyPress, find_caller: CallerLookup) -> OneKeyResult:
        agent = agent_id_of(press.agent_channel)
        pbx = self.pbx_of(press)
        caller = self.bridged_caller(pbx, press)
        if caller is None:
            # The live model does not know the agent's bridge (say, just after a resync):
            # ask Asterisk (BRIDGEPEER) while the draft is read, side by side.
            caller, draft = await asyncio.gather(find_caller(), self.agent_draft(agent))
        else:
            draft = await self.agent_draft(agent)
        if caller is None:
            return OneKeyResult(False, reason="no caller bridged with this channel")
        if pbx is None:
            return OneKeyResult(False, reason=f"no PBX knows channel {press.agent_channel}")
        order = TransferOrder(
            pbx=pbx,
            caller_channel=caller,
            agent=agent,
            agent_channel=press.agent_channel,
            draft=draft or AgentDraft(),
        )
        try:
            started = await self.stack.service.start(order)
        except TransferError as exc:
            return OneKeyResult(False, exc.ticket_id, exc.reason)
        if draft is not None:
            await self.forget_draft(agent)
        return OneKeyResult(True, started.ticket.id)

    def bridged_caller(self, pbx: str | None, press: KeyPress) -> str | None:
        """The caller bridged with the agent's channel, from the PBX's live model.

        The same answer as BRIDGEPEER (trace 09: the feature runs on the agent's bridged leg)
        without the AGI round trip on the key press's path; None when the model cannot tell.
        """
        link = self.stack.links.get(pbx) if pbx else None
        if link is None:
            return None
        peer = link.live.bridged_peer(press.agent_uniqueid or press.agent_channel)
        return None if peer is None else peer.name

    async def agent_draft(self, agent: str) -> AgentDraft | None:
        try:
            return await self.stack.drafts.get(agent)
        except (RedisError, OSError, ValueError) as exc:
            # A draft is a convenience: without it the ticket is minimal, the call still moves.
            log.warning("agent draft unreadable", extra={"agent": agent, "error": str(exc)})
            return None

    async def forget_draft(self, agent: str) -> None:
        try:
            await self.stack.drafts.clear(agent)
        except (RedisError, OSError) as exc:
            log.warning("agent draft not cleared", extra={"agent": agent, "error": str(exc)})
