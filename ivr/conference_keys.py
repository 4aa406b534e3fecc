"""The `conference-key` AGI route: an agent's decision key pressed inside a three-party room.

confbridge.conf's ``hb_menu`` maps 1 and 2 to ``dialplan_exec(hb-conf-keys,<key>,1)``, which
runs ``AGI(agi://<bridge>/conference-key?key=<key>)`` on the member's own channel (for the
other platform's agent that is the originated ``Local/...;1`` leg in the room). 1 = my platform
accepts, 2 = the other platform accepts (routing.conference_rules.vote_for_key). The agent
hears that the decision is recorded, or a distinct prompt when it was refused (the caller
pressing keys, a bad key); ``HB_CONF_DECISION`` is the platform that would accept now, or
``refused``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from telephony.agi.errors import AgiError
from telephony.agi.routes import AgiRoutes, Handler
from telephony.agi.session import AgiSession

log = logging.getLogger(__name__)
ROUTE = "conference-key"


@dataclass(frozen=True)
class KeyResult:
    ok: bool
    platform: str = ""  # the platform that accepts as things stand
    reason: str = ""


class ConferenceKeys(Protocol):
    async def conference_key(self, uniqueid: str, channel: str, key: str) -> KeyResult: ...


@dataclass(frozen=True)
class KeyPrompts:
    recorded: str = "hotline-bridge/decision-recorded"
    refused: str = "hotline-bridge/decision-failed"


def conference_key_route(keys: ConferenceKeys, prompts: KeyPrompts) -> Handler:
    async def conference_key(session: AgiSession) -> None:
        request = session.request
        key = request.query.get("key") or (request.args[0] if request.args else "")
        result = await keys.conference_key(request.uniqueid, request.channel, key)
        if not result.ok:
            log.info("conference key refused", extra={"key": key, "reason": result.reason})
        try:
            await session.set_variable("HB_CONF_DECISION", result.platform or "refused")
            await session.stream_file(prompts.recorded if result.ok else prompts.refused)
        except AgiError as exc:
            log.info("conference key prompt not played", extra={"error": str(exc)})

    return conference_key


def add_conference_key_route(routes: AgiRoutes, keys: ConferenceKeys, prompts: KeyPrompts) -> None:
    routes.add(ROUTE, conference_key_route(keys, prompts))
