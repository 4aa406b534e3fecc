"""The conferences code uses only the public surface of the transfer service (issue 4)."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.transfers.orchestrator import TransferService
from bridge.transfers.phone import PhoneTransfers

CONFERENCES = Path(__file__).resolve().parents[2] / "bridge" / "conferences"


def test_conferences_call_no_private_transfer_helper() -> None:
    private = re.compile(r"\btransfers\._[a-z]\w*")
    found = {
        f"{path.name}: {hit}"
        for path in CONFERENCES.glob("*.py")
        for hit in private.findall(path.read_text(encoding="utf-8"))
    }
    assert found == set()


def test_the_helpers_conferences_need_are_public() -> None:
    for name in ("plan", "ticket_draft", "queue_exists"):
        assert callable(getattr(TransferService, name))
    for name in ("pbx_of", "agent_draft", "forget_draft"):
        assert callable(getattr(PhoneTransfers, name))
