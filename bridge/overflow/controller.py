"""The surge-overflow controller: a service component that, every tick, reads the 110 PBX's
queues (one AMI QueueStatus), asks the pure policy (routing.overflow.decide) for a plan, and
carries it out over AMI.

Each tick, in order:
1. recovery (first tick only): loans the PBX shows (QueueStatus, donors named by the audit
   stream) and routing flags kept in Redis become the policy's state, so a restarted bridge
   keeps managing them — the policy gives them back once the surge has been low for `hold_s`;
2. reconciliation: the PBX is brought to what the last plan wanted (a step that failed on an
   AMI error or timeout is tried again here; a loan nobody wants any more is returned), and
   callers still waiting in a routed centre's own queue are withdrawn to its aid queue;
3. the policy's new plan, applied action by action, each one audited with its figures.

Operator controls: `release()` gives everything back now and holds automatic support off for
`release_hold_s`; `set_override(code, "force" | "forbid" | "auto")` presents the centre to the
policy as swamped, or as calm and never supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bridge.overflow.actuation import Actuator
from bridge.overflow.arrivals import ArrivalCounter
from bridge.overflow.audit import AuditEntry, AuditLog
from bridge.overflow.snapshot import QueueView, centre_states, home_members, loans_on_pbx
from routing.overflow import (
    CentreState,
    LendMember,
    Loan,
    OverflowConfig,
    OverflowState,
    PauseLoans,
    Plan,
    ReturnMember,
    StartSupport,
    StopSupport,
    Support,
    decide,
)
from telephony.ami.client import AMIClient
from telephony.ami.errors import AMIError
from telephony.ami.events import Event, QueueCallerJoin

log = logging.getLogger(__name__)

Override = Literal["auto", "force", "forbid"]
OVERRIDES: tuple[Override, ...] = ("auto", "force", "forbid")


def aid_exten(code: str) -> str:
    """The [hb-queue] extension that puts a caller in `q110-aid-<code>` (extensions.conf)."""
    return f"aid110{code}"


@dataclass(frozen=True)
class ControllerSettings:
    tick_s: float = 1.0  # real seconds between ticks
    rate_window_s: float = 60.0  # arrival rate the policy sees (controller clock seconds)
    sustained_window_s: float = 300.0
    release_hold_s: float | None = None  # after an operator release; default: the policy's hold_s
    audit_max_entries: int = 100_000
    withdraw_waiting: bool = True  # move callers of a routed centre's own queue to its aid queue

    def __post_init__(self) -> None:
        if self.tick_s <= 0:
            raise ValueError(f"overflow tick_s must be positive, got {self.tick_s}")
        if self.release_hold_s is not None and self.release_hold_s < 0:
            raise ValueError(f"overflow release_hold_s must be >= 0, got {self.release_hold_s}")


class OverflowController:
    name = "overflow"

    def __init__(
        self,
        config: OverflowConfig,
        client: Callable[[], AMIClient | None],
        redis: Callable[[], aioredis.Redis],
        settings: ControllerSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.settings = settings or ControllerSettings()
        self._client = client
        self._redis = redis
        self.clock = clock
        queues = {c.queue: c.code for c in config.centres}
        queues.update({c.aid_queue: c.code for c in config.centres})
        self.arrivals = ArrivalCounter(
            queues, self.settings.rate_window_s, self.settings.sustained_window_s
        )
        self.state = OverflowState()
        self.overrides: dict[str, Override] = {}
        self.release_until: float | None = None
        self.recovered = False
        self.last_plan: Plan | None = None
        self.last_tick: float | None = None
        self.last_error = ""
        self.ticks = 0
        self.tick_seconds = 0.0  # how long the last tick took (wall clock)
        self._routing_written: dict[str, str] | None = None
        self._attached: AMIClient | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # --- component ---------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        # Loans stay on the PBX: a restarted bridge recovers them (or hands them back).
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def health(self) -> dict[str, Any]:
        return {
            "status": "ok" if not self.last_error else "degraded",
            "error": self.last_error,
            "ticks": self.ticks,
            "last_tick_ms": round(self.tick_seconds * 1000, 1),
            "loans": len(self.state.loans),
            "supported": sorted(self.state.supported),
        }

    async def _run(self) -> None:
        # The flag, not only the cancellation, ends the loop: a library awaited inside a tick
        # may swallow a CancelledError.
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception as error:  # a bad tick must never end the loop
                self.last_error = f"tick failed: {error}"
                log.exception("overflow tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.tick_s)

    # --- properties for the route-110 AGI step and the API -----------------------------

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self._redis(), self.settings.audit_max_entries)

    def aid_target(self, district: str) -> str | None:
        """The [hb-queue] extension new calls for `district` go to, or None for its own queue
        (what the route-110 AGI step sets as HB_QUEUE)."""
        return aid_exten(district) if district in self.state.routed else None

    # --- one tick ------------------------------------------------------------------------

    async def tick(self) -> Plan | None:
        started = time.perf_counter()
        try:
            return await self._tick()
        finally:
            self.tick_seconds = time.perf_counter() - started

    async def _tick(self) -> Plan | None:
        async with self._lock:
            view = await self._read_view()
            if view is None:
                return None
            now = self.clock()
            audit = self.audit
            actuator = Actuator(self._send, audit)
            if not self.recovered:
                await self._recover(view, audit, now)
            await self._reconcile(view, actuator, now)
            self.ticks += 1
            self.last_tick = now
            if self.release_until is not None and now < self.release_until:
                return None
            self.release_until = None
            plan = decide(self.config, self._presented(view, now), self._previous(), now)
            await self._apply(plan, view, actuator, now)
            self.state = plan.state
            self.last_plan = plan
            await self._write_routing()
            return plan

    async def _send(self, action: str, **headers: Any) -> Any:
        client = self._client()
        if client is None:
            raise AMIError(action, "no AMI session to the 110 PBX")
        return await client.action(action, **headers)

    async def _read_view(self) -> QueueView | None:
        client = self._client()
        if client is None:
            self.last_error = "no AMI session to the 110 PBX"
            return None
        self._attach(client)
        try:
            result = await client.list_action("QueueStatus", time_limit=5.0)
        except AMIError as error:
            self.last_error = f"QueueStatus: {error}"
            log.warning("overflow: queues not read", extra={"error": str(error)})
            return None
        self.last_error = ""
        return QueueView.from_events(result.events)

    def _attach(self, client: AMIClient) -> None:
        if client is self._attached:
            return

        def joined(event: Event) -> None:
            if isinstance(event, QueueCallerJoin):
                self.arrivals.join(event.queue, event.uniqueid, self.clock())

        client.add_inline_handler(joined, ["QueueCallerJoin"])
        self._attached = client

    # --- recovery ------------------------------------------------------------------------

    async def _recover(self, view: QueueView, audit: AuditLog, now: float) -> None:
        try:
            ledger = await audit.ledger()
            routed = await audit.routing()
        except RedisError as error:
            self.last_error = f"recovery could not read Redis: {error}"
            ledger, routed = {}, {}
        codes = set(self.config.by_code)
        found = loans_on_pbx(self.config, view, ledger)
        self.recovered = True
        self._routing_written = {c: routed[c] for c in routed if c in codes}
        if not found and not self._routing_written:
            return
        # Keep managing a centre still under pressure (callers waiting, or no own seat free):
        # its hold clock starts again. A calm one's loans are not adopted, so reconciliation
        # returns them at once.
        states = {s.code: s for s in centre_states(self.config, view, {})}
        aided = {loan.recipient for loan in found if loan.queue == self._aid_queue(loan)}
        candidates = aided | set(self._routing_written)
        kept = frozenset(c for c in candidates if states[c].waiting or not states[c].available)
        if kept:
            self.state = seeded_state(self.config, view, found, kept, now)
        await audit.record(
            AuditEntry(
                "recover",
                "done",
                {
                    "loans_found": str(len(found)),
                    "kept": ",".join(sorted(kept)),
                    "returned": ",".join(sorted(candidates - kept)),
                },
                "found after a restart: centres still under pressure stay supported until "
                f"their pressure is low for {self.config.hold_s:.0f} s; the rest go back now",
                t=now,
            )
        )

    def _aid_queue(self, loan: Loan) -> str:
        return self.config.by_code[loan.recipient].aid_queue

    # --- reconciliation ------------------------------------------------------------------

    async def _reconcile(self, view: QueueView, actuator: Actuator, now: float) -> None:
        wanted = {(loan.queue, loan.member): loan for loan in self.state.loans}
        present = {(loan.queue, loan.member): loan for loan in loans_on_pbx(self.config, view)}
        for key, loan in sorted(present.items()):
            if key not in wanted:
                await actuator.give_back(loan, "no plan wants this loan", now)
        names = _member_names(self.config, view)
        for _key, loan in sorted(wanted.items()):
            paused = loan.donor in self.state.paused
            member = view.member(loan.queue, loan.member)
            if member is None or member.penalty != loan.penalty or member.paused != paused:
                name, state_interface = names.get(loan.member, (loan.member, loan.member))
                await actuator.lend(
                    loan, paused, name, state_interface, "retry: the PBX differs from the plan", now
                )
        if self.settings.withdraw_waiting:
            for code in sorted(self.state.routed):
                await self._withdraw_all(code, view, actuator, now, "still routed to its aid queue")

    async def _withdraw_all(
        self, code: str, view: QueueView, actuator: Actuator, now: float, why: str
    ) -> None:
        policy = self.config.by_code[code]
        for caller in view.callers_in(policy.queue):
            await actuator.withdraw(policy.queue, caller.channel, aid_exten(code), why, now)

    # --- the plan -------------------------------------------------------------------------

    def _presented(self, view: QueueView, now: float) -> list[CentreState]:
        states = centre_states(self.config, view, self.arrivals.rates(now))
        return [self._overridden(s) for s in states]

    def _overridden(self, state: CentreState) -> CentreState:
        override = self.overrides.get(state.code, "auto")
        if override == "forbid":
            # Calm to the policy: never supported (it may still lend).
            return dataclasses.replace(
                state, waiting=0, longest_wait_s=0.0, arrival_rate=0.0, sustained_arrival_rate=0.0
            )
        if override == "force":
            # Swamped to the policy: someone waits long with no seat free, so support starts
            # and its hold clock never runs while the override lasts.
            return dataclasses.replace(
                state,
                busy=len(state.members),
                waiting=max(state.waiting, 1),
                longest_wait_s=max(state.longest_wait_s, self.config.activate_wait_s),
            )
        return state

    def _previous(self) -> OverflowState:
        forbidden = {code for code, o in self.overrides.items() if o == "forbid"}
        if not forbidden & set(self.state.supported):
            return self.state
        supported = {c: s for c, s in self.state.supported.items() if c not in forbidden}
        return dataclasses.replace(self.state, supported=supported)

    async def _apply(self, plan: Plan, view: QueueView, actuator: Actuator, now: float) -> None:
        names = _member_names(self.config, view)
        for action in plan.actions:
            why = action.explain()
            if isinstance(action, StartSupport):
                await actuator.audit.record(
                    AuditEntry(
                        "route_on",
                        "done",
                        {"centre": action.centre, "to": aid_exten(action.centre)},
                        why,
                        t=now,
                    )
                )
                if self.settings.withdraw_waiting:
                    await self._withdraw_all(action.centre, view, actuator, now, why)
            elif isinstance(action, StopSupport):
                await actuator.audit.record(
                    AuditEntry("route_off", "done", {"centre": action.centre}, why, t=now)
                )
            elif isinstance(action, LendMember):
                name, state_interface = names.get(
                    action.loan.member, (action.loan.member, action.loan.member)
                )
                await actuator.lend(action.loan, action.paused, name, state_interface, why, now)
            elif isinstance(action, ReturnMember):
                await actuator.give_back(action.loan, why, now)
            elif isinstance(action, PauseLoans):
                for loan in action.loans:
                    await actuator.pause(loan, action.paused, why, now)
        for note in plan.notes:
            if note not in (self.last_plan.notes if self.last_plan else ()):
                await actuator.audit.record(AuditEntry("note", "done", {}, note, t=now))

    async def _write_routing(self) -> None:
        wanted = {code: aid_exten(code) for code in self.state.routed}
        if wanted == self._routing_written:
            return
        audit = self.audit
        try:
            for code in set(self._routing_written or {}) - set(wanted):
                await audit.set_routing(code, None)
            for code, exten in wanted.items():
                await audit.set_routing(code, exten)
        except RedisError as error:
            self.last_error = f"routing flags not written: {error}"
            return  # tried again next tick
        self._routing_written = wanted

    # --- operator controls ---------------------------------------------------------------

    async def release(self, who: str) -> int:
        """Give every loan back and turn every routing flag off now; no automatic support for
        `release_hold_s`. Returns how many loans were outstanding."""
        async with self._lock:
            now = self.clock()
            hold = self.settings.release_hold_s
            self.release_until = now + (self.config.hold_s if hold is None else hold)
            outstanding = len(self.state.loans)
            self.state = OverflowState()
            await self.audit.record(
                AuditEntry(
                    "release",
                    "done",
                    {"by": who, "loans": str(outstanding)},
                    f"operator release; automatic support off until t={self.release_until:.0f}",
                    t=now,
                )
            )
            await self._write_routing()
            view = await self._read_view()
            if view is not None:
                await self._reconcile(view, Actuator(self._send, self.audit), now)
            return outstanding

    async def set_override(self, code: str, override: Override, who: str) -> None:
        if code not in self.config.by_code:
            raise ValueError(f"unknown centre {code!r}; known: {sorted(self.config.by_code)}")
        if override not in OVERRIDES:
            raise ValueError(f"override must be one of {OVERRIDES}, got {override!r}")
        async with self._lock:
            if override == "auto":
                self.overrides.pop(code, None)
            else:
                self.overrides[code] = override
                self.release_until = None  # an explicit order ends a release hold
            await self.audit.record(
                AuditEntry(
                    "override",
                    "done",
                    {"centre": code, "override": override, "by": who},
                    f"operator set {code} to {override}",
                    t=self.clock(),
                )
            )

    def snapshot(self) -> dict[str, Any]:
        state = self.state
        return {
            "now": self.last_tick,
            "supported": {c: dataclasses.asdict(s) for c, s in sorted(state.supported.items())},
            "donors": sorted(state.donors),
            "surging": sorted(state.surging),
            "routed": {c: aid_exten(c) for c in sorted(state.routed)},
            "paused_donors": sorted(state.paused),
            "standing_down": state.standing_down,
            "loans": [dataclasses.asdict(loan) for loan in sorted(state.loans, key=_loan_order)],
            "overrides": dict(sorted(self.overrides.items())),
            "release_until": self.release_until,
            "notes": list(self.last_plan.notes) if self.last_plan else [],
            "error": self.last_error,
        }


def seeded_state(
    config: OverflowConfig,
    view: QueueView,
    found: frozenset[Loan],
    supported: frozenset[str],
    now: float,
) -> OverflowState:
    """The policy state that adopts loans found on the PBX: `supported` centres (routing flag
    on, hold clock restarting now), the loans into their aid queues, and the mutual-aid loans
    between the donors; the donors lend exactly those members."""
    aid_queues = {config.by_code[c].aid_queue for c in supported}
    own_queues = {c.queue for c in config.centres}
    loans = frozenset(loan for loan in found if loan.queue in aid_queues | own_queues)
    donors = frozenset(loan.donor for loan in loans)
    lent = {
        d: tuple(sorted({loan.member for loan in loans if loan.donor == d})) for d in sorted(donors)
    }
    paused = frozenset(
        loan.donor
        for loan in loans
        if (m := view.member(loan.queue, loan.member)) is not None and m.paused
    )
    return OverflowState(
        now=None,
        supported={code: Support(since=now) for code in sorted(supported)},
        donors=donors,
        routed=supported - donors,
        lent=lent,
        loans=loans,
        paused=paused,
    )


def _member_names(config: OverflowConfig, view: QueueView) -> dict[str, tuple[str, str]]:
    """Interface → (name shown for a lent member, its state interface)."""
    found = {}
    for code, members in home_members(config, view).items():
        for m in members:
            found[m.interface] = (f"{m.name} (lent by {code})", m.state_interface)
    return found


def _loan_order(loan: Loan) -> tuple[str, str, str]:
    return (loan.recipient, loan.queue, loan.member)
