"""How an IVR flow asks the bridge for a linkage ticket, without knowing Redis.

The bridge hands the flows an object with `open(LinkageOpening) -> ticket id`
(bridge.ivr_wiring builds it on the ticket store); tests hand a small in-memory one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from routing.tickets import Direction, Kind
from telephony.agi.session import AgiSession

log = logging.getLogger(__name__)


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


def call_fields(session: AgiSession) -> dict[str, str]:
    """The call's identity for a structured log line."""
    return {"channel": session.request.channel, "uniqueid": session.request.uniqueid}


async def open_for_call(
    session: AgiSession,
    tickets: LinkageTickets,
    opening: LinkageOpening,
    timeout_ms: int,
    failure: str,
) -> str | None:
    """The ticket's id, or None when it could not be written within `timeout_ms`.

    Whatever failed (Redis down or slow, a bad draft), the caller goes where they chose
    without a ticket: the receiving agent takes a fresh call rather than nobody taking it.
    """
    try:
        return await asyncio.wait_for(tickets.open(opening), timeout_ms / 1000)
    except Exception as exc:
        log.error(failure, extra={**call_fields(session), "error": repr(exc)})
        return None
