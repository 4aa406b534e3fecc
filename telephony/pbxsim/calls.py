"""Call life cycle: Local channel pairs, dialling one, answering, hanging up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.pbxsim.amiwire import Headers
from telephony.pbxsim.channels import (
    CAUSE_UNKNOWN,
    CID_NUMBER_UNAVAILABLE,
    CID_PRES_ALLOWED,
    STATE_DOWN,
    STATE_RING,
    STATE_RINGING,
    STATE_UP,
    Channel,
    HungUp,
)

if TYPE_CHECKING:
    from telephony.pbxsim.pbx import EmulatedPBX


@dataclass
class LocalTarget:
    exten: str
    context: str
    device: str  # "Local/exten@context", the device whose state Asterisk reports
    optimize: bool = True  # False with the "/n" option

    @property
    def dial_string(self) -> str:
        return f"{self.exten}@{self.context}" + ("" if self.optimize else "/n")


def parse_local(resource: str) -> LocalTarget:
    """`exten@context[/n]` of a `Local/` channel string."""
    target, _, options = resource.partition("/")
    exten, sep, context = target.partition("@")
    if not sep:
        context = "default"
    return LocalTarget(exten, context, f"Local/{exten}@{context}", "n" not in options)


class LocalPair:
    """The two halves of a Local channel. `;1` is the caller side (what a dialler holds),
    `;2` runs the dialplan at exten@context. `outcome` resolves when the dial ends:
    "ANSWER", "BUSY" or, set by the dialler on timeout, "NOANSWER"."""

    def __init__(
        self,
        pbx: EmulatedPBX,
        target: LocalTarget,
        linkedid: str | None = None,
        ids: tuple[str | None, str | None] = (None, None),
        dialer: Channel | None = None,
    ) -> None:
        self.dialer = dialer  # the channel dialling ;1 (a queue caller), if any
        self.pbx = pbx
        self.target = target
        name = f"Local/{target.exten}@{target.context}-{pbx.next_local_sequence():08x}"
        one_id = ids[0] or pbx.next_uniqueid()
        two_id = ids[1] or pbx.next_uniqueid()
        linked = linkedid or one_id
        self.one = pbx.add_channel(
            Channel(pbx, f"{name};1", one_id, linked, target.context, target.exten)
        )
        self.two = pbx.add_channel(
            Channel(
                pbx, f"{name};2", two_id, linked, target.context, target.exten, state=STATE_RING
            )
        )
        self.one.emit("Newchannel", "call")
        self.two.emit("Newchannel", "call")
        self.one.peer, self.two.peer = self.two, self.one
        self.one.pair = self.two.pair = self
        self.outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.rang = False
        self.device_state = ""

    def dial_headers(self) -> Headers:
        caller = [] if self.dialer is None else self.dialer.headers()
        return [*caller, *self.one.headers("Dest")]

    def local_bridge_headers(self) -> Headers:
        return [
            *self.one.headers("LocalOne"),
            *self.two.headers("LocalTwo"),
            ("Context", self.target.context),
            ("Exten", self.target.exten),
            ("LocalOptimization", "Yes" if self.target.optimize else "No"),
        ]

    def in_use(self) -> None:
        """A half left Down/Ring (ringing, up or busy): the Local device is in use."""
        if self.device_state != "INUSE":
            self.set_device_state("INUSE")

    def set_device_state(self, state: str, times: int = 2) -> None:
        # Asterisk publishes a Local device's change twice (the ;1 and ;2 halves' views).
        self.device_state = state
        for _ in range(times):
            self.pbx.emit(
                "DeviceStateChange", "call", [("Device", self.target.device), ("State", state)]
            )
        self.pbx.device_state_changed(self.target.device, state)

    def ringing(self) -> None:
        if self.rang or self.outcome.done():
            return
        self.rang = True
        self.one.set_state(STATE_RINGING)
        self.in_use()
        self.pbx.emit("DialState", "call", [*self.dial_headers(), ("DialStatus", "RINGING")])

    def answered(self) -> None:
        if self.outcome.done():
            return
        self.one.set_state(STATE_UP)
        self.pbx.emit("DialEnd", "call", [*self.dial_headers(), ("DialStatus", "ANSWER")])
        self.outcome.set_result("ANSWER")
        self.in_use()

    def busy(self) -> None:
        if self.outcome.done():
            return
        self.pbx.emit("DialEnd", "call", [*self.dial_headers(), ("DialStatus", "BUSY")])
        self.outcome.set_result("BUSY")
        self.in_use()


async def run_until_hangup(channel: Channel, body: Callable[[], Awaitable[None]]) -> None:
    """Run what a channel does, then hang it up as Asterisk does when its thread ends."""
    try:
        await body()
    except HungUp:
        pass
    finish(channel)


def finish(channel: Channel) -> None:
    """The channel is gone: publish Hangup and make the other half of a Local pair follow."""
    if channel.gone:
        return
    channel.gone = True
    channel.wakeup.set()
    channel.ended.set()
    if channel.soft_hangup_pending:
        channel.emit("SoftHangupRequest", "call", [("Cause", "16")])
        if channel.trunk_inbound:
            channel.emit("HangupRequest", "call", [("Cause", str(channel.cause))])
    deferred = channel.deferred_caller_id
    if deferred is not None:
        channel.cid_num, channel.cid_name = deferred
    peer = channel.peer if channel.peer is not None and not channel.peer.gone else None
    if peer is not None:
        # core_local's hangup queues the frame on the other half before the channel is
        # destroyed: HangupRequest there comes before this one's Hangup (traces 02-04, 15).
        peer.emit("HangupRequest", "call", [("Cause", str(channel.cause))])
    channel.emit(
        "Hangup", "call", [("Cause", str(channel.cause)), ("Cause-txt", cause_text(channel.cause))]
    )
    if deferred is not None:
        presentation = CID_PRES_ALLOWED if deferred[0] else CID_NUMBER_UNAVAILABLE
        channel.emit("NewCallerid", "call", [("CID-CallingPres", presentation)])
    channel.pbx.remove_channel(channel)
    for callback in channel.on_gone:
        callback()
    channel.on_gone.clear()
    if peer is not None and not peer.gone:
        _hand_hangup(channel, peer)
    pair = channel.pair
    if (
        pair is not None
        and pair.one.gone
        and pair.two.gone
        and pair.device_state not in ("INVALID", "NOT_INUSE")
    ):
        pair.set_device_state("NOT_INUSE")


def _hand_hangup(channel: Channel, peer: Channel) -> None:
    """A Local half is gone: the other half acts on the hangup frame (its HangupRequest
    is out already), even when it is being hung up itself (trace 05b)."""
    peer.hangup_request_received = True
    if peer.hangup_requested or peer.hangup_queued:
        return  # already going, or a regex Hangup takes it in its turn
    if channel.cause != CAUSE_UNKNOWN:
        peer.cause = channel.cause
    if peer.bridge is not None or _waits_in_a_queue(peer):
        # A bridged half has its application tidy up first (a queue call's wrap-up, trace
        # 13), and so does a caller waiting in Queue(): app_queue reads the hangup frame on
        # that half's own thread and publishes QueueCallerAbandon and QueueCallerLeave
        # before the channel goes (as for a caller hung up directly, trace 03). The
        # SoftHangupRequest comes with its Hangup, if it runs the dialplan (a queue
        # member's leg does not, trace 05b).
        peer.soft_hangup_pending = peer.in_pbx
        peer.request_hangup()
    else:
        peer.emit("SoftHangupRequest", "call", [("Cause", "16")])
        peer.request_hangup()
        # The other half goes at once (its runner, when it wakes, finds it gone): emitting
        # here keeps the order independent of the event loop's scheduling.
        finish(peer)


def _waits_in_a_queue(channel: Channel) -> bool:
    return any(
        entry.channel is channel for queue in channel.pbx.queues.values() for entry in queue.entries
    )


def redirect(channel: Channel, context: str, exten: str, priority: int) -> None:
    """Send a channel elsewhere in the dialplan (AMI Redirect, ChannelRedirect())."""
    if not channel.pbx.dialplan.exists(context, exten, priority):
        # Asterisk accepts the redirect, then the channel finds nothing to run and hangs up
        # before the client's next action (trace 15: a Hangup right after gets "No such
        # channel").
        soft_hangup(channel)
        channel.context, channel.exten, channel.priority = context, exten, priority
        finish(channel)
        return
    if not channel.in_pbx and channel.bridge is None:
        # A channel running an Originate application is redirected by a masquerade; the
        # clone has no answer time (ConfbridgeList AnsweredTime 0, trace 06). A bridged
        # channel is only pulled out of its bridge and keeps it (trace 13).
        channel.answered_at = None
    channel.redirect_to = (context, exten, priority)
    channel.wakeup.set()


def soft_hangup(channel: Channel) -> None:
    """A hangup asked of a running channel's thread; the runner then calls finish()."""
    if channel.gone or channel.hangup_requested:
        return
    channel.emit("SoftHangupRequest", "call", [("Cause", "16")])
    channel.request_hangup()


def cause_text(cause: int) -> str:
    from telephony.pbxsim.channels import CAUSE_TEXT

    return CAUSE_TEXT.get(cause, "Unknown")


__all__ = [
    "STATE_DOWN",
    "STATE_UP",
    "LocalPair",
    "LocalTarget",
    "finish",
    "parse_local",
    "run_until_hangup",
    "soft_hangup",
]
