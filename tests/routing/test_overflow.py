"""The surge overflow policy: activation, hysteresis, donors, caps, stand-down, explanations."""

from __future__ import annotations

import pytest

from routing.overflow import (
    PENALTY_CITY,
    PENALTY_NEIGHBOUR,
    PENALTY_OTHER,
    CentrePolicy,
    CentreState,
    LendMember,
    OverflowConfig,
    OverflowState,
    Plan,
    ReturnMember,
    StartSupport,
    StopSupport,
    decide,
)

CITY = "370800"
SURGED = "370883"
NEIGHBOUR = "370881"
FAR = "370832"
HANDLE = 90.0


def config(**overrides: float) -> OverflowConfig:
    centres = (
        CentrePolicy(CITY, "city", min_free_seats=2, max_lend=4),
        CentrePolicy(SURGED, "county", neighbours=(NEIGHBOUR,), min_free_seats=1),
        CentrePolicy(NEIGHBOUR, "county", neighbours=(SURGED,), min_free_seats=1),
        CentrePolicy(FAR, "county", min_free_seats=1, max_lend=1),
    )
    return OverflowConfig(centres=centres, handle_time_s=HANDLE, **overrides)


SEATS = {CITY: 8, SURGED: 3, NEIGHBOUR: 3, FAR: 3}


def state(
    code: str, busy: int = 0, waiting: int = 0, wait_s: float = 0.0, load: float = 0.6
) -> CentreState:
    """A centre whose arrival rate keeps `load` of its seats busy."""
    seats = SEATS[code]
    members = tuple(f"Local/{code}-{k}@agents/n" for k in range(1, seats + 1))
    return CentreState(code, members, busy, waiting, wait_s, load * seats / HANDLE)


def calm() -> dict[str, CentreState]:
    return {code: state(code, busy=1) for code in SEATS}


def tick(
    cfg: OverflowConfig, states: dict[str, CentreState], prev: OverflowState, now: float
) -> Plan:
    return decide(cfg, states.values(), prev, now)


def surged(states: dict[str, CentreState]) -> dict[str, CentreState]:
    return {**states, SURGED: state(SURGED, busy=3, waiting=3, wait_s=8, load=3.0)}


def test_plan_is_empty_under_normal_load() -> None:
    cfg = config()
    prev = OverflowState()
    normal = [
        calm(),
        {code: state(code, busy=SEATS[code] - 1, waiting=0) for code in SEATS},
        # Someone waits but a seat is free (being rung): no pressure callers feel.
        {**calm(), SURGED: state(SURGED, busy=2, waiting=1, wait_s=2)},
        # All seats busy and one caller waiting briefly at normal rate: a blip.
        {**calm(), SURGED: state(SURGED, busy=3, waiting=1, wait_s=3, load=0.6)},
    ]
    for now in range(600):
        plan = tick(cfg, normal[now % len(normal)], prev, float(now))
        assert plan.actions == ()
        assert plan.notes == ()
        prev = plan.state
    assert not prev.supported and not prev.loans


def test_support_starts_at_the_first_tick_that_shows_pressure() -> None:
    cfg = config()
    plan = tick(cfg, surged(calm()), OverflowState(), 0.0)
    starts = [a for a in plan.actions if isinstance(a, StartSupport)]
    assert [s.centre for s in starts] == [SURGED]
    assert starts[0].aid_queue == "q110-aid-370883" and starts[0].queue == "q110-370883"
    assert starts[0].figures.waiting == 3 and starts[0].figures.available == 0
    assert starts[0].figures.pressure == pytest.approx((3.0 * 3 + 3) / 3)
    lends = [a for a in plan.actions if isinstance(a, LendMember)]
    into_surged = {a.loan.member for a in lends if a.loan.recipient == SURGED}
    assert into_surged  # help arrives in the same plan
    assert all(a.loan.queue == "q110-aid-370883" for a in lends if a.loan.recipient == SURGED)


