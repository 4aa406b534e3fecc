"""The 12345 entry menu: AGI route `entry-12345`, run by the 12345 PBX's `[from-pstn]`.

Greeting, then the menu: 9 when life or property is in danger (straight to city 110 over the
trunk, with an urgent linkage ticket), 1-4 the annex's kinds (咨询, 求助, 投诉举报, 意见建议),
0 an agent. The choice becomes the channel's `HB_KIND` and `QUEUE_PRIO`. An invalid key or
silence replays the menu up to `attempts` times, then the caller goes to an agent.

The flow always ends by setting `HB_ROUTE` (the dialplan's `Goto` target): the dialplan
treats an empty `HB_ROUTE` as "the bridge failed" and sends the caller to the 12345 queue, so
a caller is never dropped. A caller hanging up ends the flow quietly, with nothing written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ivr.linkage import LinkageOpening, LinkageTickets, call_fields, open_for_call
from ivr.prompts import EntryMenu, play
from routing.tickets import Direction, Kind
from telephony.agi.errors import AgiHangup, CommandFailed
from telephony.agi.routes import AgiRoutes, Handler
from telephony.agi.session import AgiSession

log = logging.getLogger(__name__)
ROUTE = "entry-12345"


@dataclass(frozen=True)
class EntryResult:
    """Where the flow sent the caller (for the log line and the tests)."""

    target: str
    kind: Kind | None
    priority: int
    ticket_id: str | None = None


def entry_route(menu: EntryMenu, tickets: LinkageTickets) -> Handler:
    async def entry(session: AgiSession) -> None:
        try:
            result = await run_entry(session, menu, tickets)
        except AgiHangup:
            # The caller left: nothing to route. Re-raised so that the server counts a
            # hang-up (not a failure) and closes the socket, as Asterisk never does (07b).
            log.info("caller hung up in the 12345 menu", extra=call_fields(session))
            raise
        log.info(
            "12345 menu done",
            extra={
                **call_fields(session),
                "target": result.target,
                "kind": result.kind.value if result.kind else None,
                "ticket": result.ticket_id,
            },
        )

    return entry


async def run_entry(session: AgiSession, menu: EntryMenu, tickets: LinkageTickets) -> EntryResult:
    await play(session, menu.prompts.greeting)
    key = await ask(session, menu)
    if key == menu.danger_key:
        return await _to_110(session, menu, tickets)
    choice = menu.choice(key) if key else None
    if choice is None:  # 0, or no valid key after every attempt
        await play(session, menu.prompts.to_agent)
        return await _route(session, EntryResult(menu.queue_target, None, menu.agent_priority))
    return await _route(session, EntryResult(menu.queue_target, choice.kind, choice.priority))


async def ask(session: AgiSession, menu: EntryMenu) -> str | None:
    """The key chosen, or None when every attempt ended in silence or an invalid key."""
    for attempt in range(1, menu.attempts + 1):
        try:
            key = await session.get_data(menu.prompts.menu, menu.timeout_ms, 1)
        except CommandFailed:
            # The menu prompt is missing on the PBX: nobody can choose, so no retries.
            log.error("menu prompt cannot be played", extra={"prompt": menu.prompts.menu})
            return None
        if key in menu.keys:
            return key
        log.info("no valid key", extra={**call_fields(session), "key": key, "attempt": attempt})
        await play(session, menu.prompts.invalid if key else menu.prompts.no_input)
    return None


async def _to_110(session: AgiSession, menu: EntryMenu, tickets: LinkageTickets) -> EntryResult:
    request = session.request
    opening = LinkageOpening(
        direction=Direction.CITY_12345_TO_CITY_110,
        kind=menu.danger_kind,
        urgent=True,
        channel=request.channel,
        uniqueid=request.uniqueid,
        caller_number=request.callerid or None,
        summary="12345 menu: the caller pressed the danger key (life or property in danger)",
    )
    # A caller in danger goes to 110 now, with or without the ticket.
    ticket_id = await open_for_call(
        session, tickets, opening, menu.ticket_timeout_ms, "urgent ticket not created"
    )
    if ticket_id:
        await session.set_variable("LINKAGE_TICKET", ticket_id)
    await play(session, menu.prompts.to_110)
    return await _route(session, EntryResult(menu.danger_target, menu.danger_kind, 0, ticket_id))


async def _route(session: AgiSession, result: EntryResult) -> EntryResult:
    if result.kind is not None:
        await session.set_variable("HB_KIND", result.kind.value)
    await session.set_variable("QUEUE_PRIO", str(result.priority))
    # Last, because the dialplan reads a set HB_ROUTE as "the flow succeeded".
    await session.set_variable("HB_ROUTE", result.target)
    return result


def add_entry_route(routes: AgiRoutes, menu: EntryMenu, tickets: LinkageTickets) -> None:
    routes.add(ROUTE, entry_route(menu, tickets))
