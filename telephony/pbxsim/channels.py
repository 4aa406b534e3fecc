"""Channels: Asterisk-style names and ids, states, variables, and the events they publish."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telephony.pbxsim.amiwire import Headers

if TYPE_CHECKING:
    from telephony.pbxsim.bridges import Bridge
    from telephony.pbxsim.calls import LocalPair
    from telephony.pbxsim.pbx import EmulatedPBX
    from telephony.pbxsim.transfers import AttendedTransfer

STATE_DOWN = 0
STATE_RING = 4
STATE_RINGING = 5
STATE_UP = 6
STATE_BUSY = 7
STATE_NAMES = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}

CAUSE_UNKNOWN = 0
CAUSE_NORMAL = 16
CAUSE_BUSY = 17
CAUSE_NO_ANSWER = 19
CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
}


class HungUp(Exception):
    """Raised inside a channel's dialplan when the channel has been hung up."""


@dataclass
class Channel:
    pbx: EmulatedPBX
    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = STATE_DOWN
    cid_num: str = ""
    cid_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    # For a Local channel: the other half of the pair.
    peer: Channel | None = None
    application: str = ""
    app_data: str = ""
    created: float = 0.0
    hangup_requested: bool = False
    cause: int = CAUSE_UNKNOWN  # what the Hangup event will report
    gone: bool = False
    pair: LocalPair | None = None
    # Set when something (hangup, redirect, answer) must wake the running application.
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    redirect_to: tuple[str, str, int] | None = None
    in_answer_wait: bool = False
    # Set with redirect_to by BlindTransfer: the queue ends the call as a transfer.
    transferred: bool = False
    answered_at: float | None = None
    # IAX2 trunk calls: IAXVAR() values, who the far end is, and the far end's progress.
    iaxvars: dict[str, str] = field(default_factory=dict)
    iax_peername: str = ""
    iax_peerip: str = ""
    # An inbound trunk call: chan_iax2 repeats the HangupRequest when it hangs up (16b).
    trunk_inbound: bool = False
    far_ringing: asyncio.Event = field(default_factory=asyncio.Event)
    far_answered: asyncio.Event = field(default_factory=asyncio.Event)
    # Variables set with a `__` prefix: copied to the channels this one dials.
    inherited: set[str] = field(default_factory=set)
    kicked: bool = False  # ConfbridgeKick asked this member to leave its conference
    left_by_key: bool = False  # its confbridge.conf menu's leave_conference key was pressed
    # Dynamic features: digits typed so far, and the feature application running.
    feature_digits: str = ""
    feature_timer: asyncio.TimerHandle | None = None  # featuredigittimeout while collecting
    feature_task: asyncio.Task[None] | None = None
    feature_done: asyncio.Event = field(default_factory=asyncio.Event)
    # Running the dialplan (not an application started by Originate): a hangup request is
    # then also published as SoftHangupRequest when the channel goes (traces 02, 03).
    in_pbx: bool = False
    soft_hangup_pending: bool = False
    # A HangupRequest reached it from the other half of its Local pair (app_queue tells an
    # agent's hangup from the caller's by which request came first).
    hangup_request_received: bool = False
    # Matched by a regex Hangup still working through its channels (actions.py).
    hangup_queued: bool = False
    bridge: Bridge | None = None
    # Called once the channel is gone (after its Hangup event).
    on_gone: list[Callable[[], None]] = field(default_factory=list)
    # An attended transfer this channel started (features.conf atxfer), while it runs.
    attended_transfer: AttendedTransfer | None = None
    # Called with the transfer target when an attended transfer replaced this channel's peer.
    on_transferred: list[Callable[[Channel], None]] = field(default_factory=list)
    # A caller id a Local ;2 was given while its application deferred the frame (see
    # transfers.update_connected_line): applied when the channel hangs up.
    deferred_caller_id: tuple[str, str] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    pending_dtmf_begin: str | None = None
    # Digits received and not yet read by an application (WaitExten-like readers).
    digits: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    # -- headers -------------------------------------------------------------------------
    def headers(self, prefix: str = "", variables: dict[str, str] | None = None) -> Headers:
        """The channel snapshot block; `variables` stands for a stale snapshot's values."""
        shown = self.variables if variables is None else variables

        def unknown(value: str) -> str:
            return value or "<unknown>"

        block: Headers = [
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", str(self.state)),
            (f"{prefix}ChannelStateDesc", STATE_NAMES.get(self.state, "Unknown")),
            (f"{prefix}CallerIDNum", unknown(self.cid_num)),
            (f"{prefix}CallerIDName", unknown(self.cid_name)),
            (f"{prefix}ConnectedLineNum", unknown(self.connected_num)),
            (f"{prefix}ConnectedLineName", unknown(self.connected_name)),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", str(self.priority)),
            (f"{prefix}Uniqueid", self.uniqueid),
            (f"{prefix}Linkedid", self.linkedid),
        ]
        for var in self.pbx.config.channelvars:
            block.append((f"{prefix}ChanVariable", f"{var}={shown.get(var, '')}"))
        return block

    def emit(self, event: str, category: str, extra: Headers | None = None) -> None:
        self.pbx.emit(event, category, [*self.headers(), *(extra or [])])

    # -- state ---------------------------------------------------------------------------
    def set_state(self, state: int) -> None:
        if self.state == state:
            return
        self.state = state
        if state == STATE_UP:
            self.answered_at = self.pbx.clock.now()
            self.far_answered.set()
        self.emit("Newstate", "call")

    def set_variable(self, name: str, value: str, snapshot: dict[str, str] | None = None) -> None:
        """Store `name` = `value`; a `_`/`__` prefix marks the variable for inheritance and
        is stripped from the stored name (pbx_builtin_setvar_helper), while VarSet shows the
        name as written."""
        bare = name.lstrip("_")
        if not bare:
            raise ValueError(f"variable name {name!r} has nothing after its underscores")
        if bare == "BRIDGEPEER" and not value and not self.variables.get(bare):
            # Cleared once, when the channel is told to leave its bridge (kick_from_bridge):
            # the bridge code that later takes it out publishes nothing more.
            return
        if bare != name:
            self.inherited.add(bare)
        self.variables[bare] = value
        self.pbx.emit(
            "VarSet",
            "dialplan",
            [*self.headers(variables=snapshot), ("Variable", name), ("Value", value)],
        )

    def set_caller_id(self, num: str, name: str) -> None:
        self.cid_num, self.cid_name = num, name
        self.emit("NewCallerid", "call", [("CID-CallingPres", CID_PRES_ALLOWED)])

    def announce_outgoing_line(self, application: str) -> None:
        """A channel app_queue or app_dial is dialling: `AppQueue`/`AppDial` with
        "(Outgoing Line)", then its caller id (traces 02, 16a)."""
        self.application, self.app_data = application, "(Outgoing Line)"
        self.emit(
            "Newexten",
            "dialplan",
            [("Extension", self.exten), ("Application", application), ("AppData", self.app_data)],
        )
        self.emit("NewCallerid", "call", [("CID-CallingPres", CID_PRES_ALLOWED)])

    def set_connected_line(self, num: str, name: str) -> None:
        self.connected_num, self.connected_name = num, name
        self.emit("NewConnectedLine", "call")

    def kick_from_bridge(self) -> None:
        """ast_bridge_channel_leave_bridge_nolock(): a bridged channel told to leave clears
        BRIDGEPEER at once and, with no cause yet, takes normal clearing (bridge_channel.c)."""
        if self.bridge is None:
            return
        self.cause = self.cause or CAUSE_NORMAL
        self.set_variable("BRIDGEPEER", "")

    def request_hangup(self) -> None:
        self.hangup_requested = True
        self.wakeup.set()
        self.ended.set()

    def check(self) -> None:
        if self.hangup_requested or self.gone:
            raise HungUp(self.name)


CID_PRES_ALLOWED = "0 (Presentation Allowed, Not Screened)"
CID_NUMBER_UNAVAILABLE = "67 (Number Unavailable)"


def parse_caller_id(text: str) -> tuple[str, str]:
    """`"Name" <num>` -> (num, name); a bare number is a number."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, num = text[:-1].rpartition("<")
        return num.strip(), name.strip().strip('"')
    return text, ""
