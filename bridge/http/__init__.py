"""The bridge's HTTP side: aiohttp app factory, route registry, bearer auth, OpenAPI, health."""

from bridge.http.app import HttpServer, ServiceControl, create_app
from bridge.http.auth import PRINCIPAL, Principal, TokenBook
from bridge.http.routes import ALL_ROLES, RouteSpec, RouteTable

__all__ = [
    "ALL_ROLES",
    "PRINCIPAL",
    "HttpServer",
    "Principal",
    "RouteSpec",
    "RouteTable",
    "ServiceControl",
    "TokenBook",
    "create_app",
]
