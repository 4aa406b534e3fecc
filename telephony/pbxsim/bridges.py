"""Basic two-party bridges and the Bridge* events Asterisk publishes for them."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from telephony.pbxsim.amiwire import Headers
from telephony.pbxsim.channels import Channel

if TYPE_CHECKING:
    from telephony.pbxsim.pbx import EmulatedPBX


TRANSFER_MARKS = ("BLINDTRANSFER", "ATTENDEDTRANSFER")


class Bridge:
    # A basic bridge passes DTMF between its two channels (ConfBridge rooms do not).
    passes_dtmf = True

    def __init__(self, pbx: EmulatedPBX, technology: str = "simple_bridge") -> None:
        self.pbx = pbx
        self.uniqueid = str(uuid.uuid4())
        self.technology = technology
        self.channels: list[Channel] = []
        pbx.emit("BridgeCreate", "call", self.headers())

    def headers(self) -> Headers:
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", self.technology),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(len(self.channels))),
            ("BridgeVideoSourceMode", "none"),
        ]

    def enter(self, channel: Channel) -> None:
        self.channels.append(channel)
        channel.bridge = self
        self.pbx.emit("BridgeEnter", "call", [*self.headers(), *channel.headers()])
        for mark in TRANSFER_MARKS:
            # Joining a bridge clears the mark of a transfer that brought the channel here
            # (traces 05, 05b).
            if mark in channel.variables:
                channel.set_variable(mark, "")
                del channel.variables[mark]

    def leave(self, channel: Channel) -> None:
        if channel not in self.channels:
            return
        self.channels.remove(channel)
        channel.bridge = None
        self.pbx.emit("BridgeLeave", "call", [*self.headers(), *channel.headers()])

    def destroy(self) -> None:
        self.pbx.emit("BridgeDestroy", "call", self.headers())

    def peer_of(self, channel: Channel) -> Channel | None:
        others = [c for c in self.channels if c is not channel]
        return others[0] if len(others) == 1 else None
