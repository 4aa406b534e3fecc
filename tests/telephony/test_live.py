"""The live model fed with whole traces' event streams, checked at points along the way."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from telephony.ami.events import Event, to_event
from telephony.ami.parser import AMIParser
from telephony.live import LiveModel, channel_of_interface
from tests.traces import TRACES_DIR, read_trace

CALLER_02 = "Local/caller@callers-00000000;1"
AGENT_02 = "Local/agent121@agents-00000001;1"
BRIDGE_02 = "61d47bb8-e3a2-43ca-a33c-fb13ef58e7f5"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def trace_events(name: str) -> Iterator[tuple[float, Event]]:
    """(record time, event) for every event of a trace, list replies included."""
    parser = AMIParser()
    for record in read_trace(TRACES_DIR / name):
        if record.direction.startswith("CONNECT"):
            parser.reset()
        elif record.direction == "S->C":
            for message in parser.feed(record.data):
                if message.event is not None:
                    yield record.t, to_event(message)


def replay(
    name: str, model: LiveModel, clock: Clock, stop: Callable[[Event], bool] | None = None
) -> Event | None:
    """Apply a trace's unsolicited events (not list items) until ``stop(event)`` holds."""
    for t, event in trace_events(name):
        clock.now = t
        if event.action_id:  # list items and OriginateResponse answer our own actions
            continue
        model.apply(event)
        if stop is not None and stop(event):
            return event
    return None


def named(name: str, nth: int = 1) -> Callable[[Event], bool]:
    seen = 0

    def check(event: Event) -> bool:
        nonlocal seen
        seen += event.name == name
        return seen == nth

    return check


def list_items(trace: str, action_id_prefix: str) -> list[Event]:
    return [e for _, e in trace_events(trace) if e.action_id.startswith(action_id_prefix)]


def test_trace_02_caller_waits_then_is_bridged_with_the_agent() -> None:
    clock = Clock()
    model = LiveModel(clock)
    replay("02_originate_queue.ami.txt", model, clock, named("QueueCallerJoin"))
    (waiting,) = model.waiting("q110-370811")
    assert waiting.channel == CALLER_02
    assert waiting.position == 1
    assert waiting.joined_at == clock.now
    assert waiting.caller_id_num == "13800000001"

    model = LiveModel(clock)  # replay again, up to the agent's leg entering the bridge
    replay("02_originate_queue.ami.txt", model, clock, named("BridgeEnter", 2))
    assert model.waiting("q110-370811") == []
    bridge = model.bridge_of(CALLER_02)
    assert bridge is not None and bridge.uniqueid == BRIDGE_02
    peer = model.bridged_peer(CALLER_02)
    assert peer is not None and peer.name == AGENT_02
    back = model.bridged_peer(AGENT_02)
    assert back is not None and back.name == CALLER_02
    for agent in ("Agent 121", "Local/agent121@agents/n"):
        talking = model.talking_to(agent)
        assert talking is not None and talking.name == CALLER_02
    caller = model.channel(CALLER_02)
    assert caller is not None
    assert caller.uniqueid == "lab-caller-0002" and caller.linkedid == "lab-caller-0002"
    assert caller.state_desc == "Up"
    assert caller.variables["TICKET_ID"] == "T-0002"
    assert caller.caller_id_name == "Citizen 0001"


def test_trace_02_ends_with_nothing_left() -> None:
    clock = Clock()
    model = LiveModel(clock)
    replay("02_originate_queue.ami.txt", model, clock)
    assert model.channels == {} and model.bridges == {}
    assert model.talking_to("Agent 121") is None
    assert model.bridge_of(CALLER_02) is None
    (member,) = model.members("Agent 121")
    assert member.agent_leg is None


def test_trace_03_caller_waits_then_is_gone_members_paused() -> None:
    clock = Clock()
    model = LiveModel(clock)
    replay("03_queue_abandon.ami.txt", model, clock, named("QueueCallerJoin"))
    (caller,) = model.waiting("q110-370883")
    joined = clock.now
    assert caller.joined_at == joined and caller.channel == "Local/caller@callers-00000002;1"
    members = model.queues["q110-370883"].members
    assert all(member.paused for member in members.values())
    model = LiveModel(clock)
    replay("03_queue_abandon.ami.txt", model, clock, named("QueueCallerAbandon"))
    assert model.waiting("q110-370883") == []
    assert 2.9 < clock.now - joined < 3.1  # the 3 s HoldTime of the abandon, on the trace's clock


def test_trace_11_positions_move_up_when_a_caller_is_withdrawn() -> None:
    clock = Clock()
    model = LiveModel(clock)
    replay("11_queue_withdraw.ami.txt", model, clock, named("QueueCallerJoin", 2))
    assert [(c.channel, c.position) for c in model.waiting("q12345")] == [
        ("Local/caller@callers-00000053;1", 1),
        ("Local/caller@callers-00000054;1", 2),
    ]
    model = LiveModel(clock)
    replay("11_queue_withdraw.ami.txt", model, clock, named("QueueCallerJoin", 3))
    assert [(c.channel, c.position) for c in model.waiting("q12345")] == [
        ("Local/caller@callers-00000054;1", 1)
    ]
    assert [c.channel for c in model.waiting("q110-370811")] == ["Local/caller@callers-00000053;1"]


