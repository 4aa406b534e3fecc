"""What the demo saw happen, per queue and per notable event, and the `--json` summary.

Counts come from the AMI events the PBXs send (QueueCallerJoin, AgentConnect,
QueueCallerAbandon, QueueCallerLeave, UserEvent), the same stream a monitoring system reads.
Times are emulated seconds (the PBXs' clock), so a wait reads as the caller lived it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

EVENT_LINES_KEPT = 200


@dataclass
class QueueTally:
    queue: str
    offered: int = 0
    answered: int = 0
    early_releases: int = 0
    # caller key -> emulated time it joined, while it waits
    waiting: dict[str, float] = field(default_factory=dict)
    longest_answered_wait: float = 0.0

    @property
    def early_release_rate(self) -> float:
        return self.early_releases / self.offered if self.offered else 0.0

    def longest_wait(self, now: float) -> float:
        return max((now - joined for joined in self.waiting.values()), default=0.0)


@dataclass(frozen=True)
class Happening:
    at: float  # emulated seconds since the traffic started
    kind: str  # "transfer", "ticket", "early_release", "trunk_failed", "surge"
    text: str


@dataclass
class DemoTally:
    queues: dict[str, QueueTally] = field(default_factory=dict)
    happenings: deque[Happening] = field(default_factory=lambda: deque(maxlen=EVENT_LINES_KEPT))
    transfers: list[dict[str, Any]] = field(default_factory=list)
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls_placed: int = 0
    presses: int = 0
    new_happenings: list[Happening] = field(default_factory=list)
    _transfer_calls: list[str] = field(default_factory=list)  # caller Uniqueid per transfer

    def queue(self, name: str) -> QueueTally:
        found = self.queues.get(name)
        if found is None:
            found = self.queues[name] = QueueTally(name)
        return found

    def note(self, at: float, kind: str, text: str) -> None:
        happening = Happening(at, kind, text)
        self.happenings.append(happening)
        self.new_happenings.append(happening)

    def take_new(self) -> list[Happening]:
        """Happenings since the last call (the view prints each once)."""
        taken, self.new_happenings = self.new_happenings, []
        return taken

    def joined(self, queue: str, key: str, at: float) -> None:
        tally = self.queue(queue)
        tally.offered += 1
        tally.waiting[key] = at

    def answered(self, queue: str, key: str, hold_time: float) -> None:
        tally = self.queue(queue)
        tally.answered += 1
        tally.waiting.pop(key, None)
        tally.longest_answered_wait = max(tally.longest_answered_wait, hold_time)

    def early_release(self, queue: str, key: str, at: float, caller: str, hold_time: int) -> None:
        tally = self.queue(queue)
        tally.early_releases += 1
        tally.waiting.pop(key, None)
        self.note(
            at, "early_release", f"{queue}: caller {mask(caller)} hung up after {hold_time} s"
        )

    def left(self, queue: str, key: str) -> None:
        self.queue(queue).waiting.pop(key, None)

    def ticket_seen(self, at: float, ticket: str, queue: str, caller: str) -> None:
        if ticket in self.tickets:
            self.tickets[ticket]["queues"].append(queue)
            return
        self.tickets[ticket] = {"ticket": ticket, "caller": mask(caller), "queues": [queue]}
        self.note(at, "ticket", f"linkage ticket {ticket} travels with {mask(caller)} to {queue}")

    def transferred(
        self, at: float, origin: str, target: str, caller: str, ticket: str, uniqueid: str = ""
    ) -> None:
        self.transfers.append(
            {"from": origin, "to": target, "caller": mask(caller), "ticket": ticket or None}
        )
        self._transfer_calls.append(uniqueid)
        shown = ticket or "ticket id not on the channel"
        self.note(
            at, "transfer", f"one-key transfer {origin} -> {target} ({mask(caller)}, {shown})"
        )

    def link_tickets(self, ticket_by_uniqueid: dict[str, str]) -> None:
        """Name the ticket of each transfer whose channel did not show it, from the bridge's
        list (a ticket records the caller's Uniqueid)."""
        for transfer, uniqueid in zip(self.transfers, self._transfer_calls, strict=True):
            if transfer["ticket"] is None and uniqueid in ticket_by_uniqueid:
                transfer["ticket"] = ticket_by_uniqueid[uniqueid]

    def summary(self, emulated_seconds: float, extra: dict[str, Any]) -> dict[str, Any]:
        queues = {
            name: {
                "offered": t.offered,
                "answered": t.answered,
                "early_releases": t.early_releases,
                "early_release_rate": round(t.early_release_rate, 4),
                "waiting_at_end": len(t.waiting),
                "longest_answered_wait_s": round(t.longest_answered_wait, 1),
            }
            for name, t in sorted(self.queues.items())
        }
        return {
            "emulated_seconds": round(emulated_seconds, 1),
            "calls_placed": self.calls_placed,
            "agent_key_presses": self.presses,
            "queues": queues,
            "transfers": self.transfers,
            "tickets": list(self.tickets.values()),
            **extra,
        }


def mask(number: str) -> str:
    """A caller number shown with its middle hidden: personal data stays off the screen."""
    if len(number) < 7:
        return number
    return number[:3] + "****" + number[-4:]
