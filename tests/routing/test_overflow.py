"""The surge overflow policy: activation, hysteresis, donors, caps, reservation, stand-down."""

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
    PauseLoans,
    Plan,
    ReturnMember,
    StartSupport,
    StopSupport,
    decide,
    system_load,
)

CITY = "370800"
SURGED = "370883"
NEIGHBOUR = "370881"
FAR = "370832"
HANDLE = 90.0
SEATS = {CITY: 8, SURGED: 3, NEIGHBOUR: 3, FAR: 3}


def config(**overrides: float | bool) -> OverflowConfig:
    centres = (
        CentrePolicy(CITY, "city", min_free_seats=2, max_lend=4),
        CentrePolicy(SURGED, "county", neighbours=(NEIGHBOUR,), min_free_seats=0),
        CentrePolicy(NEIGHBOUR, "county", neighbours=(SURGED,), min_free_seats=0),
        CentrePolicy(FAR, "county", min_free_seats=0, max_lend=1),
    )
    return OverflowConfig(centres=centres, handle_time_s=HANDLE, **overrides)  # type: ignore[arg-type]


def state(
    code: str,
    busy: int = 0,
    waiting: int = 0,
    wait_s: float = 0.0,
    load: float = 0.3,
    sustained: float | None = None,
) -> CentreState:
    """A centre whose recent arrival rate keeps `load` of its seats busy, and whose sustained
    rate keeps `sustained` of them busy (the same unless given)."""
    seats = SEATS[code]
    members = tuple(f"Local/{code}-{k}@agents/n" for k in range(1, seats + 1))
    rate = load * seats / HANDLE
    long_rate = rate if sustained is None else sustained * seats / HANDLE
    return CentreState(code, members, busy, waiting, wait_s, rate, long_rate)


def calm() -> dict[str, CentreState]:
    return {code: state(code, busy=1) for code in SEATS}


def surged(states: dict[str, CentreState], sustained: float = 0.6) -> dict[str, CentreState]:
    """The surged centre swamped; its sustained rate has not caught up yet unless given."""
    swamped = state(SURGED, busy=3, waiting=3, wait_s=8, load=3.0, sustained=sustained)
    return {**states, SURGED: swamped}


def tick(
    cfg: OverflowConfig, states: dict[str, CentreState], prev: OverflowState, now: float
) -> Plan:
    return decide(cfg, states.values(), prev, now)


