"""The surge_e2e driver's counting (when a caller's patience starts, where an early release
happened: before any queue, while a member rang, waiting) and its what-if simulation with the
PBX's per-call overheads."""

from __future__ import annotations

import asyncio

from benchmarks.surge_e2e import SCENARIO, PbxOverheads, SurgeDriver, simulate_with_overheads
from bridge.overflow.config import load_scenario
from routing.simulation.engine import PolicyName, simulate
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


def test_the_what_if_without_overheads_is_the_simulation_itself() -> None:
    scenario = load_scenario(SCENARIO)
    none = PbxOverheads(ring_s=0.0, turn_s=0.0, wrapup_s=0.0)
    policies: tuple[PolicyName, ...] = ("isolated", "pooled")
    for policy in policies:
        plain = simulate(scenario, policy, 1, 0)
        what_if = simulate_with_overheads(scenario, 1, 1, [policy], none)[policy]
        assert what_if["early_released"] == sum(plain.early_released)
        assert what_if["offered"] == sum(plain.offered)


def test_ring_time_and_wrapup_cost_callers_even_when_seats_are_plenty() -> None:
    scenario = load_scenario(SCENARIO)
    pooled: PolicyName = "pooled"
    base = simulate_with_overheads(scenario, 1, 2, [pooled], PbxOverheads(0.0, 0.0, 0.0))
    ring = simulate_with_overheads(scenario, 1, 2, [pooled], PbxOverheads(1.5, 0.5, 0.0))
    wrap = simulate_with_overheads(scenario, 1, 2, [pooled], PbxOverheads(1.5, 0.5, 5.0))
    rates = [f[pooled]["overall_rate"] for f in (base, ring, wrap)]
    # Callers whose patience ends while a member rings (exponential patience, mean 60 s:
    # about 3 % have less than 2 s) are early releases the instant-answer model never has.
    assert rates[0] < 0.01 < rates[1] < rates[2]


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
