"""110 queue diversion: AGI route `divert-110`, run from `[hb-divert110]` on the 110 PBX.

A caller waiting in q110-city hears the periodic offer ("not an emergency? press 1 for
12345"); pressing 1 leaves the queue through its `context` exit (trace 10) into
`[hb-divert110]`, which runs this route. 110 callers never hear a menu *before* an agent;
this is the only question, and only to someone who already chose to leave.

With `confirm` on, the caller is asked once more: a key pressed by accident (or in panic)
must not cost a police caller the 110 line. Confirmed: a consultation linkage ticket
(110 -> 12345) is opened, `LINKAGE_TICKET` and `HB_KIND` set, and `HB_ROUTE` sends the call
over the trunk to 12345. Not confirmed: back into q110-city with `QUEUE_PRIO` raised, so the
caller keeps their place ahead of those who came later. If the ticket cannot be written the
caller still goes to 12345: they asked for it, and the 12345 agent takes a fresh call.
"""

from __future__ import annotations

import logging

from ivr.linkage import LinkageOpening, LinkageTickets, call_fields, open_for_call
from ivr.prompts import DivertOffer, play
from routing.tickets import Direction
from telephony.agi.errors import AgiHangup, CommandFailed
from telephony.agi.routes import AgiRoutes, Handler
from telephony.agi.session import AgiSession

log = logging.getLogger(__name__)
ROUTE = "divert-110"


def divert_route(offer: DivertOffer, tickets: LinkageTickets) -> Handler:
    async def divert(session: AgiSession) -> None:
        try:
            target = await run_divert(session, offer, tickets)
        except AgiHangup:
            # Re-raised: the server counts a hang-up, not a failure, and closes the socket.
            log.info("caller hung up in the 110 diversion", extra=call_fields(session))
            raise
        log.info("110 diversion done", extra={**call_fields(session), "target": target})

    return divert


async def run_divert(session: AgiSession, offer: DivertOffer, tickets: LinkageTickets) -> str:
    """Run the diversion; returns the dialplan target set in HB_ROUTE."""
    if offer.confirm and not await _confirmed(session, offer):
        await play(session, offer.prompts.back_to_110)
        await session.set_variable("QUEUE_PRIO", str(offer.back_priority))
        await session.set_variable("HB_ROUTE", offer.back_target)
        return offer.back_target
    ticket_id = await _open_ticket(session, offer, tickets)
    if ticket_id:
        await session.set_variable("LINKAGE_TICKET", ticket_id)
    await session.set_variable("HB_KIND", offer.kind.value)
    await play(session, offer.prompts.to_12345)
    await session.set_variable("HB_ROUTE", offer.target)
    return offer.target


async def _confirmed(session: AgiSession, offer: DivertOffer) -> bool:
    try:
        key = await session.get_data(offer.prompts.confirm, offer.timeout_ms, 1)
    except CommandFailed:
        # No confirmation prompt recorded: the caller cannot be asked, so keep them on 110.
        log.error("divert confirmation prompt missing", extra={"prompt": offer.prompts.confirm})
        return False
    return key == offer.confirm_key


async def _open_ticket(
    session: AgiSession, offer: DivertOffer, tickets: LinkageTickets
) -> str | None:
    request = session.request
    opening = LinkageOpening(
        direction=Direction.CITY_110_TO_CITY_12345,
        kind=offer.kind,
        urgent=False,
        channel=request.channel,
        uniqueid=request.uniqueid,
        caller_number=request.callerid or None,
        summary="waiting in q110-city, the caller chose 12345 (not an emergency)",
    )
    return await open_for_call(
        session, tickets, opening, offer.ticket_timeout_ms, "diversion ticket not created"
    )


def add_divert_route(routes: AgiRoutes, offer: DivertOffer, tickets: LinkageTickets) -> None:
    routes.add(ROUTE, divert_route(offer, tickets))
