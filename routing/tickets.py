"""Pure rules for linkage tickets (联动单): the words, the state machine and the deadlines.

No I/O here: the Redis store in `bridge.tickets` asks these functions what is legal and when a
ticket is late, so the rules live in one place and are tested without a server.

State machine (受理反馈闭环, the feedback loop)::

    created ─► transferring ─► queued ─► accepted ─► in_progress ─► feedback_given ─► closed
       │             │            │          │             │               │
       │             ▼            ▼          ▼             ▼               └─► in_progress
       └──► transfer_failed ◄─────┘      returned / rejected                     (reopened)

`returned` (sent back to the origin), `rejected` and `transfer_failed` are not dead ends: the
origin may send the ticket again (transferring / queued) or close it. `closed` is final.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar


class Platform(StrEnum):
    HOTLINE_12345 = "12345"
    POLICE_110 = "110"


class Level(StrEnum):
    CITY = "city"
    COUNTY = "county"


class Direction(StrEnum):
    """Which way a ticket travels; a county 110 → 12345 ticket passes city 110 (two hops)."""

    CITY_12345_TO_CITY_110 = "12345->110"
    CITY_110_TO_CITY_12345 = "110->12345"
    CITY_110_TO_COUNTY_110 = "110->county110"
    COUNTY_110_TO_CITY_12345 = "county110->12345"


class Kind(StrEnum):
    """The annex's five request kinds, in the documents' own words."""

    REPORT = "报警"
    CONSULTATION = "咨询"
    HELP = "求助"
    COMPLAINT = "投诉举报"
    SUGGESTION = "意见建议"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    CRITICAL = "critical"


class TicketStatus(StrEnum):
    CREATED = "created"
    TRANSFERRING = "transferring"
    QUEUED = "queued"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    FEEDBACK_GIVEN = "feedback_given"
    CLOSED = "closed"
    RETURNED = "returned"
    REJECTED = "rejected"
    TRANSFER_FAILED = "transfer_failed"


S = TicketStatus
TRANSITIONS: Mapping[TicketStatus, frozenset[TicketStatus]] = {
    # An internet-channel ticket has no phone leg: it goes straight to the other platform's list.
    S.CREATED: frozenset({S.TRANSFERRING, S.QUEUED, S.TRANSFER_FAILED, S.CLOSED}),
    S.TRANSFERRING: frozenset({S.QUEUED, S.TRANSFER_FAILED}),
    # Nobody answering in time is a failed transfer: the caller goes back to the origin.
    S.QUEUED: frozenset({S.ACCEPTED, S.RETURNED, S.REJECTED, S.TRANSFER_FAILED}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS, S.FEEDBACK_GIVEN, S.RETURNED, S.REJECTED}),
    S.IN_PROGRESS: frozenset({S.FEEDBACK_GIVEN, S.RETURNED}),
    # The origin closes the loop, or reopens it when the feedback does not settle the matter.
    S.FEEDBACK_GIVEN: frozenset({S.CLOSED, S.IN_PROGRESS}),
    S.RETURNED: frozenset({S.TRANSFERRING, S.QUEUED, S.CLOSED}),
    S.REJECTED: frozenset({S.TRANSFERRING, S.QUEUED, S.CLOSED}),
    S.TRANSFER_FAILED: frozenset({S.TRANSFERRING, S.QUEUED, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# States in which the handling asked of the receiving platform is done: no longer overdue.
HANDLED = frozenset({S.FEEDBACK_GIVEN, S.CLOSED, S.REJECTED})

# Moves that send work back or report a failure must say why (the origin has to act on it).
NEEDS_REASON = frozenset({S.RETURNED, S.REJECTED, S.TRANSFER_FAILED})

E = TypeVar("E", bound=StrEnum)


class IllegalTransition(ValueError):
    def __init__(self, current: TicketStatus, target: TicketStatus) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        super().__init__(
            f"illegal ticket transition {current.value} -> {target.value}; "
            f"allowed from {current.value}: {allowed}"
        )
        self.current = current
        self.target = target


def check_transition(current: TicketStatus, target: TicketStatus) -> None:
    """Raise IllegalTransition unless `current -> target` is an edge of the state machine."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)


