"""The `threeparty` AGI route: what runs when a call-taker presses the three-party code (*9).

features.conf maps the code to ``Gosub(hb-threeparty,s,1)`` on the agent's own bridged leg,
which runs ``AGI(agi://<bridge>/threeparty)``: ``agi_channel`` is the agent, ``BRIDGEPEER``
the caller (traces 09/09b, as for the one-key transfer). The service (handed in by the bridge)
moves caller and agent into a room and calls the other platform in. On success the agent's
leg is being redirected into the room, so nothing more is said on it; on failure the agent
hears a distinct prompt and ``HB_THREEPARTY`` is ``failed`` (the call stays as it was).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from ivr.onekey import CallerLookup, KeyPress
from telephony.agi.errors import AgiError
from telephony.agi.routes import AgiRoutes, Handler
from telephony.agi.session import AgiSession

log = logging.getLogger(__name__)
ROUTE = "threeparty"


@dataclass(frozen=True)
class ThreePartyResult:
    ok: bool
    conference_id: str = ""
    ticket_id: str = ""
    reason: str = ""


class ThreePartyCalls(Protocol):
    async def three_party(self, press: KeyPress, find_caller: CallerLookup) -> ThreePartyResult:
        """Put the caller `find_caller()` names, the agent and the other platform in a room."""
        ...


def threeparty_route(calls: ThreePartyCalls, failed_prompt: str) -> Handler:
    async def threeparty(session: AgiSession) -> None:
        request = session.request
        press = KeyPress(
            pbx=request.query.get("pbx") or None,
            agent_channel=request.channel,
            agent_uniqueid=request.uniqueid,
        )

        async def bridge_peer() -> str | None:
            return await session.get_variable("BRIDGEPEER") or None

        result = await calls.three_party(press, bridge_peer)
        try:
            await session.set_variable("HB_THREEPARTY", "ok" if result.ok else "failed")
            if result.ticket_id:
                await session.set_variable("HB_THREEPARTY_TICKET", result.ticket_id)
            if not result.ok:
                log.warning(
                    "three-party call not started",
                    extra={"channel": request.channel, "reason": result.reason},
                )
                await session.stream_file(failed_prompt)
        except AgiError as exc:
            # The agent's leg was redirected into the room (or hung up): the call stands.
            log.info("three-party AGI ended early", extra={"error": str(exc)})

    return threeparty


def add_threeparty_route(routes: AgiRoutes, calls: ThreePartyCalls, failed_prompt: str) -> None:
    routes.add(ROUTE, threeparty_route(calls, failed_prompt))
