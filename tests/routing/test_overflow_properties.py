"""Properties of the overflow policy under random, noisy load (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.overflow import (
    CentrePolicy,
    CentreState,
    LendMember,
    Loan,
    OverflowConfig,
    OverflowState,
    PauseLoans,
    Plan,
    ReturnMember,
    decide,
    holds_steady,
    system_load,
)

HANDLE = 90.0
HOLD = 30.0
CENTRES = {"370800": 8, "370811": 5, "370881": 3, "370883": 3, "370832": 3}
CONFIG = OverflowConfig(
    centres=(
        CentrePolicy("370800", "city", min_free_seats=2, max_lend=5),
        CentrePolicy("370811", "county", neighbours=("370883",), min_free_seats=1, max_lend=3),
        CentrePolicy("370881", "county", neighbours=("370883",), min_free_seats=0, max_lend=2),
        CentrePolicy("370883", "county", neighbours=("370811", "370881"), min_free_seats=0),
        CentrePolicy("370832", "county", min_free_seats=1, max_lend=1),
    ),
    handle_time_s=HANDLE,
    hold_s=HOLD,
    stand_down_hold_s=HOLD / 2,
)
# Both ways of lending: every property holds for each.
MODES = pytest.mark.parametrize(
    "cfg", [CONFIG, replace(CONFIG, mutual_aid=False)], ids=["mutual-aid", "aid-queues-only"]
)


@dataclass(frozen=True)
class Reading:
    busy_share: float
    waiting: int
    wait_s: float
    load: float
    sustained: float


readings = st.builds(
    Reading,
    busy_share=st.floats(0, 1),
    waiting=st.integers(0, 4),
    wait_s=st.floats(0, 40),
    load=st.floats(0, 4),
    sustained=st.floats(0, 3),
)
ticks = st.lists(
    st.fixed_dictionaries({code: readings for code in CENTRES}), min_size=1, max_size=150
)


def to_state(code: str, r: Reading) -> CentreState:
    seats = CENTRES[code]
    members = tuple(f"Local/{code}-{k}@agents/n" for k in range(1, seats + 1))
    busy = round(r.busy_share * seats)
    waiting = r.waiting if busy == seats else 0  # callers only wait when no seat is free
    return CentreState(
        code,
        members,
        busy,
        waiting,
        r.wait_s if waiting else 0.0,
        r.load * seats / HANDLE,
        r.sustained * seats / HANDLE,
    )


def run(
    history: list[dict[str, Reading]], cfg: OverflowConfig = CONFIG
) -> list[tuple[list[CentreState], Plan]]:
    prev = OverflowState()
    out = []
    for now, readings_now in enumerate(history):
        states = [to_state(code, r) for code, r in readings_now.items()]
        plan = decide(cfg, states, prev, float(now))
        out.append((states, plan))
        prev = plan.state
    return out


@MODES
@settings(max_examples=60, deadline=None)
@given(ticks)
def test_actions_translate_exactly_into_the_loans_held(
    cfg: OverflowConfig, history: list[dict[str, Reading]]
) -> None:
    """Applying each plan's QueueAdd/QueueRemove/QueuePause steps to the PBX's view reproduces
    what the policy believes is lent — the actuation is a direct translation."""
    held: set[Loan] = set()
    paused: set[Loan] = set()
    for _, plan in run(history, cfg):
        for action in plan.actions:
            if isinstance(action, LendMember):
                assert action.loan not in held
                held.add(action.loan)
                if action.paused:
                    paused.add(action.loan)
            elif isinstance(action, ReturnMember):
                held.remove(action.loan)
                paused.discard(action.loan)
            elif isinstance(action, PauseLoans):
                assert set(action.loans) <= held
                (paused.update if action.paused else paused.difference_update)(action.loans)
        assert held == plan.state.loans
        assert paused == {loan for loan in held if loan.donor in plan.state.paused}


@MODES
@settings(max_examples=60, deadline=None)
@given(ticks)
def test_caps_minimums_and_roles_are_never_violated(
    cfg: OverflowConfig, history: list[dict[str, Reading]]
) -> None:
    for states, plan in run(history, cfg):
        by_code = {s.code: s for s in states}
        lent_by: dict[str, set[str]] = {}
        for loan in plan.state.loans:
            assert loan.donor != loan.recipient
            assert loan.donor in plan.state.donors
            assert loan.donor not in plan.state.surging  # a surging centre lends nothing
            assert loan.member in by_code[loan.donor].members
            lent_by.setdefault(loan.donor, set()).add(loan.member)
        for donor, members in lent_by.items():
            assert len(members) <= cfg.by_code[donor].max_lend
        for donor in plan.state.donors:
            s = by_code[donor]
            minimum = cfg.by_code[donor].min_free_seats
            if minimum and s.available - s.waiting <= minimum:
                # At its minimum of free seats: its lent members answer only its own callers.
                assert donor in plan.state.paused


@MODES
@settings(max_examples=60, deadline=None)
@given(ticks)
def test_support_never_flaps(cfg: OverflowConfig, history: list[dict[str, Reading]]) -> None:
    """Support, once started, lasts at least the hold time, and ends only after the centre's
    figures were low for the whole hold time."""
    results = run(history, cfg)
    started: dict[str, int] = {}
    low_since: dict[str, int] = {}
    previous: set[str] = set()
    for now, (states, plan) in enumerate(results):
        current = set(plan.state.supported)
        for s in states:
            pressure = (s.arrival_rate * HANDLE + s.waiting) / len(s.members)
            if s.waiting == 0 and pressure < cfg.release_pressure:
                low_since.setdefault(s.code, now)
            else:
                low_since.pop(s.code, None)
        for code in current - previous:
            started[code] = now
        for code in previous - current:
            assert now - started[code] >= HOLD
            assert code in low_since and now - low_since[code] >= HOLD
        previous = current


@settings(max_examples=40, deadline=None)
@given(ticks)
def test_same_input_same_plan(history: list[dict[str, Reading]]) -> None:
    assert [p for _, p in run(history)] == [p for _, p in run(history)]


@MODES
@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({code: readings for code in CENTRES}), max_size=60))
def test_nobody_waiting_means_an_empty_plan(
    cfg: OverflowConfig, history: list[dict[str, Reading]]
) -> None:
    calm = [
        {c: Reading(r.busy_share, 0, 0.0, r.load, r.sustained) for c, r in t.items()}
        for t in history
    ]
    for _, plan in run(calm, cfg):
        assert plan.actions == () and plan.state.loans == frozenset()


@MODES
@settings(max_examples=60, deadline=None)
@given(ticks, st.lists(st.integers(1, 40), min_size=1, max_size=150))
def test_holds_steady_is_exact(
    cfg: OverflowConfig, history: list[dict[str, Reading]], repeats: list[int]
) -> None:
    """When nothing changed but the clock, `holds_steady` says yes only if `decide` would indeed
    send nothing and keep its state (the simulation skips those ticks)."""
    prev = OverflowState()
    now = 0.0
    for readings_now, repeat in zip(history, repeats, strict=False):
        states = [to_state(code, r) for code, r in readings_now.items()]
        prev = decide(cfg, states, prev, now).state
        for _ in range(repeat):  # the same queues, a second older each time
            now += 1.0
            states = [
                replace(s, longest_wait_s=s.longest_wait_s + 1.0) if s.waiting else s
                for s in states
            ]
            plan = decide(cfg, states, prev, now)
            if holds_steady(cfg, states, prev, now):
                assert plan.actions == ()
                assert plan.state == replace(prev, now=now)
            prev = plan.state
        now += 1.0


@MODES
@settings(max_examples=60, deadline=None)
@given(ticks)
def test_stand_down_never_flaps_and_lends_nothing(
    cfg: OverflowConfig, history: list[dict[str, Reading]]
) -> None:
    """The group stands down at the first tick the system load reaches stand_down_load, holds no
    loan while it stands down, and resumes only after the system load stayed under resume_load
    for the whole stand_down_hold_s."""
    calm_since: int | None = None
    was_down = False
    for now, (states, plan) in enumerate(run(history, cfg)):
        load = system_load(states, HANDLE)
        calm_since = (
            (calm_since if calm_since is not None else now) if load < cfg.resume_load else None
        )
        down = plan.state.standing_down
        if down:
            assert plan.state.loans == frozenset()
            assert not any(isinstance(a, LendMember) for a in plan.actions)
        elif plan.state.supported:
            assert load < cfg.stand_down_load
        if was_down and not down and plan.state.supported:
            assert calm_since is not None and now - calm_since >= cfg.stand_down_hold_s
        was_down = down
