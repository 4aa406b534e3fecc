"""Queue metric definitions: scripted figures, window rules, and properties (hypothesis)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.metrics import (
    ALL,
    CallerOutcome,
    Counts,
    LiveQueue,
    MemberState,
    MetricsConfig,
    Outcome,
    QueueMetrics,
    Scope,
    combine_live,
    figures,
    live_figures,
    local_midnight,
)

OUT = Outcome
# 2026-11-29 12:00:00 UTC (20:00 in Shanghai), a whole minute.
NOON = datetime(2026, 11, 29, 12, 0, tzinfo=UTC).timestamp()
Q110 = Scope.queue("q110-city")


def outcome(offset: float, result: Outcome, wait: float, queue: str = "q110-city") -> CallerOutcome:
    return CallerOutcome(queue, NOON + offset, result, wait, platform="110", district="370800")


def scripted() -> QueueMetrics:
    metrics = QueueMetrics(MetricsConfig(short_abandon_s=5, service_level_s=20))
    for n, wait in enumerate([3, 8, 15, 20, 25, 40]):
        metrics.add(outcome(n, OUT.ANSWERED, wait))
    for n, wait in enumerate([2, 5, 30]):  # 2 s and exactly 5 s are short early releases
        metrics.add(outcome(10 + n, OUT.ABANDONED, wait))
    metrics.add(outcome(20, OUT.WITHDRAWN, 12))
    metrics.add(outcome(21, OUT.EXIT_KEY, 4))
    metrics.add(outcome(22, OUT.TIMED_OUT, 300))
    metrics.add(outcome(23, OUT.TRANSFERRED, 9))
    return metrics


def test_scripted_traffic_gives_exact_figures() -> None:
    got = scripted().last(Q110, 5, NOON + 59)
    assert (got.offered, got.answered, got.abandoned, got.abandoned_short) == (13, 6, 3, 2)
    assert (got.withdrawn, got.exit_key, got.timed_out, got.transferred) == (1, 1, 1, 1)
    assert got.early_release_rate == pytest.approx(3 / 13)
    assert got.early_release_rate_excl_short == pytest.approx(1 / 11)
    assert got.service_level == pytest.approx(4 / 6)  # 3, 8, 15 and exactly 20 s
    assert got.asa == pytest.approx((3 + 8 + 15 + 20 + 25 + 40) / 6)
    assert got.average_abandon_wait == pytest.approx(37 / 3)


def test_withdrawals_and_key_exits_are_not_early_releases() -> None:
    metrics = QueueMetrics()
    metrics.add(outcome(0, OUT.WITHDRAWN, 40))
    metrics.add(outcome(1, OUT.EXIT_KEY, 40))
    got = metrics.last(Q110, 5, NOON)
    assert got.offered == 2 and got.abandoned == 0
    assert got.early_release_rate == 0.0


def test_empty_window_has_no_rates() -> None:
    got = QueueMetrics().last(Q110, 60, NOON)
    assert got.offered == 0
    assert got.early_release_rate is None and got.service_level is None and got.asa is None


def test_a_caller_counts_in_the_minute_it_joined() -> None:
    metrics = QueueMetrics()
    # Joined at 11:59:50, hung up 40 s later at 12:00:30: it belongs to 11:59.
    metrics.add(outcome(-10, OUT.ABANDONED, 40))
    assert metrics.window(Q110, NOON, NOON + 300).offered == 0
    assert metrics.window(Q110, NOON - 60, NOON).abandoned == 1


def test_last_minutes_are_the_current_minute_and_those_before() -> None:
    metrics = QueueMetrics()
    metrics.add(outcome(-4 * 60, OUT.ANSWERED, 1))  # 11:56:00
    metrics.add(outcome(-5 * 60, OUT.ANSWERED, 1))  # 11:55:00
    now = NOON + 30  # 12:00:30: last 5 minutes are 11:56:00 .. 12:00:59
    got = metrics.last(Q110, 5, now)
    assert got.offered == 1
    assert (got.start, got.end) == (NOON - 4 * 60, NOON + 60)
    assert metrics.last(Q110, 60, now).offered == 2


def test_today_starts_at_midnight_in_shanghai() -> None:
    metrics = QueueMetrics()
    midnight = datetime(2026, 11, 30, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    metrics.add(CallerOutcome("q110-city", midnight - 1, OUT.ABANDONED, 9))  # 23:59:59 the 29th
    metrics.add(CallerOutcome("q110-city", midnight, OUT.ABANDONED, 9))  # 00:00:00 the 30th
    got = metrics.today(Q110, midnight + 30)
    assert got.abandoned == 1
    assert got.start == midnight
    # In UTC both calls are on the 29th: the configured zone decides.
    utc = QueueMetrics(MetricsConfig(timezone="UTC"))
    utc.add(CallerOutcome("q110-city", midnight - 1, OUT.ABANDONED, 9))
    utc.add(CallerOutcome("q110-city", midnight, OUT.ABANDONED, 9))
    assert utc.today(Q110, midnight + 30).abandoned == 2


def test_scopes_per_platform_district_and_all() -> None:
    metrics = QueueMetrics()
    metrics.add(CallerOutcome("q12345", NOON, OUT.ANSWERED, 5, platform="12345"))
    metrics.add(CallerOutcome("q110-370811", NOON, OUT.ABANDONED, 50, "110", "370811"))
    metrics.add(CallerOutcome("q110-city", NOON, OUT.ANSWERED, 5, "110", "370800"))
    assert metrics.last(Scope.platform("110"), 5, NOON).offered == 2
    assert metrics.last(Scope.district("370811"), 5, NOON).abandoned == 1
    assert metrics.last(ALL, 5, NOON).offered == 3
    assert Scope.queue("q12345") in metrics.scopes()


def test_old_buckets_are_pruned_and_late_outcomes_counted_apart() -> None:
    metrics = QueueMetrics(MetricsConfig(retention_minutes=1440))
    metrics.add(outcome(0, OUT.ANSWERED, 1))
    metrics.add(outcome(2 * 86400, OUT.ANSWERED, 1))  # two days later: the first bucket goes
    assert metrics.window(Q110, NOON - 60, NOON + 60).offered == 0
    metrics.add(outcome(5, OUT.ANSWERED, 1))  # a late outcome for a pruned minute
    assert metrics.dropped_late == 1
    assert len(metrics.buckets(Q110)) == 1
    metrics.add(CallerOutcome("q", NOON, OUT.ANSWERED, 1, caller_id="old"))  # pruned minute
    metrics.add(CallerOutcome("q", NOON + 2 * 86400, OUT.ANSWERED, 1, caller_id="a"))
    metrics.add(CallerOutcome("q", NOON + 4 * 86400, OUT.ANSWERED, 1, caller_id="b"))
    assert metrics.tracked_callers == 1  # duplicate tracking is pruned with the buckets


def test_a_replayed_outcome_counts_once() -> None:
    metrics = QueueMetrics()
    first = CallerOutcome("q110-city", NOON, OUT.ABANDONED, 12, caller_id="1764400000.7")
    metrics.add(first)
    metrics.add(first)  # replayed after an AMI reconnect
    metrics.add(CallerOutcome("q12345", NOON, OUT.ANSWERED, 3, caller_id="1764400000.7"))
    metrics.add(CallerOutcome("q110-city", NOON, OUT.ANSWERED, 3))  # no id: always counted
    metrics.add(CallerOutcome("q110-city", NOON, OUT.ANSWERED, 3))
    assert metrics.last(Q110, 5, NOON).offered == 3
    assert metrics.last(ALL, 5, NOON).offered == 4
    assert metrics.duplicates_ignored == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CallerOutcome("", NOON, OUT.ANSWERED, 1), "queue is empty"),
        (lambda: CallerOutcome("q", NOON, OUT.ANSWERED, -1), "wait must be >= 0"),
        (lambda: CallerOutcome("q", NOON, OUT.ANSWERED, math.nan), "wait must be >= 0"),
        (lambda: CallerOutcome("q", -5, OUT.ANSWERED, 1), "joined_at"),
        (lambda: CallerOutcome("q", NOON, "hung up", 1), "outcome must be"),  # type: ignore[arg-type]
        (lambda: MetricsConfig(service_level_s=0), "service_level_s"),
        (lambda: MetricsConfig(short_abandon_s=-1), "short_abandon_s"),
        (lambda: MetricsConfig(retention_minutes=60), "retention_minutes"),
        (lambda: QueueMetrics().window(Q110, NOON, NOON), "must be after start"),
        (lambda: QueueMetrics().last(Q110, 0, NOON), "minutes must be >= 1"),
    ],
)
def test_bad_input_is_named(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(Exception, match="Mars/Olympus"):
        MetricsConfig(timezone="Mars/Olympus")


def test_live_figures() -> None:
    live = LiveQueue(
        "q110-city",
        waiting_since=[NOON - 42, NOON - 7],
        members=[
            MemberState("agent1"),
            MemberState("agent2", paused=True),
            MemberState("agent3", in_call=True),
            MemberState("agent4", logged_in=False, paused=True),
        ],
    )
    got = live_figures(live, NOON)
    assert (got.callers_waiting, got.longest_wait) == (2, 42)
    assert (got.members_logged_in, got.members_available, got.members_paused) == (3, 1, 1)
    empty = live_figures(LiveQueue("q12345"), NOON)
    assert empty.longest_wait == 0 and empty.callers_waiting == 0
    both = combine_live([got, empty])
    assert both.callers_waiting == 2 and both.longest_wait == 42


# ---- properties -------------------------------------------------------------------------

QUEUES = ["q12345", "q110-city", "q110-370811"]
records = st.lists(
    st.builds(
        CallerOutcome,
        queue=st.sampled_from(QUEUES),
        joined_at=st.floats(NOON - 43200, NOON + 43200),
        outcome=st.sampled_from(list(Outcome)),
        wait=st.floats(0, 600),
        platform=st.sampled_from(["", "110", "12345"]),
        district=st.sampled_from(["", "370811", "370883"]),
    ),
    max_size=80,
)
minute_offsets = st.integers(-720, 720)


def brute_force(
    items: list[CallerOutcome], start: float, end: float, config: MetricsConfig
) -> Counts:
    """Counting straight from the records, by join minute: what the buckets must agree with."""
    total = Counts()
    for r in items:
        minute_start = (r.joined_at // 60) * 60
        if not start <= minute_start < end:
            continue
        total.offered += 1
        if r.outcome is OUT.ANSWERED:
            total.answered += 1
            total.answered_in_service_level += r.wait <= config.service_level_s
            total.answer_wait_total += r.wait
        elif r.outcome is OUT.ABANDONED:
            total.abandoned += 1
            total.abandoned_short += r.wait <= config.short_abandon_s
            total.abandon_wait_total += r.wait
        elif r.outcome is OUT.TIMED_OUT:
            total.timed_out += 1
        elif r.outcome is OUT.WITHDRAWN:
            total.withdrawn += 1
        elif r.outcome is OUT.EXIT_KEY:
            total.exit_key += 1
        else:
            total.transferred += 1
    return total


def feed(items: list[CallerOutcome]) -> QueueMetrics:
    metrics = QueueMetrics()
    for item in items:
        metrics.add(item)
    return metrics


def same(a: Counts, b: Counts) -> bool:
    ints = ["offered", "answered", "answered_in_service_level", "abandoned", "abandoned_short"]
    ints += ["timed_out", "withdrawn", "exit_key", "transferred"]
    floats_ok = math.isclose(a.answer_wait_total, b.answer_wait_total, abs_tol=1e-6)
    floats_ok &= math.isclose(a.abandon_wait_total, b.abandon_wait_total, abs_tol=1e-6)
    return floats_ok and all(getattr(a, n) == getattr(b, n) for n in ints)


@settings(max_examples=150, deadline=None)
@given(records, minute_offsets, st.integers(1, 1440))
def test_any_window_matches_counting_the_records(
    items: list[CallerOutcome], first: int, length: int
) -> None:
    metrics = feed(items)
    start, end = NOON + first * 60, NOON + (first + length) * 60
    for queue in QUEUES:
        subset = [r for r in items if r.queue == queue]
        got = metrics.counts(Scope.queue(queue), start, end)
        assert same(got, brute_force(subset, start, end, metrics.config))
    assert same(metrics.counts(ALL, start, end), brute_force(items, start, end, metrics.config))


@settings(max_examples=150, deadline=None)
@given(records, minute_offsets, st.integers(1, 600), st.integers(1, 600))
def test_windows_add_up_at_any_boundary(
    items: list[CallerOutcome], first: int, left: int, right: int
) -> None:
    metrics = feed(items)
    a, b, c = (NOON + m * 60 for m in (first, first + left, first + left + right))
    whole = metrics.counts(ALL, a, c)
    parts = metrics.counts(ALL, a, b)
    parts.add(metrics.counts(ALL, b, c))
    assert same(whole, parts)


@settings(max_examples=150, deadline=None)
@given(records)
def test_totals_add_up_and_rates_are_fractions(items: list[CallerOutcome]) -> None:
    metrics = feed(items)
    for scope in metrics.scopes():
        got = metrics.window(scope, NOON - 86400, NOON + 86400)
        diversions = got.timed_out + got.withdrawn + got.exit_key + got.transferred
        assert got.offered == got.answered + got.abandoned + diversions
        assert got.abandoned_short <= got.abandoned
        for rate in (got.early_release_rate, got.early_release_rate_excl_short, got.service_level):
            assert rate is None or 0.0 <= rate <= 1.0
        if got.early_release_rate is not None and got.early_release_rate_excl_short is not None:
            # Leaving out the short ones can only lower the rate.
            assert got.early_release_rate_excl_short <= got.early_release_rate + 1e-12
    queue_total = sum(
        metrics.counts(Scope.queue(q), NOON - 86400, NOON + 86400).offered for q in QUEUES
    )
    assert queue_total == len(items)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(NOON - 86400 * 400, NOON + 86400 * 400),
    st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Asia/Kolkata"]),
)
def test_local_midnight_is_the_start_of_the_local_day(now: float, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    midnight = local_midnight(now, zone)
    local = datetime.fromtimestamp(midnight, zone)
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert local.date() == datetime.fromtimestamp(now, zone).date()
    assert midnight <= now


@settings(max_examples=100, deadline=None)
@given(st.floats(NOON - 3 * 3600, NOON + 3 * 3600), st.integers(0, 120_000))
def test_today_counts_exactly_the_callers_joined_since_local_midnight(
    now: float, before_ms: int
) -> None:
    before = before_ms / 1000
    zone = ZoneInfo("Asia/Shanghai")
    midnight = local_midnight(now, zone)
    metrics = QueueMetrics()
    metrics.add(CallerOutcome("q", midnight, OUT.ANSWERED, 1))
    if before > 0:
        metrics.add(CallerOutcome("q", midnight - before, OUT.ANSWERED, 1))
    assert metrics.today(Scope.queue("q"), now).offered == (1 if midnight <= now else 0)


def test_series_splits_a_range_into_steps() -> None:
    metrics = scripted()
    metrics.add(outcome(3600 - 1, OUT.ABANDONED, 3))  # 12:59:59
    hour = metrics.series(Q110, NOON, NOON + 3600, 5)
    assert len(hour) == 12
    assert (hour[0].start, hour[0].end, hour[-1].end) == (NOON, NOON + 300, NOON + 3600)
    assert [w.offered for w in hour] == [13] + [0] * 10 + [1]
    assert sum(w.abandoned for w in hour) == metrics.window(Q110, NOON, NOON + 3600).abandoned
    uneven = metrics.series(Q110, NOON, NOON + 7 * 60, 5)
    assert [(w.end - w.start) // 60 for w in uneven] == [5, 2]
    with pytest.raises(ValueError, match="step_minutes"):
        metrics.series(Q110, NOON, NOON + 60, 0)


def test_figures_from_persisted_buckets() -> None:
    metrics = scripted()
    restored = Counts()
    for bucket in metrics.buckets(Q110).values():
        restored.add(bucket)
    assert figures(restored, NOON, NOON + 60) == metrics.window(Q110, NOON, NOON + 60)
