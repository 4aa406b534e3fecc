"""Bearer-token authentication with roles from the configuration.

Open: /health, /metrics and any route registered with roles=None outside /api. Everything
under /api needs a token: 401 when it is missing or unknown, 403 when its role is not allowed.
Tokens are kept only as SHA-256 digests and never logged; a rejected request is logged with
its path, the client address and the reason.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from bridge.http.routes import Handler, RouteTable, is_api_path
from bridge.settings import ApiToken, Role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name in the configuration, its role and its platform."""

    name: str
    role: Role
    platform: str | None


PRINCIPAL = web.RequestKey("principal", Principal)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenBook:
    """Token -> principal; replaced as a whole on config reload."""

    def __init__(self, tokens: Mapping[str, ApiToken]) -> None:
        self._by_digest: dict[bytes, Principal] = {}
        self.replace(tokens)

    def replace(self, tokens: Mapping[str, ApiToken]) -> None:
        self._by_digest = {
            _digest(value): Principal(entry.name, entry.role, entry.platform)
            for value, entry in tokens.items()
        }

    def __len__(self) -> int:
        return len(self._by_digest)

    def lookup(self, token: str) -> Principal | None:
        # A dict lookup by digest: the time taken does not depend on how much of a guess matched.
        return self._by_digest.get(_digest(token))


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _json_error(status: int, error: str, detail: str) -> web.Response:
    response = web.json_response({"error": error, "detail": detail}, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hotline-bridge"'
    return response


def auth_middleware(tokens: TokenBook, routes: RouteTable) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        spec = routes.spec_for(request)
        protected = is_api_path(request.path) or (spec is not None and spec.roles is not None)
        if not protected:
            return await handler(request)
        token = bearer_token(request)
        principal = tokens.lookup(token) if token else None
        if principal is None:
            reason = "no bearer token" if token is None else "unknown token"
            log.warning(
                "request rejected",
                extra={"path": request.path, "remote": request.remote, "reason": reason},
            )
            return _json_error(401, "unauthorized", f"{reason}: send Authorization: Bearer <token>")
        request[PRINCIPAL] = principal
        if spec is not None and spec.roles is not None and principal.role not in spec.roles:
            log.warning(
                "request forbidden",
                extra={"path": request.path, "caller": principal.name, "role": principal.role},
            )
            allowed = ", ".join(sorted(role.value for role in spec.roles))
            return _json_error(
                403, "forbidden", f"role {principal.role.value} may not; allowed: {allowed}"
            )
        return await handler(request)

    return authenticate
