"""Linkage tickets (联动单) in Redis: model, key layout, atomic scripts and the store."""

from bridge.tickets.keys import TicketKeys
from bridge.tickets.model import FeedbackEntry, HistoryEntry, Hop, Ticket, TicketDraft
from bridge.tickets.store import (
    CreateResult,
    IdempotencyConflict,
    TicketNotFound,
    TicketQuery,
    TicketStore,
)

__all__ = [
    "CreateResult",
    "FeedbackEntry",
    "HistoryEntry",
    "Hop",
    "IdempotencyConflict",
    "Ticket",
    "TicketDraft",
    "TicketKeys",
    "TicketNotFound",
    "TicketQuery",
    "TicketStore",
]
