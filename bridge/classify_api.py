"""`POST /api/classify`: the acceptance-scope suggestion for a text, with the rules that fired.

An agent's desktop (or a supervisor reviewing) posts a summary, an internet request or a
transcript, optionally with the kind the caller chose in the menu; the answer is the
classifier's decision (routing.scope) plus a one-line advice in the agents' words
("建议转110"). It is a suggestion: the agent decides.

The classifier is loaded and trained on the first request (about two seconds, in a worker
thread) and kept. Each call classifies in a worker thread too, so a few milliseconds of CPU
never hold up the event loop that also serves AGI sessions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.http.routes import RouteTable
from bridge.settings import Role
from routing.scope import Kind, Platform, ScopeClassifier, ScopeDecision, load_classifier

log = logging.getLogger(__name__)
PATH = "/api/classify"
ROLES = frozenset({Role.AGENT_12345, Role.AGENT_110, Role.SUPERVISOR})
MAX_TEXT = 4000

ADVICE = {
    Platform.POLICE_110: "建议转110",
    Platform.HOTLINE_12345: "建议由12345受理",
    Platform.BOTH: "建议三方通话（12345与110共同处置）",
}


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    kind: Kind | None = Field(default=None, description="the kind the caller chose, if any")


class Reason(BaseModel):
    rule: str
    matched: list[str]
    description: str


class ClassifyResponse(BaseModel):
    platform: str = Field(description="12345 | 110 | both (three-party call) | other")
    channel: str | None = Field(description="119 | 120 | 122 | utility when platform is other")
    kind: str
    urgent: bool
    district: str | None
    confidence: float
    advice: str = Field(description="one line for the agent, e.g. 建议转110")
    reasons: list[Reason]
    notes: list[str]


def advice_for(decision: ScopeDecision) -> str:
    if decision.channel is not None:
        return f"建议引导来电人拨打{decision.channel.value}"
    text = ADVICE[decision.platform]
    return f"{text}（紧急）" if decision.urgent else text


def response_for(decision: ScopeDecision) -> dict[str, Any]:
    body = decision.to_dict()
    body["advice"] = advice_for(decision)
    return ClassifyResponse.model_validate(body).model_dump(mode="json")


def _problem(status: int, error: str, detail: str) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status)


def _field_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


class ClassifierUnavailable(RuntimeError):
    """The rule book or training data could not be loaded (the reason names the file)."""


ClassifierSource = Callable[[], Awaitable[ScopeClassifier]]


class LazyClassifier:
    """Loads and trains the classifier on first use (about two seconds, in a worker thread),
    then keeps it. Not at start-up: the service starts FastAGI without waiting for it, and a
    bad rule book costs the suggestions (503 naming the problem), never the bridge."""

    def __init__(self, rules_path: Path) -> None:
        self.rules_path = rules_path
        self._classifier: ScopeClassifier | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> ScopeClassifier:
        async with self._lock:  # one load, however many requests arrive meanwhile
            if self._classifier is None:
                try:
                    self._classifier = await asyncio.to_thread(load_classifier, self.rules_path)
                except (OSError, ValueError) as exc:
                    log.error("classifier not loaded", extra={"rules": str(self.rules_path)})
                    raise ClassifierUnavailable(f"{self.rules_path}: {exc}") from exc
            return self._classifier


class ClassifyApi:
    def __init__(self, classifier: ClassifierSource) -> None:
        self._classifier = classifier

    async def classify(self, request: web.Request) -> web.Response:
        try:
            raw = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _problem(400, "bad_request", "the body is not JSON")
        try:
            body = ClassifyRequest.model_validate(raw)
        except ValidationError as exc:
            return _problem(422, "invalid", _field_errors(exc))
        try:
            classifier = await self._classifier()
        except ClassifierUnavailable as exc:
            return _problem(503, "unavailable", f"the classifier is not loaded: {exc}")
        try:
            decision = await asyncio.to_thread(classifier.classify, body.text, body.kind)
        except ValueError as exc:  # e.g. text of blanks only once normalised
            return _problem(422, "invalid", f"text: {exc}")
        return web.json_response(response_for(decision))


def add_classify_route(routes: RouteTable, api: ClassifyApi) -> None:
    routes.add(
        "POST",
        PATH,
        api.classify,
        summary="Suggest the platform, kind and urgency of a request, with the rules that fired",
        roles=ROLES,
        tags=("classifier",),
        request_model=ClassifyRequest,
        response_model=ClassifyResponse,
        responses={
            400: "the body is not JSON",
            422: "a field is missing or wrong (named)",
            503: "the classifier could not be loaded (the reason is named)",
        },
    )
