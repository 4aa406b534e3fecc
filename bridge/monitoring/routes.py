"""HTTP routes of the queue monitor: queues, windows, call-backs (the wallboard's are in
bridge.wallboard)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bridge.http.auth import PRINCIPAL
from bridge.http.routes import ALL_ROLES, RouteTable
from bridge.monitoring.callbacks import (
    CallbackAttempt,
    CallbackEntry,
    CallbackList,
    CallbackStatus,
)
from bridge.monitoring.monitor import QueueMonitor
from bridge.monitoring.views import queues_json, window_figures, window_json
from bridge.monitoring.windows import WindowError, parse_window
from bridge.settings import Role
from telephony.ami.errors import AMIError

CALLBACK_ROLES = {Role.SUPERVISOR, Role.ADMIN, Role.AGENT_12345, Role.AGENT_110}
NUMBER_PATTERN = r"^\+?[0-9]{3,20}$"
Body = TypeVar("Body", bound=BaseModel)


class CallbackUpdate(BaseModel):
    status: CallbackStatus
    note: str = Field(default="", max_length=500)


class CallbackCall(BaseModel):
    """Who calls back: the agent's channel (e.g. PJSIP/1001) that the Originate rings first."""

    agent_channel: str = Field(default="", max_length=120, pattern=r"^([A-Za-z0-9]+/\S+)?$")


def _error(status: int, error: str, detail: str) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status)


def _entry_json(entry: CallbackEntry) -> dict[str, Any]:
    return entry.model_dump(mode="json")


class MonitorRoutes:
    def __init__(self, monitor: QueueMonitor) -> None:
        self.monitor = monitor

    async def queues(self, request: web.Request) -> web.Response:
        return web.json_response(queues_json(self.monitor, self.monitor.clock()))

    async def queue_metrics(self, request: web.Request) -> web.Response:
        monitor = self.monitor
        name = request.match_info["name"]
        if name not in monitor.queue_names():
            return _error(404, "not_found", f"no queue named {name!r}")
        now = monitor.clock()
        try:
            window = parse_window(request.query.get("window", "1h"), now, monitor.metrics.zone)
        except WindowError as error:
            return _error(400, "bad_request", str(error))
        found = await window_figures(monitor, name, window)
        info = monitor.directory.get(name)
        body = {
            "queue": name,
            "platform": info.platform,
            "district": info.district,
            "window": window.label,
            "figures": window_json(found, monitor),
            "live": asdict(monitor.live_figures(name, now)),
        }
        return web.json_response(body)

    async def callbacks(self, request: web.Request) -> web.Response:
        store = self.monitor.callbacks
        if store is None:
            return _error(503, "unavailable", "the call-back list needs Redis")
        wanted = request.query.get("status", "pending")
        if wanted != "all" and wanted not in CallbackStatus.__members__.values():
            choices = ", ".join([*CallbackStatus, "all"])
            return _error(400, "bad_request", f"status={wanted!r}: use one of {choices}")
        await self.monitor.flush()
        status = None if wanted == "all" else CallbackStatus(wanted)
        entries = await store.entries(status)
        return web.json_response(
            {"count": len(entries), "callbacks": [_entry_json(e) for e in entries]}
        )

    async def _entry_id(self, request: web.Request) -> int | web.Response:
        text = request.match_info["id"]
        if not text.isdigit():
            return _error(400, "bad_request", f"id {text!r} is not a number")
        return int(text)

    async def _body(self, request: web.Request, model: type[Body]) -> Body | web.Response:
        try:
            data = await request.json() if request.can_read_body else {}
        except ValueError:
            return _error(400, "bad_request", "the body is not JSON")
        try:
            return model.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in error.errors()
            )
            return _error(400, "bad_request", problems)

    async def _callback_post(
        self, request: web.Request, model: type[Body]
    ) -> tuple[CallbackList, int, Body] | web.Response:
        """What a POST on one call-back needs: the list (flushed, so the entry is there), the
        id in the path and the body; or the answer when one is missing or bad."""
        store = self.monitor.callbacks
        if store is None:
            return _error(503, "unavailable", "the call-back list needs Redis")
        entry_id = await self._entry_id(request)
        if isinstance(entry_id, web.Response):
            return entry_id
        body = await self._body(request, model)
        if isinstance(body, web.Response):
            return body
        await self.monitor.flush()
        return store, entry_id, body

    async def update_callback(self, request: web.Request) -> web.Response:
        found = await self._callback_post(request, CallbackUpdate)
        if isinstance(found, web.Response):
            return found
        store, entry_id, update = found
        entry = await store.set_status(
            entry_id, update.status, request[PRINCIPAL].name, update.note
        )
        if entry is None:
            return _error(404, "not_found", f"no call-back {entry_id}")
        self.monitor.callbacks_pending = await store.pending_count()
        return web.json_response(_entry_json(entry))

    async def call_back(self, request: web.Request) -> web.Response:
        found = await self._callback_post(request, CallbackCall)
        if isinstance(found, web.Response):
            return found
        store, entry_id, call = found
        entry = await store.get(entry_id)
        if entry is None:
            return _error(404, "not_found", f"no call-back {entry_id}")
        result = await self._originate(entry, call.agent_channel)
        attempt = CallbackAttempt(at=time.time(), by=request[PRINCIPAL].name, result=result)
        updated = await store.record_attempt(entry_id, attempt)
        assert updated is not None
        return web.json_response({"result": result, "callback": _entry_json(updated)})

    async def _originate(self, entry: CallbackEntry, agent_channel: str) -> str:
        pbx = self.monitor.directory.get(entry.queue).pbx
        client = self.monitor.clients.get(pbx)
        if client is None or not client.connected:
            return f"recorded: no AMI session to PBX {pbx or '(unknown)'}"
        if not agent_channel:
            return "recorded: no agent_channel to ring"
        try:
            await client.action(
                "Originate",
                Channel=agent_channel,
                Context=self.monitor.config.callback_context,
                Exten=entry.number,
                Priority="1",
                CallerID=f"回拨 <{entry.number}>",
                Async="true",
                Variable=f"HB_CALLBACK_ID={entry.id}",
            )
        except AMIError as error:
            return f"failed: {error}"
        return "originated"


