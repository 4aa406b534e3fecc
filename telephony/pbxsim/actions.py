"""AMI action handlers, each answering with Asterisk 22's exact responses and events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telephony.pbxsim.amiserver import ActionSpec, AMISession
from telephony.pbxsim.amiwire import Action, Headers
from telephony.pbxsim.pbxconfig import PERMISSION_FLAGS, MemberConfig
from telephony.pbxsim.queues import make_member

if TYPE_CHECKING:
    from telephony.pbxsim.pbx import EmulatedPBX

_F = PERMISSION_FLAGS


def _list_start(session: AMISession, action: Action, message: str) -> None:
    headers: Headers = [("Response", "Success")]
    if action.action_id is not None:
        headers.append(("ActionID", action.action_id))
    headers += [("EventList", "start"), ("Message", message)]
    session.send(headers)


def _list_item(session: AMISession, action: Action, event: str, headers: Headers) -> None:
    tail: Headers = [] if action.action_id is None else [("ActionID", action.action_id)]
    session.send([("Event", event), *headers, *tail])


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
        _list_item(session, action, "QueueParams", queue.params_headers(0))
        items += 1
        for member in queue.members:
            _list_item(session, action, "QueueMember", [("Queue", queue.name), *member.headers()])
            items += 1
    _list_complete(session, action, "QueueStatusComplete", items)


async def queue_summary(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    wanted = action.get("Queue")
    _list_start(session, action, "Queue summary will follow")
    items = 0
    for queue in pbx.queues.values():
        if wanted and queue.name != wanted:
            continue
        summary: Headers = [
            ("Queue", queue.name),
            ("LoggedIn", str(queue.logged_in())),
            ("Available", str(queue.available())),
            ("Callers", "0"),
            ("HoldTime", str(queue.holdtime)),
            ("TalkTime", str(queue.talktime)),
            ("LongestHoldTime", "0"),
        ]
        _list_item(session, action, "QueueSummary", summary)
        items += 1
    _list_complete(session, action, "QueueSummaryComplete", items)


async def core_show_channels(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    _list_start(session, action, "Channels will follow")
    _list_complete(session, action, "CoreShowChannelsComplete", 0)


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
    queue = pbx.queues.get(queue_name)
    if queue is None:
        raise session.error(action, "Unable to add interface to queue: No such queue")
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
    pbx.emit(
        "QueueMemberAdded",
        "agent",
        [("Queue", queue.name), *member.headers(name_key="MemberName", with_ringinuse=True)],
    )


async def queue_remove(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    queue_name = action.get("Queue")
    interface = action.get("Interface")
    if not queue_name or not interface:
        raise session.error(action, "Need 'Queue' and 'Interface' parameters.")
    queue = pbx.queues.get(queue_name)
    if queue is None:
        raise session.error(action, "Unable to remove interface from queue: No such queue")
    member = queue.find_member(interface)
    if member is None:
        raise session.error(action, "Unable to remove interface: Not there")
    if not member.dynamic:
        raise session.error(action, "Unable to remove interface from queue: Not Dynamic")
    queue.members.remove(member)
    session.respond(action, "Success", "Removed interface from queue")
    pbx.emit(
        "QueueMemberRemoved",
        "agent",
        [("Queue", queue.name), *member.headers(name_key="MemberName", with_ringinuse=True)],
    )


async def queue_penalty(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    interface = action.get("Interface")
    penalty_text = action.get("Penalty")
    if not interface or penalty_text is None:
        raise session.error(action, "Need 'Interface' and 'Penalty' parameters.")
    try:
        penalty = int(penalty_text)
    except ValueError:
        raise session.error(action, f"Invalid penalty ({penalty_text})") from None
    wanted = action.get("Queue")
    changed = []
    for queue in pbx.queues.values():
        if wanted and queue.name != wanted:
            continue
        member = queue.find_member(interface)
        if member is not None:
            member.penalty = penalty
            changed.append((queue, member))
    if not changed:
        raise session.error(action, "Invalid interface, queuename or penalty")
    session.respond(action, "Success", "Interface penalty set successfully")
    for queue, member in changed:
        pbx.emit(
            "QueueMemberPenalty",
            "agent",
            [("Queue", queue.name), *member.headers(name_key="MemberName", with_ringinuse=True)],
        )


async def queue_pause(pbx: EmulatedPBX, session: AMISession, action: Action) -> None:
    interface = action.get("Interface")
    paused_text = action.get("Paused")
    if not interface or paused_text is None:
        raise session.error(action, "Need 'Interface' and 'Paused' parameters.")
    paused = _is_true(paused_text)
    reason = action.get("Reason") or ""
    wanted = action.get("Queue")
    changed = []
    for queue in pbx.queues.values():
        if wanted and queue.name != wanted:
            continue
        member = queue.find_member(interface)
        if member is not None:
            changed.append((queue, member))
    if not changed:
        raise session.error(action, "Interface not found")
    session.respond(
        action,
        "Success",
        "Interface paused successfully" if paused else "Interface unpaused successfully",
    )
    now = int(pbx.clock.now())
    for queue, member in changed:
        member.paused = paused
        member.paused_reason = reason if paused else ""
        if paused:
            member.last_pause = now
        pbx.emit(
            "QueueMemberPause",
            "agent",
            [("Queue", queue.name), *member.headers(name_key="MemberName", with_ringinuse=True)],
        )


ACTIONS: dict[str, ActionSpec] = {
    "ping": ActionSpec(0, ping),
    "logoff": ActionSpec(0, logoff),
    "queuestatus": ActionSpec(0, queue_status),
    "queuesummary": ActionSpec(0, queue_summary),
    "coreshowchannels": ActionSpec(_F["system"] | _F["reporting"], core_show_channels),
    "userevent": ActionSpec(_F["user"], user_event),
    "queueadd": ActionSpec(_F["agent"], queue_add),
    "queueremove": ActionSpec(_F["agent"], queue_remove),
    "queuepenalty": ActionSpec(_F["agent"], queue_penalty),
    "queuepause": ActionSpec(_F["agent"], queue_pause),
}