def test_plan_is_empty_under_normal_load() -> None:
    cfg = config()
    prev = OverflowState()
    normal = [
        calm(),
        {code: state(code, busy=SEATS[code] - 1, load=0.6) for code in SEATS},
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
    assert not prev.supported and not prev.loans and not prev.donors


def test_support_starts_at_the_first_tick_that_shows_pressure() -> None:
    plan = tick(config(), surged(calm()), OverflowState(), 0.0)
    starts = [a for a in plan.actions if isinstance(a, StartSupport)]
    assert [s.centre for s in starts] == [SURGED]
    assert starts[0].aid_queue == "q110-aid-370883" and starts[0].queue == "q110-370883"
    assert starts[0].figures.waiting == 3 and starts[0].figures.available == 0
    assert starts[0].figures.pressure == pytest.approx((3.0 * 3 + 3) / 3)
    lends = [a for a in plan.actions if isinstance(a, LendMember) and a.loan.recipient == SURGED]
    assert {a.loan.donor for a in lends} == {CITY, NEIGHBOUR, FAR}  # help in the same plan
    assert all(a.loan.queue == "q110-aid-370883" and not a.paused for a in lends)


def test_a_long_wait_alone_starts_support() -> None:
    slow = {**calm(), SURGED: state(SURGED, busy=3, waiting=1, wait_s=25, load=0.6)}
    plan = tick(config(), slow, OverflowState(), 0.0)
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


def test_lend_cap_is_respected() -> None:
    plan = tick(config(), surged(calm()), OverflowState(), 0.0)
    lent = plan.state.lent
    assert lent[CITY] == tuple(f"Local/{CITY}-{k}@agents/n" for k in (5, 6, 7, 8))  # cap 4
    assert len(lent[NEIGHBOUR]) == 3  # default cap 4 is above its 3 seats
    assert lent[FAR] == (f"Local/{FAR}-3@agents/n",)  # max_lend 1
    for loan in plan.state.loans:
        assert loan.member in lent[loan.donor]


def test_mutual_aid_donors_lend_into_each_others_own_queues() -> None:
    plan = tick(config(mutual_aid=True), surged(calm()), OverflowState(), 0.0)
    queues = {(loan.donor, loan.recipient): loan.queue for loan in plan.state.loans}
    assert queues[(CITY, NEIGHBOUR)] == "q110-370881"  # a donor's own queue: weight 10
    assert queues[(NEIGHBOUR, CITY)] == "q110-370800"
    assert (SURGED, CITY) not in queues  # the swamped centre has nothing to lend


def test_a_centre_without_spare_seats_does_not_join_as_donor() -> None:
    states = surged(calm())
    states[CITY] = state(CITY, busy=6)  # 2 free, its minimum: nothing spare
    plan = tick(config(), states, OverflowState(), 0.0)
    assert CITY not in plan.state.donors
    assert {NEIGHBOUR, FAR} == plan.state.donors


def test_donor_at_its_minimum_of_free_seats_pauses_its_loans() -> None:
    cfg = config()
    states = surged(calm())
    first = tick(cfg, states, OverflowState(), 0.0)
    assert CITY in first.state.donors and CITY not in first.state.paused
    # The city is down to 2 free seats, its minimum: its lent members stop answering others.
    plan = tick(cfg, {**states, CITY: state(CITY, busy=6)}, first.state, 1.0)
    pauses = [a for a in plan.actions if isinstance(a, PauseLoans)]
    assert [(p.donor, p.paused) for p in pauses] == [(CITY, True)]
    assert set(pauses[0].loans) == {loan for loan in first.state.loans if loan.donor == CITY}
    assert pauses[0].figures.available == 2
    # Seats free up again: the loans resume.
    plan = tick(cfg, states, plan.state, 2.0)
    resumed = [(a.donor, a.paused) for a in plan.actions if isinstance(a, PauseLoans)]
    assert resumed == [(CITY, False)]


def test_new_loans_of_a_donor_at_its_minimum_are_added_paused() -> None:
    states = {**surged(calm()), FAR: state(FAR, busy=3)}  # FAR has nothing spare: no donor
    first = tick(config(), states, OverflowState(), 0.0)
    assert CITY in first.state.donors and FAR not in first.state.donors
    states[CITY] = state(CITY, busy=6)
    states[FAR] = state(FAR, busy=3, waiting=2, wait_s=30, load=1.0)  # FAR now needs help too
    plan = tick(config(), states, first.state, 1.0)
    added = [
        a
        for a in plan.actions
        if isinstance(a, LendMember) and a.loan.donor == CITY and a.loan.recipient == FAR
    ]
    assert added and all(a.paused and a.loan.queue == "q110-aid-370832" for a in added)


def test_hysteresis_holds_support_until_low_for_hold_s() -> None:
    cfg = config(hold_s=120.0)
    plan = tick(cfg, surged(calm()), OverflowState(), 0.0)
    low = {**calm(), SURGED: state(SURGED, busy=1, load=0.2)}
    prev = plan.state
    ended: list[int] = []
    for now in range(1, 400):
        # A blip of pressure at t=60 must restart the hold clock.
        plan = tick(cfg, surged(calm()) if now == 60 else low, prev, float(now))
        if SURGED in prev.supported and SURGED not in plan.state.supported:
            ended.append(now)
        prev = plan.state
    assert ended == [61 + 120]
    assert not prev.supported and not prev.loans


def test_a_supported_centre_with_seats_free_again_lends_instead_of_being_routed() -> None:
    cfg = config(mutual_aid=True)
    first = tick(cfg, surged(calm()), OverflowState(), 0.0)
    assert SURGED in first.state.routed
    eased = {**calm(), SURGED: state(SURGED, busy=2, load=0.6)}
    plan = tick(cfg, eased, first.state, 1.0)
    stop = [a for a in plan.actions if isinstance(a, StopSupport)]
    assert [s.centre for s in stop] == [SURGED] and "lends" in stop[0].reason
    assert SURGED in plan.state.supported and SURGED in plan.state.donors
    # Helpers move from its aid queue to its own queue, where its callers now wait.
    moved = {a.loan.queue for a in plan.actions if isinstance(a, LendMember)}
    assert "q110-370883" in moved


def test_release_returns_every_lent_member() -> None:
    cfg = config(hold_s=30.0)
    first = tick(cfg, surged(calm()), OverflowState(), 0.0)
    prev = first.state
    returned: set[object] = set()
    for now in range(1, 40):
        plan = tick(cfg, calm(), prev, float(now))
        returned |= {a.loan for a in plan.actions if isinstance(a, ReturnMember)}
        prev = plan.state
    assert returned >= set(first.state.loans)
    assert prev == OverflowState(now=39.0)  # nothing left borrowed, nothing remembered


def test_when_every_county_surges_only_the_city_lends() -> None:
    counties = {
        code: state(code, busy=3, waiting=1, wait_s=10, load=1.6) for code in SEATS if code != CITY
    }
    plan = tick(config(), {**counties, CITY: state(CITY, busy=2)}, OverflowState(), 0.0)
    assert plan.state.surging == set(counties)
    assert plan.state.donors == {CITY}
    assert not plan.state.standing_down  # 3 x 0.6 x 3 = 5.4 seats short, the city spares 5.6
    assert {loan.donor for loan in plan.state.loans} == {CITY}
    assert {loan.recipient for loan in plan.state.loans} == set(counties)


def everyone_surging(load: float) -> dict[str, CentreState]:
    """Every county swamped at `load` x its seats, the city at its normal rate."""
    counties = {c: state(c, busy=3, waiting=2, wait_s=10, load=load) for c in SEATS if c != CITY}
    return {**counties, CITY: state(CITY, busy=3)}


def test_system_load_sums_every_centre() -> None:
    states = everyone_surging(3.0)
    # 3 counties x 3 seats x 3.0 + the city's 8 seats x 0.3, over 17 seats; waiting not counted.
    assert system_load(states.values(), HANDLE) == pytest.approx((27 + 2.4) / 17)


def test_stands_down_at_the_first_tick_calls_outnumber_every_seat() -> None:
    cfg = config()
    # A single surge first: the group lends.
    first = tick(cfg, surged(calm()), OverflowState(), 0.0)
    assert first.state.loans and not first.state.standing_down
    # Every county swamped: the very next tick returns every loan, with the figure that caused it.
    plan = tick(cfg, everyone_surging(3.0), first.state, 1.0)
    assert plan.state.standing_down
    assert plan.state.loans == frozenset() and plan.state.lent == {}
    returns = [a for a in plan.actions if isinstance(a, ReturnMember)]
    assert {a.loan for a in returns} == first.state.loans
    assert all("system load 1.73 >= 1.5" in a.reason for a in returns)
    assert not any(isinstance(a, LendMember) for a in plan.actions)
    assert any(note.startswith("standing down") for note in plan.notes)


def test_stand_down_ends_only_after_calm_for_its_hold_time() -> None:
    cfg = config(stand_down_hold_s=30.0)
    prev = tick(cfg, everyone_surging(3.0), OverflowState(), 0.0).state
    assert prev.standing_down
    # Easing to a system load between resume_load and stand_down_load is not calm: it holds.
    easing = everyone_surging(1.6)  # (3 x 3 x 1.6 + 2.4) / 17 = 0.99 ... just under 1.0
    easing = {**easing, SURGED: state(SURGED, busy=3, waiting=2, wait_s=10, load=1.8)}
    assert 1.0 <= system_load(easing.values(), HANDLE) < 1.5
    calmer = everyone_surging(1.2)
    assert system_load(calmer.values(), HANDLE) < 1.0
    resumed: list[int] = []
    for now in range(1, 200):
        states = easing if now < 20 or now == 50 else calmer  # a blip at t=50 restarts the clock
        plan = tick(cfg, states, prev, float(now))
        if prev.standing_down and not plan.state.standing_down:
            resumed.append(now)
            assert plan.state.loans  # lending resumes at once
        prev = plan.state
    assert resumed == [51 + 30]


def test_nobody_lends_when_the_city_surges_too() -> None:
    everyone = {c: state(c, busy=SEATS[c], waiting=3, wait_s=10, load=1.4) for c in SEATS}
    plan = tick(config(), everyone, OverflowState(), 0.0)
    assert not plan.state.standing_down  # system load 1.4: below stand_down_load
    assert plan.state.loans == frozenset() and plan.state.donors == frozenset()
    assert set(plan.state.supported) == set(SEATS)
    assert any("no centre has seats to spare" in note for note in plan.notes)


def test_every_action_explains_itself_with_figures() -> None:
    lines = tick(config(), surged(calm()), OverflowState(), 0.0).explain()
    assert lines and all("pressure" in line for line in lines)
    start = next(line for line in lines if line.startswith("start support"))
    assert "370883" in start and "3 waiting" in start and "0/3 seats free" in start
    lend = next(line for line in lines if line.startswith("lend"))
    assert "penalty" in lend and "donor" in lend and "recipient" in lend


def test_a_steady_group_sends_nothing() -> None:
    cfg = config()
    prev = tick(cfg, surged(calm()), OverflowState(), 0.0).state
    for now in range(1, 60):
        plan = tick(cfg, surged(calm()), prev, float(now))
        assert plan.actions == ()
        prev = plan.state


def test_states_must_match_the_configured_centres() -> None:
    with pytest.raises(ValueError, match="missing"):
        decide(config(), [state(CITY)], OverflowState(), 0.0)
    stranger = CentreState("999999", ("a",), 0, 0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="999999"):
        decide(config(), [*calm().values(), stranger], OverflowState(), 0.0)


def test_time_must_not_go_backwards() -> None:
    prev = tick(config(), calm(), OverflowState(), 10.0).state
    with pytest.raises(ValueError, match="backwards"):
        tick(config(), calm(), prev, 9.0)


def test_bad_queue_state_is_named() -> None:
    with pytest.raises(ValueError, match="busy=4"):
        CentreState(SURGED, ("a", "b", "c"), 4, 0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="waiting"):
        CentreState(SURGED, ("a",), 0, -1, 0.0, 0.0, 0.0)


def test_bad_configuration_is_named() -> None:
    with pytest.raises(ValueError, match="release_pressure"):
        config(release_pressure=2.0)
    with pytest.raises(ValueError, match="hold_s"):
        config(hold_s=0.0)
    with pytest.raises(ValueError, match="surge_load"):
        config(surge_load=0.9)
    with pytest.raises(ValueError, match="resume_load must be below stand_down_load"):
        config(resume_load=1.5, stand_down_load=1.5)
    with pytest.raises(ValueError, match="stand_down_hold_s"):
        config(stand_down_hold_s=-1.0)
    with pytest.raises(ValueError, match="mutual_aid"):
        config(mutual_aid=1)
    with pytest.raises(ValueError, match="unknown neighbours"):
        OverflowConfig(centres=(CentrePolicy("1", "county", neighbours=("2",)),))
    with pytest.raises(ValueError, match="level"):
        CentrePolicy("1", "province")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        OverflowConfig(centres=(CentrePolicy("1", "county"), CentrePolicy("1", "city")))


# --- aid queues only (mutual_aid = false) --------------------------------------------------------


def test_aid_queues_only_lends_just_into_the_swamped_centres_aid_queue() -> None:
    plan = tick(config(mutual_aid=False), surged(calm()), OverflowState(), 0.0)
    lent = sum(len(members) for members in plan.state.lent.values())
    assert {loan.queue for loan in plan.state.loans} == {"q110-aid-370883"}
    assert len(plan.state.loans) == lent == 4 + 3 + 1  # one QueueAdd per lent member
    mutual = tick(config(mutual_aid=True), surged(calm()), OverflowState(), 0.0)
    assert len(mutual.state.loans) > 2 * len(plan.state.loans)


def test_aid_queues_only_helps_a_donor_at_its_first_caller_waiting() -> None:
    cfg = config(mutual_aid=False)
    prev = tick(cfg, surged(calm()), OverflowState(), 0.0).state
    assert NEIGHBOUR in prev.donors
    # One caller of the neighbour waits with its seats all busy (some serve 370883): help at once.
    states = {**surged(calm()), NEIGHBOUR: state(NEIGHBOUR, busy=3, waiting=1, wait_s=1)}
    plan = tick(cfg, states, prev, 1.0)
    assert NEIGHBOUR in plan.state.supported and NEIGHBOUR in plan.state.donors
    helpers = {loan for loan in plan.state.loans if loan.recipient == NEIGHBOUR}
    assert {loan.queue for loan in helpers} == {"q110-370881"}  # its own queue, weight 10
    assert {loan.donor for loan in helpers} == {CITY, FAR}
    assert not any(isinstance(a, StartSupport) for a in plan.actions)  # it keeps lending
    # A centre that does not lend waits for the usual pressure or wait before it is helped.
    assert tick(config(mutual_aid=False), states, OverflowState(), 0.0).state.supported.keys() == {
        SURGED
    }


def test_aid_queues_only_a_supported_centre_with_seats_free_again_lends_too() -> None:
    cfg = config(mutual_aid=False)
    prev = tick(cfg, surged(calm()), OverflowState(), 0.0).state
    eased = {**calm(), SURGED: state(SURGED, busy=1, load=0.6)}
    plan = tick(cfg, eased, prev, 1.0)
    assert SURGED in plan.state.donors and SURGED in plan.state.supported
    # Still supported, so still helped — now in its own queue, where its new calls go again.
    moved = {a.loan.queue for a in plan.actions if isinstance(a, LendMember)}
    assert moved == {"q110-370883"}
    assert {loan.queue for loan in plan.state.loans} == {"q110-370883"}  # nobody else needs it


def test_aid_queues_only_help_once_given_stays_while_the_group_lasts() -> None:
    cfg = config(mutual_aid=False, hold_s=5.0)
    prev = tick(cfg, surged(calm()), OverflowState(), 0.0).state
    busy = {**surged(calm()), NEIGHBOUR: state(NEIGHBOUR, busy=3, waiting=1, wait_s=1)}
    prev = tick(cfg, busy, prev, 1.0).state
    helpers = {loan for loan in prev.loans if loan.queue == "q110-370881"}
    assert helpers
    for now in range(2, 20):  # the neighbour calms down; 370883 stays swamped
        plan = tick(cfg, surged(calm()), prev, float(now))
        assert not any(isinstance(a, ReturnMember) and a.loan in helpers for a in plan.actions)
        prev = plan.state
    assert NEIGHBOUR not in prev.supported and helpers <= prev.loans
