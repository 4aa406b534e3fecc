"""IAX2 trunks between emulated PBXs: `Dial(IAX2/peer/exten[,timeout])` reaches the PBX that
listens on the peer's `host:port` (from iax.conf) through an in-process network registry,
with IAXVAR() values carried across, as trace 16 shows between two Asterisks.

No UDP is spoken: two PBXs are linked when they share an `IaxNetwork` (by default the
process-wide `IAX_NETWORK`) and one's peer `host:port` is the other's `bindaddr:bindport`.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from telephony.pbxsim.bridges import Bridge
from telephony.pbxsim.calls import finish, run_until_hangup
from telephony.pbxsim.channels import (
    CAUSE_NORMAL,
    STATE_RING,
    STATE_RINGING,
    STATE_UP,
    Channel,
    HungUp,
)
from telephony.pbxsim.dialplan import split_args

if TYPE_CHECKING:
    from telephony.pbxsim.pbx import EmulatedPBX

Address = tuple[str, int]


class IaxNetwork:
    """Which emulated PBX answers IAX2 at which address."""

    def __init__(self) -> None:
        self._listeners: dict[Address, EmulatedPBX] = {}

    def register(self, address: Address, pbx: EmulatedPBX) -> None:
        other = self._listeners.get(address)
        if other is not None and other is not pbx:
            raise RuntimeError(
                f"IAX2 address {address[0]}:{address[1]} already used by PBX {other.name!r}"
            )
        self._listeners[address] = pbx

    def unregister(self, pbx: EmulatedPBX) -> None:
        for address in [a for a, p in self._listeners.items() if p is pbx]:
            del self._listeners[address]

    def find(self, address: Address) -> EmulatedPBX | None:
        return self._listeners.get(address)


IAX_NETWORK = IaxNetwork()

_DIAL_CLEARED = (
    "DIALSTATUS",
    "DIALEDPEERNUMBER",
    "DIALEDPEERNAME",
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "RINGTIME",
    "RINGTIME_MS",
    "PROGRESSTIME",
    "PROGRESSTIME_MS",
)


async def dial(channel: Channel, data: str) -> None:
    """Dial(IAX2/peer/exten[,timeout]) — the only technology the emulator dials."""
    args = [a.strip() for a in split_args(data)]
    target = args[0] if args else ""
    timeout = float(args[1]) if len(args) > 1 and args[1] else None
    options = args[2] if len(args) > 2 else ""
    tech, _, rest = target.partition("/")
    peer_name, _, exten = rest.partition("/")
    if tech.upper() != "IAX2" or not peer_name or not exten:
        raise HungUp(f"Dial({data}): only IAX2/peer/exten is emulated")
    pbx = channel.pbx
    for var in _DIAL_CLEARED:
        channel.set_variable(var, "")
    peer = pbx.iax.peers.get(peer_name)
    far = pbx.iax_network.find((peer.host, peer.port)) if peer else None
    if peer is None or far is None:
        channel.set_variable("DIALSTATUS", "CHANUNAVAIL")
        return
    started = pbx.clock.now()
    # chan_iax2 creates the channel in default/s, then clears the context and shows the
    # dialled peer as its caller number (trace 16a).
    out = pbx.add_channel(
        Channel(
            pbx,
            f"IAX2/{peer_name}-{random.randint(1, 32767)}",
            pbx.next_uniqueid(),
            channel.linkedid,
            "default",
            "s",
        )
    )
    out.iaxvars = dict(channel.iaxvars)
    out.iax_peername, out.iax_peerip = peer.username, peer.host
    out.emit("Newchannel", "call")
    out.context = ""
    out.set_variable("DIALEDPEERNUMBER", f"{peer_name}/{exten}")
    out.cid_num, out.cid_name = peer_name, channel.cid_name
    out.connected_num, out.connected_name = channel.cid_num, channel.cid_name
    out.exten = channel.exten
    out.announce_outgoing_line("AppDial")
    out.emit("NewConnectedLine", "call")
    out.set_state(STATE_RINGING)
    device = f"IAX2/{peer_name}"
    pbx.emit("DeviceStateChange", "call", [("Device", device), ("State", "RINGING")])
    out.on_gone.append(
        lambda: pbx.emit("DeviceStateChange", "call", [("Device", device), ("State", "UNKNOWN")])
    )
    pbx.emit(
        "DialBegin",
        "call",
        [*channel.headers(), *out.headers("Dest"), ("DialString", f"{peer_name}/{exten}")],
    )
    incoming = _arrive(far, pbx, channel, exten, peer.username)
    out.peer, incoming.peer = incoming, out
    ringing = asyncio.ensure_future(incoming.far_ringing.wait())
    answered = asyncio.ensure_future(incoming.far_answered.wait())
    gone = asyncio.ensure_future(incoming.ended.wait())
    caller_gone = asyncio.ensure_future(channel.ended.wait())
    try:
        done, _ = await asyncio.wait(
            {ringing, answered, gone, caller_gone},
            timeout=None if timeout is None else timeout / pbx.clock.time_scale,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if ringing in done and not answered.done():
            rang = pbx.clock.now() - started
            channel.set_variable("RINGTIME", str(int(rang)))
            channel.set_variable("RINGTIME_MS", str(int(rang * 1000)))
            pbx.emit(
                "DialState",
                "call",
                [*channel.headers(), *out.headers("Dest"), ("DialStatus", "RINGING")],
            )
            out.set_state(STATE_RINGING)
            remaining = None if timeout is None else timeout - rang
            done, _ = await asyncio.wait(
                {answered, gone, caller_gone},
                timeout=None if remaining is None else remaining / pbx.clock.time_scale,
                return_when=asyncio.FIRST_COMPLETED,
            )
    finally:
        for waiter in (ringing, answered, gone, caller_gone):
            waiter.cancel()
    if not incoming.far_answered.is_set():
        status = "NOANSWER" if not (channel.hangup_requested or incoming.gone) else "CANCEL"
        channel.set_variable("DIALSTATUS", status)
        out.cause = CAUSE_NORMAL
        finish(out)
        channel.check()
        return
    await _talk(channel, out, peer_name, exten)
    if "g" not in options:
        # app_dial: once a bridged call ends, whichever side hung up, the caller is hung up
        # too; only the `g` option goes on to the next priority.
        channel.cause = channel.cause or CAUSE_NORMAL
        raise HungUp(channel.name)


def _arrive(
    far: EmulatedPBX, near: EmulatedPBX, caller: Channel, exten: str, username: str
) -> Channel:
    """The call as the far PBX sees it: named after its peer entry for our address, in the
    context of its user entry for our username."""
    user = far.iax.users.get(username)
    context = user.context if user else "default"
    peer_name = next(
        (
            name
            for name, p in far.iax.peers.items()
            if (p.host, p.port) == (near.iax.bindaddr, near.iax.bindport)
        ),
        username,
    )
    uniqueid = far.next_uniqueid()
    incoming = far.add_channel(
        Channel(
            far,
            f"IAX2/{peer_name}-{random.randint(1, 32767)}",
            uniqueid,
            uniqueid,
            context,
            exten,
            state=STATE_RING,
        )
    )
    incoming.cid_num, incoming.cid_name = caller.cid_num, caller.cid_name
    incoming.iaxvars = dict(caller.iaxvars)
    incoming.iax_peername = username
    incoming.iax_peerip = near.iax.bindaddr
    incoming.trunk_inbound = True
    incoming.emit("Newchannel", "call")
    device = f"IAX2/{peer_name}"
    incoming.on_gone.append(
        lambda: far.emit("DeviceStateChange", "call", [("Device", device), ("State", "UNKNOWN")])
    )
    far.spawn(_device_in_use(incoming, device))
    far.spawn(run_until_hangup(incoming, lambda: _run_far(incoming)))
    return incoming


async def _device_in_use(channel: Channel, device: str) -> None:
    await channel.far_answered.wait()
    if not channel.gone:
        channel.pbx.emit("DeviceStateChange", "call", [("Device", device), ("State", "INUSE")])


async def _run_far(channel: Channel) -> None:
    from telephony.pbxsim.applications import run_dialplan

    await run_dialplan(channel)


async def _talk(caller: Channel, out: Channel, peer_name: str, exten: str) -> None:
    pbx = caller.pbx
    out.set_state(STATE_UP)
    out.exten = ""  # answered, chan_iax2's channel shows no extension any more (trace 16a)
    caller.set_variable("DIALSTATUS", "ANSWER")
    caller.set_variable("DIALEDPEERNAME", out.name)
    caller.set_variable("DIALEDPEERNUMBER", f"{peer_name}/{exten}")
    pbx.emit("DialEnd", "call", [*caller.headers(), *out.headers("Dest"), ("DialStatus", "ANSWER")])
    if caller.state != STATE_UP:
        # app_dial answers an unanswered caller once the far end answers (so the Local
        # ;1 dialling it, e.g. a conference leg, is answered too). Unverified on real
        # Asterisk: trace 16a's caller was already up.
        caller.set_state(STATE_UP)
        if caller.pair is not None and caller is caller.pair.two:
            caller.pair.answered()
    bridge = Bridge(pbx)
    pbx.emit("DeviceStateChange", "call", [("Device", f"IAX2/{peer_name}"), ("State", "INUSE")])
    out.emit(
        "Newexten",
        "dialplan",
        [("Extension", ""), ("Application", "AppDial"), ("AppData", "(Outgoing Line)")],
    )
    bridge.enter(out)
    bridge.enter(caller)
    out.set_variable("BRIDGEPEER", caller.name)
    caller.set_variable("BRIDGEPEER", out.name)
    caller_gone = asyncio.ensure_future(caller.ended.wait())
    out_gone = asyncio.ensure_future(out.ended.wait())
    try:
        await asyncio.wait({caller_gone, out_gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        caller_gone.cancel()
        out_gone.cancel()
    caller.set_variable("BRIDGEPEER", "")
    if not out.gone:
        out.set_variable("BRIDGEPEER", "")
    bridge.leave(caller)
    bridge.leave(out)
    now = pbx.clock.now()
    answered = now - (caller.answered_at if caller.answered_at is not None else now)
    caller.set_variable("ANSWEREDTIME", str(int(answered)))
    caller.set_variable("ANSWEREDTIME_MS", str(int(answered * 1000)))
    caller.set_variable("DIALEDTIME", str(int(now - caller.created)))
    caller.set_variable("DIALEDTIME_MS", str(int((now - caller.created) * 1000)))
    bridge.destroy()
    caller.set_variable("DIALSTATUS", "ANSWER")
    if caller.hangup_requested:
        # Hung up while bridged: normal clearing unless a cause was given (trace 16a).
        caller.cause = caller.cause or CAUSE_NORMAL
    if not out.gone:
        out.cause = caller.cause or CAUSE_NORMAL
        out.emit("HangupRequest", "call", [("Cause", str(out.cause))])
        finish(out)
    caller.check()


__all__ = ["IAX_NETWORK", "IaxNetwork", "dial"]
