"""The monitor against the emulated PBX (its Queue app, lab config of the traces): known
traffic -- two callers answered, two hanging up while the queue's members are paused -- gives
exactly those counts, the waits the PBX itself reported, and the members' live state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from bridge.monitoring.config import MonitoringConfig, QueueDirectory, QueueInfo
from bridge.monitoring.monitor import QueueMonitor
from routing.metrics import Scope
from telephony.ami.client import AMIClient
from telephony.ami.events import Event, QueueCallerAbandon
from telephony.pbxsim import EmulatedPBX
from tests.traces import LAB_CONFIG

PAUSED_QUEUE, ANSWERING_QUEUE = "q110-370883", "q110-370811"
DIRECTORY = QueueDirectory(
    [
        QueueInfo(PAUSED_QUEUE, "110-370883", "邹城市110指挥中心", "370883", "lab"),
        QueueInfo(ANSWERING_QUEUE, "110-370811", "任城区110指挥中心", "370811", "lab"),
    ]
)


@pytest.fixture
async def pbx() -> AsyncIterator[EmulatedPBX]:
    emulated = EmulatedPBX.from_config_dir(LAB_CONFIG / "pbx-1", time_scale=10.0)
    await emulated.start()
    yield emulated
    await emulated.stop()


async def until(condition: Callable[[], bool], what: str) -> None:
    """Bounded polling for the emulated PBX to get somewhere (not a timing assertion)."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def originate(client: AMIClient, exten: str, number: str) -> None:
    await client.action(
        "Originate",
        Channel="Local/caller@callers",
        Context="inbound",
        Exten=exten,
        Priority="1",
        CallerID=f'"Citizen" <{number}>',
        Timeout="30000",
        Async="true",
    )


async def test_emulated_queue_traffic(pbx: EmulatedPBX) -> None:
    monitor = QueueMonitor(DIRECTORY, MonitoringConfig(short_abandon_seconds=5))
    client = AMIClient("127.0.0.1", pbx.ami_port, "bridge", "bridgepass")
    abandons: list[QueueCallerAbandon] = []

    def keep(event: Event) -> None:
        if isinstance(event, QueueCallerAbandon):
            abandons.append(event)

    client.add_inline_handler(keep, ["QueueCallerAbandon"])
    monitor.attach("lab", client)
    await client.connect()
    try:
        for agent in ("agent131", "agent132"):
            interface = f"Local/{agent}@agents/n"
            await client.action(
                "QueuePause", Queue=PAUSED_QUEUE, Interface=interface, Paused="true"
            )
        await originate(client, "110370883", "13800000001")
        await originate(client, "110370883", "13800000002")
        await originate(client, "110370811", "13800000003")
        await originate(client, "110370811", "13800000004")
        await until(lambda: len(monitor.tracker.waiting(PAUSED_QUEUE)) == 2, "two callers wait")
        first, second = monitor.tracker.waiting(PAUSED_QUEUE)
        await asyncio.sleep(0.2)  # about 2 emulated seconds
        await client.action("Hangup", Channel=first.channel)
        await asyncio.sleep(0.6)
        await client.action("Hangup", Channel=second.channel)
        await until(lambda: sum(monitor.tracker.stats.closed.values()) == 4, "four outcomes")
        now = monitor.clock()
        paused = monitor.metrics.last(Scope.queue(PAUSED_QUEUE), 5, now)
        answering = monitor.metrics.last(Scope.queue(ANSWERING_QUEUE), 5, now)
        live = monitor.live_figures(PAUSED_QUEUE, now)
    finally:
        await client.close()
    assert (paused.offered, paused.answered, paused.abandoned) == (2, 0, 2)
    assert (answering.offered, answering.answered, answering.abandoned) == (2, 2, 0)
    reported = [event.hold_time for event in abandons]
    assert len(reported) == 2 and reported[0] < reported[1]
    assert paused.average_abandon_wait == sum(reported) / 2
    assert paused.abandoned_short == sum(1 for wait in reported if wait <= 5)
    assert answering.asa is not None and answering.asa >= 1
    assert (live.callers_waiting, live.members_logged_in, live.members_paused) == (0, 2, 2)
    assert monitor.tracker.stats.closed == {"abandoned": 2, "answered": 2}
