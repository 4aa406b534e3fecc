"""AMI queue events -> one CallerOutcome per caller per queue.

Asterisk 22 does not say in one event how a caller's stay in a queue ended. The tracker
gathers the facts of each stay (routing.metrics.QueueStay: answered, QueueCallerAbandon seen,
withdrawn, QUEUESTATUS, left to another context) from the events that follow the caller's
QueueCallerAbandon / QueueCallerLeave, and lets ``routing.metrics.classify_exit`` decide. It
decides as soon as the facts are in (traces in ../shared/asterisk-traces):

- ``AgentConnect`` -> ANSWERED, wait = its ``HoldTime`` (trace 02: it follows the Leave).
- ``QueueCallerLeave`` showing another context -> EXIT_KEY (trace 10: the caller pressed a
  key of the queue's ``context``; Asterisk leaves ``QUEUESTATUS`` empty).
- Abandon + Leave, then the caller's ``Hangup`` -> ABANDONED, the early release (trace 03),
  wait = the Abandon's ``HoldTime`` (seconds).
- Abandon, then ``QUEUE_WITHDRAW_INFO`` or ``QUEUESTATUS=WITHDRAW`` on the caller, or the
  bridge's own request (:meth:`QueueTracker.note_withdraw`) -> WITHDRAWN (trace 11: Asterisk
  sends QueueCallerAbandon for a withdrawn caller too).
- Leave, then ``QUEUESTATUS`` (TIMEOUT -> TIMED_OUT, others as classify_exit says).

Three bridge-side rules come on top: the bridge's own Redirect of the caller
(:meth:`QueueTracker.note_redirect`) -> TRANSFERRED; a caller who, after an Abandon, joins
another queue instead of hanging up did not hang up -> TRANSFERRED, not an early release; and
an Abandon whose snapshot already shows another context is a Redirect, not a key exit (a key
exit sends no Abandon, trace 10) -> TRANSFERRED.

When nothing more comes within ``grace`` seconds, classify_exit decides with the facts so far
(an Abandon without a Hangup stays an early release: a manager user without the ``call``
class gets no Hangup events). Every outcome is thus counted within grace + one tick (≤ 1 s).

After an AMI reconnect :meth:`QueueTracker.resync` takes Asterisk's ``QueueEntry`` list:
callers still waiting are kept (no double count), new ones are added with join time
``now - Wait``, and callers we followed who are gone were closed while we could not see:
they are closed as TRANSFERRED with ``closed_on_resync`` set (their fate is unknown; counting
them as early releases would put callers who may have been answered on the call-back list).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bridge.monitoring.config import QueueDirectory
from routing.metrics import CallerOutcome, Outcome, QueueStay, classify_exit
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
# Asterisk presentation: bits 0x60 are 0x20 (restricted) or 0x40 (unavailable).
PRESENTATION_MASK = 0x60

MAX_NOTES = 10_000
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
    # facts for classify_exit
    abandon_event: bool = False
    left: bool = False
    withdrawn: bool = False
    queuestatus: str = ""
    left_to_other_context: bool = False

    def stay(self, answered: bool = False) -> QueueStay:
        return QueueStay(
            answered=answered,
            abandon_event=self.abandon_event,
            withdrawn=self.withdrawn,
            queuestatus=self.queuestatus,
            left_to_other_context=self.left_to_other_context,
        )


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
        self._bounded(self._withdraws)
        self._withdraws.add((queue, channel))

    def note_redirect(self, channel: str) -> None:
        """The bridge redirected ``channel`` out of its queue: its Abandon/Leave is a transfer."""
        self._bounded(self._redirects)
        self._redirects.add(channel)

    @staticmethod
    def _bounded(notes: set[Any]) -> None:
        # A note is dropped when its caller closes; one for a caller never seen would stay:
        # past this many, the old ones go (their callers are long gone).
        if len(notes) >= MAX_NOTES:
            notes.clear()

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
            # Out of one queue and already in the next: it did not hang up.
            self._decide(earlier, self.clock(), continued=True)
        self._follow(event, event.queue, self.clock(), event.position)

    def _follow(
        self, event: ChannelEvent | QueueEntry, queue: str, joined_at: float, position: int
    ) -> FollowedCaller:
        """Follow a caller from its Join, from a later event when the Join was missed, or
        from a QueueStatus entry (which has no dialplan place: context and exten blank)."""
        place = (event.context, event.exten) if isinstance(event, ChannelEvent) else ("", "")
        caller = self._callers[event.uniqueid] = FollowedCaller(
            uniqueid=event.uniqueid,
            channel=event.channel,
            queue=queue,
            number=event.caller_id_num,
            name=event.caller_id_name,
            joined_at=joined_at,
            original_position=position,
            position=position,
            context=place[0],
            exten=place[1],
            # A NewCallerid restricting the number counts however the caller was found.
            withheld=number_withheld(event.caller_id_num) or event.uniqueid in self._withheld_ids,
        )
        return caller

    def _followed(self, event: ChannelEvent, queue: str) -> FollowedCaller | None:
        caller = self._callers.get(event.uniqueid)
        if caller is None or caller.queue != queue:
            return None
        return caller

    def _on_abandon(self, event: QueueCallerAbandon) -> None:
        caller = self._followed(event, event.queue)
        if caller is None:
            caller = self._adopt(event, event.queue, event.hold_time)
        now = self.clock()
        caller.state, caller.ended_at, caller.hold_time = "abandoned", now, float(event.hold_time)
        caller.abandon_event = True
        caller.position = event.position
        caller.original_position = event.original_position or caller.original_position
        caller.left_to_other_context = self._moved_on(caller, event)
        if (event.queue, event.channel) in self._withdraws:
            caller.withdrawn = True
        if caller.withdrawn or event.channel in self._redirects:
            self._decide(caller, now)

    def _on_leave(self, event: QueueCallerLeave) -> None:
        caller = self._followed(event, event.queue)
        if caller is None or caller.left:
            return
        now = self.clock()
        caller.left = True
        if not caller.abandon_event:
            caller.position = event.position  # else keep the Abandon's: where it gave up
        caller.left_to_other_context = caller.left_to_other_context or self._moved_on(caller, event)
        if caller.state == "waiting":
            caller.state, caller.ended_at = "left", now
        # After an Abandon the Hangup (early release) or QUEUESTATUS (withdrawal) is still to
        # come; after a plain Leave, AgentConnect or QUEUESTATUS -- unless the Leave already
        # shows the caller elsewhere (trace 10) or the bridge moved it.
        if event.channel in self._redirects or (
            caller.left_to_other_context and not caller.abandon_event
        ):
            self._decide(caller, now)

    def _on_agent_connect(self, event: AgentConnect) -> None:
        caller = self._followed(event, event.queue)
        if caller is None:
            caller = self._adopt(event, event.queue, event.hold_time)
        self._decide(caller, self.clock(), answered=True, wait=float(event.hold_time))

    def _on_varset(self, event: VarSet) -> None:
        caller = self._callers.get(event.uniqueid)
        if caller is None or caller.state == "waiting":
            return
        if event.variable == "QUEUE_WITHDRAW_INFO":
            caller.withdrawn = True
            self._decide(caller, self.clock())
        elif event.variable == "QUEUESTATUS" and event.value:
            caller.queuestatus = event.value
            self._decide(caller, self.clock())

    def _on_hangup(self, event: Hangup) -> None:
        self._withheld_ids.discard(event.uniqueid)
        caller = self._callers.get(event.uniqueid)
        if caller is None:
            return
        now = self.clock()
        if caller.state == "waiting":
            # Hung up while waiting and Asterisk's Abandon never came (not seen in Asterisk 22,
            # kept so a caller is never left open): an early release by definition.
            caller.state, caller.ended_at, caller.abandon_event = "abandoned", now, True
        self._decide(caller, now)

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

    def _adopt(self, event: ChannelEvent, queue: str, waited: float) -> FollowedCaller:
        """A caller whose Join we missed (the bridge started meanwhile), in the queue for
        ``waited`` seconds by Asterisk's count."""
        return self._follow(event, queue, self.clock() - waited, 0)

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
            self._decide(caller, now)
        return len(due)

    def _decide(
        self,
        caller: FollowedCaller,
        now: float,
        *,
        answered: bool = False,
        continued: bool = False,
        wait: float | None = None,
    ) -> None:
        if caller.channel in self._redirects and not answered:
            outcome = Outcome.TRANSFERRED  # the bridge moved it: no need to guess
        else:
            outcome = classify_exit(caller.stay(answered))
            if continued and outcome is Outcome.ABANDONED:
                outcome = Outcome.TRANSFERRED  # alive in the next queue: it did not hang up
            elif caller.abandon_event and outcome is Outcome.EXIT_KEY:
                # A key exit sends no Abandon (trace 10): an Abandon already showing another
                # place in the dialplan is a Redirect by someone else.
                outcome = Outcome.TRANSFERRED
        self._close(caller, outcome, now, wait=wait)

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
            self._follow(entry, entry.queue, now - entry.wait, entry.position)
