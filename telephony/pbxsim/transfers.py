"""Attended transfer: features.conf `atxfer` pressed on a bridged channel, or queued by the AMI
`Atxfer` action, as bridge_basic.c runs it (trace 05b).

The transferer's peer (the transferee) is put on hold, the number is read with the
`transferdigittimeout`, a Local channel to number@context is dialled into a new consult
bridge and the transferer moves there. When the transferer hangs up, the consult bridge is
merged into the transferee's: the transfer target takes the transferer's place (AttendedTransfer,
DestType Bridge) and an application that bridged the transferee (Queue) is told.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from telephony.pbxsim import dtmf
from telephony.pbxsim.amiwire import Headers
from telephony.pbxsim.bridges import Bridge
from telephony.pbxsim.calls import LocalPair, finish, parse_local, run_until_hangup
from telephony.pbxsim.channels import CAUSE_NORMAL, Channel

if TYPE_CHECKING:
    from telephony.pbxsim.pbx import EmulatedPBX

# Timing of DTMF queued as END frames (the Atxfer action), as trace 05b shows: the bridge
# reads a feature-code digit every 160 ms, the feature starts 100 ms after its code, and the
# number is read at a digit per 60 ms.
CODE_DIGIT_GAP = 0.16
FEATURE_START = 0.1
NUMBER_DIGIT_GAP = 0.06
DEFAULT_DIGIT_TIMEOUT = 3  # features.conf transferdigittimeout


def queue_atxfer(channel: Channel, exten: str, context: str) -> None:
    """The AMI Atxfer action: TRANSFER_CONTEXT, then the atxfer code and the number queued
    on the channel as received DTMF (manager.c action_atxfer)."""
    code = channel.pbx.features.featuremap["atxfer"]
    if context:
        channel.set_variable("TRANSFER_CONTEXT", context)
    channel.pbx.spawn(_play_queued(channel, code + exten))


async def _play_queued(channel: Channel, digits: str) -> None:
    for index, digit in enumerate(digits):
        if index:
            transfer = channel.attended_transfer
            collecting = transfer is not None and transfer.collecting
            await channel.pbx.clock.sleep(NUMBER_DIGIT_GAP if collecting else CODE_DIGIT_GAP)
        if channel.gone or channel.hangup_requested:
            return
        dtmf.receive(channel, digit, 0, begin=False)


class AttendedTransfer:
    """One attended transfer started by `transferer`, from its bridge with `transferee`."""

    def __init__(self, transferer: Channel, transferee: Channel, bridge: Bridge) -> None:
        self.pbx: EmulatedPBX = transferer.pbx
        self.transferer = transferer
        self.transferee = transferee
        self.bridge = bridge
        self.number = ""
        self.digit = asyncio.Event()
        self.collecting = False
        self.finished = asyncio.Event()

    # -- reading the number -------------------------------------------------------------
    def take_digit(self, digit: str) -> None:
        if self.collecting:
            self.number += digit
            self.digit.set()

    def _context(self) -> str:
        """bridge_basic.c get_transfer_context(): TRANSFER_CONTEXT of the transferer, then
        of the transferee, then the transferer's context."""
        for channel in (self.transferer, self.transferee):
            context = channel.variables.get("TRANSFER_CONTEXT", "")
            if context:
                return context
        return self.transferer.context

    async def _read_number(self, context: str) -> None:
        """ast_app_dtget(): digits until none comes within the timeout or the number can
        match no longer extension."""
        timeout = self.pbx.features.timeouts.get("transferdigittimeout", DEFAULT_DIGIT_TIMEOUT)
        self.collecting = True
        try:
            while True:
                self.digit.clear()
                try:
                    await asyncio.wait_for(self.digit.wait(), timeout / self.pbx.clock.time_scale)
                except TimeoutError:
                    return
                if not self.pbx.dialplan.can_match_more(context, self.number):
                    return
        finally:
            self.collecting = False

    # -- the transfer ---------------------------------------------------------------------
    async def run(self) -> None:
        transferer, transferee = self.transferer, self.transferee
        try:
            await self.pbx.clock.sleep(FEATURE_START)
            transferer.emit("Hold", "call")
            transferee.emit("MusicOnHoldStart", "call", [("Class", "default")])
            context = self._context()
            await self._read_number(context)
            if transferer.gone or transferer.hangup_requested:
                return
            if not self.number or not self.pbx.dialplan.exists(context, self.number):
                # The transfer fails: the transferee comes off hold (xferfailsound unplayed).
                transferee.emit("MusicOnHoldStop", "call")
                return
            await self._consult(context)
        finally:
            transferer.attended_transfer = None
            self.finished.set()

    async def _consult(self, context: str) -> None:
        """dial_transfer(): a Local channel to number@context, bridged with the transferer
        in a new consult bridge while it rings."""
        pbx, transferer = self.pbx, self.transferer
        pair = LocalPair(pbx, parse_local(f"{self.number}@{context}"), transferer.linkedid)
        target, two = pair.one, pair.two
        target.application = ""
        target.set_variable("TRANSFERERNAME", transferer.name)
        target.set_variable("ATTENDEDTRANSFER", transferer.name)
        consult = Bridge(pbx)
        two.set_variable("ATTENDEDTRANSFER", transferer.name)
        two.set_variable("TRANSFERERNAME", transferer.name)
        two.set_caller_id(transferer.cid_num, transferer.cid_name)
        pbx.emit("LocalBridge", "call", pair.local_bridge_headers())
        pbx.spawn(run_until_hangup(two, lambda: _run_dialplan(two)))
        await asyncio.sleep(0)
        target.set_connected_line(transferer.cid_num, transferer.cid_name)
        consult.enter(target)
        self.bridge.leave(transferer)
        consult.enter(transferer)
        _set_peers(target, transferer)
        update_connected_line(transferer, target.cid_num, target.cid_name)
        answered = pbx.spawn(self._when_answered(pair))
        try:
            await _ended(transferer, target)
        finally:
            answered.cancel()
        if transferer.hangup_requested and not target.gone and not target.hangup_requested:
            self._complete(consult, target)
        pbx.spawn(_hold_until_hangup(target))

    async def _when_answered(self, pair: LocalPair) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            if await pair.outcome == "ANSWER":
                # The consult bridge is set up again once the target answers.
                _set_peers(pair.one, self.transferer)

    def _complete(self, consult: Bridge, target: Channel) -> None:
        """The transferer hung up during the consultation: the consult bridge merges into
        the transferee's and the target takes the transferer's place."""
        pbx, transferer, transferee = self.pbx, self.transferer, self.transferee
        bridge = self.bridge
        pbx.emit("BridgeMerge", "call", [*_prefixed(bridge, "To"), *_prefixed(consult, "From")])
        consult.leave(target)
        bridge.enter(target)
        transferee.emit("MusicOnHoldStop", "call")
        transferer.set_variable("BRIDGEPEER", "")
        orig_headers = _prefixed(bridge, "Orig")
        consult.leave(transferer)
        _set_peers(transferee, target)
        update_connected_line(transferee, target.cid_num, target.cid_name)
        pbx.emit(
            "AttendedTransfer",
            "call",
            [
                ("Result", "Success"),
                *transferer.headers("OrigTransferer"),
                *orig_headers,
                *transferer.headers("SecondTransferer"),
                *_prefixed(consult, "Second"),
                *transferee.headers("Transferee"),
                *target.headers("TransferTarget"),
                ("IsExternal", "No"),
                ("DestType", "Bridge"),
                ("DestBridgeUniqueid", bridge.uniqueid),
            ],
        )
        for hook in list(transferee.on_transferred):
            hook(target)
        consult.destroy()
        transferer.cause = transferer.cause or CAUSE_NORMAL
        finish(transferer)