def check_reason(target: TicketStatus, note: str) -> None:
    """Raise ValueError when `target` needs a reason and `note` gives none."""
    if target in NEEDS_REASON and not note.strip():
        raise ValueError(f"note (the reason) is required when moving a ticket to {target.value}")


def sources_of(target: TicketStatus) -> frozenset[TicketStatus]:
    """Every state from which `target` may be reached (what the atomic Redis update checks)."""
    return frozenset(src for src, targets in TRANSITIONS.items() if target in targets)


@dataclass(frozen=True)
class DeadlineRule:
    """How long the receiving platform has.

    act_within: from acceptance to the first action (in_progress or feedback); past it an
    accepted ticket is "linked but not acted on" (联而不动).
    close_within: from creation to feedback; past it an unhandled ticket is overdue (督办).
    """

    act_within: timedelta
    close_within: timedelta

    def __post_init__(self) -> None:
        for name in ("act_within", "close_within"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"deadline {name} must be positive, got {getattr(self, name)}")


DeadlinePolicy = Mapping[tuple[Kind, Urgency], DeadlineRule]


def deadline_rule(policy: DeadlinePolicy, kind: Kind, urgency: Urgency) -> DeadlineRule:
    try:
        return policy[(kind, urgency)]
    except KeyError:
        raise KeyError(
            f"no deadline configured for kind {kind.value!r} with urgency {urgency.value!r}"
        ) from None


def parse_deadline_policy(raw: Mapping[str, Mapping[str, Mapping[str, float]]]) -> DeadlinePolicy:
    """Build a policy from config shaped `{kind: {urgency: {act_within_s, close_within_s}}}`."""
    policy: dict[tuple[Kind, Urgency], DeadlineRule] = {}
    for kind_text, by_urgency in raw.items():
        kind = _parse_enum(Kind, kind_text, "deadlines: kind")
        for urgency_text, rule in by_urgency.items():
            urgency = _parse_enum(Urgency, urgency_text, f"deadlines.{kind_text}: urgency")
            where = f"deadlines.{kind_text}.{urgency_text}"
            policy[(kind, urgency)] = DeadlineRule(
                act_within=timedelta(seconds=_seconds(rule, "act_within_s", where)),
                close_within=timedelta(seconds=_seconds(rule, "close_within_s", where)),
            )
    return policy


def _parse_enum(enum: type[E], text: str, where: str) -> E:
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValueError(f"{where} {text!r} is not one of: {allowed}") from None


def _seconds(rule: Mapping[str, float], name: str, where: str) -> float:
    if name not in rule:
        raise ValueError(f"{where}.{name} is missing")
    value = rule[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{where}.{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def due_at(created_at: datetime, rule: DeadlineRule) -> datetime:
    return created_at + rule.close_within


def act_due_at(accepted_at: datetime, rule: DeadlineRule) -> datetime:
    return accepted_at + rule.act_within


def is_overdue(
    status: TicketStatus, created_at: datetime, rule: DeadlineRule, now: datetime
) -> bool:
    """Late for supervision (跟踪督办): still unhandled after close_within."""
    return status not in HANDLED and now > due_at(created_at, rule)


def is_linked_not_acted(
    status: TicketStatus, accepted_at: datetime | None, rule: DeadlineRule, now: datetime
) -> bool:
    """联而不动: accepted, yet no action taken past act_within."""
    if status is not TicketStatus.ACCEPTED:
        return False
    if accepted_at is None:
        raise ValueError("an accepted ticket must have accepted_at")
    return now > act_due_at(accepted_at, rule)
