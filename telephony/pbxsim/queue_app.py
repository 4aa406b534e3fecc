"""The Queue() application: a caller waits, members are rung one at a time, the one who
answers is bridged with the caller; abandon, statistics and the channel variables app_queue
sets, in the order Asterisk 22 publishes them (traces 02, 03)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass

from telephony.pbxsim.amiwire import Headers
from telephony.pbxsim.bridges import Bridge
from telephony.pbxsim.calls import LocalPair, finish, parse_local, run_until_hangup
from telephony.pbxsim.channels import CAUSE_NORMAL, STATE_UP, Channel, HungUp
from telephony.pbxsim.dialplan import split_args
from telephony.pbxsim.phones import PhoneCall
from telephony.pbxsim.queues import Member, Queue, QueueEntry, call_ended, call_started

# Cleared at the start of every Queue() call, in this order (trace 02).
_CLEARED_AT_START = ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS")
_CLEARED_WAIT = ("QUEUEWAIT", "QUEUEWAIT_MS")


class LeftQueue(Exception):
    """The caller left the queue without an answer: by key (queue context) or withdrawn."""


@dataclass
class Answered:
    member: Member
    one: Channel  # the member's leg that gets bridged with the caller
    ring_started: float


async def queue(channel: Channel, data: str) -> None:
    args = split_args(data)
    name = args[0].strip()
    member_gosub = args[6].strip() if len(args) > 6 else ""
    # Option r: the caller hears ringing instead of music on hold (no MusicOnHold events).
    music = "r" not in (args[1] if len(args) > 1 else "")
    pbx = channel.pbx
    started = pbx.clock.now()
    for var in _CLEARED_AT_START + _CLEARED_WAIT:
        channel.set_variable(var, "")
    state = pbx.queues.get(name)
    if state is None:
        channel.set_variable("QUEUESTATUS", "UNKNOWN")
        return
    if "ABANDONED" in channel.variables:
        # Cleared only when a previous Queue() left it set (trace 11).
        channel.set_variable("ABANDONED", "")
        del channel.variables["ABANDONED"]
    # Queue() tells an unanswered caller its call is progressing (a trunk call rings).
    channel.far_ringing.set()
    entry = state.join(channel, started, _priority(channel))
    pbx.emit("DeviceStateChange", "call", [("Device", f"Queue:{name}"), ("State", "RINGING")])
    channel.emit(
        "QueueCallerJoin",
        "agent",
        [("Queue", name), ("Position", str(entry.position)), ("Count", str(len(state.entries)))],
    )
    entry.music = music
    if music:
        channel.emit("MusicOnHoldStart", "call", [("Class", "default")])
    try:
        answered = await _wait_for_member(state, entry)
    except HungUp:
        _abandon(state, entry, started)
        raise
    except LeftQueue:
        return
    await _connect(state, entry, answered, started, member_gosub)


def _priority(channel: Channel) -> int:
    """${QUEUE_PRIO}; app_queue warns about a value that is not a number and uses 0."""
    text = channel.variables.get("QUEUE_PRIO", "").strip()
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


def set_queue_vars(channel: Channel, state: Queue) -> None:
    config = state.config
    for var, value in (
        ("QUEUENAME", state.name),
        ("QUEUEMAX", str(config.maxlen)),
        ("QUEUESTRATEGY", config.strategy),
        ("QUEUECALLS", str(len(state.entries))),
        ("QUEUEHOLDTIME", str(state.holdtime)),
        ("QUEUETALKTIME", str(state.talktime)),
        ("QUEUECOMPLETED", str(state.completed)),
        ("QUEUEABANDONED", str(state.abandoned)),
        ("QUEUESRVLEVEL", str(config.servicelevel)),
        ("QUEUESRVLEVELPERF", f"{state.service_level_perf():.1f}"),
    ):
        channel.set_variable(var, value)


def _set_member_vars(channel: Channel, member: Member) -> None:
    for var, value in (
        ("MEMBERINTERFACE", member.interface),
        ("MEMBERNAME", member.name),
        ("MEMBERCALLS", str(member.calls_taken)),
        ("MEMBERLASTCALL", str(member.last_call)),
        ("MEMBERPENALTY", str(member.penalty)),
        ("MEMBERDYNAMIC", "1" if member.dynamic else "0"),
        ("MEMBERREALTIME", "0"),
    ):
        channel.set_variable(var, value)


def _leave(state: Queue, entry: QueueEntry) -> None:
    channel = entry.channel
    position = state.leave(entry)
    if not state.entries:
        channel.pbx.emit(
            "DeviceStateChange", "call", [("Device", f"Queue:{state.name}"), ("State", "NOT_INUSE")]
        )
    channel.emit(
        "QueueCallerLeave",
        "agent",
        [("Queue", state.name), ("Position", str(position)), ("Count", str(len(state.entries)))],
    )


def _set_leave_times(channel: Channel, entry: QueueEntry) -> float:
    now = channel.pbx.clock.now()
    waited = now - entry.joined
    channel.set_variable("QUEUEWAIT", str(int(waited)))
    channel.set_variable("QUEUEWAIT_MS", str(int(waited * 1000)))
    channel.set_variable("DIALEDTIME", str(int(now - channel.created)))
    channel.set_variable("DIALEDTIME_MS", str(int((now - channel.created) * 1000)))
    channel.set_variable("ANSWEREDTIME", "0")
    channel.set_variable("ANSWEREDTIME_MS", "0")
    return waited


def _abandon(state: Queue, entry: QueueEntry, started: float) -> None:
    if entry.music:
        entry.channel.emit("MusicOnHoldStop", "call")
    _publish_abandon(state, entry)
    _leave_abandoned(state, entry)


def _publish_abandon(state: Queue, entry: QueueEntry) -> None:
    """The leave times, ABANDONED and QueueCallerAbandon (a caller that hangs up or is
    withdrawn, traces 03 and 11)."""
    channel = entry.channel
    waited = _set_leave_times(channel, entry)
    channel.set_variable("ABANDONED", "TRUE")
    set_queue_vars(channel, state)
    channel.emit(
        "QueueCallerAbandon",
        "agent",
        [
            ("Queue", state.name),
            ("Position", str(entry.position)),
            ("OriginalPosition", str(entry.original_position)),
            # Seconds waited, as Asterisk sends it (its docs call it an epoch).
            ("HoldTime", str(int(waited))),
        ],
    )


def _leave_abandoned(state: Queue, entry: QueueEntry) -> None:
    state.abandoned += 1
    set_queue_vars(entry.channel, state)
    position = entry.position
    _leave(state, entry)
    entry.channel.set_variable("QUEUEPOSITION", str(position))


async def _wait_for_member(state: Queue, entry: QueueEntry) -> Answered:
    """queue_exec's loop: wait for our turn (checked once a second), ring the member the
    strategy picks among those that may be rung, and after a ring that was not answered —
    or when no member could be rung (weight, wrap-up, rung elsewhere) — wait `retry`."""
    caller = entry.channel
    pbx = caller.pbx
    while True:
        caller.check()
        _check_redirected(state, entry)
        if not state.is_turn(entry, pbx.clock.now()):
            # app_queue looks again once a second after the caller joined.
            elapsed = pbx.clock.now() - entry.joined
            await _wait_in_queue(state, entry, math.floor(elapsed) + 1 - elapsed)
            continue
        member = state.next_member(pbx.clock.now(), pbx.queues.values())
        if member is not None:
            entry.pending = True
            try:
                answered = await _ring(state, entry, member)
            finally:
                entry.pending = False
            if answered is not None:
                return answered
        await _wait_in_queue(state, entry, float(state.config.retry))


async def _wait_in_queue(state: Queue, entry: QueueEntry, seconds: float) -> None:
    """Wait, reacting at once to a hangup or a key, and to a withdrawal at the end."""
    caller = entry.channel
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds / caller.pbx.clock.time_scale
    while True:
        caller.check()
        _check_redirected(state, entry)
        _check_exit_key(state, entry)
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        caller.wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(caller.wakeup.wait(), remaining)
    if entry.withdraw_info is not None:
        _withdraw(state, entry)


def _check_redirected(state: Queue, entry: QueueEntry) -> None:
    """An AMI Redirect (async goto) of a waiting caller: app_queue sees the soft hangup,
    records an abandon (QueueCallerAbandon, QueueCallerLeave) and returns; the dialplan then
    goes on at the target (app_queue's queue_exec, unverified on real Asterisk)."""
    caller = entry.channel
    if caller.redirect_to is None or caller.hangup_requested:
        return
    _abandon(state, entry, entry.joined)
    raise LeftQueue


async def _until_redirected(channel: Channel) -> None:
    while channel.redirect_to is None:
        channel.wakeup.clear()
        await channel.wakeup.wait()


def _check_exit_key(state: Queue, entry: QueueEntry) -> None:
    caller = entry.channel
    context = state.config.context
    while not caller.digits.empty():
        digit = caller.digits.get_nowait()
        if context and caller.pbx.dialplan.exists(context, digit):
            _exit_with_key(state, entry, context, digit)


def _exit_with_key(state: Queue, entry: QueueEntry, context: str, digit: str) -> None:
    """Queue `context`: a key that is an extension there takes the caller out of the queue
    to context,key,1. QUEUESTATUS stays unset (trace 10: EXITWITHKEY is only in queue_log)."""
    caller = entry.channel
    _set_leave_times(caller, entry)
    caller.context, caller.exten, caller.priority = context, digit, 0
    caller.emit(
        "Newexten",
        "dialplan",
        [("Extension", digit), ("Application", caller.application), ("AppData", caller.app_data)],
    )
    if entry.music:
        caller.emit("MusicOnHoldStop", "call")
    set_queue_vars(caller, state)
    position = entry.position
    _leave(state, entry)
    caller.set_variable("QUEUEPOSITION", str(position))
    caller.redirect_to = (context, digit, 1)
    raise LeftQueue


def _withdraw(state: Queue, entry: QueueEntry) -> None:
    """QueueWithdrawCaller: an abandon as far as the events go (trace 11), then
    QUEUESTATUS=WITHDRAW and QUEUE_WITHDRAW_INFO for the dialplan."""
    caller = entry.channel
    _publish_abandon(state, entry)
    caller.set_variable("QUEUE_WITHDRAW_INFO", entry.withdraw_info or "")
    if entry.music:
        caller.emit("MusicOnHoldStop", "call")
    _leave_abandoned(state, entry)
    caller.set_variable("QUEUESTATUS", "WITHDRAW")
    raise LeftQueue


def _member_headers(state: Queue, member: Member) -> Headers:
    return [("Queue", state.name), ("Interface", member.interface), ("MemberName", member.name)]


def _announce_ring(
    state: Queue, caller: Channel, leg: Channel, member: Member, dial_string: str
) -> None:
    """AgentCalled and DialBegin as a member's leg starts ringing (trace 02)."""
    pbx = caller.pbx
    pbx.emit(
        "AgentCalled",
        "agent",
        [*caller.headers(), *leg.headers("Dest"), *_member_headers(state, member)],
    )
    pbx.emit(
        "DialBegin",
        "call",
        [*caller.headers(), *leg.headers("Dest"), ("DialString", dial_string)],
    )


async def _ring(state: Queue, entry: QueueEntry, member: Member) -> Answered | None:
    caller = entry.channel
    pbx = caller.pbx
    tech, _, resource = member.interface.partition("/")
    if tech.upper() == "PJSIP":
        return await _ring_phone(state, entry, member, resource)
    if tech.lower() != "local":
        raise HungUp(f"queue member {member.interface}: only Local/ and PJSIP/ are emulated")
    target = parse_local(resource)
    pair = LocalPair(pbx, target, linkedid=caller.linkedid, dialer=caller)
    one, two = pair.one, pair.two
    member.ringing = True
    one.iaxvars = dict(caller.iaxvars)  # IAXVAR() values follow the call (trace 16b)
    if caller.connected_num:
        one.cid_num, one.cid_name = caller.cid_num, caller.cid_name
    else:
        # A caller with no connected line (a trunk call): the member sees the number the
        # caller dialled (trace 16b: CallerIDNum 110).
        one.cid_num, one.cid_name = caller.exten, ""
    one.announce_outgoing_line("AppQueue")
    one.connected_num, one.connected_name = caller.cid_num, caller.cid_name
    if caller.inherited:
        # Inherited variables are copied before the leg takes the caller's extension: the
        # connected line and the copies are published first (trace 16b).
        for name in caller.inherited:
            one.variables[name] = caller.variables.get(name, "")
        one.emit("NewConnectedLine", "call")
        _inherit(caller, one)
        one.exten = caller.exten
        _second_newexten(one)
    else:
        one.exten = caller.exten
        _second_newexten(one)
        one.emit("NewConnectedLine", "call")
    one.set_variable("DIALEDPEERNUMBER", resource)
    two.set_variable("DIALEDPEERNUMBER", resource)
    _inherit(caller, two, staged=True)
    two.connected_num, two.connected_name = one.cid_num, one.cid_name
    two.set_caller_id(caller.cid_num, caller.cid_name)
    two.set_connected_line(one.cid_num, one.cid_name)
    pbx.emit("LocalBridge", "call", pair.local_bridge_headers())
    _announce_ring(state, caller, one, member, member.interface)
    ring_started = pbx.clock.now()
    pbx.spawn(run_until_hangup(two, lambda: _run_member_dialplan(two)))
    done = await _ring_ends(state, caller, pair.outcome)
    member.ringing = False
    answered = pair.outcome.done() and pair.outcome.result() == "ANSWER"
    return _ring_result(state, caller, member, one, answered, done, ring_started)


def _second_newexten(one: Channel) -> None:
    one.emit(
        "Newexten",
        "dialplan",
        [("Extension", one.exten), ("Application", "AppQueue"), ("AppData", "(Outgoing Line)")],
    )


def _inherit(caller: Channel, leg: Channel, staged: bool = False) -> None:
    """`__` variables pass to the legs the caller's call creates, with a VarSet each; on a
    Local `;2` half the snapshot is staged, so its VarSets show the values from before
    (trace 16b)."""
    before = dict(leg.variables) if staged else None
    for name in sorted(caller.inherited):
        leg.inherited.add(name)
        leg.variables[name] = caller.variables.get(name, "")
        leg.pbx.emit(
            "VarSet",
            "dialplan",
            [
                *leg.headers(variables=before),
                ("Variable", f"__{name}"),
                ("Value", leg.variables[name]),
            ],
        )


async def _ring_phone(
    state: Queue, entry: QueueEntry, member: Member, endpoint: str
) -> Answered | None:
    caller = entry.channel
    pbx = caller.pbx
    call = PhoneCall(pbx, endpoint, caller)
    one = call.one
    member.ringing = True
    _announce_ring(state, caller, one, member, endpoint)
    ring_started = pbx.clock.now()
    pbx.spawn(call.run())
    done = await _ring_ends(state, caller, call.outcome)
    member.ringing = False
    answered = call.outcome.done() and call.outcome.result() == "ANSWER"
    return _ring_result(state, caller, member, one, answered, done, ring_started)


async def _ring_ends(state: Queue, caller: Channel, outcome: asyncio.Future[str]) -> bool:
    """Wait for the member's answer or refusal, the caller's hangup or redirect, or the
    ring timeout; False on the timeout."""
    waits: set[asyncio.Future[object]] = {
        asyncio.ensure_future(caller.ended.wait()),
        asyncio.ensure_future(_until_redirected(caller)),
        asyncio.ensure_future(asyncio.shield(outcome)),
    }
    try:
        done, _ = await asyncio.wait(
            waits,
            timeout=state.config.timeout / caller.pbx.clock.time_scale,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        for wait in waits:
            wait.cancel()
    return bool(done)


def _ring_result(
    state: Queue,
    caller: Channel,
    member: Member,
    one: Channel,
    answered: bool,
    ended_in_time: bool,
    ring_started: float,
) -> Answered | None:
    leaving = caller.hangup_requested or caller.redirect_to is not None
    if answered and not leaving:
        return Answered(member, one, ring_started)
    # Caller gone or redirected, member busy or no answer in time: drop the member's leg.
    pbx = caller.pbx
    member_headers = _member_headers(state, member)
    one.cause = CAUSE_NORMAL if leaving else 0
    finish(one)
    if not ended_in_time:
        pbx.emit(
            "AgentRingNoAnswer",
            "agent",
            [
                *caller.headers(),
                *one.headers("Dest"),
                *member_headers,
                ("RingTime", str(state.config.timeout)),
            ],
        )
    caller.check()
    return None


async def _talk(caller: Channel, agent: Channel) -> None:
    """Until the caller hangs up or is redirected, or the member's leg ends."""
    while not (caller.hangup_requested or caller.redirect_to or agent.ended.is_set()):
        caller.wakeup.clear()
        woken = asyncio.ensure_future(caller.wakeup.wait())
        agent_ended = asyncio.ensure_future(agent.ended.wait())
        try:
            await asyncio.wait({woken, agent_ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            agent_ended.cancel()


async def _redirected_out(
    state: Queue,
    caller: Channel,
    one: Channel,
    bridge: Bridge,
    member: Member,
    member_headers: list[tuple[str, str]],
    waited: float,
    answered_at: float,
) -> None:
    """A Redirect took the bridged caller away (trace 04): the caller shows up at the new
    place still 'in' Queue, the member's leg is dropped, and AgentComplete waits for the
    caller's hangup. Asterisk then resumes one priority after the Redirect's target."""
    pbx = caller.pbx
    assert caller.redirect_to is not None
    context, exten, priority = caller.redirect_to
    transferred, caller.transferred = caller.transferred, False
    # A dual Redirect may have taken the member's leg too (trace 13): it leaves the bridge
    # first and then lives on where it was sent.
    member_moved = one.redirect_to is not None and one.feature_task is None
    if member_moved:
        one.set_variable("BRIDGEPEER", "")
        _move_out(one)
    if transferred:
        _complete_as_transfer(caller, one, member_headers, waited, answered_at)
    caller.set_variable("BRIDGEPEER", "")
    caller.context, caller.exten, caller.priority = context, exten, priority
    caller.emit(
        "Newexten",
        "dialplan",
        [("Extension", exten), ("Application", caller.application), ("AppData", caller.app_data)],
    )
    if not transferred and not member_moved:  # BlindTransfer already cleared the member's
        one.set_variable("BRIDGEPEER", "")
    if member_moved:
        bridge.leave(one)
    bridge.leave(caller)
    if member_moved:
        # The member's own thread takes it on at once: it reaches its target (a
        # conference) before the caller's queue wrap-up (trace 13).
        member.calls_taken += 1
        member.last_call = int(pbx.clock.now())
        pbx.spawn(run_until_hangup(one, lambda: _run_member_dialplan(one)))
        await asyncio.sleep(0)
        bridge.destroy()
    end = pbx.clock.now()
    caller.set_variable("DIALEDTIME", str(int(end - caller.created)))
    caller.set_variable("DIALEDTIME_MS", str(int((end - caller.created) * 1000)))
    caller.set_variable("ANSWEREDTIME", "0")
    caller.set_variable("ANSWEREDTIME_MS", "0")
    set_queue_vars(caller, state)
    caller.redirect_to = (context, exten, priority + 1)
    if not member_moved:
        pbx.spawn(_drop_member(bridge, one, state, member))
    completed = False

    def complete(reason: str) -> None:
        # The first queue's call ends, for app_queue, only when the caller's channel does,
        # or the member's if it was moved on with the caller: TalkTime runs until then
        # (traces 04, 13).
        nonlocal completed
        if completed:
            return
        completed = True
        member.in_call = False
        talked = pbx.clock.now() - answered_at
        snapshot = [] if caller.gone else caller.headers()
        pbx.emit(
            "AgentComplete",
            "agent",
            [
                *snapshot,
                *member_headers,
                ("HoldTime", str(int(waited))),
                ("TalkTime", str(int(talked))),
                ("Reason", reason),
            ],
        )

    if not transferred:
        caller.on_gone.append(lambda: complete("caller"))
        if member_moved:
            one.on_gone.append(lambda: complete("agent"))


def _complete_as_transfer(
    caller: Channel, one: Channel, member_headers: Headers, waited: float, answered_at: float
) -> None:
    talked = caller.pbx.clock.now() - answered_at
    caller.pbx.emit(
        "AgentComplete",
        "agent",
        [
            *caller.headers(),
            *one.headers("Dest"),
            *member_headers,
            ("HoldTime", str(int(waited))),
            ("TalkTime", str(int(talked))),
            ("Reason", "transfer"),
        ],
    )


async def _bridged_with_target(
    state: Queue, caller: Channel, target: Channel, bridge: Bridge, answered_at: float
) -> None:
    """After an attended transfer the caller stays in Queue, bridged with the transfer
    target, until one of them hangs up; app_queue then ends the call without a second
    AgentComplete (trace 05b)."""
    pbx = caller.pbx
    await _talk(caller, target)
    caller.set_variable("BRIDGEPEER", "")
    bridge.leave(caller)
    end = pbx.clock.now()
    set_queue_vars(caller, state)
    bridge.destroy()
    caller.set_variable("ANSWEREDTIME", str(int(end - answered_at)))
    caller.set_variable("ANSWEREDTIME_MS", str(int((end - answered_at) * 1000)))
    caller.set_variable("DIALEDTIME", str(int(end - caller.created)))
    caller.set_variable("DIALEDTIME_MS", str(int((end - caller.created) * 1000)))
    set_queue_vars(caller, state)
    if caller.hangup_requested:
        caller.cause = caller.cause or CAUSE_NORMAL
        raise HungUp(caller.name)


def _move_out(channel: Channel) -> None:
    """A redirected bridged channel is published at its target still in its application,
    then runs the dialplan from the next priority (traces 04, 13)."""
    assert channel.redirect_to is not None
    context, exten, priority = channel.redirect_to
    channel.context, channel.exten, channel.priority = context, exten, priority
    channel.emit(
        "Newexten",
        "dialplan",
        [("Extension", exten), ("Application", channel.application), ("AppData", channel.app_data)],
    )
    channel.redirect_to = (context, exten, priority + 1)


async def _drop_member(bridge: Bridge, one: Channel, state: Queue, member: Member) -> None:
    """The member's leg after the caller left the bridge: hung up, but only once a feature
    it is running (the one-key Gosub into AGI) has returned (trace 09)."""
    if one.feature_task is not None:
        await one.feature_done.wait()
    bridge.leave(one)
    bridge.destroy()
    call_ended(one.pbx.queues.values(), state, member, one.pbx.clock.now())
    one.cause = CAUSE_NORMAL
    finish(one)


async def _run_member_dialplan(channel: Channel) -> None:
    from telephony.pbxsim.applications import run_dialplan

    await run_dialplan(channel)


async def _connect(
    state: Queue, entry: QueueEntry, answered: Answered, started: float, member_gosub: str
) -> None:
    caller = entry.channel
    pbx = caller.pbx
    member, one = answered.member, answered.one
    now = pbx.clock.now()
    waited = now - entry.joined
    if entry.music:
        caller.emit("MusicOnHoldStop", "call")
    _set_member_vars(caller, member)
    _set_member_vars(one, member)
    state.record_holdtime(int(waited))
    for channel in (caller, one):
        channel.set_variable("QEHOLDTIME", str(int(waited)))
        channel.set_variable("QEORIGINALPOS", str(entry.original_position))
    set_queue_vars(caller, state)
    set_queue_vars(one, state)
    position = entry.position
    _leave(state, entry)
    caller.set_variable("QUEUEPOSITION", str(position))
    caller.set_variable("QUEUEWAIT", str(int(waited)))
    caller.set_variable("QUEUEWAIT_MS", str(int(waited * 1000)))
    if member_gosub:
        from telephony.pbxsim.applications import run_gosub

        await run_gosub(one, member_gosub)
    member_headers = _member_headers(state, member)
    pbx.emit(
        "AgentConnect",
        "agent",
        [
            *caller.headers(),
            *one.headers("Dest"),
            *member_headers,
            ("HoldTime", str(int(waited))),
            ("RingTime", str(int(now - answered.ring_started))),
        ],
    )
    call_started(pbx.queues.values(), state, member)
    if caller.state != STATE_UP:
        # Queue() without a prior Answer(): the caller is answered when connected (trace 13).
        caller.set_state(STATE_UP)
        if caller.pair is not None and caller is caller.pair.two:
            caller.pair.answered()
    bridge = Bridge(pbx)
    bridge.enter(one)
    bridge.enter(caller)
    one.set_variable("BRIDGEPEER", caller.name)
    caller.set_variable("BRIDGEPEER", one.name)
    answered_at = pbx.clock.now()
    transferred_to: list[Channel] = []

    def transferred(target: Channel) -> None:
        # app_queue hears of an attended transfer of the member (handle_attended_transfer):
        # the member's call ends as a transfer; the caller stays bridged with the target.
        transferred_to.append(target)
        _complete_as_transfer(caller, one, member_headers, waited, answered_at)
        call_ended(pbx.queues.values(), state, member, pbx.clock.now())

    caller.on_transferred.append(transferred)
    await _talk(caller, one)
    if one.attended_transfer is not None:
        # The member hung up while consulting: its attended transfer completes first.
        await one.attended_transfer.finished.wait()
    caller.on_transferred.remove(transferred)
    if transferred_to:
        await _bridged_with_target(state, caller, transferred_to[0], bridge, answered_at)
        return
    if caller.redirect_to is not None and not caller.hangup_requested:
        await _redirected_out(
            state, caller, one, bridge, member, member_headers, waited, answered_at
        )
        return
    # app_queue takes the reason from the first hangup request it hears of: the member's
    # leg may have had one from its other half before the caller's (trace 05b).
    reason = "caller" if caller.hangup_requested and not one.hangup_request_received else "agent"
    caller.set_variable("BRIDGEPEER", "")
    if not one.gone:
        one.set_variable("BRIDGEPEER", "")
    bridge.leave(caller)
    bridge.leave(one)
    end = pbx.clock.now()
    talked = end - answered_at
    call_ended(pbx.queues.values(), state, member, end)
    if reason == "caller":
        # The caller left the bridge (normal clearing unless a cause was given): app_queue
        # hangs the member's leg up at once.
        caller.cause = caller.cause or CAUSE_NORMAL
        one.cause = caller.cause
        finish(one)
    else:
        # The member hung up: its bridged leg, which only app_queue runs, goes now.
        finish(one)
    set_queue_vars(caller, state)
    bridge.destroy()
    caller.set_variable("ANSWEREDTIME", str(int(talked)))
    caller.set_variable("ANSWEREDTIME_MS", str(int(talked * 1000)))
    # DIALEDTIME counts from the channel's creation (traces 02, 14), not from Queue().
    caller.set_variable("DIALEDTIME", str(int(end - caller.created)))
    caller.set_variable("DIALEDTIME_MS", str(int((end - caller.created) * 1000)))
    set_queue_vars(caller, state)
    state.record_completed(int(waited), int(talked))
    complete = [
        *member_headers,
        ("HoldTime", str(int(waited))),
        ("TalkTime", str(int(talked))),
        ("Reason", reason),
    ]
    if caller.hangup_requested:
        # Published once the caller is gone, so it carries no channel snapshot (traces 02,
        # 05b: the agent's hangup came first, the caller was going too).
        caller.on_gone.append(lambda: pbx.emit("AgentComplete", "agent", complete))
        raise HungUp(caller.name)
    pbx.emit("AgentComplete", "agent", [*caller.headers(), *complete])
