"""The `onekey` AGI route: what runs when a call-taker presses the one-key transfer code.

features.conf maps the code (*8) to ``Gosub(hb-onekey,s,1)`` on the agent's own channel, which
runs ``AGI(agi://<bridge>/onekey?pbx=<name>)``. So ``agi_channel`` is the agent's leg and
``BRIDGEPEER`` names the caller (traces 09/09b). The route asks the transfer service (handed in
by the bridge: ivr/ reaches AMI and Redis only through it) to move the caller, sets
``HB_ONEKEY`` (``ok``/``failed``) and ``HB_ONEKEY_TICKET`` on the agent's channel, and plays
a short confirmation, or a distinct failure prompt, to the agent.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from telephony.agi.errors import AgiError
from telephony.agi.routes import AgiRoutes, Handler
from telephony.agi.session import AgiSession

log = logging.getLogger(__name__)
ROUTE = "onekey"


@dataclass(frozen=True)
class KeyPress:
    pbx: str | None  # from ?pbx=; None lets the service find the PBX by channel
    agent_channel: str
    agent_uniqueid: str


@dataclass(frozen=True)
class OneKeyResult:
    ok: bool
    ticket_id: str | None = None
    reason: str = ""


CallerLookup = Callable[[], Awaitable[str | None]]


class OneKeyTransfers(Protocol):
    async def one_key(self, press: KeyPress, find_caller: CallerLookup) -> OneKeyResult:
        """Move the caller `find_caller()` names (BRIDGEPEER, None when nobody is bridged).

        The lookup is handed over rather than done first so the service can read what it
        needs (the agent's draft) while Asterisk answers: a key press is latency-bound.
        """
        ...


@dataclass(frozen=True)
class Prompts:
    started: str = "hotline-bridge/transfer-started"
    failed: str = "hotline-bridge/transfer-failed"


def onekey_route(transfers: OneKeyTransfers, prompts: Prompts = Prompts()) -> Handler:
    async def onekey(session: AgiSession) -> None:
        request = session.request
        press = KeyPress(
            pbx=request.query.get("pbx") or None,
            agent_channel=request.channel,
            agent_uniqueid=request.uniqueid,
        )

        async def bridge_peer() -> str | None:
            return await session.get_variable("BRIDGEPEER") or None

        result = await transfers.one_key(press, bridge_peer)
        await _tell_agent(session, result, prompts)

    return onekey


async def _tell_agent(session: AgiSession, result: OneKeyResult, prompts: Prompts) -> None:
    if not result.ok:
        log.warning(
            "one-key transfer failed",
            extra={"channel": session.request.channel, "reason": result.reason},
        )
    try:
        await session.set_variable("HB_ONEKEY", "ok" if result.ok else "failed")
        if result.ticket_id:
            await session.set_variable("HB_ONEKEY_TICKET", result.ticket_id)
        await session.stream_file(prompts.started if result.ok else prompts.failed)
    except AgiError as exc:
        # The agent hung up, or the prompt file is missing: the transfer stands either way.
        log.info("one-key prompt not played", extra={"error": str(exc)})


def add_onekey_route(routes: AgiRoutes, transfers: OneKeyTransfers, prompts: Prompts) -> None:
    routes.add(ROUTE, onekey_route(transfers, prompts))
