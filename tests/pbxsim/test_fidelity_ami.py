"""Replays real Asterisk 22 AMI traces against the emulated PBX (see tests/pbxsim/fidelity.py)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from telephony.pbxsim import EmulatedPBX
from telephony.pbxsim.trunk import IaxNetwork
from tests.pbxsim.fidelity import (
    AGIReplay,
    Relations,
    Sequencer,
    compare_agi,
    compare_conversation,
    replay_ami,
)
from tests.traces import LAB_CONFIG, TRACES_DIR, read_trace, trace_files

# Waits inside the emulator (login failure pause, rings, Wait()) run this much faster. Kept
# modest: the replay's own scheduling delays on a loaded 2-core machine are multiplied by
# it, and measured durations are compared to within a second.
TIME_SCALE = 4.0
# Trace 15 presses a digit 100 ms into Answer()'s 500 ms wait for media; a slower clock keeps
# that margin wide enough for a loaded test machine.
# Trace 08 hangs the call up 3 ms after Answer(), inside the same 500 ms wait.
# Trace 11 hangs up an agent 5 ms after its Answer(), inside that wait too.
TIME_SCALES = {
    "08_userevent_vars_queue_members": 1.0,
    "15_originate_sync_and_failures": 2.0,
    "11_queue_withdraw": 2.0,
    # The key press lands 100 ms after a 1 s queue poll; keep the margin on a loaded machine.
    "10_queue_context_exit": 2.0,
}

# The lab Asterisk ran the scenarios one after another without a restart, so a few queue
# statistics in a later trace count calls from earlier ones; each trace here is replayed on a
# fresh PBX, so those values (and only those) are not compared for the traces listed.
QUEUE_HISTORY = frozenset(
    {
        # QueueParams / QueueSummary / QueueMember* headers
        "Holdtime",
        "HoldTime",
        "TalkTime",
        "Completed",
        "Abandoned",
        "ServicelevelPerf",
        "ServicelevelPerf2",
        "CallsTaken",
        "LoginTime",
        # variables app_queue sets from the same statistics
        "MEMBERCALLS",
        "MEMBERLASTCALL",
        "QUEUEHOLDTIME",
        "QUEUETALKTIME",
        "QUEUECOMPLETED",
        "QUEUEABANDONED",
        "QUEUESRVLEVELPERF",
    }
)
CARRIED_OVER = {
    "08_userevent_vars_queue_members": QUEUE_HISTORY,
    "12_fastagi_unreachable": QUEUE_HISTORY,
    "14_fastagi_getdata": QUEUE_HISTORY,
    "10_queue_context_exit": QUEUE_HISTORY,
    "11_queue_withdraw": QUEUE_HISTORY,
    "04_redirect_requeue": QUEUE_HISTORY,
    "05_blind_transfer": QUEUE_HISTORY,
    "05b_attended_transfer": QUEUE_HISTORY,
    "09_dynamic_feature_onekey": QUEUE_HISTORY,
    "09b_dynamic_feature_onekey_receive": QUEUE_HISTORY,
    "13_conference_threeparty": QUEUE_HISTORY,
}


def _rang_last(*pairs: str) -> Callable[[EmulatedPBX], None]:
    """rrmemory remembers whom it rang last (queue, interface, queue, interface, ...); the
    recording's earlier scenarios set that."""

    def prime(pbx: EmulatedPBX) -> None:
        for queue, interface in zip(pairs[::2], pairs[1::2], strict=True):
            state = pbx.queues[queue]
            state.last_rung = [m.interface for m in state.members].index(interface)

    return prime


# Traces 05 and 05b were recorded before [inbound] 12345 got its member gosub: their Newexten
# shows `Queue(q12345,tT)`. They run on a copy of the lab folder with that line as it was.
EARLIER_DIALPLAN = {
    "05_blind_transfer": ("Queue(q12345,tT,,,,,onekey-arm)", "Queue(q12345,tT)"),
    "05b_attended_transfer": ("Queue(q12345,tT,,,,,onekey-arm)", "Queue(q12345,tT)"),
}


def _config_for(trace: str, tmp_path: Path) -> Path:
    source = LAB_CONFIG / "pbx-1"
    if trace not in EARLIER_DIALPLAN:
        return source
    folder = tmp_path / "pbx-1"
    shutil.copytree(source, folder)
    old, new = EARLIER_DIALPLAN[trace]
    dialplan = folder / "extensions.conf"
    text = dialplan.read_text()
    assert old in text, f"lab dialplan no longer has {old!r}"
    dialplan.chmod(0o644)
    dialplan.write_text(text.replace(old, new))
    return folder