def test_a_long_wait_alone_starts_support() -> None:
    cfg = config()
    slow = {**calm(), SURGED: state(SURGED, busy=3, waiting=1, wait_s=25, load=0.6)}
    plan = tick(cfg, slow, OverflowState(), 0.0)
    assert any(isinstance(a, StartSupport) and "waited 25 s" in a.reason for a in plan.actions)


def test_donor_preference_shows_in_penalties() -> None:
    plan = tick(config(), surged(calm()), OverflowState(), 0.0)
    penalty = {
        (a.loan.donor, a.loan.recipient): a.loan.penalty
        for a in plan.actions
        if isinstance(a, LendMember)
    }
    assert penalty[(NEIGHBOUR, SURGED)] == PENALTY_NEIGHBOUR
    assert penalty[(CITY, SURGED)] == PENALTY_CITY
    assert penalty[(FAR, SURGED)] == PENALTY_OTHER
    assert PENALTY_NEIGHBOUR < PENALTY_CITY < PENALTY_OTHER


def test_donors_keep_their_minimum_and_respect_the_lend_cap() -> None:
    plan = tick(config(), surged(calm()), OverflowState(), 0.0)
    lent = plan.state.lent
    assert lent[CITY] == tuple(f"Local/{CITY}-{k}@agents/n" for k in (5, 6, 7, 8))  # cap 4 of 8-2
    assert len(lent[NEIGHBOUR]) == 2  # 3 seats, keeps 1
    assert lent[FAR] == (f"Local/{FAR}-3@agents/n",)  # max_lend 1
    # The members kept back are the first in queue order and are never lent anywhere.
    kept = {f"Local/{NEIGHBOUR}-1@agents/n", f"Local/{CITY}-1@agents/n", f"Local/{CITY}-2@agents/n"}
    assert not kept & {loan.member for loan in plan.state.loans}


def test_mutual_aid_donors_lend_into_each_others_own_queues() -> None:
    plan = tick(config(), surged(calm()), OverflowState(), 0.0)
    queues = {(loan.donor, loan.recipient): loan.queue for loan in plan.state.loans}
    assert queues[(CITY, NEIGHBOUR)] == "q110-370881"  # own queue of a donor: weight 10
    assert queues[(NEIGHBOUR, CITY)] == "q110-370800"
    assert (SURGED, CITY) not in queues  # the surged centre has nothing to lend


def test_a_centre_without_spare_seats_is_not_a_donor() -> None:
    states = surged(calm())
    states[NEIGHBOUR] = state(NEIGHBOUR, busy=2)  # 1 free, keeps 1: nothing spare
    plan = tick(config(), states, OverflowState(), 0.0)
    assert NEIGHBOUR not in plan.state.donors
    assert {CITY, FAR} <= plan.state.donors


def test_hysteresis_holds_support_until_low_for_hold_s() -> None:
    cfg = config(hold_s=120.0)
    plan = tick(cfg, surged(calm()), OverflowState(), 0.0)
    low = calm()
    low[SURGED] = state(SURGED, busy=1, load=0.2)
    prev = plan.state
    stops: list[float] = []
    for now in range(1, 400):
        # A blip of pressure at t=60 must restart the hold clock.
        states = surged(calm()) if now == 60 else low
        plan = tick(cfg, states, prev, float(now))
        stops += [now for a in plan.actions if isinstance(a, StopSupport) and a.centre == SURGED]
        prev = plan.state
    assert stops == [61 + 120]
    assert not prev.supported and not prev.loans


def test_release_returns_every_lent_member() -> None:
    cfg = config(hold_s=30.0)
    first = tick(cfg, surged(calm()), OverflowState(), 0.0)
    prev = first.state
    returned: set[object] = set()
    for now in range(1, 40):
        plan = tick(cfg, calm(), prev, float(now))
        returned |= {a.loan for a in plan.actions if isinstance(a, ReturnMember)}
        prev = plan.state
    assert returned == set(first.state.loans)
    assert prev == OverflowState(
        now=39.0, smoothed=prev.smoothed, surging=prev.surging
    )  # nothing left borrowed


