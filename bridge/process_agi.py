"""`hotline-bridge-agi ROUTE [ARGS]`: the same AGI routes as FastAGI, run as a process AGI.

For dialplans that run `AGI(hotline-bridge-agi,<route>[?k=v],arg1,...)` instead of
`AGI(agi://bridge:4573/<route>?k=v,arg1,...)`. Built on pyst2's `asterisk.agi.AGI`, which reads
the `agi_*` block from stdin and installs the SIGHUP handler Asterisk uses to signal a hangup
(fine here: this is a process's main thread). Its debug lines go to /dev/null unless
HOTLINE_AGI_DEBUG=1, because Asterisk copies an AGI's stderr into its own log. Commands and
replies then run through `telephony.agi.AgiSession`, so one async route handler serves both.

A route reaches the running bridge's state through the bridge's HTTP API or Redis, never by
opening an AMI session of its own (every process would be one more manager login).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import os
import sys
from collections.abc import Sequence
from typing import BinaryIO, TextIO

from asterisk.agi import AGI, AGIHangup

from telephony.agi import AgiError, AgiHangup, AgiHeaderError, AgiRoutes, AgiSession
from telephony.agi.diagnostic_routes import diagnostic_routes
from telephony.agi.request import AgiRequest, request_from_headers, split_script
from telephony.agi.routes import Handler

log = logging.getLogger("hotline-bridge-agi")
USAGE = "usage: hotline-bridge-agi ROUTE[?key=value&...] [ARGS...]"


class Pyst2Link:
    """AgiLink over pyst2's AGI: its stdout for commands, its stdin for replies."""

    def __init__(self, agi: AGI, stdin: BinaryIO) -> None:
        self._agi = agi
        self._stdin = stdin

    async def send(self, line: bytes) -> None:
        try:
            # pyst2 strips the line and adds the LF; our lines never end in blanks.
            self._agi.send_command(line[:-1].decode())
        except (BrokenPipeError, ConnectionError):
            raise AgiHangup("Asterisk closed the AGI pipe") from None

    async def read_line(self) -> bytes:
        # Blocking read off the event loop, so a handler's HTTP/Redis work can overlap it.
        line: bytes = await asyncio.to_thread(self._stdin.readline)
        return line

    def hangup_signalled(self) -> bool:
        try:
            self._agi.test_hangup()
        except AGIHangup:
            return True
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; the routes are those the FastAGI server serves by default."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
    return run(sys.argv[1:] if argv is None else argv, diagnostic_routes())


def run(
    argv: Sequence[str],
    routes: AgiRoutes,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
) -> int:
    """Serve one AGI call on stdin/stdout: 0 when the route finished or the caller hung up,
    1 when the route failed, 2 for a usage error."""
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 2
    route, query = split_script({"agi_network_script": argv[0]})
    handler = routes.get(route)
    if handler is None:
        known = ", ".join(routes.names())
        print(f"hotline-bridge-agi: no route {route!r} (have: {known})", file=sys.stderr)
        return 2
    binary_in = stdin if stdin is not None else sys.stdin.buffer
    text_out = _utf8_text(stdout if stdout is not None else sys.stdout.buffer)
    agi = AGI(stdin=binary_in, stdout=text_out, stderr=_debug_stream())
    try:
        request = _request(agi.env, route, query, argv[1:])
    except AgiHeaderError as exc:
        print(f"hotline-bridge-agi: {exc}", file=sys.stderr)
        return 2
    session = AgiSession(request, Pyst2Link(agi, binary_in))
    return asyncio.run(_serve(handler, session))


def _request(
    env: dict[str, str], route: str, query: dict[str, str], args: Sequence[str]
) -> AgiRequest:
    """The request as FastAGI would see it: route and query from ROUTE, the args after it
    (Asterisk also sends ROUTE as agi_arg_1, which a FastAGI handler would not see)."""
    base = request_from_headers({"agi_request": "hotline-bridge-agi", **env})
    return dataclasses.replace(base, route=route, query=query, args=list(args))


async def _serve(handler: Handler, session: AgiSession) -> int:
    request = session.request
    try:
        await handler(session)
    except Exception as exc:
        if isinstance(exc, AgiHangup) or (isinstance(exc, AgiError) and session.hung_up):
            log.info("%s on %s: caller hung up", request.route, request.channel)
            return 0
        log.exception("route %s failed on %s", request.route, request.channel)
        return 1
    return 0


def _utf8_text(stream: BinaryIO) -> TextIO:
    # Asterisk starts AGIs with a C locale: without this, Chinese text would not encode.
    return io.TextIOWrapper(stream, encoding="utf-8", newline="\n", write_through=True)


def _debug_stream() -> TextIO:
    if os.environ.get("HOTLINE_AGI_DEBUG") == "1":
        return sys.stderr
    return open(os.devnull, "w")  # lives as long as the process


if __name__ == "__main__":
    sys.exit(main())
