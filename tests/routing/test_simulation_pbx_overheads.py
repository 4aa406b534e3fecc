"""The simulation's PBX overheads: ring time before connect, app_queue's turn check, wrap-up."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from routing.simulation.comparison import compare
from routing.simulation.engine import POLICIES, simulate
from routing.simulation.scenario import Scenario, ScenarioError, scenario_from_toml

SCENARIOS = Path(__file__).resolve().parents[2] / "config" / "scenarios"
ONE_SEAT = """
name = "one seat"
handle_time_s = 90.0
patience_s = 60.0
base_load = 0.6
warmup_s = 900.0
window_s = 1800.0
{extra}
[[centre]]
code = "370883"
seats = 1
"""


def load(path: Path) -> Scenario:
    return scenario_from_toml(path.read_text(encoding="utf-8"), str(path))


def one_seat(extra: str = "") -> Scenario:
    return scenario_from_toml(ONE_SEAT.format(extra=extra), "one-seat.toml")


def totals(scenario: Scenario, replications: int = 3) -> tuple[int, int]:
    offered = released = 0
    for rep in range(replications):
        outcome = simulate(scenario, "isolated", seed=1, replication=rep)
        offered += sum(outcome.offered)
        released += sum(outcome.early_released)
    return offered, released


def test_overheads_default_to_an_instant_answer() -> None:
    instant = load(SCENARIOS / "jining-surge.toml")
    assert (instant.answer_delay_s, instant.turn_check_s, instant.wrapup_s) == (0, 0, 0)
    explicit = one_seat("answer_delay_s = 0\nturn_check_s = 0\nwrapup_s = 0")
    assert totals(explicit) == totals(one_seat())


def test_pbx_scenario_is_the_instant_one_plus_the_shipped_overheads() -> None:
    instant = load(SCENARIOS / "jining-surge.toml")
    pbx = load(SCENARIOS / "jining-surge-pbx.toml")
    assert (pbx.answer_delay_s, pbx.turn_check_s, pbx.wrapup_s) == (1.2, 1.0, 5.0)
    same = replace(pbx, name=instant.name, answer_delay_s=0.0, turn_check_s=0.0, wrapup_s=0.0)
    assert same == instant


@pytest.mark.parametrize("setting", ["answer_delay_s", "turn_check_s", "wrapup_s"])
@pytest.mark.parametrize("value", ["-1.0", '"5"', "true", "nan"])
def test_bad_overheads_are_rejected_by_name(setting: str, value: str) -> None:
    with pytest.raises(ScenarioError, match=f"one-seat.toml: top level: {setting}"):
        one_seat(f"{setting} = {value}")


def test_a_caller_who_hangs_up_while_the_member_rings_is_an_early_release() -> None:
    # Patience is exponential with mean 60 s: a 1,000 s ring outlasts practically everyone.
    offered, released = totals(one_seat("answer_delay_s = 1000.0"))
    assert offered > 30 and released >= 0.99 * offered
    # ... and the seat is free again when they hang up, not after a handle time: a 10 s ring
    # loses those whose patience ends in it, far from all.
    offered, released = totals(one_seat("answer_delay_s = 10.0"))
    base_offered, base_released = totals(one_seat())
    assert offered == base_offered and base_released < released < 0.8 * offered


def test_wrapup_keeps_the_seat_busy_after_every_call() -> None:
    # With a day's wrap-up the one seat answers its warm-up caller and then nobody.
    offered, released = totals(one_seat("wrapup_s = 86400.0"))
    assert offered > 30 and released == offered
    _, base_released = totals(one_seat())
    _, short = totals(one_seat("wrapup_s = 30.0"))
    assert base_released < short < offered


def test_turn_check_delays_only_queued_callers() -> None:
    # A turn check that never comes: every caller who had to queue is lost, but a caller who
    # finds the seat free is answered at once.
    offered, released = totals(one_seat("turn_check_s = 100000.0"))
    assert 0 < offered - released < 0.8 * offered
    _, base_released = totals(one_seat())
    _, one_second = totals(one_seat("turn_check_s = 1.0"))
    assert base_released <= one_second < released


def test_pbx_overheads_cost_every_policy_and_the_bridge_keeps_its_aims() -> None:
    instant = compare(load(SCENARIOS / "jining-surge.toml"), seed=1, replications=range(4))
    pbx = compare(load(SCENARIOS / "jining-surge-pbx.toml"), seed=1, replications=range(4))
    for policy in POLICIES:
        assert pbx.figures(policy)["overall_rate"] > instant.figures(policy)["overall_rate"]
        # Same callers: the overheads change who is answered, not who calls.
        assert pbx.figures(policy)["offered"] == instant.figures(policy)["offered"]
    iso, bridge, pooled = (pbx.figures(p) for p in POLICIES)
    assert bridge["surged_rate"] <= 0.5 * iso["surged_rate"]
    assert bridge["overall_rate"] <= 1.2 * pooled["overall_rate"] + 0.002
    assert 0.01 < pooled["overall_rate"] < 0.06  # ~3 %, what the emulated PBX measures


def test_same_seed_same_numbers_with_overheads() -> None:
    pbx = load(SCENARIOS / "jining-surge-pbx.toml")
    first = [simulate(pbx, "bridge", seed=7, replication=r) for r in range(2)]
    again = [simulate(pbx, "bridge", seed=7, replication=r) for r in range(2)]
    assert first == again