def add_monitoring_routes(routes: RouteTable, monitor: QueueMonitor) -> None:
    handlers = MonitorRoutes(monitor)
    tags = ["monitoring"]
    routes.add(
        "GET",
        "/api/queues",
        handlers.queues,
        summary="Every queue: live figures and the 5m / 1h / today windows",
        roles=ALL_ROLES,
        tags=tags,
    )
    routes.add(
        "GET",
        "/api/queues/{name}/metrics",
        handlers.queue_metrics,
        summary="One queue's figures; ?window=5m|1h|today|<from>..<to> (default 1h)",
        roles=ALL_ROLES,
        tags=tags,
        responses={400: "bad window", 404: "no such queue"},
    )
    routes.add(
        "GET",
        "/api/callbacks",
        handlers.callbacks,
        summary="Call-back list (回拨); ?status=pending|done|unreachable|all",
        roles=CALLBACK_ROLES,
        tags=tags,
        responses={400: "bad status"},
    )
    routes.add(
        "POST",
        "/api/callbacks/{id}",
        handlers.update_callback,
        summary="Mark a call-back done or unreachable",
        roles=CALLBACK_ROLES,
        tags=tags,
        request_model=CallbackUpdate,
        responses={400: "bad body", 404: "no such call-back"},
    )
    routes.add(
        "POST",
        "/api/callbacks/{id}/call",
        handlers.call_back,
        summary="Call back now (AMI Originate when connected); the attempt is recorded",
        roles=CALLBACK_ROLES,
        tags=tags,
        request_model=CallbackCall,
        responses={400: "bad body", 404: "no such call-back"},
    )
