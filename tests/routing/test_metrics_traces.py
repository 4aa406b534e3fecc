"""The metric definitions against real Asterisk 22 queue traces (02, 03, 10, 11).

A minimal event reader here (test code, not the product's monitor) turns each trace into the
plain facts of `QueueStay`; `classify_exit` and `QueueMetrics` must then give what really
happened: a plain hang-up is an early release with Asterisk's HoldTime as the wait, a withdrawn
caller is a withdrawal although Asterisk also sent QueueCallerAbandon, a key exit is a key exit.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from routing.metrics import (
    CallerOutcome,
    Outcome,
    QueueMetrics,
    QueueStay,
    Scope,
    classify_exit,
)
from tests.traces import TRACES_DIR, read_trace

START = 1_795_945_560.0  # any whole-minute origin: trace times are seconds from the start


@dataclass
class Stay:
    joined_at: float
    join_context: str
    left_at: float | None = None
    leave_context: str = ""
    answered_hold: float | None = None
    abandon_hold: float | None = None
    withdrawn: bool = False
    queuestatus: str = ""


def events(name: str) -> list[tuple[float, dict[str, str]]]:
    found = []
    for record in read_trace(TRACES_DIR / f"{name}.ami.txt"):
        if record.direction != "S->C":
            continue
        lines = record.data.decode("utf-8").split("\r\n")
        fields = dict(line.split(": ", 1) for line in lines if ": " in line)
        if "Event" in fields:
            found.append((record.t, fields))
    return found


def stays(name: str) -> dict[tuple[str, str], Stay]:
    """(uniqueid, queue) -> what happened to that caller in that queue."""
    result: dict[tuple[str, str], Stay] = {}
    last_left: dict[str, Stay] = {}  # QUEUESTATUS belongs to the queue the caller just left
    current: dict[str, Stay] = {}
    for t, e in events(name):
        kind, uid, queue = e["Event"], e.get("Uniqueid", ""), e.get("Queue", "")
        if kind == "QueueCallerJoin":
            result[(uid, queue)] = current[uid] = Stay(t, e["Context"])
        elif kind == "AgentConnect" and (uid, queue) in result:
            result[(uid, queue)].answered_hold = float(e["HoldTime"])
        elif kind == "QueueCallerAbandon":
            result[(uid, queue)].abandon_hold = float(e["HoldTime"])
        elif kind == "QueueCallerLeave":
            stay = result[(uid, queue)]
            stay.left_at, stay.leave_context = t, e["Context"]
            last_left[uid] = stay
        elif kind == "VarSet" and e.get("Variable") == "QUEUE_WITHDRAW_INFO":
            current[uid].withdrawn = True
        elif kind == "VarSet" and e.get("Variable") == "QUEUESTATUS" and uid in last_left:
            last_left[uid].queuestatus = e.get("Value", "")
    return result


def outcomes(name: str) -> list[CallerOutcome]:
    made = []
    for (uid, queue), stay in stays(name).items():
        assert stay.left_at is not None, (name, uid, queue)
        outcome = classify_exit(
            QueueStay(
                answered=stay.answered_hold is not None,
                abandon_event=stay.abandon_hold is not None,
                withdrawn=stay.withdrawn,
                queuestatus=stay.queuestatus,
                left_to_other_context=stay.leave_context != stay.join_context,
            )
        )
        # Asterisk's own HoldTime (seconds waited) where it gives one, else leave - join.
        wait = stay.left_at - stay.joined_at
        if outcome is Outcome.ANSWERED and stay.answered_hold is not None:
            wait = stay.answered_hold
        if outcome is Outcome.ABANDONED and stay.abandon_hold is not None:
            wait = stay.abandon_hold
        made.append(CallerOutcome(queue, START + stay.joined_at, outcome, wait, caller_id=uid))
    return made


def figures_of(name: str) -> tuple[QueueMetrics, list[CallerOutcome]]:
    metrics = QueueMetrics()
    made = outcomes(name)
    for item in made:
        metrics.add(item)
    return metrics, made


def window(metrics: QueueMetrics, queue: str) -> tuple[int, int, int, int, int]:
    got = metrics.window(Scope.queue(queue), START, START + 60)
    return got.offered, got.answered, got.abandoned, got.withdrawn, got.exit_key


def test_trace_03_a_hang_up_in_the_queue_is_an_early_release_with_its_hold_time() -> None:
    metrics, made = figures_of("03_queue_abandon")
    assert window(metrics, "q110-370883") == (1, 0, 1, 0, 0)
    assert [m.wait for m in made] == [3.0]
    got = metrics.window(Scope.queue("q110-370883"), START, START + 60)
    assert got.early_release_rate == 1.0
    assert got.abandoned_short == 1  # 3 s is within the 5 s short threshold


def test_trace_11_a_withdrawn_caller_is_not_an_early_release() -> None:
    metrics, _ = figures_of("11_queue_withdraw")
    # Caller 171 was withdrawn to county support seats (Asterisk still sent QueueCallerAbandon);
    # caller 173 really hung up after 5 s. One early release out of two offered.
    assert window(metrics, "q12345") == (2, 0, 1, 1, 0)
    assert metrics.window(Scope.queue("q12345"), START, START + 60).early_release_rate == 0.5
    assert window(metrics, "q110-370811") == (1, 1, 0, 0, 0)


def test_trace_10_leaving_by_key_is_a_key_exit_although_queuestatus_stays_empty() -> None:
    metrics, _ = figures_of("10_queue_context_exit")
    assert window(metrics, "q110-city") == (1, 0, 0, 0, 1)
    assert window(metrics, "q12345") == (1, 1, 0, 0, 0)


@pytest.mark.parametrize("name", ["02_originate_queue", "04_redirect_requeue"])
def test_answered_callers_count_with_asterisks_hold_time(name: str) -> None:
    metrics, made = figures_of(name)
    assert {m.outcome for m in made} == {Outcome.ANSWERED}
    assert all(m.wait == 1.0 for m in made)
    total = metrics.window(Scope("all"), START, START + 60)
    assert total.offered == total.answered == len(made)


def test_classify_exit_order() -> None:
    assert classify_exit(QueueStay(answered=True, abandon_event=True)) is Outcome.ANSWERED
    assert classify_exit(QueueStay(abandon_event=True, withdrawn=True)) is Outcome.WITHDRAWN
    assert classify_exit(QueueStay(queuestatus="WITHDRAW")) is Outcome.WITHDRAWN
    assert classify_exit(QueueStay(left_to_other_context=True)) is Outcome.EXIT_KEY
    assert classify_exit(QueueStay(queuestatus="TIMEOUT")) is Outcome.TIMED_OUT
    assert classify_exit(QueueStay(abandon_event=True)) is Outcome.ABANDONED
    assert classify_exit(QueueStay(queuestatus="LEAVEEMPTY")) is Outcome.TRANSFERRED
