"""The call-takers' desktops in the demo: before pressing the one-key code, the agent has
typed what the caller said, and the desktop posts it as the agent's draft
(`PUT /api/agents/{agent}/draft`), so the linkage ticket carries it (issue 4, item 2).

Drafts alternate per platform between the two paths each can take: 12345 hands a police
matter to city 110; city 110 pushes an incident on to the county centre where it happened
(属地), or hands a non-police request to 12345.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import aiohttp

from bridge.transfers.drafts import agent_id_of

log = logging.getLogger(__name__)

DRAFTS: Mapping[str, tuple[dict[str, Any], ...]] = {
    "q12345": (
        {
            "kind": "报警",
            "summary": "来电称小区内有人持械争吵，请110处置",
            "urgency": "urgent",
            "district_code": "370811",
            "location": "任城区某小区",
            "target": "110",
        },
    ),
    "q110-city": (
        {
            "kind": "报警",
            "summary": "邹城市某商场门口发生纠纷，请属地110处置",
            "urgency": "urgent",
            "district_code": "370883",
            "location": "邹城市某商场",
            "target": "110",
        },
        {
            "kind": "求助",
            "summary": "咨询户籍迁移办理流程，非警务求助，转12345",
            "district_code": "370811",
            "target": "12345",
        },
    ),
}


# Before *9: matters where it is unclear who is responsible, so both hotlines talk it over
# with the caller; the second of every four is urgent (danger: 110 dispatches first, issue 5).
_UNCLEAR = {
    "kind": "咨询",
    "summary": "小区噪音扰民并伴有邻里争执，责任主体不明，三方会商",
    "district_code": "370811",
    "location": "任城区某小区",
}
_URGENT = {
    "kind": "报警",
    "summary": "来电称楼道内有人持刀威胁邻居，三方会商",
    "urgency": "urgent",
    "district_code": "370811",
    "location": "任城区某小区",
}
THREEPARTY_DRAFTS: Mapping[str, tuple[dict[str, Any], ...]] = {
    "q12345": (
        {**_UNCLEAR, "target": "110"},
        {**_URGENT, "target": "110"},
        {**_UNCLEAR, "target": "110"},
        {**_UNCLEAR, "target": "110"},
    ),
    "q110-city": (
        {**_UNCLEAR, "target": "12345"},
        {**_URGENT, "target": "12345"},
        {**_UNCLEAR, "target": "12345"},
        {**_UNCLEAR, "target": "12345"},
    ),
}


class AgentDesks:
    """Posts a draft for the agent on `agent_channel` before a key press from `queue`."""

    def __init__(
        self, http_base: str, tokens: Mapping[str, str], threeparty_code: str = "*9"
    ) -> None:
        self.http_base = http_base
        self.tokens = tokens  # queue -> bearer token of that platform's desk
        self.threeparty_code = threeparty_code
        self._cycles: dict[str, Iterator[dict[str, Any]]] = {
            queue: itertools.cycle(drafts) for queue, drafts in DRAFTS.items()
        }
        self._threeparty_cycles: dict[str, Iterator[dict[str, Any]]] = {
            queue: itertools.cycle(drafts) for queue, drafts in THREEPARTY_DRAFTS.items()
        }

    async def prepare(self, queue: str, agent_channel: str, digits: str = "") -> None:
        """The draft for the code about to be pressed (`*9`: a three-party call's)."""
        cycles = self._threeparty_cycles if digits == self.threeparty_code else self._cycles
        cycle, token = cycles.get(queue), self.tokens.get(queue)
        if cycle is None or token is None:
            return  # no desktop integration there: the ticket is minimal
        url = f"{self.http_base}/api/agents/{agent_id_of(agent_channel)}/draft"
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.put(url, json=next(cycle), headers=headers) as response,
            ):
                if response.status != 200:
                    # e.g. this build has no ticket API yet: the press goes ahead without.
                    log.debug("draft refused", extra={"status": response.status, "url": url})
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.debug("draft not posted", extra={"error": str(exc)})
