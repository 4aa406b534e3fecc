"""The dialplan applications the emulator runs; any other is refused at load.

Asterisk looks applications up case-insensitively; the emulator does the same and keeps the
canonical spelling below so the runtime can dispatch on it.
"""

from __future__ import annotations

SUPPORTED_APPLICATIONS = (
    "AGI",
    "Answer",
    "Busy",
    "ChannelRedirect",
    "ConfBridge",
    "Dial",
    "Gosub",
    "Goto",
    "GotoIf",
    "Hangup",
    "NoOp",
    "Playback",
    "Queue",
    "Return",
    "Ringing",
    "SendDTMF",
    "Set",
    "UserEvent",
    "Wait",
)

_BY_LOWER = {name.lower(): name for name in SUPPORTED_APPLICATIONS}

# Queue() options the runtime honours: t/T let the called/calling party transfer (featuremap
# blindxfer/atxfer), r rings instead of music on hold. Any other letter is refused.
SUPPORTED_QUEUE_OPTIONS = frozenset("tTr")


def canonical_application(name: str) -> str | None:
    """`GotoIf` for "gotoif"; None when the emulator does not run that application."""
    return _BY_LOWER.get(name.lower())
