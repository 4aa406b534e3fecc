"""The loaded lab configuration against what the real Asterisk reported with it loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.pbxsim.conf import PbxConfig, load_pbx_config
from tests.pbxsim.test_dialplan_traces import events
from tests.traces import LAB_CONFIG, read_trace, trace_files

TRACE_01 = LAB_CONFIG.parent / "01_login_ping_status.ami.txt"


@pytest.fixture(scope="module")
def lab1() -> PbxConfig:
    return load_pbx_config(LAB_CONFIG / "pbx-1")


def test_queue_params_match_queuestatus_of_trace_01(lab1: PbxConfig) -> None:
    seen = set()
    for event in events(TRACE_01):
        if event["Event"] != "QueueParams":
            continue
        queue = lab1.queues.queues[event["Queue"]]
        seen.add(queue.name)
        assert event["Strategy"] == queue.strategy
        assert int(event["Max"]) == queue.maxlen
        assert int(event["ServiceLevel"]) == queue.servicelevel
        assert int(event["Weight"]) == queue.weight
    assert seen == set(lab1.queues.queues)


def test_queue_members_match_queuestatus_of_trace_01(lab1: PbxConfig) -> None:
    reported = {
        (e["Queue"], e["Location"]): e for e in events(TRACE_01) if e["Event"] == "QueueMember"
    }
    configured = {
        (queue.name, member.interface): member
        for queue in lab1.queues.queues.values()
        for member in queue.members
    }
    assert set(reported) == set(configured)
    for key, member in configured.items():
        event = reported[key]
        assert event["Name"] == member.name
        assert event["StateInterface"] == member.state_interface
        assert int(event["Penalty"]) == member.penalty
        assert event["Membership"] == "static"


# 01 and 01b place no call, so no event there carries ChanVariable headers.
WITH_CHANNELS = [p for p in trace_files(".ami.txt") if b"ChanVariable: " in p.read_bytes()]


def test_most_traces_have_channel_events() -> None:
    assert len(WITH_CHANNELS) >= 18


@pytest.mark.parametrize("path", WITH_CHANNELS, ids=lambda p: p.name.split(".")[0])
def test_chanvariable_headers_follow_channelvars(path: Path, lab1: PbxConfig) -> None:
    names = [
        tuple(value.split("=", 1)[0] for value in block) for block in _chanvariable_blocks(path)
    ]
    expected = lab1.manager.channelvars
    # README: traces 01-08 were recorded before LINKAGE_TICKET joined channelvars
    older = path.name[:2] in {"01", "02", "03", "04", "05", "06", "07", "08"}
    assert set(names) == {expected[:2] if older else expected}


def _chanvariable_blocks(path: Path) -> list[list[str]]:
    blocks: list[list[str]] = []
    for record in read_trace(path):
        if record.direction != "S->C":
            continue
        for message in record.data.decode("utf-8").split("\r\n\r\n"):
            values = [
                line.partition(": ")[2]
                for line in message.split("\r\n")
                if line.startswith("ChanVariable: ")
            ]
            if values:
                blocks.append(values)
    return blocks
