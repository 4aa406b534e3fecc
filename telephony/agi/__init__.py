"""AGI: the FastAGI server, the session with typed commands, and the route registry.

routes = AgiRoutes()

@routes.route("ivr")
async def ivr(session: AgiSession) -> None:
    digits = await session.get_data("beep", 3000, 1)
    await session.set_variable("CHOICE", digits)

server = FastAgiServer(routes)
await server.start("0.0.0.0", 4573)
...
await server.stop(deadline=10)
"""

from telephony.agi.errors import (
    AgiCommandError,
    AgiError,
    AgiHangup,
    AgiHeaderError,
    AgiProtocolError,
    CommandFailed,
    CommandNotPermitted,
    CommandTooLong,
    InvalidCommand,
    UsageError,
)
from telephony.agi.quoting import Quoted, command_line
from telephony.agi.replies import AgiReply, parse_status_line
from telephony.agi.request import AgiRequest, parse_header_block, request_from_headers
from telephony.agi.routes import AgiRoutes, Handler
from telephony.agi.server import FastAgiServer, FastAgiStatus
from telephony.agi.session import AgiLink, AgiSession, ChannelStatus, Playback

__all__ = [
    "AgiCommandError",
    "AgiError",
    "AgiHangup",
    "AgiHeaderError",
    "AgiLink",
    "AgiProtocolError",
    "AgiReply",
    "AgiRequest",
    "AgiRoutes",
    "AgiSession",
    "ChannelStatus",
    "CommandFailed",
    "CommandNotPermitted",
    "CommandTooLong",
    "FastAgiServer",
    "FastAgiStatus",
    "Handler",
    "InvalidCommand",
    "Playback",
    "Quoted",
    "UsageError",
    "command_line",
    "parse_header_block",
    "parse_status_line",
    "request_from_headers",
]
