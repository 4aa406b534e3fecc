"""Who accepts a three-party call, and what an ending does (routing.conference_rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.conference_rules import (
    Acceptance,
    Role,
    Rule,
    Step,
    Vote,
    after_leave,
    decide,
    vote_for_key,
)

HOTLINE, POLICE = "city-12345", "city-110"
PAIR = (HOTLINE, POLICE)


def acceptance(votes: list[Vote], *, first: str = HOTLINE, danger: str = "") -> Acceptance:
    return decide(
        platforms=PAIR, first_platform=first, police_platform=POLICE, votes=votes, danger=danger
    )


def test_one_agent_deciding_is_enough() -> None:
    result = acceptance([Vote(HOTLINE, "12345-01", POLICE, 10.0)])
    assert (result.platform, result.rule, result.by) == (POLICE, Rule.DECISION, "12345-01")
    assert "12345-01 (city-12345) said city-110" in result.reason


def test_two_agents_agreeing_is_recorded_as_agreed() -> None:
    votes = [Vote(HOTLINE, "12345-01", HOTLINE, 1.0), Vote(POLICE, "110-07", HOTLINE, 2.0)]
    result = acceptance(votes, first=POLICE)
    assert (result.platform, result.rule, result.by) == (HOTLINE, Rule.AGREED, "12345-01,110-07")


def test_no_decision_goes_to_the_platform_that_received_the_call_first() -> None:
    for first in PAIR:
        result = acceptance([], first=first)
        assert (result.platform, result.rule, result.by) == (first, Rule.TIE_BREAK, "rule")
        assert (
            "no decision" in result.reason and f"{first} received the call first" in result.reason
        )


def test_a_disagreement_is_a_tie_break_to_the_first_platform() -> None:
    votes = [Vote(HOTLINE, "12345-01", POLICE, 1.0), Vote(POLICE, "110-07", HOTLINE, 2.0)]
    result = acceptance(votes, first=POLICE)
    assert (result.platform, result.rule) == (POLICE, Rule.TIE_BREAK)
    assert "disagreed" in result.reason


def test_an_agent_changing_their_mind_counts_their_latest_word() -> None:
    votes = [
        Vote(POLICE, "110-07", HOTLINE, 1.0),
        Vote(HOTLINE, "12345-01", POLICE, 2.0),
        Vote(POLICE, "110-07", POLICE, 3.0),
    ]
    result = acceptance(votes)
    assert (result.platform, result.rule) == (POLICE, Rule.AGREED)


def test_danger_sends_it_to_110_whatever_was_said_and_says_why() -> None:
    votes = [Vote(HOTLINE, "12345-01", HOTLINE, 1.0), Vote(POLICE, "110-07", HOTLINE, 2.0)]
    result = acceptance(votes, danger="ticket marked urgent")
    assert (result.platform, result.rule, result.by) == (POLICE, Rule.URGENT, "rule")
    assert "ticket marked urgent" in result.reason and "110 dispatches first" in result.reason
    assert "110-07 (city-110) said city-12345" in result.reason


@given(
    st.lists(
        st.tuples(st.sampled_from(PAIR), st.sampled_from(PAIR), st.floats(0, 1e9)), max_size=6
    ),
    st.sampled_from(PAIR),
)
def test_danger_always_wins_and_otherwise_the_answer_is_one_of_the_two(
    raw: list[tuple[str, str, float]], first: str
) -> None:
    votes = [Vote(voter, f"agent-{voter}", named, at) for voter, named, at in raw]
    assert acceptance(votes, first=first, danger="weapon").platform == POLICE
    assert acceptance(votes, first=first).platform in PAIR


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="first platform 'x'"):
        acceptance([], first="x")
    with pytest.raises(ValueError, match="vote by a names 'county'"):
        acceptance([Vote(HOTLINE, "a", "county", 1.0)])
    with pytest.raises(ValueError, match=r"must be 1 .* or 2"):
        vote_for_key("3", HOTLINE, POLICE)


def test_keys_name_my_platform_or_the_other() -> None:
    assert vote_for_key("1", HOTLINE, POLICE) == HOTLINE
    assert vote_for_key("2", HOTLINE, POLICE) == POLICE


C, A, X = Role.CALLER, Role.ORIGIN_AGENT, Role.OTHER_AGENT


@pytest.mark.parametrize(
    ("left", "remaining", "accepting", "keep", "step"),
    [
        # The caller hanging up ends the room and every other leg.
        (C, {A, X}, X, False, Step.CLOSE_ROOM),
        (C, {A}, None, True, Step.CLOSE_ROOM),
        # Only agents left: closed.
        (A, {X}, X, False, Step.CLOSE_ROOM),
        # An agent leaving: the caller stays with the accepting side...
        (A, {C, X}, X, False, Step.KEEP),
        # ...or is handed to it when the one left is not the accepting side...
        (X, {C, A}, X, False, Step.HAND_CALLER),
        # ...unless the config keeps the two together.
        (X, {C, A}, X, True, Step.KEEP),
        # The other side never came: the caller stays with the first agent.
        (X, {C, A}, None, False, Step.KEEP),
        # The caller alone is never left in the room nor dropped.
        (A, {C}, None, False, Step.HAND_CALLER),
        (A, {C}, X, True, Step.HAND_CALLER),
    ],
)
def test_after_leave(
    left: Role, remaining: set[Role], accepting: Role | None, keep: bool, step: Step
) -> None:
    assert after_leave(left, remaining, accepting, keep_in_room=keep) is step


def test_a_caller_left_alone_while_the_other_side_rings_waits_for_it() -> None:
    assert after_leave(A, {C}, None, keep_in_room=False, ringing=True) is Step.KEEP
    # ...but the caller hanging up still ends it all, ringing or not.
    assert after_leave(C, {A}, None, keep_in_room=False, ringing=True) is Step.CLOSE_ROOM
