"""One AGI conversation: commands, replies, typed helpers. The same object serves FastAGI
(over a socket) and process AGI (over stdin/stdout), so a route handler runs under both."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from telephony.agi.errors import (
    AgiHangup,
    AgiProtocolError,
    CommandFailed,
    CommandNotPermitted,
    InvalidCommand,
    UsageError,
)
from telephony.agi.quoting import Arg, Quoted, command_line
from telephony.agi.replies import AgiReply, parse_status_line
from telephony.agi.request import AgiRequest


class AgiLink(Protocol):
    """How a session reaches Asterisk: a socket for FastAGI, stdin/stdout for process AGI."""

    async def send(self, line: bytes) -> None: ...

    async def read_line(self) -> bytes:
        """One line with its LF; b"" when Asterisk has closed the connection."""
        ...

    def hangup_signalled(self) -> bool:
        """True once Asterisk signalled a hangup out of band (SIGHUP to a process AGI)."""
        ...


class ChannelStatus(IntEnum):
    """What `CHANNEL STATUS` answers (Asterisk's AST_STATE_* numbers)."""

    DOWN_AVAILABLE = 0
    DOWN_RESERVED = 1
    OFF_HOOK = 2
    DIGITS_DIALED = 3
    RINGING = 4
    REMOTE_RINGING = 5
    UP = 6
    BUSY = 7


@dataclass(frozen=True, slots=True)
class Playback:
    digit: str | None  # the escape digit that stopped playback, if any
    endpos: int  # sample offset where playback stopped


class AgiSession:
    """Runs AGI commands for one call. Every argument is quoted by `telephony.agi.quoting`, so
    caller-controlled text can never become a second command.

    Errors: AgiHangup when the call ends (raised once; afterwards commands run in Asterisk's
    dead-channel mode), InvalidCommand (510), CommandNotPermitted (511), UsageError (520),
    CommandFailed (result -1 where that means failure).
    """

    def __init__(self, request: AgiRequest, link: AgiLink) -> None:
        self.request = request
        self.hung_up = False
        self._link = link

    async def command(self, command: str, *args: Arg) -> AgiReply:
        """Send one command (fixed words, then arguments) and return its 200 reply."""
        line = command_line(command, *args)
        if not self.hung_up and self._link.hangup_signalled():
            self.hung_up = True
            raise AgiHangup("the channel hung up (SIGHUP from Asterisk)")
        await self._link.send(line)
        return await self._read_reply(command)

    async def _read_reply(self, command: str) -> AgiReply:
        hangup_now = False
        while True:
            line = await self._read_text_line()
            if line == "HANGUP":
                # A notice, not the answer: Asterisk still answers the command in flight.
                hangup_now = hangup_now or not self.hung_up
                self.hung_up = True
                continue
            reply = parse_status_line(line)
            if reply.code == 100:  # "Trying...": the real answer follows
                continue
            if line.startswith("520-"):
                reply = await self._read_usage(reply)
            break
        if hangup_now:
            raise AgiHangup("the channel hung up", reply)
        return _checked(command, reply)

    async def _read_text_line(self) -> str:
        raw = await self._link.read_line()
        if not raw.endswith(b"\n"):
            self.hung_up = True
            raise AgiHangup("Asterisk closed the AGI connection")
        return raw[:-1].decode("utf-8", errors="replace")

    async def _read_usage(self, opening: AgiReply) -> AgiReply:
        lines: list[str] = []
        while True:
            line = await self._read_text_line()
            if line.startswith("520 "):
                break
            lines.append(line)
        return AgiReply(code=520, message=opening.message, usage="\n".join(lines))

    async def _must_succeed(self, command: str, *args: Arg) -> AgiReply:
        """Run a command whose `result=-1` means it failed (or the channel is gone)."""
        reply = await self.command(command, *args)
        if reply.result == "-1":
            raise CommandFailed(f"{command} failed (result=-1)", reply)
        return reply

    # Typed helpers, one per AGI command the bridge uses.

    async def answer(self) -> None:
        await self._must_succeed("ANSWER")

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", Quoted(message), level)

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, or None when it is not set."""
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result == "1" else None

    async def get_full_variable(self, expression: str, channel: str | None = None) -> str | None:
        """`expression` with ${...} substituted by Asterisk, or None when it fails."""
        args: tuple[Arg, ...] = (expression,) if channel is None else (expression, channel)
        reply = await self.command("GET FULL VARIABLE", *args)
        return reply.data if reply.result == "1" else None

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, Quoted(value))

    async def stream_file(self, file: str, escape_digits: str = "") -> Playback:
        reply = await self._must_succeed("STREAM FILE", file, escape_digits)
        return Playback(digit=_digit(reply.value), endpos=reply.endpos or 0)

    async def get_data(
        self, file: str, timeout_ms: int | None = None, max_digits: int | None = None
    ) -> str:
        """Play `file`, collect DTMF: the digits entered ("" when the caller pressed nothing)."""
        args: list[Arg] = [file]
        if timeout_ms is not None or max_digits is not None:
            args.append(timeout_ms or 0)  # 0 asks Asterisk for its default timeout
        if max_digits is not None:
            args.append(max_digits)
        reply = await self._must_succeed("GET DATA", *args)
        return reply.result

    async def wait_for_digit(self, timeout_ms: int = -1) -> str | None:
        """The digit pressed (Asterisk sends its ASCII code), or None on timeout."""
        reply = await self._must_succeed("WAIT FOR DIGIT", timeout_ms)
        return _digit(reply.value)

    async def exec(self, application: str, data: str = "") -> int:
        """Run a dialplan application; its return value (0 usually, -1 when it hung up)."""
        args: tuple[Arg, ...] = (application, data) if data else (application,)
        reply = await self.command("EXEC", *args)
        if reply.result == "-2":
            raise CommandFailed(f"EXEC: no application named {application!r}", reply)
        return reply.value

    async def channel_status(self, channel: str | None = None) -> ChannelStatus:
        args: tuple[Arg, ...] = () if channel is None else (channel,)
        reply = await self._must_succeed("CHANNEL STATUS", *args)
        try:
            return ChannelStatus(reply.value)
        except ValueError:
            raise AgiProtocolError(f"CHANNEL STATUS: unknown state {reply.result}") from None

    async def hangup(self, channel: str | None = None) -> None:
        args: tuple[Arg, ...] = () if channel is None else (channel,)
        await self._must_succeed("HANGUP", *args)


def _checked(command: str, reply: AgiReply) -> AgiReply:
    if reply.code == 200:
        return reply
    if reply.code == 510:
        raise InvalidCommand(f"{command}: {reply.message}", reply)
    if reply.code == 511:
        raise CommandNotPermitted(f"{command}: {reply.message}", reply)
    if reply.code == 520:
        raise UsageError(f"{command}: {reply.message}", reply)
    raise AgiProtocolError(f"{command}: unexpected AGI reply code {reply.code} {reply.message!r}")


def _digit(code: int) -> str | None:
    return chr(code) if code > 0 else None
