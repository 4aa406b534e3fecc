"""Puts three-party calls into the running service: component, HTTP routes, AGI routes.

Built on the transfer component (its ticket store, live models, screen-pop hub and path
logic): start it after ``install_transfers``. Once every PBX's AMI session is up, the rooms a
previous run left are recovered from Redis and ``ConfbridgeList`` (bridge.conferences.rooms).
The classifier's rule book (danger to life/property/public safety -> 110 first) is loaded
off the event loop at start; until it is, only the ticket's urgency counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from bridge.conferences.config import ConferenceConfig, conference_config
from bridge.conferences.phone import PhoneConferences
from bridge.conferences.routes import ConferenceRoutes, add_conference_routes
from bridge.conferences.stack import ConferenceStack
from bridge.service import Service
from bridge.transfers.wiring import TransferComponent
from ivr.conference_keys import KeyPrompts, KeyResult, add_conference_key_route
from ivr.onekey import CallerLookup, KeyPress
from ivr.threeparty import ThreePartyResult, add_threeparty_route
from routing.scope import ScopeClassifier, load_classifier
from telephony.agi.routes import AgiRoutes

log = logging.getLogger(__name__)
ATTACH_POLL_SECONDS = 0.5


class DangerFromRules:
    """Why a summary is a danger to life/property/public safety, by the scope rule book."""

    def __init__(self, rules_path: Path) -> None:
        self.rules_path = rules_path
        self.classifier: ScopeClassifier | None = None

    async def load(self) -> None:
        self.classifier = await asyncio.to_thread(load_classifier, self.rules_path, False)

    def __call__(self, summary: str) -> str:
        if self.classifier is None:
            return ""
        decision = self.classifier.classify(summary)
        if not decision.urgent:
            return ""
        hits = ", ".join(f"{h.rule_id} ({'/'.join(h.matched)})" for h in decision.reasons)
        return f"classified as danger: {hits or 'urgent'}"


class ConferenceComponent:
    name = "conferences"

    def __init__(
        self, transfers: TransferComponent, config: ConferenceConfig, danger: DangerFromRules
    ) -> None:
        self.transfers = transfers
        self.config = config
        self.danger = danger
        self.stack: ConferenceStack | None = None
        self.recovered: dict[str, str] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        transfers = self.transfers.stack
        if transfers is None:
            raise RuntimeError("three-party calls need the transfer component started first")
        self.stack = ConferenceStack.build(transfers, self.config, self.danger)
        self._task = asyncio.get_running_loop().create_task(self._attach_when_up(self.stack))

    async def _attach_when_up(self, stack: ConferenceStack) -> None:
        try:
            await self.danger.load()
        except (OSError, ValueError) as exc:
            log.error("scope rules not loaded: urgency alone decides", extra={"error": str(exc)})
        links = stack.rooms.links
        pending = set(links)
        while pending:
            for name in sorted(pending):
                client = links[name].client  # set by the transfer component once logged in
                if client is not None and client.connected:
                    stack.attach(name, client)
                    pending.discard(name)
            if pending:
                await asyncio.sleep(ATTACH_POLL_SECONDS)
        self.recovered = await stack.recover()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.stack is not None:
            self.stack.close()

    async def health(self) -> dict[str, Any]:
        if self.stack is None:
            return {"status": "down", "error": "not started"}
        return {
            "status": "ok" if self.recovered is not None else "down",
            "rooms": len(self.stack.rooms.rooms),
            "recovered": None if self.recovered is None else len(self.recovered),
            "danger_rules": self.danger.classifier is not None,
        }

    def _phone(self) -> PhoneConferences | None:
        transfers = self.transfers.stack
        if self.stack is None or transfers is None:
            return None
        return PhoneConferences(transfers, self.stack.service)

    async def three_party(self, press: KeyPress, find_caller: CallerLookup) -> ThreePartyResult:
        """The `threeparty` AGI route's entry (ivr.threeparty.ThreePartyCalls)."""
        phone = self._phone()
        if phone is None:
            return ThreePartyResult(False, reason="the conference service is not started")
        return await phone.three_party(press, find_caller)

    async def conference_key(self, uniqueid: str, channel: str, key: str) -> KeyResult:
        """The `conference-key` AGI route's entry (ivr.conference_keys.ConferenceKeys)."""
        phone = self._phone()
        if phone is None:
            return KeyResult(False, reason="the conference service is not started")
        return await phone.conference_key(uniqueid, channel, key)


def install_conferences(
    service: Service, agi_routes: AgiRoutes, transfers: TransferComponent, rules_path: Path
) -> ConferenceComponent:
    """Add the conference component (after transfers), its HTTP routes and AGI routes."""
    config = conference_config(service.settings)
    component = ConferenceComponent(transfers, config, DangerFromRules(rules_path))
    service.add(component)
    add_conference_routes(service.routes, ConferenceRoutes(lambda: component.stack))
    add_threeparty_route(agi_routes, component, config.prompt_failed)
    prompts = KeyPrompts(config.prompt_decision, config.prompt_decision_failed)
    add_conference_key_route(agi_routes, component, prompts)
    return component
