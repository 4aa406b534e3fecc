"""The demo's reading of GET /api/overflow: event lines when support starts and ends, and the
`--json` part (every audit entry once, oldest first)."""

from __future__ import annotations

from typing import Any

from bridge.demo.overflow_watch import OverflowWatch, seats_text


def _loan(member: str, donor: str, recipient: str = "370883") -> dict[str, Any]:
    queue = f"q110-aid-{recipient}"
    return {"member": member, "donor": donor, "recipient": recipient, "queue": queue}


def _snapshot(loans: list[dict[str, Any]], audit: list[dict[str, Any]]) -> dict[str, Any]:
    supported = {loan["recipient"]: {"since": 1.0} for loan in loans}
    return {"supported": supported, "loans": loans, "audit": audit, "error": ""}


def _entry(entry_id: str, kind: str, t: float) -> dict[str, Any]:
    return {"id": entry_id, "kind": kind, "outcome": "done", "detail": {}, "t": t}


def test_seats_text_names_the_largest_donors() -> None:
    assert seats_text({"370811": 3}) == "3 seats lent from 370811"
    assert seats_text({"370811": 1}) == "1 seat lent from 370811"
    text = seats_text({"370811": 5, "370800": 8, "370812": 3, "370826": 3})
    assert text == "19 seats lent from 4 centres (8 from 370800, 5 from 370811, 3 from 370812, ...)"


def test_support_on_then_off_with_seats_returned() -> None:
    watch = OverflowWatch()
    loans = [_loan(f"Local/{n}", "370811") for n in range(3)]
    first = _snapshot(loans, [_entry("5-0", "lend", 10.0), _entry("4-1", "route_on", 9.0)])
    assert watch.update(first) == ["support on for 370883: 3 seats lent from 370811"]
    assert watch.update(first) == []  # nothing changed: no line
    off = _snapshot([], [_entry("9-0", "return", 30.0), _entry("5-0", "lend", 10.0)])
    assert watch.update(off) == ["support off for 370883, seats returned"]
    summary = watch.summary()
    # Each audit entry once, in stream order, whatever order the polls returned them in.
    assert [a["kind"] for a in summary["actions"]] == ["route_on", "lend", "return"]
    assert summary["action_counts"] == {"route_on": 1, "lend": 1, "return": 1}
    assert summary["peak_loans"] == 3 and summary["loans"] == []


def test_support_off_with_seats_still_out_says_so() -> None:
    watch = OverflowWatch()
    watch.update(_snapshot([_loan("Local/1", "370811")], []))
    still_out = {"supported": {}, "loans": [_loan("Local/1", "370811")], "audit": []}
    assert watch.update(still_out) == ["support off for 370883: 1 seat lent from 370811 still out"]
