"""AMI action handlers, each answering with Asterisk 22's exact responses and events."""

from __future__ import annotations

import asyncio
import functools
import re
from typing import TYPE_CHECKING

from telephony.pbxsim import dtmf
from telephony.pbxsim.amiserver import ActionSpec, AMISession
from telephony.pbxsim.amiwire import Action, Headers
from telephony.pbxsim.applications import lookup
from telephony.pbxsim.calls import redirect
from telephony.pbxsim.channels import Channel, parse_caller_id
from telephony.pbxsim.conference import list_item
from telephony.pbxsim.originate import (
    OriginateRequest,
    place_call,
    response_event,
    start_on_answer,
)
from telephony.pbxsim.pbxconfig import PERMISSION_FLAGS, MemberConfig
from telephony.pbxsim.queues import Member, Queue, asterisk_case_hash, make_member
from telephony.pbxsim.transfers import queue_atxfer

if TYPE_CHECKING:
    from telephony.pbxsim.pbx import EmulatedPBX

_F = PERMISSION_FLAGS


def _list_start(session: AMISession, action: Action, message: str) -> None:
    headers: Headers = [("Response", "Success")]
    if action.action_id is not None:
        headers.append(("ActionID", action.action_id))
    headers += [("EventList", "start"), ("Message", message)]
    session.send(headers)


def _list_item(
    session: AMISession, action: Action, event: str, headers: Headers, id_first: bool = False
) -> None:
    """One list event; ActionID comes last, or right after Event (`id_first`) in the lists
    that put it there (CoreShowChannel, Confbridge*)."""
    action_id: Headers = [] if action.action_id is None else [("ActionID", action.action_id)]
    if id_first:
        session.send([("Event", event), *action_id, *headers])
    else:
        session.send([("Event", event), *headers, *action_id])


def _list_complete(session: AMISession, action: Action, event: str, items: int) -> None:
    headers: Headers = [("Event", event)]
    if action.action_id is not None:
        headers.append(("ActionID", action.action_id))
    headers += [("EventList", "Complete"), ("ListItems", str(items))]
    session.send(headers)


def _is_true(text: str | None) -> bool:
    return (text or "").strip().lower() in ("yes", "true", "y", "t", "1", "on")


