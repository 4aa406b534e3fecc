"""Pure rules of the three-party call (caller + 12345 + 110): who accepts, and what an ending
does to the people still in the room.

Acceptance (MISSION.md, "three-party call"):

1. danger to life, property or public safety (the ticket marked urgent, or the classifier says
   so) -> 110 accepts first, whatever the agents said; the reason is recorded;
2. otherwise the agents' decision: each agent's latest word counts; one agent deciding is
   enough, two agreeing is recorded as agreed;
3. the two agents disagreeing, or nobody deciding before the end -> the platform that received
   the call first (the tie-break, recorded as such).

No I/O: the bridge (bridge.conferences) feeds in votes and room changes and acts on the answers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Rule(StrEnum):
    URGENT = "urgent"  # danger: 110 first
    AGREED = "agreed"  # both agents named the same platform
    DECISION = "decision"  # one agent decided, the other said nothing
    TIE_BREAK = "tie_break"  # no decision, or a disagreement: the first platform


class Role(StrEnum):
    CALLER = "caller"
    ORIGIN_AGENT = "origin_agent"
    OTHER_AGENT = "other_agent"


class Step(StrEnum):
    """What the bridge does after someone left the room."""

    KEEP = "keep"  # the ones left stay together in the room
    CLOSE_ROOM = "close_room"  # kick everyone left and hang up any leg still ringing
    HAND_CALLER = "hand_caller"  # send the caller to the accepting platform's queue


AGENTS = frozenset({Role.ORIGIN_AGENT, Role.OTHER_AGENT})


@dataclass(frozen=True)
class Vote:
    """One agent's word: `platform` (an id) should accept. `at` is epoch seconds."""

    voter_platform: str  # the platform the agent works for
    by: str  # the agent id
    platform: str
    at: float


@dataclass(frozen=True)
class Acceptance:
    platform: str
    rule: Rule
    by: str  # the deciding agent(s), or "rule" when a rule decided
    reason: str


def vote_for_key(key: str, voter_platform: str, other_platform: str) -> str:
    """The platform a key in the room's menu names: 1 = mine accepts, 2 = the other side."""
    if key == "1":
        return voter_platform
    if key == "2":
        return other_platform
    raise ValueError(f"conference key must be 1 (accept here) or 2 (other side), got {key!r}")


def decide(
    *,
    platforms: tuple[str, str],
    first_platform: str,
    police_platform: str | None,
    votes: Sequence[Vote],
    danger: str = "",
) -> Acceptance:
    """Who accepts now. `platforms` are the two in the call; `danger` is why the request is a
    danger to life/property/public safety ("" when it is not)."""
    if first_platform not in platforms:
        raise ValueError(f"first platform {first_platform!r} is not one of {platforms}")
    for vote in votes:
        if vote.platform not in platforms:
            raise ValueError(f"vote by {vote.by} names {vote.platform!r}, not one of {platforms}")
    latest = _latest_per_voter(votes)
    said = "; ".join(f"{v.by} ({v.voter_platform}) said {v.platform}" for v in latest)
    if danger and police_platform is not None:
        reason = f"danger to life, property or public safety: {danger}; 110 dispatches first"
        return Acceptance(police_platform, Rule.URGENT, "rule", f"{reason}. {said}".strip(". "))
    named = {vote.platform for vote in latest}
    if not latest:
        reason = f"no decision when the conference ended: {first_platform} received the call first"
        return Acceptance(first_platform, Rule.TIE_BREAK, "rule", reason)
    if len(named) > 1:
        reason = f"the agents disagreed ({said}): {first_platform} received the call first"
        return Acceptance(first_platform, Rule.TIE_BREAK, "rule", reason)
    (platform,) = named
    by = ",".join(vote.by for vote in latest)
    rule = Rule.AGREED if len(latest) > 1 else Rule.DECISION
    return Acceptance(platform, rule, by, said)


def _latest_per_voter(votes: Sequence[Vote]) -> list[Vote]:
    """Each platform's latest word (an agent may change their mind), oldest first."""
    latest: dict[str, Vote] = {}
    for vote in sorted(votes, key=lambda v: v.at):
        latest[vote.voter_platform] = vote
    return sorted(latest.values(), key=lambda v: v.at)


def after_leave(
    left: Role,
    remaining: Collection[Role],
    accepting: Role | None,
    *,
    keep_in_room: bool,
    ringing: bool = False,
) -> Step:
    """What to do once `left` has left and `remaining` are still in the room.

    `accepting` is the role of the agent whose platform accepts (None: not decided, e.g. the
    other side never answered). `keep_in_room` keeps caller and the remaining agent together
    even when that agent is not the accepting side. `ringing`: the other side is still being
    called into the room.
    """
    if left is Role.CALLER or Role.CALLER not in remaining:
        return Step.CLOSE_ROOM  # the caller gone: nobody is left to serve
    agents = [role for role in remaining if role in AGENTS]
    if not agents:
        # Alone, the caller hears music while the other side is rung and is answered in the
        # room; otherwise the caller must not wait there (nor be dropped): to a queue.
        return Step.KEEP if ringing else Step.HAND_CALLER
    if len(agents) > 1 or keep_in_room or accepting is None or agents[0] is accepting:
        return Step.KEEP
    return Step.HAND_CALLER
