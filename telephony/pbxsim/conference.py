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
    members: list[Channel] = field(default_factory=list)

    def conference_headers(self) -> Headers:
        return [("Conference", self.name), *self.bridge.headers()]


def _peers(conference: Conference, member: Channel) -> str:
    names = [conference.bridge.announcer + ";2"]
    names += [m.name for m in conference.members if m is not member]
    return ",".join(names)


def _update_peers(conference: Conference) -> None:
    for member in conference.members:
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
        conference = Conference(name, ConferenceBridge(pbx, name))
        pbx.conferences[name] = conference
        _device(pbx, f"confbridge:{name}", "INUSE")
        _device(pbx, f"CBAnn/{name}", "INUSE")
        pbx.emit("ConfbridgeStart", "call", conference.conference_headers())
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
        _leave(conference, channel)
    channel.check()


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


def _leave(conference: Conference, channel: Channel) -> None:
    pbx = channel.pbx
    channel.set_variable("BRIDGEPEER", "")
    pbx.emit(
        "ConfbridgeLeave",
        "call",
        [*conference.conference_headers(), *channel.headers(), ("Admin", "No")],
    )
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