def test_trace_13_three_party_conference_has_no_single_peer() -> None:
    clock = Clock()
    model = LiveModel(clock)
    replay("13_conference_threeparty.ami.txt", model, clock, named("ConfbridgeJoin", 3))
    conferences = [b for b in model.bridges.values() if b.conference == "913"]
    assert len(conferences) == 1
    (room,) = conferences
    assert len(room.channels) == 3
    someone = model.channels[room.channels[0]]
    assert model.bridged_peer(someone.name) is None
    assert len(model.bridged_peers(someone.name)) == 2


def test_rebuild_from_trace_02_lists_mid_call() -> None:
    clock = Clock()
    clock.now = 100.0
    model = LiveModel(clock)
    model.rebuild_queues(list_items("02_originate_queue.ami.txt", "queuestatus"))
    model.rebuild_channels(list_items("02_originate_queue.ami.txt", "coreshowchannels"))
    assert len(model.channels) == 4
    peer = model.bridged_peer(CALLER_02)
    assert peer is not None and peer.name == AGENT_02
    # no AgentConnect seen since the rebuild: found through the agent's own channel
    talking = model.talking_to("Agent 121")
    assert talking is not None and talking.name == CALLER_02
    assert "q110-370811" in model.queues
    assert model.queues["q110-370811"].members["Local/agent121@agents/n"].in_call is True


def test_rebuild_from_trace_11_sets_join_time_from_wait() -> None:
    clock = Clock()
    clock.now = 1000.0
    model = LiveModel(clock)
    model.rebuild_queues(list_items("11_queue_withdraw.ami.txt", "queuestatus-006"))
    assert [(c.position, c.joined_at) for c in model.waiting("q12345")] == [
        (1, 996.0),
        (2, 997.0),
    ]
    assert model.queues["q12345"].strategy == "rrmemory"


def test_events_for_unknown_channels_do_not_crash() -> None:
    clock = Clock()
    model = LiveModel(clock)
    for _, event in trace_events("05b_attended_transfer.ami.txt"):
        model.apply(event)  # list items too: nothing in them may break the model
    assert model.channels == {}


def test_channel_of_interface() -> None:
    assert channel_of_interface("Local/agent121@agents-00000001;1", "Local/agent121@agents/n")
    assert not channel_of_interface("Local/agent121@agents-00000001;2", "Local/agent121@agents/n")
    assert channel_of_interface("PJSIP/1001-0000002a", "PJSIP/1001")
    assert not channel_of_interface("PJSIP/10012-0000002a", "PJSIP/1001")


def test_trace_04_redirect_moves_the_caller_to_the_city_agent() -> None:
    caller = "Local/caller@callers-00000003;1"
    clock = Clock()
    model = LiveModel(clock)
    replay("04_redirect_requeue.ami.txt", model, clock, named("BridgeEnter", 2))
    first = model.talking_to("Local/agent141@agents/n")
    assert first is not None and first.name == caller
    model = LiveModel(clock)
    replay("04_redirect_requeue.ami.txt", model, clock, named("BridgeLeave"))
    assert model.talking_to("Local/agent141@agents/n") is None  # redirected away
    assert model.bridge_of(caller) is None
    model = LiveModel(clock)
    replay("04_redirect_requeue.ami.txt", model, clock, named("QueueCallerJoin", 2))
    assert [c.channel for c in model.waiting("q110-city")] == [caller]
    model = LiveModel(clock)
    replay("04_redirect_requeue.ami.txt", model, clock, named("BridgeEnter", 4))
    second = model.talking_to("Local/agent111@agents/n")
    assert second is not None and second.name == caller
    assert model.talking_to("Local/agent141@agents/n") is None
    assert model.waiting("q110-city") == []


def _caller_join(queue: str, uniqueid: str, position: int) -> Event:
    text = (
        f"Event: QueueCallerJoin\r\nPrivilege: agent,all\r\nChannel: Local/c{uniqueid}@x-1;1\r\n"
        f"Uniqueid: {uniqueid}\r\nQueue: {queue}\r\nPosition: {position}\r\n"
        f"Count: {position}\r\n\r\n"
    )
    (message,) = AMIParser().feed(text.encode())
    return to_event(message)


def test_a_caller_joining_ahead_moves_the_others_down() -> None:
    """QUEUE_PRIO: Asterisk places a higher-priority caller ahead (Position 1), everyone
    behind moves down one place."""
    model = LiveModel(Clock())
    for uniqueid, position in (("1.1", 1), ("1.2", 2), ("1.3", 1), ("1.4", 4)):
        model.apply(_caller_join("q12345", uniqueid, position))
    assert [(c.uniqueid, c.position) for c in model.waiting("q12345")] == [
        ("1.3", 1),
        ("1.1", 2),
        ("1.2", 3),
        ("1.4", 4),
    ]
