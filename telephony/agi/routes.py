"""Which handler serves which AGI route (the path in `agi://host:4573/<route>`, or the first
argument of `AGI(hotline-bridge-agi,<route>,...)`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from telephony.agi.session import AgiSession

Handler = Callable[[AgiSession], Awaitable[None]]
_ROUTE_NAME = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*")


class AgiRoutes:
    """A registry of async route handlers, shared by the FastAGI server and process AGI."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def add(self, name: str, handler: Handler) -> None:
        if not _ROUTE_NAME.fullmatch(name):
            raise ValueError(f"AGI route name {name!r}: use letters, digits, _ . - and /")
        if name in self._handlers:
            raise ValueError(f"AGI route {name!r} is already registered")
        self._handlers[name] = handler

    def route(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator form of `add`."""

        def register(handler: Handler) -> Handler:
            self.add(name, handler)
            return handler

        return register

    def get(self, name: str) -> Handler | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)
