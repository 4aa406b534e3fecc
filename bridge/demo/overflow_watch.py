"""What the demo shows of the surge-overflow controller (issue 7): event lines when a centre's
support starts, changes or ends, and the `--json` part (`overflow`: actions, loans).

It reads `GET /api/overflow` as the wallboard does: the controller's state (supported
centres, loans) and its newest audit entries (every AMI step it took). Entries are kept by
their stream id, so polling more often than the audit moves loses nothing up to 50 steps a
poll.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

DONORS_NAMED = 3  # an event line names the largest donors only
# Loans by recipient centre, then by donor centre: how many seats.
LoanShape = dict[str, dict[str, int]]


def loan_shape(snapshot: dict[str, Any]) -> LoanShape:
    shape: LoanShape = {}
    for loan in snapshot.get("loans", []):
        by_donor = shape.setdefault(str(loan["recipient"]), {})
        by_donor[str(loan["donor"])] = by_donor.get(str(loan["donor"]), 0) + 1
    return shape


def seats_text(by_donor: dict[str, int]) -> str:
    """e.g. "3 seats lent from 370811" or "27 seats lent from 11 centres (8 from 370800,
    5 from 370811, 3 from 370812, ...)": largest donors first, at most three named."""
    total = sum(by_donor.values())
    seats = f"{total} seat{'s' if total != 1 else ''} lent"
    parts = sorted(by_donor.items(), key=lambda item: (-item[1], item[0]))
    if len(parts) == 1:
        return f"{seats} from {parts[0][0]}"
    named = ", ".join(f"{count} from {donor}" for donor, count in parts[:DONORS_NAMED])
    more = ", ..." if len(parts) > DONORS_NAMED else ""
    return f"{seats} from {len(parts)} centres ({named}{more})"


@dataclass
class OverflowWatch:
    supported: set[str] = field(default_factory=set)
    shape: LoanShape = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)  # stream id -> entry
    peak_loans: int = 0
    last: dict[str, Any] | None = None

    def update(self, snapshot: dict[str, Any]) -> list[str]:
        """Takes a `GET /api/overflow` body; returns the event lines for what changed."""
        self.last = snapshot
        for entry in snapshot.get("audit", []):
            self.actions.setdefault(str(entry["id"]), entry)
        shape = loan_shape(snapshot)
        supported = set(snapshot.get("supported", {}))
        self.peak_loans = max(self.peak_loans, len(snapshot.get("loans", [])))
        lines = []
        for centre in sorted(supported | set(shape) | self.supported | set(self.shape)):
            line = self._change(centre, centre in supported, shape.get(centre, {}))
            if line:
                lines.append(line)
        self.supported, self.shape = supported, shape
        return lines

    def _change(self, centre: str, on: bool, lent: dict[str, int]) -> str:
        was_on, was_lent = centre in self.supported, self.shape.get(centre, {})
        if on and not was_on:
            seats = seats_text(lent) if lent else "no seats free to lend yet"
            return f"support on for {centre}: {seats}"
        if on and lent and not was_lent:
            return f"support for {centre}: {seats_text(lent)}"
        if not on and was_on:
            if lent:
                return f"support off for {centre}: {seats_text(lent)} still out"
            return f"support off for {centre}, seats returned"
        if not on and was_lent and not lent:
            return f"seats lent to {centre} all returned"
        return ""

    def summary(self) -> dict[str, Any]:
        """The `--json` part: every action seen (oldest first), counts, the loans now."""
        ordered = sorted(self.actions.values(), key=lambda entry: _stream_order(entry["id"]))
        actions = [
            {
                "t": round(float(entry.get("t", 0.0)), 1),
                "kind": entry.get("kind"),
                "outcome": entry.get("outcome"),
                "detail": entry.get("detail", {}),
            }
            for entry in ordered
        ]
        last = self.last or {}
        return {
            "actions": actions,
            "action_counts": dict(Counter(str(a["kind"]) for a in actions)),
            "loans": last.get("loans", []),
            "peak_loans": self.peak_loans,
            "supported_at_end": sorted(last.get("supported", {})),
            "error": last.get("error", ""),
        }


def _stream_order(entry_id: str) -> tuple[int, int]:
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence or 0)
