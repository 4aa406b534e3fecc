"""After a bridge restart: finish or revert every transfer the in-flight records name.

Asked of each record, with the PBXs' live models freshly rebuilt (QueueStatus,
CoreShowChannels):

- the ticket already moved on (accepted, failed, closed...)   -> drop the record;
- a target-queue member is talking to the caller             -> ``accepted``;
- the caller waits in the target queue                        -> ``queued``, watched again
  with the deadline it had;
- still ``created`` and the caller still bridged with its agent: the bridge died before moving
  it -> ``transfer_failed`` ("bridge restarted before the caller was moved"), the agent may
  press again;
- the caller is gone from both PBXs                          -> ``transfer_failed``;
- otherwise (between PBXs, in the dialplan)                   -> watched again; a deadline
  already past moves the caller back now.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from redis.exceptions import RedisError

from bridge.tickets import TicketNotFound
from bridge.transfers.inflight import InFlight
from bridge.transfers.outcomes import OutcomeWatcher
from routing.tickets import TicketStatus
from telephony.live import LiveModel

log = logging.getLogger(__name__)
UNSETTLED = frozenset({TicketStatus.CREATED, TicketStatus.TRANSFERRING, TicketStatus.QUEUED})


def _candidates(record: InFlight, live: LiveModel) -> set[str]:
    """Uniqueids on the target PBX that are this transfer's caller."""
    found = {
        channel.uniqueid
        for channel in live.channels.values()
        if channel.variables.get("LINKAGE_TICKET") == record.ticket_id
    }
    if record.target_pbx == record.source_pbx:
        found.add(record.caller_uniqueid)
        if record.room:
            found.add(f"{record.room}-2")
    return found


async def recover(watcher: OutcomeWatcher, records: list[InFlight]) -> dict[str, str]:
    """Settle `records`; returns ticket id -> what was done (also logged)."""
    done: dict[str, str] = {}
    for record in records:
        try:
            outcome = await _recover_one(watcher, record)
        except TicketNotFound:
            await watcher.inflight.delete(record.ticket_id)
            outcome = "dropped: no such ticket"
        except (ValidationError, RedisError, OSError) as exc:
            # One bad record must not stop the others; it stays for an operator to look at.
            outcome = f"skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        done[record.ticket_id] = outcome
        log.info("transfer recovered", extra={"ticket": record.ticket_id, "outcome": outcome})
    return done


async def _recover_one(watcher: OutcomeWatcher, record: InFlight) -> str:
    ticket = await watcher.store.get(record.ticket_id)
    if ticket.status not in UNSETTLED:
        await watcher.inflight.delete(record.ticket_id)
        return f"already {ticket.status.value}"
    target = watcher.links[record.target_pbx].live
    candidates = _candidates(record, target)
    queue = target.queues.get(record.target_queue)
    if queue is not None:
        for member in queue.members.values():
            if member.caller in candidates:
                watch = watcher.watch(record, candidates)
                await watcher.accept(watch, member.caller, member.interface, member.agent_leg or "")
                return "accepted"
    waiting = [c.uniqueid for c in target.waiting(record.target_queue) if c.uniqueid in candidates]
    if waiting:
        watch = watcher.watch(record, candidates)
        await watcher.mark_queued(watch, waiting[0], record.target_queue)
        return "queued: watching again"
    source = watcher.links[record.source_pbx].live
    peer = source.bridged_peer(record.caller_uniqueid)
    still_talking = peer is not None and peer.name == record.agent_channel
    if ticket.status is TicketStatus.CREATED and still_talking and record.mode == "blind":
        # The ticket is made before the caller moves; a caller still bridged was never moved.
        watch = watcher.watch(record, set())
        await watcher.fail(watch, "bridge restarted before the caller was moved")
        return "failed: never moved"
    if source.channel(record.caller_uniqueid) is None and not any(
        target.channel(uniqueid) for uniqueid in candidates
    ):
        watch = watcher.watch(record, set())
        await watcher.fail(watch, "caller gone while the bridge was down")
        return "failed: caller gone"
    watcher.watch(record, candidates | {record.caller_uniqueid})
    return "watching again"
