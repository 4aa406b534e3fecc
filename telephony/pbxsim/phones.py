"""PJSIP/<endpoint> queue members: phones that ring, answer after a ring time and, when the
PBX is given a talk time, hang up after it. No trace covers them (the lab uses Local
members); the events follow the Local case and Asterisk's documentation — see the fidelity
table in docs/pbxsim.md."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from telephony.pbxsim.channels import CAUSE_NORMAL, STATE_RINGING, STATE_UP, Channel

if TYPE_CHECKING:
    from telephony.pbxsim.pbx import EmulatedPBX


class PhoneCall:
    def __init__(self, pbx: EmulatedPBX, endpoint: str, caller: Channel) -> None:
        self.pbx = pbx
        self.device = f"PJSIP/{endpoint}"
        name = f"{self.device}-{pbx.next_local_sequence():08x}"
        self.one = pbx.add_channel(
            Channel(pbx, name, pbx.next_uniqueid(), caller.linkedid, "default", caller.exten)
        )
        self.one.cid_num, self.one.cid_name = caller.cid_num, caller.cid_name
        self.one.connected_num, self.one.connected_name = caller.cid_num, caller.cid_name
        self.one.application, self.one.app_data = "AppQueue", "(Outgoing Line)"
        self.one.emit("Newchannel", "call")
        self.one.on_gone.append(lambda: self._device("NOT_INUSE"))
        self.outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.caller = caller

    def _device(self, state: str) -> None:
        self.pbx.emit("DeviceStateChange", "call", [("Device", self.device), ("State", state)])
        self.pbx.device_state_changed(self.device, state)

    async def run(self) -> None:
        one, pbx = self.one, self.pbx
        one.set_state(STATE_RINGING)
        self._device("RINGING")
        pbx.emit(
            "DialState",
            "call",
            [*self.caller.headers(), *one.headers("Dest"), ("DialStatus", "RINGING")],
        )
        if not await self._wait(pbx.phone_ring_time):
            return
        one.set_state(STATE_UP)
        pbx.emit(
            "DialEnd",
            "call",
            [*self.caller.headers(), *one.headers("Dest"), ("DialStatus", "ANSWER")],
        )
        self._device("INUSE")
        self.outcome.set_result("ANSWER")
        if pbx.phone_talk_time is not None and await self._wait(pbx.phone_talk_time):
            one.cause = CAUSE_NORMAL
            one.request_hangup()

    async def _wait(self, seconds: float) -> bool:
        """True when the time passed with the phone's channel still there."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.one.ended.wait(), seconds / self.pbx.clock.time_scale)
        return not (self.one.gone or self.one.hangup_requested)
