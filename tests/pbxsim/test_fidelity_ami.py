"""Replays real Asterisk 22 AMI traces against the emulated PBX (see tests/pbxsim/fidelity.py)."""

from __future__ import annotations

import pytest

from telephony.pbxsim import EmulatedPBX
from tests.pbxsim.fidelity import compare_conversation, replay_ami
from tests.traces import LAB_CONFIG, TRACES_DIR, read_trace

# Waits inside the emulator (login failure pause, rings, Wait()) run this much faster.
TIME_SCALE = 10.0

PASSING_TRACES = [
    "01_login_ping_status",
    # 01b needs Originate and Getvar: added with the channel model
]


@pytest.mark.parametrize("trace", PASSING_TRACES)
async def test_trace_replays_like_asterisk(trace: str) -> None:
    records = read_trace(TRACES_DIR / f"{trace}.ami.txt")
    pbx = EmulatedPBX.from_config_dir(LAB_CONFIG / "pbx-1", name="lab", time_scale=TIME_SCALE)
    await pbx.start()
    try:
        conns = await replay_ami("127.0.0.1", pbx.ami_port, records, TIME_SCALE)
    finally:
        await pbx.stop()
    problems = [
        f"connection {n}: {p}"
        for n, conn in enumerate(conns)
        for p in compare_conversation(conn.expected, conn.actual)
    ]
    assert not problems, "\n\n".join(problems)
