"""The surge_e2e driver's counting (when a caller's patience starts, where an early release
happened: before any queue, while a member rang, waiting) and the PBX scenario it compares
against."""

from __future__ import annotations

import asyncio

from benchmarks.surge_e2e import (
    PBX_SCENARIO,
    SCENARIO,
    SurgeDriver,
    pbx_overheads,
    shipped_wrapuptime,
)
from bridge.overflow.config import load_scenario
from telephony.ami.client import AMIClient
from telephony.ami.events import (
    AgentCalled,
    AgentConnect,
    Event,
    QueueCallerJoin,
    QueueMemberAdded,
)
from telephony.pbxsim.traffic import PlannedCall

SCALE = 1000.0  # emulated seconds per wall second: a 5 s patience is 5 ms here
PATIENCE = 5.0


def _call(caller: str) -> PlannedCall:
    return PlannedCall(0.0, "370883", "from-pstn", "110370883", caller, PATIENCE, 90.0)


def _event(kind: type[Event], caller: str, **extra: object) -> Event:
    return kind.model_validate(
        {"Event": kind.__name__, "Queue": "q", "CallerIDNum": caller, **extra}
    )


async def _driver(patience_from: str, callers: list[str]) -> SurgeDriver:
    # Never connected: the Originates fail quietly, the driver only counts.
    client = AMIClient("127.0.0.1", 1, "nobody", "nothing")
    driver = SurgeDriver(client, SCALE, (0.0, 3600.0), patience_from=patience_from)
    await driver.play([_call(c) for c in callers], {"370883": "370883"})
    return driver


async def _emulated_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds / SCALE)


async def test_patience_runs_from_the_first_queue_join() -> None:
    driver = await _driver("queue", ["waits", "never-queued"])
    await _emulated_sleep(3 * PATIENCE)  # no queue yet: nobody has started losing patience
    assert not any(c.released for c in driver.citizens.values())
    driver._on_event(_event(QueueCallerJoin, "waits", Position=1))
    await _emulated_sleep(3 * PATIENCE)
    await driver.stop()
    assert driver.citizens["waits"].released
    assert not driver.citizens["never-queued"].released
    figures = driver.outcomes.rates(["370883"], ["370883"])
    assert figures["released_where"] == {"waiting": 1}
    assert figures["early_released"] == 1 and figures["offered"] == 2
    assert figures["to_queue_s"]["max"] >= 3 * PATIENCE


async def test_a_release_while_a_member_rings_is_counted_as_such() -> None:
    driver = await _driver("queue", ["rung", "answered"])
    for caller in ("rung", "answered"):
        driver._on_event(_event(QueueCallerJoin, caller, Position=1))
        driver._on_event(_event(AgentCalled, caller))
    driver._on_event(_event(AgentConnect, "answered"))
    await _emulated_sleep(3 * PATIENCE)
    await driver.stop()
    figures = driver.outcomes.rates(["370883"], ["370883"])
    assert figures["released_where"] == {"ringing": 1}


async def test_patience_from_arrival_counts_callers_lost_before_any_queue() -> None:
    driver = await _driver("arrival", ["never-queued"])
    await _emulated_sleep(3 * PATIENCE)
    await driver.stop()
    figures = driver.outcomes.rates(["370883"], ["370883"])
    assert figures["released_where"] == {"before_queue": 1}


def test_the_pbx_scenario_is_the_shipped_surge_with_the_shipped_queues_overheads() -> None:
    shipped, pbx = load_scenario(SCENARIO), load_scenario(PBX_SCENARIO)
    assert (shipped.answer_delay_s, shipped.turn_check_s, shipped.wrapup_s) == (0, 0, 0)
    assert pbx.centres == shipped.centres and pbx.surges == shipped.surges
    assert pbx.overflow == shipped.overflow
    overheads = pbx_overheads(pbx, measured_ring_s=1.25)
    # wrap-up as queues.conf ships it; app_queue's 1 s turn check; the ring time measured on
    # the emulated PBX (1.1-1.3 s) beside the one the scenario simulates.
    assert overheads["wrapup_s"] == overheads["shipped_wrapuptime_s"] == shipped_wrapuptime()
    assert overheads["turn_check_s"] == 1.0 and overheads["turn_s"] == 0.5
    assert overheads["ring_s"] == 1.25 and 1.0 <= overheads["answer_delay_s"] <= 1.5


async def test_lent_answers_and_the_first_loan_after_the_surge_are_counted() -> None:
    client = AMIClient("127.0.0.1", 1, "nobody", "nothing")
    driver = SurgeDriver(client, SCALE, (0.0, 3600.0), surge_onsets={"370883": 0.0})
    await driver.play([_call("by-own"), _call("by-lent")], {"370883": "370883"})
    await _emulated_sleep(1.0)  # the surge has begun (emulated second 0): nothing lent yet
    for caller, seat in (("by-own", "110-370883-01"), ("by-lent", "110-370811-02")):
        driver._on_event(_event(QueueCallerJoin, caller, Position=1))
        driver._on_event(_event(AgentConnect, caller, Interface=f"Local/{seat}@phones/n"))
    added = {"Event": "QueueMemberAdded", "Queue": "q110-aid-370883"}
    driver._on_event(QueueMemberAdded.model_validate({**added, "Interface": "Local/x@phones/n"}))
    await driver.stop()
    figures = driver.outcomes.rates(["370883"], ["370883"])
    assert figures["surged_answered_by"] == {"370883": {"own": 1, "lent": 1}}
    assert figures["first_loan_s"] is not None and figures["first_loan_s"] >= 0.0
    assert figures["loans_at_onset"] == 0
