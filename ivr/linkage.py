"""How an IVR flow asks the bridge for a linkage ticket, without knowing Redis.

The bridge hands the flows an object with `open(LinkageOpening) -> ticket id`
(bridge.ivr_wiring builds it on the ticket store); tests hand a small in-memory one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from routing.tickets import Direction, Kind


@dataclass(frozen=True)
class LinkageOpening:
    """What the IVR knows when it sends a caller to the other platform."""

    direction: Direction
    kind: Kind
    urgent: bool
    channel: str
    uniqueid: str
    caller_number: str | None
    summary: str


class LinkageTickets(Protocol):
    async def open(self, opening: LinkageOpening) -> str:
        """Create the ticket (idempotent per call and direction); return its id."""
        ...