async def ping(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    headers: Headers = [("Response", "Success")]
    if action.action_id is not None:
        headers.append(("ActionID", action.action_id))
    headers += [("Ping", "Pong"), ("Timestamp", f"{pbx.clock.now():.6f}")]
    session.send(headers)


async def logoff(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    session.respond(action, "Goodbye", "Thanks for all the fish.")
    await session.close()


async def queue_status(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    wanted = action.get("Queue")
    _list_start(session, action, "Queue status will follow")
    items = 0
    for queue in pbx.queues.values():
        if wanted and queue.name != wanted:
            continue
        _list_item(session, action, "QueueParams", queue.params_headers(len(queue.entries)))
        items += 1
        for member in queue.members:
            _list_item(session, action, "QueueMember", [("Queue", queue.name), *member.headers()])
            items += 1
        now = pbx.clock.now()
        for entry in queue.entries:
            caller = entry.channel
            _list_item(
                session,
                action,
                "QueueEntry",
                [
                    ("Queue", queue.name),
                    ("Position", str(entry.position)),
                    ("Channel", caller.name),
                    ("Uniqueid", caller.uniqueid),
                    ("CallerIDNum", caller.cid_num or "<unknown>"),
                    ("CallerIDName", caller.cid_name or "<unknown>"),
                    ("ConnectedLineNum", caller.connected_num or "<unknown>"),
                    ("ConnectedLineName", caller.connected_name or "<unknown>"),
                    ("Wait", str(int(now - entry.joined))),
                    ("Priority", str(entry.priority)),
                ],
            )
            items += 1
    _list_complete(session, action, "QueueStatusComplete", items)


async def queue_summary(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    wanted = action.get("Queue")
    _list_start(session, action, "Queue summary will follow")
    items = 0
    for queue in pbx.queues.values():
        if wanted and queue.name != wanted:
            continue
        now = pbx.clock.now()
        longest = max((int(now - e.joined) for e in queue.entries), default=0)
        summary: Headers = [
            ("Queue", queue.name),
            ("LoggedIn", str(queue.logged_in())),
            ("Available", str(queue.available())),
            ("Callers", str(len(queue.entries))),
            ("HoldTime", str(queue.holdtime)),
            ("TalkTime", str(queue.talktime)),
            ("LongestHoldTime", str(longest)),
        ]
        _list_item(session, action, "QueueSummary", summary)
        items += 1
    _list_complete(session, action, "QueueSummaryComplete", items)


def channels_in_asterisk_order(pbx: EmulatedPBX) -> list[Channel]:
    # Asterisk's channel container hashes names into 1567 buckets and lists bucket by bucket.
    return sorted(pbx.channels.values(), key=lambda c: asterisk_case_hash(c.name) % 1567)


def _duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


async def core_show_channels(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    _list_start(session, action, "Channels will follow")
    channels = channels_in_asterisk_order(pbx)
    now = pbx.clock.now()
    for channel in channels:
        headers: Headers = [("Event", "CoreShowChannel")]
        if action.action_id is not None:
            headers.append(("ActionID", action.action_id))
        headers += [
            *channel.headers(),
            ("Application", channel.application),
            ("ApplicationData", channel.app_data),
            ("Duration", _duration(now - channel.created)),
            ("BridgeId", channel.bridge.uniqueid if channel.bridge else ""),
        ]
        session.send(headers)
    _list_complete(session, action, "CoreShowChannelsComplete", len(channels))


async def originate(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    channel = action.get("Channel")
    if not channel:
        raise session.error(action, "Channel not specified")
    tech, sep, _ = channel.partition("/")
    if not sep or tech.lower() != "local":
        raise session.error(action, "Invalid channel")
    request = OriginateRequest(channel=channel, action_id=action.action_id)
    if action.get("Application"):
        request.application = action.get("Application")
        request.data = action.get("Data") or ""
    else:
        request.context = action.get("Context") or "default"
        request.exten = action.get("Exten") or "s"
        priority = action.get("Priority") or "1"
        if not priority.isdigit():
            raise session.error(action, "Invalid priority")
        request.priority = int(priority)
        if not pbx.dialplan.exists(request.context, request.exten, request.priority):
            raise session.error(action, "Extension does not exist.")
    timeout = action.get("Timeout") or "30000"
    if not timeout.isdigit():
        raise session.error(action, "Invalid timeout")
    request.timeout_ms = int(timeout)
    if action.get("CallerID"):
        request.caller_id = parse_caller_id(action.get("CallerID") or "")
    for text in action.get_all("Variable"):
        for assignment in text.split(","):
            key, _, value = assignment.partition("=")
            request.variables.append((key.strip(), value))
    request.channel_ids = (action.get("ChannelId"), action.get("OtherChannelId"))
    if _is_true(action.get("Async")):
        session.respond(action, "Success", "Originate successfully queued")
        pbx.spawn(_originate_in_background(pbx, request))
        return
    result = await place_call(pbx, request)
    if result.channel is None:
        raise session.error(action, "Originate failed")
    session.respond(action, "Success", "Originate successfully queued")
    start_on_answer(pbx, request, result.channel)


async def _originate_in_background(pbx: EmulatedPBX, request: OriginateRequest) -> None:
    result = await place_call(pbx, request)
    pbx.emit("OriginateResponse", "call", response_event(request, result))
    if result.channel is not None:
        start_on_answer(pbx, request, result.channel)


async def setvar(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    name = action.get("Variable")
    if not name:
        raise session.error(action, "No variable specified")
    value = action.get("Value") or ""
    if not name.lstrip("_"):
        raise session.error(action, f"Variable name {name!r} has nothing after its underscores")
    channel_name = action.get("Channel")
    if channel_name:
        channel = pbx.find_channel(channel_name)
        if channel is None:
            raise session.error(action, "No such channel")
        session.respond(action, "Success", "Variable Set")
        channel.set_variable(name, value)
        return
    session.respond(action, "Success", "Variable Set")
    pbx.global_vars[name] = value
    pbx.emit(
        "VarSet",
        "dialplan",
        [("Channel", "none"), ("Uniqueid", "none"), ("Variable", name), ("Value", value)],
    )


async def getvar(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    name = action.get("Variable")
    if not name:
        raise session.error(action, "No variable specified")
    channel_name = action.get("Channel")
    channel = None
    if channel_name:
        channel = pbx.find_channel(channel_name)
        if channel is None:
            raise session.error(action, "No such channel")
    if channel is not None or "(" in name:
        value = lookup(channel, name)
    else:
        value = pbx.global_vars.get(name, "")
    headers: Headers = [("Response", "Success")]
    if action.action_id is not None:
        headers.append(("ActionID", action.action_id))
    headers += [("Variable", name), ("Value", value)]
    session.send(headers)


async def hangup(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    name = action.get("Channel")
    if not name:
        raise session.error(action, "No channel specified")
    if len(name) > 1 and name.startswith("/") and name.endswith("/"):
        await _hangup_matching(pbx, session, action, name[1:-1])
        return
    channel = pbx.find_channel(name)
    if channel is None:
        raise session.error(action, "No such channel")
    cause = action.get("Cause")
    if cause is not None and not cause.strip().isdigit():
        raise session.error(action, "Invalid hangup cause")
    session.respond(action, "Success", "Channel Hungup")
    if cause is not None:
        channel.cause = int(cause)
    channel.soft_hangup_pending = channel.in_pbx
    channel.request_hangup()


# Real seconds a regex Hangup waits for one channel to go before it takes the next.
GONE_WAIT = 1.0


async def _hangup_matching(
    pbx: EmulatedPBX, session: AMISession, action: Action, pattern: str
) -> None:
    try:
        regex = re.compile(pattern)
    except re.error:
        raise session.error(action, "Invalid regex") from None
    _list_start(session, action, "Channels hung up will follow")
    matched = [c for c in channels_in_asterisk_order(pbx) if regex.search(c.name)]
    for channel in matched:
        headers: Headers = [("Event", "ChannelHungup"), ("Channel", channel.name)]
        if action.action_id is not None:
            headers.append(("ActionID", action.action_id))
        session.send(headers)
    _list_complete(session, action, "ChannelsHungupListComplete", len(matched))
    for channel in matched:
        channel.soft_hangup_pending = channel.in_pbx
        channel.hangup_queued = True
        channel.kick_from_bridge()
    pbx.spawn(_hang_up_in_turn(matched))


async def _hang_up_in_turn(matched: list[Channel]) -> None:
    """Each matched channel's own thread hangs it up. A bridged one is told to leave its
    bridge at once (kick_from_bridge); one that only waits goes first and hands its hangup
    to the other half of its Local pair; the bridged ones then go one at a time in the
    list's order (trace 05b)."""
    waiting = [c for c in matched if c.bridge is None]
    bridged = [c for c in matched if c.bridge is not None]
    for channel in waiting:
        _request(channel)
    await _gone(waiting)
    for channel in bridged:
        _request(channel)
        await _gone([channel])


def _request(channel: Channel) -> None:
    channel.hangup_queued = False
    if not channel.gone and not channel.hangup_requested:
        channel.request_hangup()


async def _gone(channels: list[Channel]) -> None:
    """Until every channel has published its Hangup (bounded, in case a channel's
    application holds on)."""
    loop = asyncio.get_running_loop()
    pending: list[asyncio.Future[None]] = []
    for channel in channels:
        if channel.gone:
            continue
        done: asyncio.Future[None] = loop.create_future()
        channel.on_gone.append(functools.partial(_resolve, done))
        pending.append(done)
    if pending:
        await asyncio.wait(pending, timeout=GONE_WAIT)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def play_dtmf(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    name = action.get("Channel") or ""
    channel = pbx.find_channel(name)
    if channel is None:
        raise session.error(action, "Channel not found")
    digits = action.get("Digit")
    if not digits:
        raise session.error(action, "No digit specified")
    duration_text = action.get("Duration")
    duration = 100
    if duration_text is not None:
        if not duration_text.strip().isdigit():
            raise session.error(action, "Could not convert Duration parameter")
        duration = int(duration_text)
    digit = digits[0]
    if _is_true(action.get("Receive")):
        # Queued as received on this very channel: only the End, with no duration (09b).
        session.respond(action, "Success", "DTMF successfully queued")
        dtmf.receive(channel, digit, 0, begin=False)
        return
    # Sent on the channel: the action returns after the tone's duration, and the digit
    # arrives on the other half of a Local pair (or the far end of a trunk call).
    await pbx.clock.sleep(duration / 1000)
    session.respond(action, "Success", "DTMF successfully queued")
    dtmf.send(channel, digit, duration)


async def redirect_action(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    name = action.get("Channel")
    if not name:
        raise session.error(action, "Channel not specified")
    exten = action.get("Exten")
    if not exten:
        raise session.error(action, "Exten not specified")
    context = action.get("Context") or ""
    priority_text = action.get("Priority") or "1"
    if not priority_text.isdigit():
        raise session.error(action, "Invalid priority")
    channel = pbx.find_channel(name)
    if channel is None:
        raise session.error(action, f"Channel does not exist: {name}")
    extra_name = action.get("ExtraChannel")
    if extra_name:
        extra = pbx.find_channel(extra_name)
        if extra is None:
            raise session.error(action, f"Channel does not exist: {extra_name}")
        extra_priority = action.get("ExtraPriority") or priority_text
        if not extra_priority.isdigit():
            raise session.error(action, "Invalid ExtraPriority")
        session.respond(action, "Success", "Dual Redirect successful")
        redirect(channel, context, exten, int(priority_text))
        redirect(
            extra,
            action.get("ExtraContext") or context,
            action.get("ExtraExten") or exten,
            int(extra_priority),
        )
        return
    session.respond(action, "Success", "Redirect successful")
    redirect(channel, context, exten, int(priority_text))


async def user_event(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    name = action.get("UserEvent")
    if not name:
        raise session.error(action, "Missing required header: UserEvent")
    session.respond(action, "Success", "Event Sent")
    # Asterisk forwards every header but Action and UserEvent, in the client's order.
    extra = [(k, v) for k, v in action.headers if k.lower() not in ("action", "userevent")]
    pbx.emit("UserEvent", "user", [("UserEvent", name), *extra])


async def queue_add(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    queue_name = action.get("Queue")
    interface = action.get("Interface")
    if not queue_name or not interface:
        raise session.error(action, "'Queue' and 'Interface' not set.")
    queue = _queue(pbx, session, action, queue_name, "Unable to add interface to queue")
    if queue.find_member(interface) is not None:
        raise session.error(action, "Unable to add interface: Already there")
    penalty_text = action.get("Penalty") or "0"
    try:
        penalty = int(penalty_text)
    except ValueError:
        raise session.error(action, f"Invalid penalty ({penalty_text})") from None
    config = MemberConfig(
        interface=interface,
        penalty=penalty,
        name=action.get("MemberName") or interface,
        state_interface=action.get("StateInterface") or interface,
    )
    member = make_member(config, dynamic=True, login_time=int(pbx.clock.now()))
    member.paused = _is_true(action.get("Paused"))
    member.paused_reason = action.get("Reason") or "" if member.paused else ""
    queue.members.append(member)
    session.respond(action, "Success", "Added interface to queue")
    pbx.emit(
        "DeviceStateChange",
        "call",
        [
            ("Device", f"Queue:{queue.name}_pause_{interface}"),
            ("State", "INUSE" if member.paused else "NOT_INUSE"),
        ],
    )
    _emit_member(pbx, "QueueMemberAdded", queue, member)


async def queue_remove(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    queue_name = action.get("Queue")
    interface = action.get("Interface")
    if not queue_name or not interface:
        raise session.error(action, "Need 'Queue' and 'Interface' parameters.")
    queue = _queue(pbx, session, action, queue_name, "Unable to remove interface from queue")
    member = queue.find_member(interface)
    if member is None:
        raise session.error(action, "Unable to remove interface: Not there")
    if not member.dynamic:
        raise session.error(action, "Unable to remove interface from queue: Not Dynamic")
    queue.members.remove(member)
    session.respond(action, "Success", "Removed interface from queue")
    _emit_member(pbx, "QueueMemberRemoved", queue, member)


def _queue(pbx: EmulatedPBX, session: AMISession, action: Action, name: str, failure: str) -> Queue:
    """The queue `name`, or app_queue's "<failure>: No such queue" error."""
    queue = pbx.queues.get(name)
    if queue is None:
        raise session.error(action, f"{failure}: No such queue")
    return queue


def _members_named(
    pbx: EmulatedPBX, interface: str, queue_name: str | None
) -> list[tuple[Queue, Member]]:
    """The member `interface` in queue `queue_name`, or in every queue without one."""
    found = []
    for queue in pbx.queues.values():
        if queue_name and queue.name != queue_name:
            continue
        member = queue.find_member(interface)
        if member is not None:
            found.append((queue, member))
    return found


def _emit_member(pbx: EmulatedPBX, event: str, queue: Queue, member: Member) -> None:
    """QueueMemberAdded/Removed/Penalty/Pause: the queue, then the member as Asterisk lists it."""
    headers = [("Queue", queue.name), *member.headers(name_key="MemberName", with_ringinuse=True)]
    pbx.emit(event, "agent", headers)


async def queue_penalty(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    interface = action.get("Interface")
    penalty_text = action.get("Penalty")
    if not interface or penalty_text is None:
        raise session.error(action, "Need 'Interface' and 'Penalty' parameters.")
    try:
        penalty = int(penalty_text)
    except ValueError:
        raise session.error(action, f"Invalid penalty ({penalty_text})") from None
    changed = _members_named(pbx, interface, action.get("Queue"))
    if not changed:
        raise session.error(action, "Invalid interface, queuename or penalty")
    for _, member in changed:
        member.penalty = penalty
    session.respond(action, "Success", "Interface penalty set successfully")
    for queue, member in changed:
        _emit_member(pbx, "QueueMemberPenalty", queue, member)


async def queue_pause(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    interface = action.get("Interface")
    paused_text = action.get("Paused")
    if not interface or paused_text is None:
        raise session.error(action, "Need 'Interface' and 'Paused' parameters.")
    paused = _is_true(paused_text)
    reason = action.get("Reason") or ""
    changed = _members_named(pbx, interface, action.get("Queue"))
    if not changed:
        raise session.error(action, "Interface not found")
    session.respond(
        action,
        "Success",
        "Interface paused successfully" if paused else "Interface unpaused successfully",
    )
    now = int(pbx.clock.now())
    for queue, member in changed:
        available_before = queue.available()
        member.paused = paused
        member.paused_reason = reason if paused else ""
        if paused:
            member.last_pause = now
        pbx.emit(
            "DeviceStateChange",
            "call",
            [
                ("Device", f"Queue:{queue.name}_pause_{member.interface}"),
                ("State", "INUSE" if paused else "NOT_INUSE"),
            ],
        )
        if bool(available_before) != bool(queue.available()):
            pbx.emit(
                "DeviceStateChange",
                "call",
                [
                    ("Device", f"Queue:{queue.name}_avail"),
                    ("State", "NOT_INUSE" if queue.available() else "INUSE"),
                ],
            )
        _emit_member(pbx, "QueueMemberPause", queue, member)


async def atxfer(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    """manager.c action_atxfer: queue the atxfer feature code and the number as DTMF."""
    name = action.get("Channel")
    if not name:
        raise session.error(action, "No channel specified")
    exten = action.get("Exten")
    if not exten:
        raise session.error(action, "No extension specified")
    channel = pbx.find_channel(name)
    if channel is None:
        raise session.error(action, "Channel specified does not exist")
    if not pbx.features.featuremap.get("atxfer"):
        raise session.error(action, "No attended transfer feature code found")
    queue_atxfer(channel, exten, action.get("Context") or "")
    session.respond(action, "Success", "Atxfer successfully queued")


async def blind_transfer(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    name = action.get("Channel")
    if not name:
        raise session.error(action, "No channel specified")
    channel = pbx.find_channel(name)
    if channel is None:
        raise session.error(action, "No such channel")
    exten = action.get("Exten")
    if not exten:
        raise session.error(action, "No extension specified")
    context = action.get("Context") or channel.context
    bridge = channel.bridge
    transferee = bridge.peer_of(channel) if bridge is not None else None
    if bridge is None or transferee is None:
        raise session.error(action, "Transfer failed")
    session.respond(action, "Success", "Transfer succeeded")
    channel.emit("Unhold", "call")
    transferee.set_variable("BLINDTRANSFER", channel.name)
    channel.set_variable("BLINDTRANSFER", transferee.name)
    channel.set_variable("BRIDGEPEER", "")
    pbx.emit(
        "BlindTransfer",
        "call",
        [
            ("Result", "Success"),
            *channel.headers("Transferer"),
            *transferee.headers("Transferee"),
            *bridge.headers(),
            ("IsExternal", "Yes"),
            ("Context", context),
            ("Extension", exten),
        ],
    )
    transferee.transferred = True
    transferee.redirect_to = (context, exten, 1)
    transferee.wakeup.set()


async def confbridge_list(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    name = action.get("Conference")
    if not name:
        raise session.error(action, "No Conference name provided.")
    conference = pbx.conferences.get(name)
    if conference is None:
        raise session.error(action, "No Conference by that name found.")
    _list_start(session, action, "Confbridge user list will follow")
    for member in conference.members:
        _list_item(session, action, "ConfbridgeList", list_item(conference, member), id_first=True)
    _list_complete(session, action, "ConfbridgeListComplete", len(conference.members))


async def confbridge_list_rooms(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    if not pbx.conferences:
        raise session.error(action, "No active conferences.")
    _list_start(session, action, "Confbridge conferences will follow")
    for conference in pbx.conferences.values():
        _list_item(
            session,
            action,
            "ConfbridgeListRooms",
            [
                ("Conference", conference.name),
                ("Parties", str(len(conference.members))),
                ("Marked", "0"),
                ("Locked", "No"),
                ("Muted", "No"),
            ],
            id_first=True,
        )
    _list_complete(session, action, "ConfbridgeListRoomsComplete", len(pbx.conferences))


async def confbridge_kick(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    name = action.get("Conference")
    channel_name = action.get("Channel")
    if not name or not channel_name:
        raise session.error(action, "No Conference name or Channel provided.")
    conference = pbx.conferences.get(name)
    if conference is None:
        raise session.error(action, "No Conference by that name found.")
    member = next((m for m in conference.members if m.name == channel_name), None)
    if member is None:
        raise session.error(action, "No Channel by that name found in Conference.")
    session.respond(action, "Success", "User kicked")
    member.kicked = True
    member.wakeup.set()


async def queue_withdraw_caller(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    queue_name = action.get("Queue")
    caller = action.get("Caller")
    if not queue_name or not caller:
        raise session.error(action, "'Queue' and 'Caller' not set.")
    failure = "Unable to request withdraw from queue"
    queue = _queue(pbx, session, action, queue_name, failure)
    entry = queue.find_entry(caller)
    if entry is None:
        raise session.error(action, f"{failure}: No such caller")
    if entry.withdraw_info is not None:
        raise session.error(action, f"{failure}: Already requested")
    entry.withdraw_info = action.get("WithdrawInfo") or ""
    session.respond(action, "Success", "Withdraw requested successfully")


ACTIONS: dict[str, ActionSpec] = {
    "ping": ActionSpec(0, ping),
    "logoff": ActionSpec(0, logoff),
    "queuestatus": ActionSpec(0, queue_status),
    "queuesummary": ActionSpec(0, queue_summary),
    "coreshowchannels": ActionSpec(_F["system"] | _F["reporting"], core_show_channels),
    "userevent": ActionSpec(_F["user"], user_event),
    "originate": ActionSpec(_F["originate"], originate),
    "setvar": ActionSpec(_F["call"], setvar),
    "getvar": ActionSpec(_F["call"] | _F["reporting"], getvar),
    "hangup": ActionSpec(_F["system"] | _F["call"], hangup),
    "redirect": ActionSpec(_F["call"], redirect_action),
    "playdtmf": ActionSpec(_F["call"], play_dtmf),
    "blindtransfer": ActionSpec(_F["call"], blind_transfer),
    "atxfer": ActionSpec(_F["call"], atxfer),
    "confbridgelist": ActionSpec(_F["reporting"], confbridge_list),
    "confbridgelistrooms": ActionSpec(_F["reporting"], confbridge_list_rooms),
    "confbridgekick": ActionSpec(_F["call"], confbridge_kick),
    "queueadd": ActionSpec(_F["agent"], queue_add),
    "queueremove": ActionSpec(_F["agent"], queue_remove),
    "queuepenalty": ActionSpec(_F["agent"], queue_penalty),
    "queuepause": ActionSpec(_F["agent"], queue_pause),
    "queuewithdrawcaller": ActionSpec(_F["agent"], queue_withdraw_caller),
}
