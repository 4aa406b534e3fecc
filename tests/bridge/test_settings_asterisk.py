"""The shipped AMI manager user grants what the bridge uses, judged by real Asterisk traces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.traces import read_trace, trace_files

MANAGER_CONF = Path(__file__).resolve().parents[2] / "config" / "asterisk" / "manager.conf"

# The events the bridge consumes (issue 2, item 3) plus the dialplan's UserEvents.
USED_EVENTS = {
    "Newchannel", "Newstate", "Hangup", "DialBegin", "DialEnd", "BridgeEnter", "BridgeLeave",
    "UserEvent", "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled",
    "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "QueueMemberStatus",
    "QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause", "QueueMemberPenalty",
    "ConfbridgeStart", "ConfbridgeJoin", "ConfbridgeLeave", "ConfbridgeEnd", "BlindTransfer",
    "AttendedTransfer", "OriginateResponse", "DTMFBegin", "DTMFEnd",
}  # fmt: skip
# The classes Asterisk 22 registers each action with (main/manager.c, app_queue.c,
# app_confbridge.c, app_senddtmf.c); an empty set needs no class.
ACTION_CLASSES = {
    "Ping": set(),
    "QueueStatus": set(),
    "QueueSummary": set(),
    "Redirect": {"call"},
    "Setvar": {"call"},
    "Getvar": {"call", "reporting"},
    "Hangup": {"system", "call"},
    "PlayDTMF": {"call"},
    "BlindTransfer": {"call"},
    "Atxfer": {"call"},
    "Originate": {"originate"},
    "UserEvent": {"user"},
    "CoreShowChannels": {"system", "reporting"},
    "ConfbridgeList": {"reporting"},
    "ConfbridgeListRooms": {"reporting"},
    "ConfbridgeKick": {"call"},
    "QueueAdd": {"agent"},
    "QueueRemove": {"agent"},
    "QueuePause": {"agent"},
    "QueuePenalty": {"agent"},
    "QueueWithdrawCaller": {"agent"},
}


def manager_user() -> dict[str, str]:
    """The [hotline-bridge] section's active (uncommented) settings."""
    section, values = "", {}
    for raw in MANAGER_CONF.read_text(encoding="utf-8").splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif "=" in line and section == "hotline-bridge":
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def classes(key: str) -> set[str]:
    return {c.strip() for c in manager_user()[key].split(",")}


def event_privileges() -> dict[str, set[str]]:
    """Event name -> the first class of every `Privilege:` it carried in the traces."""
    seen: dict[str, set[str]] = {}
    pattern = re.compile(rb"^Event: (\w+)\r\nPrivilege: (\w+)", re.MULTILINE)
    for path in trace_files(".ami.txt"):
        for record in read_trace(path):
            if record.direction == "S->C":
                for name, privilege in pattern.findall(record.data):
                    seen.setdefault(name.decode(), set()).add(privilege.decode())
    return seen


def test_every_used_event_seen_in_the_traces_is_readable() -> None:
    read = classes("read")
    privileges = event_privileges()
    seen_used = USED_EVENTS & set(privileges)
    assert len(seen_used) >= 25  # the traces cover nearly all of them
    for event in sorted(seen_used):
        assert privileges[event] <= read, (event, privileges[event])


def test_read_is_the_least_needed() -> None:
    privileges = event_privileges()
    needed = set().union(*(privileges[e] for e in USED_EVENTS & set(privileges)))
    assert classes("read") == needed


@pytest.mark.parametrize("action", sorted(a for a, c in ACTION_CLASSES.items() if c))
def test_every_action_the_bridge_sends_is_allowed(action: str) -> None:
    assert ACTION_CLASSES[action] & classes("write"), action


def test_write_grants_no_class_the_bridge_does_not_use() -> None:
    write = classes("write")
    assert not write & {"system", "command", "config", "all"}
    for granted in write:
        assert any(granted in c for c in ACTION_CLASSES.values()), granted


def test_secret_is_a_placeholder_and_access_is_restricted() -> None:
    user = manager_user()
    assert user["secret"].startswith("REPLACE")
    assert user["deny"] == "0.0.0.0/0.0.0.0"
    assert "permit" in user
