"""The traffic generator: reproducible by seed, Poisson at the scheduled rates."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest

from telephony.pbxsim.traffic import (
    Distribution,
    Entry,
    PressScript,
    Surge,
    TrafficError,
    TrafficProfile,
    iter_calls,
    parse_distribution,
    parse_surge,
    plan_calls,
)

HOUR = 3600.0


def lab_profile(duration: float = HOUR, surges: tuple[Surge, ...] = ()) -> TrafficProfile:
    return TrafficProfile(
        entries=(
            Entry("q12345", "inbound", "12345", 120.0),
            Entry("q110-city", "inbound", "110", 60.0),
            Entry(
                "q110-370883",
                "inbound",
                "110370883",
                30.0,
                presses=(
                    PressScript("*8", "agent", 20.0, 0.25),
                    PressScript("1", "caller", 5.0, 0.5),
                ),
            ),
        ),
        duration=duration,
        surges=surges,
    )


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    profile = lab_profile()
    first, again, other = plan_calls(profile, 7), plan_calls(profile, 7), plan_calls(profile, 8)
    assert first == again
    assert first != other
    assert len(first) > 100


def test_plan_is_time_ordered_and_within_the_duration() -> None:
    calls = plan_calls(lab_profile(), 1)
    arrivals = [call.arrival for call in calls]
    assert arrivals == sorted(arrivals)
    assert 0 < arrivals[0] and arrivals[-1] < HOUR
    assert list(iter_calls(lab_profile(), 1)) == calls


def test_calls_carry_their_entry_and_a_caller_number() -> None:
    calls = plan_calls(lab_profile(), 3)
    county = next(call for call in calls if call.entry == "q110-370883")
    assert (county.context, county.exten) == ("inbound", "110370883")
    assert all(len(call.caller) == 11 and call.caller.startswith("1") for call in calls)
    assert all(call.patience > 0 and call.handle_time > 0 for call in calls)


def test_changing_one_entry_leaves_the_others_arrivals_alone() -> None:
    base = lab_profile()
    entries = list(base.entries)
    entries[2] = Entry(
        "q110-370883", "inbound", "110370883", 30.0, patience=Distribution("fixed", 5)
    )
    changed = TrafficProfile(tuple(entries), base.duration)

    def arrivals(profile: TrafficProfile, name: str) -> list[float]:
        return [c.arrival for c in plan_calls(profile, 11) if c.entry == name]

    for name in ("q12345", "q110-city", "q110-370883"):
        assert arrivals(base, name) == arrivals(changed, name)
    assert {c.patience for c in plan_calls(changed, 11) if c.entry == "q110-370883"} == {5.0}


def within(observed: float, expected: float, sigmas: float, sd: float) -> bool:
    return abs(observed - expected) <= sigmas * sd


def test_rates_match_on_a_long_plan() -> None:
    profile = lab_profile(duration=100 * HOUR)
    counts = Counter(call.entry for call in iter_calls(profile, 2024))
    for entry in profile.entries:
        expected = profile.expected_calls(entry)
        # Poisson: the count's standard deviation is sqrt(mean); 4 sigma keeps it non-flaky.
        assert within(counts[entry.name], expected, 4, expected**0.5), (entry.name, counts)


def test_a_surge_multiplies_only_its_entry_in_its_window() -> None:
    # county 370883 at 5x for 10 minutes, repeated over a long plan to measure it
    surges = tuple(
        Surge(5.0, start=k * HOUR + 600, duration=600, entry="q110-370883") for k in range(200)
    )
    profile = lab_profile(duration=200 * HOUR, surges=surges)
    in_window: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    for call in iter_calls(profile, 99):
        offset = call.arrival % HOUR
        (in_window if 600 <= offset < 1200 else outside)[call.entry] += 1
    hours_in, hours_out = 200 * 600 / HOUR, 200 * 3000 / HOUR
    for name, rate, factor in (("q110-370883", 30.0, 5.0), ("q12345", 120.0, 1.0)):
        expected_in = rate * factor * hours_in
        expected_out = rate * hours_out
        assert within(in_window[name], expected_in, 4, expected_in**0.5), (name, in_window)
        assert within(outside[name], expected_out, 4, expected_out**0.5), (name, outside)
    county = next(e for e in profile.entries if e.name == "q110-370883")
    assert profile.rate_at(county, 700) == 150.0 and profile.rate_at(county, 1200) == 30.0


def test_arrivals_are_poisson_not_evenly_spaced() -> None:
    profile = TrafficProfile((Entry("q", "c", "1", 600.0),), duration=50 * HOUR)
    per_minute = Counter(int(call.arrival // 60) for call in plan_calls(profile, 5))
    counts = [per_minute.get(minute, 0) for minute in range(50 * 60)]
    mean = statistics.fmean(counts)
    dispersion = statistics.pvariance(counts) / mean  # 1 for a Poisson process
    assert 9.5 < mean < 10.5
    assert 0.9 < dispersion < 1.1


def test_patience_and_handle_time_distributions() -> None:
    profile = TrafficProfile(
        (
            Entry(
                "q",
                "c",
                "1",
                3600.0,
                patience=Distribution("exponential", 60.0),
                handle_time=Distribution("uniform", low=100.0, high=200.0),
            ),
        ),
        duration=5 * HOUR,
    )
    calls = plan_calls(profile, 3)
    patience = [call.patience for call in calls]
    n = len(patience)
    assert within(statistics.fmean(patience), 60.0, 4, 60.0 / n**0.5)
    # exponential: the standard deviation equals the mean
    assert 0.93 < statistics.pstdev(patience) / statistics.fmean(patience) < 1.07
    handle = [call.handle_time for call in calls]
    assert 100.0 <= min(handle) and max(handle) <= 200.0
    assert within(statistics.fmean(handle), 150.0, 4, (100.0 / 12**0.5) / n**0.5)


def test_scripted_presses_happen_on_their_fraction_of_calls() -> None:
    calls = [c for c in iter_calls(lab_profile(duration=100 * HOUR), 6) if c.entry == "q110-370883"]
    n = len(calls)
    agent = sum(1 for c in calls if any(p.digits == "*8" and p.side == "agent" for p in c.presses))
    caller = sum(1 for c in calls if any(p.digits == "1" and p.side == "caller" for p in c.presses))
    assert within(agent, 0.25 * n, 4, (n * 0.25 * 0.75) ** 0.5)
    assert within(caller, 0.5 * n, 4, (n * 0.25) ** 0.5)
    pressed = next(c for c in calls if c.presses)
    assert {p.delay for p in pressed.presses} <= {20.0, 5.0}
    others = [c for c in iter_calls(lab_profile(), 6) if c.entry != "q110-370883"]
    assert all(c.presses == () for c in others)


def test_zero_rate_and_zero_factor_give_no_calls() -> None:
    profile = TrafficProfile(
        (Entry("idle", "c", "1", 0.0), Entry("busy", "c", "2", 3600.0)),
        duration=HOUR,
        surges=(Surge(0.0, 0, HOUR, "busy"),),
    )
    assert plan_calls(profile, 1) == []


def test_parsers() -> None:
    assert parse_surge("q110-370883:5x@600+600") == Surge(5.0, 600.0, 600.0, "q110-370883")
    assert parse_surge("2.5x@0+60") == Surge(2.5, 0.0, 60.0, None)
    assert parse_distribution("exp:60") == Distribution("exponential", 60.0)
    assert parse_distribution("fixed:30") == Distribution("fixed", 30.0)
    assert parse_distribution("uniform:10-50") == Distribution("uniform", low=10.0, high=50.0)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: parse_surge("5x"), "is not \\[ENTRY:\\]FACTORx@START\\+DURATION"),
        (lambda: parse_distribution("normal:5"), "is not exp:MEAN"),
        (lambda: parse_distribution("exp:soon"), "is not exp:MEAN"),
        (lambda: Distribution("exponential", 0.0), "needs a mean > 0"),
        (lambda: Distribution("uniform", low=5, high=1), "0 <= low <= high"),
        (lambda: PressScript("*x", "agent", 1.0), "are not DTMF"),
        (lambda: PressScript("1", "agent", 1.0, 1.5), "not within 0..1"),
        (lambda: Entry("q", "c", "1", -1.0), "calls_per_hour must be >= 0"),
        (lambda: Surge(2.0, 0, 0), "duration > 0"),
        (lambda: TrafficProfile((Entry("q", "c", "1", 1.0),), 0), "duration 0 must be > 0"),
        (
            lambda: TrafficProfile((Entry("q", "c", "1", 1.0),), 60, (Surge(2, 0, 1, "x"),)),
            "surge names unknown entry 'x'",
        ),
        (
            lambda: TrafficProfile((Entry("q", "c", "1", 1.0), Entry("q", "c", "2", 1.0)), 60),
            "entry names must be unique",
        ),
    ],
)
def test_bad_profiles_are_refused_with_the_field_named(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(TrafficError, match=message):
        build()
