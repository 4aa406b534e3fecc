"""The phone's side of three-party calls: the feature code (ivr.threeparty) and the decision
keys in the room (ivr.conference_keys), served by the conference service.

The PBX and the agent's draft are found the way the one-key transfer finds them
(bridge.transfers.phone): the ``?pbx=`` of the AGI or the live model that has the agent's
channel; the draft the agent's desktop posted, cleared once the room is started.
"""

from __future__ import annotations

import asyncio

from bridge.conferences.orchestrator import ConferenceError, ConferenceOrder, ConferenceService
from bridge.transfers.drafts import AgentDraft, agent_id_of
from bridge.transfers.phone import PhoneTransfers
from bridge.transfers.stack import TransferStack
from ivr.conference_keys import KeyResult
from ivr.onekey import CallerLookup, KeyPress
from ivr.threeparty import ThreePartyResult


class PhoneConferences:
    def __init__(self, transfers: TransferStack, service: ConferenceService) -> None:
        self.transfers = PhoneTransfers(transfers)
        self.service = service

    async def three_party(self, press: KeyPress, find_caller: CallerLookup) -> ThreePartyResult:
        agent = agent_id_of(press.agent_channel)
        caller, draft = await asyncio.gather(find_caller(), self.transfers.agent_draft(agent))
        if caller is None:
            return ThreePartyResult(False, reason="no caller bridged with this channel")
        pbx = self.transfers.pbx_of(press)
        if pbx is None:
            return ThreePartyResult(False, reason=f"no PBX knows channel {press.agent_channel}")
        order = ConferenceOrder(
            pbx=pbx,
            caller_channel=caller,
            agent=agent,
            agent_channel=press.agent_uniqueid or press.agent_channel,
            draft=draft or AgentDraft(),
        )
        try:
            conference = await self.service.start(order)
        except ConferenceError as exc:
            return ThreePartyResult(False, reason=exc.reason)
        if draft is not None:
            await self.transfers.forget_draft(agent)
        return ThreePartyResult(True, conference.id, conference.ticket_id)

    async def conference_key(self, uniqueid: str, channel: str, key: str) -> KeyResult:
        try:
            acceptance = await self.service.key_pressed(uniqueid, channel, key)
        except ConferenceError as exc:
            return KeyResult(False, reason=exc.reason)
        return KeyResult(True, acceptance.platform)
