"""ConfBridge(): conference rooms on a softmix bridge, with the events and variables
app_confbridge publishes (trace 06), and the rooms the Confbridge* actions list."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telephony.pbxsim.amiwire import Headers
from telephony.pbxsim.bridges import Bridge
from telephony.pbxsim.channels import CAUSE_NORMAL, Channel
from telephony.pbxsim.dialplan import split_args

if TYPE_CHECKING:
    from telephony.pbxsim.conf import Menu, MenuAction
    from telephony.pbxsim.pbx import EmulatedPBX

log = logging.getLogger(__name__)


class ConferenceBridge(Bridge):
    """A softmix bridge named after its conference; its announcer's `;2` half sits in it
    (counted in BridgeNumChannels) without ever publishing events."""

    # app_confbridge's user profile `dtmf_passthrough` is off by default: a member's keys
    # go to its menu only.
    passes_dtmf = False

    def __init__(self, pbx: EmulatedPBX, name: str) -> None:
        self.name = name
        self.announcer_in = False  # the announcer joins right after the bridge is created
        super().__init__(pbx, technology="softmix")
        self.announcer = f"CBAnn/{name}-{pbx.next_local_sequence():08x}"
        self.announcer_in = True

    def headers(self) -> Headers:
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", "base"),
            ("BridgeTechnology", self.technology),
            ("BridgeCreator", "ConfBridge"),
            ("BridgeName", self.name),
            ("BridgeNumChannels", str(len(self.channels) + int(self.announcer_in))),
            ("BridgeVideoSourceMode", "none"),
        ]

    def destroy(self) -> None:
        self.pbx.emit(
            "BridgeDestroy",
            "call",
            [(k, "0" if k == "BridgeNumChannels" else v) for k, v in self.headers()],
        )


@dataclass
class Conference:
    name: str
    bridge: ConferenceBridge
    # The room's member list (app_confbridge's active list): ConfbridgeList's order.
    members: list[Channel] = field(default_factory=list)
    # Members told to leave and still in the bridge (by channel name), each with the event
    # that lets it out.
    leaving: dict[str, tuple[Channel, asyncio.Event]] = field(default_factory=dict)
    settle: asyncio.TimerHandle | None = None
    created: asyncio.Event = field(default_factory=asyncio.Event)

    def conference_headers(self) -> Headers:
        return [("Conference", self.name), *self.bridge.headers()]


def _peers(conference: Conference, member: Channel) -> str:
    """BRIDGEPEER lists the bridge's other channels in the bridge's order (which may differ
    from the room's, trace 06)."""
    names = [conference.bridge.announcer + ";2"]
    names += [m.name for m in conference.bridge.channels if m is not member]
    return ",".join(names)


def _update_peers(conference: Conference) -> None:
    for member in conference.bridge.channels:
        member.set_variable("BRIDGEPEER", _peers(conference, member))


async def confbridge(channel: Channel, data: str) -> None:
    """ConfBridge(conference[,bridge_profile[,user_profile[,menu]]])."""
    pbx = channel.pbx
    args = [a.strip() for a in split_args(data)]
    name = args[0]
    menu_name = args[3] if len(args) > 3 and args[3] else "default_menu"
    menu = pbx.confbridge.menus.get(menu_name)
    if menu is None:
        # app_confbridge would hang the call up ("Conference menu ... does not exist"); the
        # emulator, like for unknown profiles, goes on without keys and says so.
        log.warning(
            "pbx %s: ConfBridge(%s): no menu [%s] in confbridge.conf", pbx.name, data, menu_name
        )
        menu = pbx.confbridge.menus["default_menu"]
    conference = pbx.conferences.get(name)
    if conference is None:
        conference = await _create(channel, name)
    elif not conference.created.is_set():
        # The creator holds the rooms lock while it sets the room up; a member arriving
        # meanwhile gets into the room's list first but enters the bridge after the creator
        # (trace 06). In trace 13 the second member, slowed by its queue's wrap-up, arrives
        # after the creator entered; here that wrap-up takes no time, so ConfbridgeList's
        # order for members joining together is a race the fidelity harness accepts.
        conference.members.append(channel)
        await conference.created.wait()
        conference.bridge.enter(channel)
    else:
        conference.bridge.enter(channel)
        conference.members.append(channel)
    _update_peers(conference)

    def joined() -> None:
        # Published once the bridge has taken the member in, after members joining at the
        # same instant have entered too (trace 06: both show BridgeNumChannels 3).
        pbx.emit(
            "ConfbridgeJoin",
            "call",
            [
                *conference.conference_headers(),
                *channel.headers(),
                ("Admin", "No"),
                ("Muted", "No"),
            ],
        )

    asyncio.get_running_loop().call_soon(joined)
    typed = ""
    try:
        while not _leaving(channel):
            channel.wakeup.clear()
            await channel.wakeup.wait()
            while not channel.digits.empty() and not _leaving(channel):
                typed = await _menu_digit(channel, menu, typed + channel.digits.get_nowait())
    finally:
        await _leave(conference, channel)
    channel.check()


async def _create(creator: Channel, name: str) -> Conference:
    """join_conference_bridge() creating the room: the bridge, then (the rooms lock held
    while the announcer is set up) ConfbridgeStart, and the creator enters."""
    pbx = creator.pbx
    conference = Conference(name, ConferenceBridge(pbx, name))
    pbx.conferences[name] = conference
    await asyncio.sleep(0)  # members whose ConfBridge() starts now find it being created
    _device(pbx, f"confbridge:{name}", "INUSE")
    _device(pbx, f"CBAnn/{name}", "INUSE")
    pbx.emit("ConfbridgeStart", "call", conference.conference_headers())
    conference.bridge.enter(creator)
    conference.members.append(creator)
    conference.created.set()
    return conference


def _leaving(channel: Channel) -> bool:
    return bool(
        channel.hangup_requested or channel.redirect_to or channel.kicked or channel.left_by_key
    )


async def _menu_digit(channel: Channel, menu: Menu, typed: str) -> str:
    """The member's DTMF against its user menu: a complete key runs its actions, a prefix of
    a key waits for more, anything else starts over. Returns what is still being typed."""
    actions = menu.keys.get(typed)
    if actions is not None:
        for action in actions:
            await _menu_action(channel, action)
        return ""
    if any(key.startswith(typed) for key in menu.keys):
        return typed
    return ""


async def _menu_action(channel: Channel, action: MenuAction) -> None:
    if action.action == "leave_conference":
        channel.left_by_key = True  # CONFBRIDGE_RESULT=DTMF, the dialplan goes on
    elif action.action == "dialplan_exec":
        await _dialplan_exec(channel, action)
    # toggle_mute / no_op change nothing the emulator can show (no media).


async def _dialplan_exec(channel: Channel, action: MenuAction) -> None:
    """app_confbridge's action_dialplan_exec: run context,exten,priority on the member while
    it stays in the conference, then put its dialplan position back."""
    from telephony.pbxsim.applications import Returned, run_dialplan

    saved = (channel.context, channel.exten, channel.priority)
    saved_app = (channel.application, channel.app_data)
    channel.context, channel.exten, channel.priority = (
        action.context,
        action.exten,
        action.priority,
    )
    try:
        await run_dialplan(channel, until_return=True)
    except Returned:
        pass  # a Return() without Gosub ends that dialplan run, as in Asterisk
    finally:
        channel.context, channel.exten, channel.priority = saved
        channel.application, channel.app_data = saved_app


# Asterisk takes a member out on the member's own thread: it clears BRIDGEPEER as the thread
# notices it must leave (ast_bridge_channel_leave_bridge_nolock), runs the leave hook
# (ConfbridgeLeave), then takes the bridge lock to leave the bridge (bridge_channel.c). Members
# told to leave at the same instant race for that lock: trace 06 shows three hung up within
# 0.3 ms leave the bridge in the room's order, not the order of the hangups. The emulator
# settles that race the same way: members told to leave within LEAVE_SETTLE (emulated
# seconds) of the first leave the bridge together, in the room's order.
LEAVE_SETTLE = 0.1


async def _leave(conference: Conference, channel: Channel) -> None:
    pbx = channel.pbx
    channel.set_variable("BRIDGEPEER", "")
    pbx.emit(
        "ConfbridgeLeave",
        "call",
        [*conference.conference_headers(), *channel.headers(), ("Admin", "No")],
    )
    let_out = asyncio.Event()
    conference.leaving[channel.name] = (channel, let_out)
    if conference.settle is None:
        conference.settle = pbx.clock.call_later(LEAVE_SETTLE, lambda: _let_out(conference))
    await let_out.wait()


def _let_out(conference: Conference) -> None:
    """The settled leavers leave the bridge one at a time, in the room's order."""
    conference.settle = None
    names = [m.name for m in conference.members if m.name in conference.leaving]
    names += [name for name in conference.leaving if name not in names]
    for name in names:
        member, let_out = conference.leaving.pop(name)
        let_out.set()
        _pull(conference, member)


def _pull(conference: Conference, channel: Channel) -> None:
    pbx = channel.pbx
    if channel in conference.members:
        conference.members.remove(channel)
    conference.bridge.leave(channel)
    _update_peers(conference)
    if channel.hangup_requested:
        result = "HANGUP"
        # Hung up while bridged: normal clearing unless a cause was given (trace 13).
        channel.cause = channel.cause or CAUSE_NORMAL
    elif channel.kicked:
        result = "KICKED"
    elif channel.left_by_key:
        result = "DTMF"
    else:
        result = "REDIRECT"
    channel.kicked = channel.left_by_key = False
    channel.set_variable("CONFBRIDGE_RESULT", result)
    if not conference.members:
        pbx.emit("ConfbridgeEnd", "call", conference.conference_headers())
        _device(pbx, f"confbridge:{conference.name}", "NOT_INUSE")
        conference.bridge.destroy()
        _device(pbx, f"CBAnn/{conference.name}", "UNKNOWN")
        del pbx.conferences[conference.name]


def _device(pbx: EmulatedPBX, device: str, state: str) -> None:
    pbx.emit("DeviceStateChange", "call", [("Device", device), ("State", state)])


def list_item(conference: Conference, member: Channel) -> Headers:
    now = member.pbx.clock.now()
    answered = 0 if member.answered_at is None else int(now - member.answered_at)
    return [
        ("Conference", conference.name),
        ("Admin", "No"),
        ("MarkedUser", "No"),
        ("WaitMarked", "No"),
        ("EndMarked", "No"),
        ("EndMarkedAny", "No"),
        ("Waiting", "No"),
        ("Muted", "No"),
        ("Talking", "No"),
        ("AnsweredTime", str(answered)),
        *member.headers(),
    ]


__all__ = ["Conference", "ConferenceBridge", "confbridge", "list_item"]
