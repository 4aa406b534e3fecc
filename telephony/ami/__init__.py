"""Asterisk Manager Interface: byte-stream parser, typed events and the client.

See docs/ami.md for the design and the measured figures.
"""

from telephony.ami.client import ActionResult, AMIClient, Subscription, backoff_delay
from telephony.ami.errors import AMIAuthError, AMIConnectionError, AMIError, AMITimeout
from telephony.ami.events import EVENT_TYPES, Event, GenericEvent, to_event
from telephony.ami.parser import AMIParser, Message, parse_message

__all__ = [
    "EVENT_TYPES",
    "AMIAuthError",
    "AMIClient",
    "AMIConnectionError",
    "AMIError",
    "AMIParser",
    "AMITimeout",
    "ActionResult",
    "Event",
    "GenericEvent",
    "Message",
    "Subscription",
    "backoff_delay",
    "parse_message",
    "to_event",
]
