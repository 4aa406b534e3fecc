"""Typed AMI events: every traced event converts, and typed values equal the trace's."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TypeVar

import pytest

from telephony.ami import events as ev
from telephony.ami.events import EVENT_TYPES, GenericEvent, to_event
from telephony.ami.parser import AMIParser, parse_message
from tests.traces import TRACES_DIR, read_trace, trace_files

AMI_TRACES = trace_files(".ami.txt")
E = TypeVar("E", bound=ev.Event)


@cache
def trace_events(name: str) -> tuple[ev.Event, ...]:
    found: list[ev.Event] = []
    parser = AMIParser()
    for record in read_trace(TRACES_DIR / name):
        if record.direction.startswith("CONNECT"):
            parser.reset()
        elif record.direction == "S->C":
            found += [to_event(m) for m in parser.feed(record.data) if m.event is not None]
    return tuple(found)


def of_type(name: str, kind: type[E]) -> list[E]:
    return [e for e in trace_events(name) if isinstance(e, kind)]


@pytest.mark.parametrize("path", AMI_TRACES, ids=lambda p: p.name)
def test_every_traced_event_converts_without_problems(path: Path) -> None:
    for event in trace_events(path.name):
        if isinstance(event, GenericEvent):
            assert event.name not in EVENT_TYPES, event.problems
            assert event.problems == []
        else:
            assert type(event).__name__ == event.name


def test_the_required_kinds_are_typed() -> None:
    required = (
        "Newchannel Newstate Hangup DialBegin DialEnd BridgeEnter BridgeLeave VarSet UserEvent "
        "QueueCallerJoin QueueCallerLeave QueueCallerAbandon AgentCalled AgentConnect "
        "AgentComplete AgentRingNoAnswer QueueMemberStatus QueueMemberAdded QueueMemberRemoved "
        "QueueMemberPause QueueMemberPenalty ConfbridgeStart ConfbridgeJoin ConfbridgeLeave "
        "ConfbridgeEnd BlindTransfer AttendedTransfer OriginateResponse QueueParams QueueMember "
        "QueueEntry CoreShowChannel QueueStatusComplete CoreShowChannelsComplete"
    ).split()
    assert [name for name in required if name not in EVENT_TYPES] == []


def test_trace_03_abandon_hold_time_is_seconds_waited() -> None:
    (abandon,) = of_type("03_queue_abandon.ami.txt", ev.QueueCallerAbandon)
    assert abandon.queue == "q110-370883"
    assert abandon.hold_time == 3
    assert abandon.position == 1 and abandon.original_position == 1
    assert abandon.channel == "Local/caller@callers-00000002;1"
    assert abandon.variables == {"TICKET_ID": "", "CITY_CODE": "370883"}


def test_trace_02_agent_connect() -> None:
    (connect,) = of_type("02_originate_queue.ami.txt", ev.AgentConnect)
    assert connect.queue == "q110-370811"
    assert connect.channel == "Local/caller@callers-00000000;1"
    assert connect.uniqueid == "lab-caller-0002"
    assert connect.caller_id_name == "Citizen 0001"
    assert connect.channel_state == 6
    assert connect.priority == 3
    assert connect.dest_channel == "Local/agent121@agents-00000001;1"
    assert connect.dest_uniqueid == "lab-1795945558.2"
    assert connect.interface == "Local/agent121@agents/n"
    assert connect.member_name == "Agent 121"
    assert (connect.hold_time, connect.ring_time) == (1, 1)
    assert connect.variables == {"TICKET_ID": "T-0002", "CITY_CODE": "370811"}
    assert connect.dest_variables == {"TICKET_ID": "", "CITY_CODE": ""}
    (complete,) = of_type("02_originate_queue.ami.txt", ev.AgentComplete)
    assert complete.reason == "caller"


def test_originate_response_chanvariable_form_and_failures() -> None:
    (ok,) = of_type("02_originate_queue.ami.txt", ev.OriginateResponse)
    assert ok.success and ok.action_id == "originate-002"
    assert ok.reason == 4
    assert ok.variables == {"TICKET_ID": "T-0002", "CITY_CODE": ""}
    failures = [e for e in of_type("15_originate_sync_and_failures.ami.txt", ev.OriginateResponse)]
    by_channel = {e.channel: e for e in failures if not e.success}
    assert by_channel["Local/noanswer@callers"].reason == 3
    assert by_channel["Local/busy@callers"].reason == 5
    assert by_channel["Local/busy@callers"].uniqueid == "<unknown>"


def test_trace_11_queue_entries_and_summary() -> None:
    entries = of_type("11_queue_withdraw.ami.txt", ev.QueueEntry)
    assert [(e.position, e.wait, e.channel) for e in entries[:2]] == [
        (1, 4, "Local/caller@callers-00000053;1"),
        (2, 3, "Local/caller@callers-00000054;1"),
    ]
    summaries = [s for s in of_type("11_queue_withdraw.ami.txt", ev.QueueSummary) if s.callers]
    assert summaries[0].callers == 2
    params = of_type("11_queue_withdraw.ami.txt", ev.QueueParams)
    assert params[0].queue == "q12345" and params[0].strategy == "rrmemory"
    assert params[0].service_level_perf == 100.0
    member = of_type("11_queue_withdraw.ami.txt", ev.QueueMember)[0]
    assert member.location == "Local/agent101@agents/n"
    assert member.member_name == "Agent 101"
    assert member.paused is True and member.paused_reason == "trace11"
    assert member.in_call is False and member.status == 1


def test_queue_member_pause_penalty_add_remove() -> None:
    pauses = of_type("03_queue_abandon.ami.txt", ev.QueueMemberPause)
    assert pauses[0].interface == "Local/agent131@agents/n"
    assert pauses[0].paused is True and pauses[0].paused_reason == "lunch"
    assert pauses[-1].paused is False
    name = "08_userevent_vars_queue_members.ami.txt"
    assert len(of_type(name, ev.QueueMemberAdded)) == 1
    assert len(of_type(name, ev.QueueMemberRemoved)) == 1
    (penalty,) = of_type(name, ev.QueueMemberPenalty)
    assert penalty.penalty > 0


def test_user_event_keeps_its_own_headers() -> None:
    user = of_type("08_userevent_vars_queue_members.ami.txt", ev.UserEvent)[0]
    assert user.user_event == "BridgeProbe"
    assert user.headers["Ticket"] == "T-8"
    assert user.headers["District"] == "370811"


def test_transfers() -> None:
    (blind,) = of_type("05_blind_transfer.ami.txt", ev.BlindTransfer)
    assert blind.is_external is True and blind.result == "Success"
    assert (blind.context, blind.extension) == ("inbound", "110")
    assert blind.transferer_channel == "Local/agent101@agents-00000007;1"
    assert blind.transferee_channel == "Local/caller@callers-00000006;1"
    (attended,) = of_type("05b_attended_transfer.ami.txt", ev.AttendedTransfer)
    assert attended.dest_type == "Bridge"
    assert attended.result == "Success"


def test_confbridge_events() -> None:
    name = "13_conference_threeparty.ami.txt"
    joins = of_type(name, ev.ConfbridgeJoin)
    assert len(joins) == 3 and {j.conference for j in joins} == {"913"}
    assert len(of_type(name, ev.ConfbridgeLeave)) == 3
    (end,) = of_type(name, ev.ConfbridgeEnd)
    assert end.conference == "913"


def test_chinese_varset_from_trace_14() -> None:
    values = [v.value for v in of_type("14_fastagi_getdata.ami.txt", ev.VarSet)]
    assert "求助" in values


def test_unknown_event_passes_through_untyped() -> None:
    event = to_event(parse_message("Event: SomethingNew\r\nFoo: bar\r\nChanVariable: A=1"))
    assert isinstance(event, GenericEvent)
    assert event.name == "SomethingNew"
    assert event.get("Foo") == "bar"
    assert event.variables == {"ChanVariable": {"A": "1"}}
    assert event.problems == []


def test_a_malformed_field_is_reported_not_fatal() -> None:
    event = to_event(
        parse_message("Event: QueueCallerJoin\r\nQueue: q1\r\nPosition: first\r\nUniqueid: u")
    )
    assert isinstance(event, GenericEvent)
    assert event.name == "QueueCallerJoin"
    assert len(event.problems) == 1
    assert "QueueCallerJoin.Position" in event.problems[0]
    assert "'first'" in event.problems[0]
    assert event.get("Queue") == "q1"


def test_events_are_frozen() -> None:
    (abandon,) = of_type("03_queue_abandon.ami.txt", ev.QueueCallerAbandon)
    with pytest.raises(ValueError, match="frozen"):
        abandon.hold_time = 5


def test_an_unknown_event_is_parsed_only_when_asked() -> None:
    message = parse_message(
        "Event: Newexten\r\nPrivilege: dialplan,all\r\nSystemName: lab\r\nAppData: a: b"
    )
    event = to_event(message)
    assert isinstance(event, GenericEvent)
    assert (event.name, event.privilege, event.system_name, event.action_id) == (
        "Newexten",
        "dialplan,all",
        "lab",
        "",
    )
    assert not message.parsed
    assert event.get("AppData") == "a: b"
    assert message.parsed
