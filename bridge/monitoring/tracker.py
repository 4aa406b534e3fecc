"""AMI queue events -> one CallerOutcome per caller per queue.

Asterisk 22 does not say in one event how a caller's stay in a queue ended, so each caller is
followed until the events after its QueueCallerAbandon / QueueCallerLeave tell (see the traces
in ../shared/asterisk-traces):

- ``AgentConnect`` -> ANSWERED, wait = its ``HoldTime`` (trace 02: it follows the Leave).
- ``QueueCallerAbandon`` then the caller's ``Hangup`` -> ABANDONED, the early release
  (trace 03), wait = the Abandon's ``HoldTime`` (seconds).
- ``QueueCallerAbandon`` after a withdrawal -> WITHDRAWN: the bridge asked for it
  (:meth:`QueueTracker.note_withdraw`), or ``QUEUE_WITHDRAW_INFO`` / ``QUEUESTATUS=WITHDRAW``
  is set on the caller (trace 11: both follow the Abandon).
- ``QueueCallerAbandon`` whose channel is already elsewhere in the dialplan, or the bridge's
  own Redirect (:meth:`QueueTracker.note_redirect`), or the caller joining another queue
  before hanging up -> TRANSFERRED.
- ``QueueCallerLeave`` with ``QUEUESTATUS=TIMEOUT`` (or FULL, JOINEMPTY, LEAVEEMPTY,
  JOINUNAVAIL, LEAVEUNAVAIL: the queue sent the caller on) -> TIMED_OUT.
- ``QueueCallerLeave`` with no Abandon, no AgentConnect and no ``QUEUESTATUS`` -> EXIT_KEY:
  the caller pressed a key of the queue's ``context`` (trace 10; the Leave already shows the
  new context, and Asterisk leaves ``QUEUESTATUS`` empty).

When nothing decides within ``grace`` seconds the default is taken: ABANDONED after an
Abandon, EXIT_KEY after a Leave. So every outcome is counted within grace + one tick of the
deciding event (≤ 1 s).

After an AMI reconnect :meth:`QueueTracker.resync` takes Asterisk's ``QueueEntry`` list:
callers still waiting are kept (no double count), new ones are added with join time
``now - Wait``, and callers we followed who are gone were closed while we could not see:
they are closed as TRANSFERRED with ``closed_on_resync`` set (their fate is unknown; counting
them as early releases would put callers who may have been answered on the call-back list).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bridge.monitoring.config import QueueDirectory
from routing.metrics import CallerOutcome, Outcome
from telephony.ami.events import (
    AgentConnect,
    ChannelEvent,
    Event,
    Hangup,
    NewCallerid,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    QueueEntry,
    VarSet,
)

WITHHELD_NUMBERS = frozenset({"", "anonymous", "<unknown>", "unknown", "restricted", "private"})
# QUEUESTATUS values meaning the queue itself sent the caller on.
QUEUE_GAVE_UP = frozenset(
    {"TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL"}
)
# Asterisk presentation: bits 0x60 are 0x20 (restricted) or 0x40 (unavailable).
PRESENTATION_MASK = 0x60

EVENT_NAMES = (
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentConnect",
    "VarSet",
    "Hangup",
    "NewCallerid",
)


def presentation_withheld(text: str) -> bool:
    """Whether ``CID-CallingPres`` (``"32 (Presentation Restricted, ...)"``) hides the number."""
    head = text.strip().split(" ", 1)[0]
    if head.isdigit():
        return int(head) & PRESENTATION_MASK != 0
    return "restricted" in text.lower() or "prohibited" in text.lower()


def number_withheld(number: str) -> bool:
    return number.strip().lower() in WITHHELD_NUMBERS


@dataclass(slots=True)
class FollowedCaller:
    """A caller in one queue, from its Join until its outcome is known."""

    uniqueid: str
    channel: str
    queue: str
    number: str
    name: str
    joined_at: float
    original_position: int
    position: int
    context: str
    exten: str
    withheld: bool = False
    # "waiting", then "abandoned" or "left" until decided
    state: str = "waiting"
    ended_at: float = 0.0  # when the Abandon / Leave arrived (our clock)
    hold_time: float | None = None  # the Abandon's HoldTime
    withdraw_requested: bool = False
    redirect_requested: bool = False


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a microsecond per outcome
class ClosedCaller:
    """An outcome with what the call-back list and the log line need besides the figures."""

    record: CallerOutcome
    uniqueid: str
    channel: str
    number: str
    name: str
    withheld: bool
    position: int
    original_position: int
    closed_at: float
    lag: float  # seconds from the deciding event's arrival to this record
    closed_on_resync: bool = False


@dataclass
class TrackerStats:
    events: int = 0
    closed: dict[str, int] = field(default_factory=dict)
    closed_on_resync: int = 0
    resyncs: int = 0


class QueueTracker:
    """Follows callers from AMI events and hands each outcome to ``on_closed``."""

    def __init__(
        self,
        directory: QueueDirectory,
        on_closed: Callable[[ClosedCaller], None],
        clock: Callable[[], float],
        grace: float = 0.5,
    ) -> None:
        if not grace > 0:
            raise ValueError(f"grace must be > 0 seconds, got {grace!r}")
        self.directory = directory
        self.on_closed = on_closed
        self.clock = clock
        self.grace = grace
        self.stats = TrackerStats()
        self._callers: dict[str, FollowedCaller] = {}  # by uniqueid
        self._withheld_ids: set[str] = set()  # uniqueids whose NewCallerid restricts the number
        self._withdraws: set[tuple[str, str]] = set()  # (queue, channel) the bridge withdrew
        self._redirects: set[str] = set()  # channels the bridge redirected
        self._handlers: dict[type[Event], Callable[[Event], None]] = {
            QueueCallerJoin: self._on_join,  # type: ignore[dict-item]
            QueueCallerAbandon: self._on_abandon,  # type: ignore[dict-item]
            QueueCallerLeave: self._on_leave,  # type: ignore[dict-item]
            AgentConnect: self._on_agent_connect,  # type: ignore[dict-item]
            VarSet: self._on_varset,  # type: ignore[dict-item]
            Hangup: self._on_hangup,  # type: ignore[dict-item]
            NewCallerid: self._on_new_callerid,  # type: ignore[dict-item]
        }

    # --- what the bridge tells us --------------------------------------------------------

    def note_withdraw(self, queue: str, channel: str) -> None:
        """The bridge sent QueueWithdrawCaller for ``channel``: its Abandon is a withdrawal."""
        self._withdraws.add((queue, channel))

    def note_redirect(self, channel: str) -> None:
        """The bridge redirected ``channel`` out of its queue: its Abandon/Leave is a transfer."""
        self._redirects.add(channel)

    # --- questions ----------------------------------------------------------------------

    def waiting(self, queue: str | None = None) -> list[FollowedCaller]:
        return [
            c
            for c in self._callers.values()
            if c.state == "waiting" and (queue is None or c.queue == queue)
        ]

    @property
    def undecided(self) -> int:
        return sum(1 for c in self._callers.values() if c.state != "waiting")

    # --- events -------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            self.stats.events += 1
            handler(event)

    def _on_join(self, event: QueueCallerJoin) -> None:
        earlier = self._callers.get(event.uniqueid)
        if earlier is not None and (earlier.state != "waiting" or earlier.queue != event.queue):
            # Out of one queue and already in the next: whatever it was, not a hang-up.
            outcome = Outcome.EXIT_KEY if earlier.state == "left" else Outcome.TRANSFERRED
            self._close(earlier, outcome, self.clock())
        number = event.caller_id_num
        self._callers[event.uniqueid] = FollowedCaller(
            uniqueid=event.uniqueid,
            channel=event.channel,
            queue=event.queue,
            number=number,
            name=event.caller_id_name,
            joined_at=self.clock(),
            original_position=event.position,
            position=event.position,
            context=event.context,
            exten=event.exten,
            withheld=number_withheld(number) or event.uniqueid in self._withheld_ids,
        )

    def _followed(self, event: ChannelEvent, queue: str) -> FollowedCaller | None:
        caller = self._callers.get(event.uniqueid)
        if caller is None or caller.queue != queue:
            return None
        return caller

    def _on_abandon(self, event: QueueCallerAbandon) -> None:
        caller = self._followed(event, event.queue)
        if caller is None:
            caller = self._adopt(event, event.queue)
        now = self.clock()
        caller.state, caller.ended_at, caller.hold_time = "abandoned", now, float(event.hold_time)
        caller.position = event.position
        caller.original_position = event.original_position or caller.original_position
        if (event.queue, event.channel) in self._withdraws or caller.withdraw_requested:
            self._close(caller, Outcome.WITHDRAWN, now)
        elif event.channel in self._redirects or self._moved_on(caller, event):
            self._close(caller, Outcome.TRANSFERRED, now)

    def _on_leave(self, event: QueueCallerLeave) -> None:
        caller = self._followed(event, event.queue)
        if caller is None or caller.state != "waiting":
            return  # the Leave that follows an Abandon, or a caller we never saw join
        now = self.clock()
        caller.state, caller.ended_at, caller.position = "left", now, event.position
        if event.channel in self._redirects:
            self._close(caller, Outcome.TRANSFERRED, now)
        elif self._moved_on(caller, event):
            self._close(caller, Outcome.EXIT_KEY, now)  # trace 10: the Leave shows divert110

    def _on_agent_connect(self, event: AgentConnect) -> None:
        caller = self._followed(event, event.queue)
        if caller is None:
            caller = self._adopt(event, event.queue)
        self._close(caller, Outcome.ANSWERED, self.clock(), wait=float(event.hold_time))

    def _on_varset(self, event: VarSet) -> None:
        caller = self._callers.get(event.uniqueid)
        if caller is None or caller.state == "waiting":
            return
        if event.variable == "QUEUE_WITHDRAW_INFO" or (
            event.variable == "QUEUESTATUS" and event.value == "WITHDRAW"
        ):
            self._close(caller, Outcome.WITHDRAWN, self.clock())
        elif event.variable == "QUEUESTATUS" and event.value in QUEUE_GAVE_UP:
            self._close(caller, Outcome.TIMED_OUT, self.clock())

    def _on_hangup(self, event: Hangup) -> None:
        self._withheld_ids.discard(event.uniqueid)
        caller = self._callers.get(event.uniqueid)
        if caller is None:
            return
        now = self.clock()
        if caller.state == "abandoned":
            self._close(caller, Outcome.ABANDONED, now)
        elif caller.state == "left":
            self._close(caller, Outcome.EXIT_KEY, now)
        else:
            # Hung up while waiting and Asterisk's Abandon never came (not seen in Asterisk 22,
            # kept so a caller is never left open): an early release by definition.
            caller.state, caller.ended_at = "abandoned", now
            self._close(caller, Outcome.ABANDONED, now)

    def _on_new_callerid(self, event: NewCallerid) -> None:
        if presentation_withheld(event.cid_calling_pres):
            self._withheld_ids.add(event.uniqueid)
            caller = self._callers.get(event.uniqueid)
            if caller is not None:
                caller.withheld = True

    @staticmethod
    def _moved_on(caller: FollowedCaller, event: ChannelEvent) -> bool:
        """The event's snapshot shows the channel already elsewhere in the dialplan."""
        if not caller.context or not event.context:
            return False  # a caller adopted from QueueStatus: its queue's place is unknown
        return (event.context, event.exten) != (
            caller.context,
            caller.exten,
        )

    def _adopt(self, event: ChannelEvent, queue: str) -> FollowedCaller:
        """A caller whose Join we missed (the bridge started meanwhile): follow it from now."""
        caller = FollowedCaller(
            uniqueid=event.uniqueid,
            channel=event.channel,
            queue=queue,
            number=event.caller_id_num,
            name=event.caller_id_name,
            joined_at=self.clock(),
            original_position=0,
            position=0,
            context=event.context,
            exten=event.exten,
            withheld=number_withheld(event.caller_id_num),
        )
        self._callers[event.uniqueid] = caller
        return caller

    # --- decisions ----------------------------------------------------------------------

    def expire(self, now: float | None = None) -> int:
        """Take the default decision for callers undecided for ``grace`` seconds."""
        now = self.clock() if now is None else now
        due = [
            c
            for c in self._callers.values()
            if c.state != "waiting" and now - c.ended_at >= self.grace
        ]
        for caller in due:
            default = Outcome.ABANDONED if caller.state == "abandoned" else Outcome.EXIT_KEY
            self._close(caller, default, now)
        return len(due)

    def _close(
        self,
        caller: FollowedCaller,
        outcome: Outcome,
        now: float,
        *,
        wait: float | None = None,
        on_resync: bool = False,
    ) -> None:
        if self._callers.get(caller.uniqueid) is caller:
            del self._callers[caller.uniqueid]
        self._withdraws.discard((caller.queue, caller.channel))
        self._redirects.discard(caller.channel)
        if wait is None:
            wait = caller.hold_time  # Asterisk's own count, when an Abandon gave one
            if wait is None:
                end = caller.ended_at or now
                wait = end - caller.joined_at
        info = self.directory.get(caller.queue)
        record = CallerOutcome(
            queue=caller.queue,
            joined_at=max(caller.joined_at, 0.0),
            outcome=outcome,
            wait=max(wait, 0.0),
            platform=info.platform,
            district=info.district,
        )
        decided_at = caller.ended_at if caller.state != "waiting" else now
        self.stats.closed[outcome.value] = self.stats.closed.get(outcome.value, 0) + 1
        self.on_closed(
            ClosedCaller(
                record=record,
                uniqueid=caller.uniqueid,
                channel=caller.channel,
                number=caller.number,
                name=caller.name,
                withheld=caller.withheld,
                position=caller.position,
                original_position=caller.original_position,
                closed_at=now,
                lag=max(now - decided_at, 0.0),
                closed_on_resync=on_resync,
            )
        )

    # --- after a reconnect --------------------------------------------------------------

    def resync(self, items: Iterable[Event], queues: Iterable[str] | None = None) -> None:
        """Reconcile with a QueueStatus list (its QueueEntry items) taken after a reconnect.

        ``queues``: the queues the list covers (all it names when None); callers we follow in
        other queues are left alone.
        """
        now = self.clock()
        entries = [item for item in items if isinstance(item, QueueEntry)]
        covered = set(queues) if queues is not None else None
        present = {entry.uniqueid: entry for entry in entries}
        self.stats.resyncs += 1
        for caller in list(self._callers.values()):
            if caller.state != "waiting":
                continue  # undecided: its Hangup or the grace decides
            if covered is not None and caller.queue not in covered:
                continue
            entry = present.get(caller.uniqueid)
            if entry is not None and entry.queue == caller.queue:
                caller.position = entry.position
                continue
            self.stats.closed_on_resync += 1
            self._close(caller, Outcome.TRANSFERRED, now, on_resync=True)
        for entry in entries:
            known = self._callers.get(entry.uniqueid)
            if known is not None and known.queue == entry.queue:
                continue
            self._callers[entry.uniqueid] = FollowedCaller(
                uniqueid=entry.uniqueid,
                channel=entry.channel,
                queue=entry.queue,
                number=entry.caller_id_num,
                name=entry.caller_id_name,
                joined_at=now - entry.wait,
                original_position=entry.position,
                position=entry.position,
                context="",
                exten="",
                withheld=number_withheld(entry.caller_id_num),
            )
