"""aiohttp access lines as structured log records (never headers: they carry the token)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class JsonAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "http request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "duration_ms": round(time * 1000, 2),
                "remote": request.remote,
            },
        )