def _prefixed(bridge: Bridge, prefix: str) -> Headers:
    return [(f"{prefix}{key}", value) for key, value in bridge.headers()]


def _set_peers(first: Channel, second: Channel) -> None:
    first.set_variable("BRIDGEPEER", second.name)
    second.set_variable("BRIDGEPEER", first.name)


def update_connected_line(channel: Channel, num: str, name: str) -> None:
    """A bridge tells `channel` who it is now connected to. On a Local `;1` the other half
    takes it as its caller id, but an application like Wait() defers that frame: it shows
    only when the half hangs up (trace 05b, agent ;2 and caller ;2)."""
    channel.set_connected_line(num, name)
    if channel.peer is not None and channel.pair is not None and channel is channel.pair.one:
        channel.peer.deferred_caller_id = (num, name)


async def _ended(*channels: Channel) -> None:
    waits = [asyncio.ensure_future(c.ended.wait()) for c in channels]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def _hold_until_hangup(target: Channel) -> None:
    """The transfer target's `;1` runs no application: it stays in whichever bridge holds it
    until it is hung up (by its `;2` or from outside), then leaves it and goes."""
    await target.ended.wait()
    if target.bridge is not None:
        target.set_variable("BRIDGEPEER", "")
        target.bridge.leave(target)
    target.cause = target.cause or CAUSE_NORMAL
    finish(target)


async def _run_dialplan(channel: Channel) -> None:
    from telephony.pbxsim.applications import run_dialplan

    await run_dialplan(channel)


def start_attended_transfer(transferer: Channel) -> bool:
    """The atxfer code was pressed on `transferer`: start the transfer if it is bridged with
    exactly one other channel."""
    bridge = transferer.bridge
    transferee = bridge.peer_of(transferer) if bridge is not None else None
    if bridge is None or transferee is None or transferer.attended_transfer is not None:
        return False
    transfer = AttendedTransfer(transferer, transferee, bridge)
    transferer.attended_transfer = transfer
    transferer.pbx.spawn(transfer.run())
    return True


__all__ = ["AttendedTransfer", "queue_atxfer", "start_attended_transfer", "update_connected_line"]