def test_every_county_surging_stands_down_to_city_only() -> None:
    cfg = config()
    everyone = {
        code: state(code, busy=SEATS[code], waiting=2, wait_s=10, load=2.5) for code in SEATS
    }
    everyone[CITY] = state(CITY, busy=3)  # the city is calm
    prev = OverflowState()
    for now in range(0, 900):
        plan = tick(cfg, everyone, prev, float(now))
        prev = plan.state
    assert prev.surging == {SURGED, NEIGHBOUR, FAR}
    assert prev.donors == {CITY}
    assert {loan.donor for loan in prev.loans} == {CITY}
    assert {loan.recipient for loan in prev.loans} == {SURGED, NEIGHBOUR, FAR}


def test_nobody_lends_when_the_city_surges_too() -> None:
    cfg = config()
    everyone = {
        code: state(code, busy=SEATS[code], waiting=3, wait_s=10, load=2.5) for code in SEATS
    }
    prev = OverflowState()
    for now in range(0, 900):
        plan = tick(cfg, everyone, prev, float(now))
        prev = plan.state
    assert prev.loans == frozenset() and prev.donors == frozenset()
    assert set(prev.supported) == set(SEATS)
    assert any("no centre has seats to spare" in note for note in plan.notes)


def test_every_action_explains_itself_with_figures() -> None:
    plan = tick(config(), surged(calm()), OverflowState(), 0.0)
    lines = plan.explain()
    assert lines and all("pressure" in line for line in lines if "lend" in line or "start" in line)
    start = next(line for line in lines if line.startswith("start support"))
    assert "370883" in start and "3 waiting" in start and "0/3 seats free" in start


def test_a_steady_group_sends_nothing() -> None:
    cfg = config()
    prev = tick(cfg, surged(calm()), OverflowState(), 0.0).state
    for now in range(1, 60):
        plan = tick(cfg, surged(calm()), prev, float(now))
        assert plan.actions == ()
        prev = plan.state


@pytest.mark.parametrize(
    ("states", "message"),
    [
        ({CITY: state(CITY)}, "missing"),
        ({**calm(), "999999": state(CITY)}, "999999"),
    ],
)
def test_states_must_match_the_configured_centres(
    states: dict[str, CentreState], message: str
) -> None:
    fixed = {k if k != "999999" else "999999": v for k, v in states.items()}
    if "999999" in fixed:
        fixed["999999"] = CentreState("999999", ("a",), 0, 0, 0.0, 0.0)
    with pytest.raises(ValueError, match=message):
        decide(config(), fixed.values(), OverflowState(), 0.0)


def test_time_must_not_go_backwards() -> None:
    prev = tick(config(), calm(), OverflowState(), 10.0).state
    with pytest.raises(ValueError, match="backwards"):
        tick(config(), calm(), prev, 9.0)


def test_bad_queue_state_is_named() -> None:
    with pytest.raises(ValueError, match="busy=4"):
        CentreState(SURGED, ("a", "b", "c"), 4, 0, 0.0, 0.0)
    with pytest.raises(ValueError, match="waiting"):
        CentreState(SURGED, ("a",), 0, -1, 0.0, 0.0)


def test_bad_configuration_is_named() -> None:
    with pytest.raises(ValueError, match="release_pressure"):
        config(release_pressure=2.0)
    with pytest.raises(ValueError, match="hold_s"):
        config(hold_s=0.0)
    with pytest.raises(ValueError, match="unknown neighbours"):
        OverflowConfig(centres=(CentrePolicy("1", "county", neighbours=("2",)),))
    with pytest.raises(ValueError, match="level"):
        CentrePolicy("1", "province")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        OverflowConfig(centres=(CentrePolicy("1", "county"), CentrePolicy("1", "city")))
