"""The linkage-ticket state machine and deadline rules (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.tickets import (
    TRANSITIONS,
    DeadlineRule,
    IllegalTransition,
    Kind,
    TicketStatus,
    Urgency,
    check_reason,
    check_transition,
    deadline_rule,
    is_linked_not_acted,
    is_overdue,
    parse_deadline_policy,
    sources_of,
)

S = TicketStatus
T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
RULE = DeadlineRule(act_within=timedelta(hours=1), close_within=timedelta(hours=24))


def test_the_feedback_loop_path_is_legal() -> None:
    path = [S.CREATED, S.TRANSFERRING, S.QUEUED, S.ACCEPTED, S.IN_PROGRESS]
    path += [S.FEEDBACK_GIVEN, S.CLOSED]
    for current, target in pairwise(path):
        check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.CREATED, S.ACCEPTED),
        (S.QUEUED, S.CLOSED),
        (S.CLOSED, S.CREATED),
        (S.ACCEPTED, S.QUEUED),
        (S.FEEDBACK_GIVEN, S.ACCEPTED),
    ],
)
def test_illegal_transitions_name_both_states(current: S, target: S) -> None:
    with pytest.raises(IllegalTransition, match=f"{current.value} -> {target.value}"):
        check_transition(current, target)


def test_closed_is_final() -> None:
    with pytest.raises(IllegalTransition, match="none \\(final state\\)"):
        check_transition(S.CLOSED, S.IN_PROGRESS)


def test_failure_states_can_be_retried_or_closed() -> None:
    for status in (S.RETURNED, S.REJECTED, S.TRANSFER_FAILED):
        check_transition(status, S.TRANSFERRING)
        check_transition(status, S.CLOSED)


@given(st.sampled_from(list(S)), st.sampled_from(list(S)))
def test_sources_of_agrees_with_check_transition(current: S, target: S) -> None:
    legal = current in sources_of(target)
    if legal:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(current, target)


def test_every_state_reaches_closed() -> None:
    for start in S:
        seen, frontier = {start}, [start]
        while frontier:
            for nxt in TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert S.CLOSED in seen, start


def test_overdue_only_when_unhandled_past_close_within() -> None:
    late = T0 + timedelta(hours=25)
    assert is_overdue(S.ACCEPTED, T0, RULE, late)
    assert not is_overdue(S.ACCEPTED, T0, RULE, T0 + timedelta(hours=23))
    assert not is_overdue(S.FEEDBACK_GIVEN, T0, RULE, late)
    assert not is_overdue(S.CLOSED, T0, RULE, late)
    # Exactly at the deadline is still on time.
    assert not is_overdue(S.QUEUED, T0, RULE, T0 + timedelta(hours=24))


def test_linked_not_acted_is_accepted_and_untouched_past_act_within() -> None:
    accepted = T0 + timedelta(minutes=5)
    later = accepted + timedelta(hours=2)
    assert is_linked_not_acted(S.ACCEPTED, accepted, RULE, later)
    assert not is_linked_not_acted(S.ACCEPTED, accepted, RULE, accepted + timedelta(minutes=59))
    assert not is_linked_not_acted(S.IN_PROGRESS, accepted, RULE, later)
    with pytest.raises(ValueError, match="accepted_at"):
        is_linked_not_acted(S.ACCEPTED, None, RULE, later)


def test_policy_from_config_and_lookup() -> None:
    policy = parse_deadline_policy(
        {"求助": {"urgent": {"act_within_s": 600, "close_within_s": 3600}}}
    )
    rule = deadline_rule(policy, Kind.HELP, Urgency.URGENT)
    assert rule.act_within == timedelta(minutes=10)
    with pytest.raises(KeyError, match="咨询"):
        deadline_rule(policy, Kind.CONSULTATION, Urgency.URGENT)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"求救": {}}, "deadlines: kind '求救'"),
        ({"求助": {"soon": {}}}, "urgency 'soon'"),
        ({"求助": {"urgent": {"act_within_s": 5}}}, "close_within_s is missing"),
        ({"求助": {"urgent": {"act_within_s": -1, "close_within_s": 5}}}, "act_within_s must"),
        ({"求助": {"urgent": {"act_within_s": "5", "close_within_s": 5}}}, "act_within_s must"),
    ],
)
def test_bad_policy_names_the_field(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_deadline_policy(raw)


def test_rule_rejects_non_positive_durations() -> None:
    with pytest.raises(ValueError, match="act_within"):
        DeadlineRule(act_within=timedelta(0), close_within=timedelta(hours=1))


@pytest.mark.parametrize("target", [S.RETURNED, S.REJECTED, S.TRANSFER_FAILED])
def test_sending_back_or_failing_needs_a_reason(target: S) -> None:
    with pytest.raises(ValueError, match=f"reason.*{target.value}"):
        check_reason(target, "  ")
    check_reason(target, "目标队列不存在")
    check_reason(S.ACCEPTED, "")