PRIOR_STATE = {
    "10_queue_context_exit": _rang_last("q12345", "Local/agent101@agents/n"),
    "11_queue_withdraw": _rang_last("q110-370811", "Local/agent121@agents/n"),
    "05_blind_transfer": _rang_last("q110-city", "Local/agent111@agents/n"),
    "05b_attended_transfer": _rang_last("q12345", "Local/agent101@agents/n"),
    "13_conference_threeparty": _rang_last(
        "q12345", "Local/agent101@agents/n", "q110-city", "Local/agent111@agents/n"
    ),
    "09_dynamic_feature_onekey": _rang_last(
        "q12345", "Local/agent101@agents/n", "q110-city", "Local/agent111@agents/n"
    ),
}

# Every recorded single-PBX conversation; the two-PBX trunk pair (16a/16b) is replayed by
# test_two_pbx_trunk_replays_like_asterisk below.
TWO_PBX_TRACES = ("16a_two_pbx_trunk.lab1", "16b_two_pbx_trunk.lab2")
EVERY_TRACE = [
    path.name.removesuffix(".ami.txt")
    for path in trace_files(".ami.txt")
    if path.name.removesuffix(".ami.txt") not in TWO_PBX_TRACES
]


@pytest.mark.parametrize("trace", EVERY_TRACE)
async def test_trace_replays_like_asterisk(trace: str, tmp_path: Path) -> None:
    records = read_trace(TRACES_DIR / f"{trace}.ami.txt")
    agi_trace = TRACES_DIR / f"{trace}.agi.txt"
    scale = TIME_SCALES.get(trace, TIME_SCALE)
    agi = AGIReplay(read_trace(agi_trace) if agi_trace.exists() else [], scale)
    agi_port = await agi.start()
    pbx = EmulatedPBX.from_config_dir(
        _config_for(trace, tmp_path),
        name="lab",
        time_scale=scale,
        agi_redirect={("127.0.0.1", 4573): ("127.0.0.1", agi_port)},
    )
    if trace < "09":
        # The README: traces 01-08 were recorded before LINKAGE_TICKET joined channelvars.
        pbx.config.channelvars = ["TICKET_ID", "CITY_CODE"]
    if trace in PRIOR_STATE:
        PRIOR_STATE[trace](pbx)
    await pbx.start()
    try:
        conns = await replay_ami("127.0.0.1", pbx.ami_port, records, scale)
    finally:
        await pbx.stop()
        await agi.stop()
    relations = Relations()
    problems = [
        f"connection {n}: {p}"
        for n, conn in enumerate(conns)
        for p in compare_conversation(
            conn.expected,
            conn.actual,
            relations,
            carried_over=CARRIED_OVER.get(trace, frozenset()),
            slack=conn.behind,
        )
    ]
    for n, conversation in enumerate(agi.conversations):
        problems += [
            f"FastAGI {n}: {p}"
            for p in compare_agi(conversation.expected, bytes(conversation.actual), relations)
        ]
    assert not problems, "\n\n".join(problems)


async def test_two_pbx_trunk_replays_like_asterisk() -> None:
    """Traces 16a/16b: the 12345 PBX (lab-config/pbx-1) hands a call over the IAX2 trunk to
    the 110 PBX (pbx-2); both AMI conversations were recorded on one time line and are
    replayed together, the client sends of both kept in their recorded order."""
    scale = TIME_SCALE
    network = IaxNetwork()
    near = EmulatedPBX.from_config_dir(
        LAB_CONFIG / "pbx-1", name="lab", time_scale=scale, iax_network=network
    )
    far = EmulatedPBX.from_config_dir(
        LAB_CONFIG / "pbx-2", name="lab2", time_scale=scale, iax_network=network
    )
    _rang_last("q12345", "Local/agent101@agents/n")(near)
    _rang_last("q110-city", "Local/agent111@agents/n")(far)
    near_trace = read_trace(TRACES_DIR / f"{TWO_PBX_TRACES[0]}.ami.txt")
    far_trace = read_trace(TRACES_DIR / f"{TWO_PBX_TRACES[1]}.ami.txt")
    await near.start()
    await far.start()
    try:
        start = time.monotonic()
        sequencer = Sequencer(near_trace, far_trace)
        near_conns, far_conns = await asyncio.gather(
            replay_ami(
                "127.0.0.1",
                near.ami_port,
                near_trace,
                scale,
                shared_start=start,
                sequencer=sequencer,
            ),
            replay_ami(
                "127.0.0.1",
                far.ami_port,
                far_trace,
                scale,
                shared_start=start,
                sequencer=sequencer,
            ),
        )
    finally:
        await near.stop()
        await far.stop()
    problems = []
    for label, conns in (("16a", near_conns), ("16b", far_conns)):
        for conn in conns:
            problems += [
                f"{label}: {p}"
                for p in compare_conversation(
                    conn.expected,
                    conn.actual,
                    Relations(),
                    carried_over=QUEUE_HISTORY,
                    slack=conn.behind,
                )
            ]
    assert not problems, "\n\n".join(problems)
