"""Routes that prove the AGI path works end to end, before any real call flow exists.

`ping` sets HOTLINE_BRIDGE=OK -- the variable a dialplan checks to know the bridge answered
(AGISTATUS alone is not enough: one failed command turns it to FAILURE). `echo` hands every
argument and query parameter back as channel variables, through the same quoting as any
caller-controlled text.
"""

from __future__ import annotations

from telephony.agi.routes import AgiRoutes
from telephony.agi.session import AgiSession

REACHED_VARIABLE = "HOTLINE_BRIDGE"


async def ping(session: AgiSession) -> None:
    await session.verbose(f"hotline-bridge: ping from {session.request.channel}")
    await session.set_variable(REACHED_VARIABLE, "OK")


async def echo(session: AgiSession) -> None:
    request = session.request
    for number, arg in enumerate(request.args, start=1):
        await session.set_variable(f"ECHO_ARG_{number}", arg)
    for key, value in request.query.items():
        await session.set_variable(f"ECHO_Q_{key}", value)
    await session.set_variable("ECHO_COUNT", str(len(request.args)))
    await session.set_variable(REACHED_VARIABLE, "OK")


def diagnostic_routes() -> AgiRoutes:
    routes = AgiRoutes()
    routes.add("ping", ping)
    routes.add("echo", echo)
    return routes
