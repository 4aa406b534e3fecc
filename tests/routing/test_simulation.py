"""The surge simulation: figures for a fixed seed, determinism, the pooled bound against Erlang-A,
and scenario validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.erlang import erlang_a
from routing.simulation.comparison import Comparison, compare
from routing.simulation.engine import simulate
from routing.simulation.scenario import Scenario, ScenarioError, scenario_from_toml

SCENARIOS = Path(__file__).resolve().parents[2] / "config" / "scenarios"
JINING = SCENARIOS / "jining-surge.toml"


def load(path: Path) -> Scenario:
    return scenario_from_toml(path.read_text(encoding="utf-8"), str(path))


@pytest.fixture(scope="module")
def jining() -> Comparison:
    return compare(load(JINING), seed=1, replications=range(6))


def test_jining_scenario_is_the_issue_s(jining: Comparison) -> None:
    sc = jining.scenario
    seats = {c.code: c.seats for c in sc.centres}
    assert len(seats) == 12 and seats["370800"] == 8 and seats["370811"] == 5
    assert all(n == 3 for code, n in seats.items() if code not in ("370800", "370811"))
    assert sc.surged_codes == ("370883",) and sc.surges[0].factor == 5
    assert sc.window_s == 1800 and sc.handle_time_s == 90 and sc.patience_s == 60
    # "base load 60 %": arrival rate = 0.6 x seats / handle time.
    assert sc.base_rate(sc.centres[0]) == pytest.approx(0.6 * 8 / 90)


def test_isolated_figures_match_the_reference(jining: Comparison) -> None:
    iso = jining.figures("isolated")
    # Reference (10,000 replications): 370883 65.4 %, all callers 23.8 %, 3-seat counties 10.3 %.
    assert iso["surged_rate"] == pytest.approx(0.654, abs=0.03)
    assert iso["overall_rate"] == pytest.approx(0.238, abs=0.02)
    counties = [
        r for c, r in iso["centre_rates"].items() if c not in ("370800", "370811", "370883")
    ]
    assert sum(counties) / len(counties) == pytest.approx(0.103, abs=0.025)


def test_bridge_policy_meets_the_aims_of_issue_7(jining: Comparison) -> None:
    iso, bridge, pooled = (jining.figures(p) for p in ("isolated", "bridge", "pooled"))
    assert bridge["surged_rate"] <= 0.5 * iso["surged_rate"]
    assert bridge["surged_rate"] < 0.05  # far below half, in fact
    assert bridge["overall_rate"] <= 1.2 * pooled["overall_rate"] + 0.001
    for code, rate in bridge["centre_rates"].items():
        assert rate <= iso["centre_rates"][code] + 0.01, code  # no centre worse off
    assert pooled["overall_rate"] <= bridge["overall_rate"] + 0.002  # pooling is the bound
    assert bridge["support_starts_per_replication"] >= 1  # the policy really acted
    assert bridge["stand_downs_per_replication"] == 0  # one county's surge: never stands down
    # Every QueueAdd is counted, and undone by a QueueRemove (those still owed included).
    assert bridge["ami_actions_per_replication"] >= 2 * bridge["queue_adds_per_replication"] > 0
    assert iso["ami_actions_per_replication"] == pooled["ami_actions_per_replication"] == 0


def test_every_policy_sees_the_same_callers(jining: Comparison) -> None:
    offered = {p: jining.totals[p].offered for p in jining.totals}
    assert offered["isolated"] == offered["bridge"] == offered["pooled"]


def test_same_seed_same_numbers() -> None:
    sc = load(JINING)
    assert simulate(sc, "bridge", 7, 3) == simulate(sc, "bridge", 7, 3)
    assert simulate(sc, "isolated", 7, 3) != simulate(sc, "isolated", 8, 3)


STEADY = """
name = "steady pool"
handle_time_s = 90.0
patience_s = 60.0
base_load = 0.9
warmup_s = 2000.0
window_s = 40000.0
[[centre]]
code = "1"
seats = 2
[[centre]]
code = "2"
level = "city"
seats = 3
"""


def test_pooled_simulation_agrees_with_erlang_a() -> None:
    sc = scenario_from_toml(STEADY, "steady")
    pooled = compare(sc, seed=5, replications=range(4), policies=("pooled",)).figures("pooled")
    expected = erlang_a(5, 0.9 * 5 / 90, 90, 60).abandon_probability  # 15.4 %
    assert pooled["overall_rate"] == pytest.approx(expected, abs=0.01)


def test_every_shipped_scenario_loads() -> None:
    files = sorted(SCENARIOS.glob("*.toml"))
    assert {f.name for f in files} >= {"jining-surge.toml", "jining-all-counties-surge.toml"}
    everyone = load(SCENARIOS / "jining-all-counties-surge.toml")
    assert len(everyone.surged_codes) == 11 and "370800" not in everyone.surged_codes
    for f in files:
        load(f)


def test_all_counties_surging_the_bridge_stands_down_and_is_no_worse_overall() -> None:
    sc = load(SCENARIOS / "jining-all-counties-surge.toml")
    c = compare(sc, seed=2, replications=range(2), policies=("isolated", "bridge"))
    iso, bridge = c.figures("isolated"), c.figures("bridge")
    assert bridge["overall_rate"] <= iso["overall_rate"]
    assert bridge["stand_downs_per_replication"] >= 1


def test_lending_only_into_aid_queues_is_a_scenario_setting() -> None:
    text = JINING.read_text(encoding="utf-8")
    assert "mutual_aid = false" in text
    sc = scenario_from_toml(text.replace("mutual_aid = false", "mutual_aid = true"), "aid.toml")
    assert sc.overflow.mutual_aid is True
    assert simulate(sc, "bridge", 7, 3) != simulate(load(JINING), "bridge", 7, 3)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('name = "steady pool"', ""), "name"),
        (lambda t: t.replace("base_load = 0.9", "base_load = 1.5"), "base_load"),
        (lambda t: t.replace("seats = 2", "seats = 0"), "seats"),
        (lambda t: t.replace("seats = 2", 'seats = "two"'), "seats"),
        (lambda t: t.replace('code = "2"', 'code = "1"'), "twice"),
        (lambda t: t + "\nbogus = 1\n", "bogus"),
        (lambda t: t.replace("window_s = 40000.0", ""), "window_s"),
        (lambda t: t + '\n[[surge]]\ncentre = "9"\nfactor = 2.0\nduration_s = 60.0\n', "'9'"),
        (lambda t: t + "\n[policy]\nhold_s = -1\n", "hold_s"),
        (lambda t: t + "\n[policy]\nrelease_pressure = 5\n", "release_pressure"),
        (lambda t: t + "\n[policy]\nresume_load = 2.0\n", "resume_load"),
        (lambda t: t + "\n[policy]\nmutual_aid = 1\n", "mutual_aid"),
        (lambda t: t.replace("seats = 2", 'seats = 2\nneighbours = ["7"]'), "neighbours"),
        (lambda t: t + "\n[x\n", "not valid TOML"),
    ],
)
def test_bad_scenarios_are_rejected_with_the_setting_named(edit: object, message: str) -> None:
    assert callable(edit)
    with pytest.raises(ScenarioError, match=message) as caught:
        scenario_from_toml(edit(STEADY), "my.toml")
    assert str(caught.value).startswith("my.toml: ")
