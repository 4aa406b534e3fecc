"""The tracker: recorded Asterisk 22 traces and scripted sequences -> the right outcomes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.monitoring.config import QueueDirectory, QueueInfo
from bridge.monitoring.tracker import (
    ClosedCaller,
    QueueTracker,
    number_withheld,
    presentation_withheld,
)
from routing.metrics import Outcome
from telephony.ami.events import to_event
from telephony.ami.parser import AMIParser
from tests.bridge.test_monitoring_traffic import Caller, message
from tests.traces import TRACES_DIR, read_trace

DIRECTORY = QueueDirectory(
    [
        QueueInfo("q110-city", "110-370800", "济宁市110", "370800", "pbx-110"),
        QueueInfo("q110-370811", "110-370811", "任城区110", "370811", "pbx-110"),
        QueueInfo("q12345", "12345-370800", "济宁市12345", "370800", "pbx-12345"),
    ]
)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_tracker(clock: Clock) -> tuple[QueueTracker, list[ClosedCaller]]:
    closed: list[ClosedCaller] = []
    return QueueTracker(DIRECTORY, closed.append, clock, grace=0.5), closed


def replay_trace(name: str, tracker: QueueTracker, clock: Clock) -> None:
    """Feed the trace's Asterisk->client bytes record by record, the clock at each record."""
    start = clock.now
    parser = AMIParser()
    for record in read_trace(TRACES_DIR / name):
        if record.direction != "S->C":
            continue
        clock.now = start + record.t
        for parsed in parser.feed(record.data):
            tracker.apply(to_event(parsed))


def feed(tracker: QueueTracker, data: bytes) -> None:
    parser = AMIParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    for parsed in parser.feed(data):
        tracker.apply(to_event(parsed))


def outcomes(closed: list[ClosedCaller]) -> list[tuple[str, Outcome, float]]:
    return [(c.record.queue, c.record.outcome, c.record.wait) for c in closed]


def test_trace_03_abandon_is_an_early_release_with_its_hold_time() -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    replay_trace("03_queue_abandon.ami.txt", tracker, clock)
    assert outcomes(closed) == [("q110-370883", Outcome.ABANDONED, 3.0)]
    assert closed[0].number == "13800000003"
    assert closed[0].original_position == 1
    assert closed[0].lag == pytest.approx(0.0, abs=0.01)  # the Hangup decided at once


def test_trace_11_withdrawal_is_not_an_early_release() -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    replay_trace("11_queue_withdraw.ami.txt", tracker, clock)
    assert outcomes(closed) == [
        ("q12345", Outcome.WITHDRAWN, 5.0),
        ("q110-370811", Outcome.ANSWERED, 1.0),
        ("q12345", Outcome.ABANDONED, 5.0),  # the second caller, hung up while queued
    ]


def test_trace_10_leaving_by_key_is_an_exit_key() -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    replay_trace("10_queue_context_exit.ami.txt", tracker, clock)
    assert [(q, o) for q, o, _ in outcomes(closed)] == [
        ("q110-city", Outcome.EXIT_KEY),
        ("q12345", Outcome.ANSWERED),
    ]


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        ("02_originate_queue.ami.txt", [("q110-370811", Outcome.ANSWERED, 1.0)]),
        (
            "04_redirect_requeue.ami.txt",
            [("q110-370881", Outcome.ANSWERED, 1.0), ("q110-city", Outcome.ANSWERED, 1.0)],
        ),
        (
            "05_blind_transfer.ami.txt",
            [("q12345", Outcome.ANSWERED, 1.0), ("q110-city", Outcome.ANSWERED, 1.0)],
        ),
    ],
)
def test_answered_traces(trace: str, expected: list[tuple[str, Outcome, float]]) -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    replay_trace(trace, tracker, clock)
    assert outcomes(closed) == expected
    assert tracker.waiting() == []


def test_platform_and_district_come_from_the_directory() -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    replay_trace("11_queue_withdraw.ami.txt", tracker, clock)
    assert (closed[1].record.platform, closed[1].record.district) == ("110-370811", "370811")


def test_timeout_and_bridge_requests() -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    timed, withdrawn, redirected = (
        Caller("t1", "q110-city"),
        Caller("t2", "q110-city"),
        Caller("t3", "q110-city"),
    )
    feed(tracker, timed.join() + withdrawn.join(2) + redirected.join(3))
    clock.now += 30
    feed(tracker, timed.timed_out())
    tracker.note_withdraw("q110-city", "Local/caller@callers-t2;1")
    tracker.note_redirect("Local/caller@callers-t3;1")
    feed(tracker, withdrawn.abandon_event(30) + redirected.abandon_event(30))
    assert outcomes(closed) == [
        ("q110-city", Outcome.TIMED_OUT, 30.0),
        ("q110-city", Outcome.WITHDRAWN, 30.0),
        ("q110-city", Outcome.TRANSFERRED, 30.0),
    ]


def test_abandon_with_the_channel_already_elsewhere_is_a_transfer() -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    caller = Caller("r1", "q12345", exten="12345")
    feed(tracker, caller.join())
    moved = Caller("r1", "q12345", context="hb-queue", exten="110370800")
    feed(tracker, moved.abandon_event(8) + moved.leave())
    assert tracker.expire(clock.now + 0.5) == 1  # no Hangup follows: it lives on elsewhere
    assert outcomes(closed) == [("q12345", Outcome.TRANSFERRED, 8.0)]


