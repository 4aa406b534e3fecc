"""Queue choice for 110 calls: AGI route `route-110?district=<code>`, from the 110 PBX's
`[from-pstn]` for a county centre's number (110<district>).

No menu, no prompt: a 110 caller must reach an agent, so the route only sets `HB_QUEUE`
(the `[hb-queue]` extension to join, e.g. `aid110370811`, a district's aid queue during a
surge) and answers in milliseconds. Which queue is decided by a pluggable function
(`QueueChoice`): today `own_queue`, the centre's own queue (HB_QUEUE left empty); the
overflow controller's `aid_target` has the same shape and can be handed in. Whatever goes
wrong -- a bad district, a choice that raises or answers nonsense -- leaves HB_QUEUE empty,
and the dialplan sends the caller to the centre's own queue.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from telephony.agi.errors import AgiHangup
from telephony.agi.routes import AgiRoutes, Handler
from telephony.agi.session import AgiSession

log = logging.getLogger(__name__)
ROUTE = "route-110"
DISTRICT = re.compile(r"\d{6}")
# An [hb-queue] extension on the 110 PBX (110<district>, aid110<district>, ...): one dialplan
# token, so it cannot smuggle a comma or a blank into the dialplan's Goto().
QUEUE_EXTENSION = re.compile(r"[A-Za-z0-9_*#+.\-]{1,40}")

# district code of the centre called -> [hb-queue] extension to join, None for its own queue.
QueueChoice = Callable[[str], str | None]


def own_queue(district: str) -> str | None:
    """Every caller waits in the queue of the centre they called."""
    return None


def choose_queue(district: str | None, choose: QueueChoice) -> str | None:
    """The [hb-queue] extension for a call to `district`'s centre, None for its own queue.

    Raises ValueError naming what was wrong with the district or with the choice's answer.
    """
    if district is None or not DISTRICT.fullmatch(district):
        raise ValueError(f"district must be a six-digit code, got {district!r}")
    chosen = choose(district)
    if chosen is None or chosen == f"110{district}":
        return None
    if not QUEUE_EXTENSION.fullmatch(chosen):
        raise ValueError(
            f"queue choice for {district} answered {chosen!r}, not an [hb-queue] extension"
        )
    return chosen


def route_110(choose: QueueChoice = own_queue) -> Handler:
    async def route(session: AgiSession) -> None:
        district = session.request.query.get("district")
        try:
            chosen = choose_queue(district, choose)
        except Exception as exc:
            log.error("110 queue choice failed", extra={"district": district, "error": str(exc)})
            return
        if chosen is None:
            return
        try:
            await session.set_variable("HB_QUEUE", chosen)
        except AgiHangup:
            return
        log.info("110 call sent to another queue", extra={"district": district, "queue": chosen})

    return route


def add_route_110(routes: AgiRoutes, choose: QueueChoice = own_queue) -> None:
    routes.add(ROUTE, route_110(choose))
