"""The AMI TCP server: one `AMISession` per client connection, speaking as Asterisk 22 does."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.pbxsim.amiwire import BANNER, Action, ActionReader, Headers, encode
from telephony.pbxsim.pbxconfig import ALL_PERMISSIONS, ManagerUser

if TYPE_CHECKING:
    from telephony.pbxsim.pbx import EmulatedPBX


class ResponseSent(Exception):
    """Raised by an action handler after it has answered with an error; stops the handler."""


@dataclass
class ActionSpec:
    authority: int  # EVENT_FLAG_* an action needs in the user's write classes (0 = none)
    handler: Callable[[EmulatedPBX, AMISession, Action], Awaitable[None]]


class AMISession:
    def __init__(
        self,
        pbx: EmulatedPBX,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.pbx = pbx
        self.reader = reader
        self.writer = writer
        self.user: ManagerUser | None = None
        self.session_id = f"0x{id(self) & 0xFFFFFFFFFFFF:x}"
        self.started_tv = pbx.clock.event_tv()
        self.closed = False
        local = writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        remote = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        self.local_address = f"IPV4/TCP/{local[0]}/{local[1]}"
        self.remote_address = f"IPV4/TCP/{remote[0]}/{remote[1]}"
        self.remote_host = str(remote[0])

    # -- sending -------------------------------------------------------------------------
    def send(self, headers: Headers) -> None:
        if not self.closed:
            self.writer.write(encode(headers))

    def send_bytes(self, data: bytes) -> None:
        """An already encoded message (an event encoded once for every session)."""
        if not self.closed:
            self.writer.write(data)

    def respond(self, action: Action, response: str, message: str | None = None) -> None:
        headers: Headers = [("Response", response)]
        if action.action_id is not None:
            headers.append(("ActionID", action.action_id))
        if message is not None:
            headers.append(("Message", message))
        self.send(headers)

    def error(self, action: Action, message: str) -> ResponseSent:
        self.respond(action, "Error", message)
        return ResponseSent()

    def wants(self, category: int) -> bool:
        return self.user is not None and bool(self.user.read & category)

    def security_headers(self, event: str, severity: str) -> Headers:
        return [
            ("Event", event),
            ("Privilege", "security,all"),
            ("SystemName", self.pbx.name),
            ("EventTV", self.pbx.clock.event_tv()),
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", "1"),
        ]

    def session_headers(self) -> Headers:
        return [
            ("SessionID", self.session_id),
            ("LocalAddress", self.local_address),
            ("RemoteAddress", self.remote_address),
        ]

    # -- the conversation ------------------------------------------------------------------
    async def run(self) -> None:
        self.writer.write(BANNER)
        parser = ActionReader()
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                for action in parser.feed(data):
                    await self.handle(action)
                    if self.closed:
                        break
                await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await self.close()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.pbx.ami_sessions.discard(self)
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    async def handle(self, action: Action) -> None:
        name = action.name.lower()
        if not name:
            self.respond(action, "Error", "Missing action in request")
            return
        if self.user is None and name not in ("login", "challenge", "logoff"):
            self.respond(action, "Error", "Permission denied")
            return
        if name == "login":
            await self.login(action)
            return
        spec = self.pbx.actions.get(name)
        if spec is None:
            self.respond(
                action,
                "Error",
                f"Invalid/unknown command: {action.name}. "
                "Use Action: ListCommands to show available commands.",
            )
            self.pbx.broadcast_security(self.bad_format_event(action))
            return
        write = self.user.write if self.user else 0
        if spec.authority and not (write & spec.authority):
            self.respond(action, "Error", "Permission denied")
            self.pbx.broadcast_security(self.not_allowed_event(action))
            return
        try:
            await spec.handler(self.pbx, self, action)
        except ResponseSent:
            pass

    def not_allowed_event(self, action: Action) -> Headers:
        assert self.user is not None
        return [
            *self.security_headers("RequestNotAllowed", "Error"),
            ("AccountID", self.user.name),
            *self.session_headers(),
            ("RequestType", f"Action: {action.name}"),
            ("SessionTV", self.started_tv),
        ]

    def bad_format_event(self, action: Action) -> Headers:
        # Asterisk 22 puts AccountID last in this one event (trace 08).
        return [
            *self.security_headers("RequestBadFormat", "Error"),
            *self.session_headers(),
            ("RequestType", f"Action: {action.name}"),
            ("SessionTV", self.started_tv),
            ("AccountID", self.user.name if self.user else ""),
        ]

    async def login(self, action: Action) -> None:
        username = action.get("Username") or ""
        user = self.pbx.config.users.get(username)
        secret_ok = user is not None and user.secret == (action.get("Secret") or "")
        if user is None or not secret_ok or not user.permits(self.remote_host):
            # A client outside the user's deny/permit list fails like a wrong secret
            # (manager.c authenticate()).
            # Asterisk sleeps a second before answering a failed login, then hangs up.
            await self.pbx.clock.sleep(1.0)
            self.respond(action, "Error", "Authentication failed")
            await self.close()
            return
        self.user = user
        self.started_tv = self.pbx.clock.event_tv()
        self.respond(action, "Success", "Authentication accepted")
        uptime = str(self.pbx.clock.uptime())
        self.send(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", uptime),
                ("LastReload", uptime),
                ("Status", "Fully Booted"),
            ]
        )
        self.pbx.ami_sessions.add(self)
        self.pbx.broadcast_security(
            [
                *self.security_headers("SuccessfulAuth", "Informational"),
                ("AccountID", user.name),
                *self.session_headers(),
                ("UsingPassword", "0"),
                ("SessionTV", self.started_tv),
            ]
        )


@functools.lru_cache(maxsize=64)
def privilege_text(category: int) -> str:
    from telephony.pbxsim.pbxconfig import PERMISSION_FLAGS

    names = [name for name, bit in PERMISSION_FLAGS.items() if category & bit]
    if category == ALL_PERMISSIONS:
        return "all"
    return ",".join([*names, "all"])