def test_abandon_then_joining_another_queue_is_not_an_early_release() -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    first, then = Caller("j1", "q12345", exten="12345"), Caller("j1", "q110-city")
    feed(tracker, first.join() + first.abandon_event(4) + first.leave() + then.join())
    assert outcomes(closed) == [("q12345", Outcome.TRANSFERRED, 4.0)]
    assert [c.queue for c in tracker.waiting()] == ["q110-city"]


def test_undecided_callers_take_the_default_after_the_grace() -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    abandoned, left = Caller("g1", "q110-city"), Caller("g2", "q110-city")
    feed(tracker, abandoned.join() + left.join(2))
    clock.now += 12
    feed(tracker, abandoned.abandon_event(12) + left.leave())
    assert tracker.expire(clock.now + 0.4) == 0
    assert tracker.undecided == 2
    assert tracker.expire(clock.now + 0.5) == 2
    assert outcomes(closed) == [
        ("q110-city", Outcome.ABANDONED, 12.0),  # no Hangup seen: still an early release
        ("q110-city", Outcome.TRANSFERRED, 12.0),  # left, no status, no answer: moved away
    ]
    assert all(c.lag == pytest.approx(0.5) for c in closed)


def test_withheld_numbers() -> None:
    assert number_withheld("") and number_withheld("anonymous") and number_withheld("<unknown>")
    assert not number_withheld("13800000001")
    assert presentation_withheld("32 (Presentation Restricted, Not Screened)")
    assert presentation_withheld("67 (Number Unavailable, Screened)")
    assert not presentation_withheld("0 (Presentation Allowed, Not Screened)")
    clock = Clock()
    tracker, closed = make_tracker(clock)
    hidden = Caller("w1", "q110-city", number="13900000009")
    restricted = message(
        Event="NewCallerid",
        Channel="Local/caller@callers-w1;1",
        Uniqueid="w1",
        CallerIDNum="13900000009",
        **{"CID-CallingPres": "32 (Presentation Restricted, Not Screened)"},
    )
    feed(tracker, restricted + hidden.join() + hidden.early_release(3))
    assert closed[0].withheld


def test_resync_keeps_waiting_callers_adds_new_and_closes_gone() -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    kept, gone = Caller("k1", "q110-city"), Caller("k2", "q110-city")
    feed(tracker, kept.join() + gone.join(2))
    clock.now += 20
    new = Caller("k3", "q110-city")
    parser = AMIParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    items = [to_event(m) for m in parser.feed(kept.entry(1, 20, "qs-1") + new.entry(2, 6, "qs-1"))]
    tracker.resync(items, queues={"q110-city"})
    assert [(c.queue, c.outcome) for c in (x.record for x in closed)] == [
        ("q110-city", Outcome.TRANSFERRED)
    ]
    assert closed[0].closed_on_resync and closed[0].uniqueid == "k2"
    waiting = {c.uniqueid: c for c in tracker.waiting("q110-city")}
    assert set(waiting) == {"k1", "k3"}
    assert waiting["k1"].joined_at == clock.now - 20  # kept as first seen, not re-joined
    assert waiting["k3"].joined_at == clock.now - 6
    feed(tracker, new.early_release(9))
    assert closed[-1].record.outcome is Outcome.ABANDONED
    assert closed[-1].record.wait == 9.0


def test_trace_files_are_present() -> None:
    assert Path(TRACES_DIR / "03_queue_abandon.ami.txt").is_file()


def test_a_caller_first_seen_at_its_end_joined_hold_time_earlier() -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    answered, released = Caller("m1", "q110-city"), Caller("m2", "q110-city")
    feed(tracker, answered.answered(14) + released.early_release(9, position=3, original=4))
    assert outcomes(closed) == [
        ("q110-city", Outcome.ANSWERED, 14.0),
        ("q110-city", Outcome.ABANDONED, 9.0),
    ]
    assert closed[0].record.joined_at == clock.now - 14
    assert closed[1].record.joined_at == clock.now - 9
    assert (closed[1].position, closed[1].original_position) == (3, 4)


STORIES = {
    "answered": (Outcome.ANSWERED, lambda c: c.answered(7)),
    "early": (Outcome.ABANDONED, lambda c: c.early_release(7)),
    "withdrawn": (Outcome.WITHDRAWN, lambda c: c.withdrawn(7)),
    "exit_key": (Outcome.EXIT_KEY, lambda c: c.exit_key()),
    "timed_out": (Outcome.TIMED_OUT, lambda c: c.timed_out()),
}


@settings(max_examples=60, deadline=None)
@given(
    stories=st.lists(st.sampled_from(sorted(STORIES)), min_size=1, max_size=12),
    order=st.randoms(use_true_random=False),
)
def test_interleaved_callers_each_get_exactly_their_outcome(
    stories: list[str], order: random.Random
) -> None:
    clock = Clock()
    tracker, closed = make_tracker(clock)
    callers = [Caller(f"p{i}", "q110-city", f"1390000{i:04d}") for i in range(len(stories))]
    scripts = []
    for caller, story in zip(callers, stories, strict=True):
        parser = AMIParser()
        parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
        events = parser.feed(caller.join() + STORIES[story][1](caller))
        scripts.append([to_event(m) for m in events])
    # Interleave the callers' events at random, each caller's own events in order.
    while any(scripts):
        script = order.choice([s for s in scripts if s])
        tracker.apply(script.pop(0))
    tracker.expire(clock.now + 1)
    by_caller = {c.uniqueid: c.record.outcome for c in closed}
    assert len(closed) == len(stories)  # one outcome per caller: none lost, none twice
    assert by_caller == {
        caller.uid: STORIES[story][0] for caller, story in zip(callers, stories, strict=True)
    }
    assert tracker.waiting() == [] and tracker.undecided == 0
