"""Plays a traffic plan over AMI, as citizens and call-takers would make a real PBX see it.

One AMI session per PBX. A citizen is `Originate Local/<exten>@from-pstn` whose ;1 half runs
`Wait` (the phone held to the ear); the ;2 half runs the administrator's dialplan into a
queue. When the caller's patience runs out while still queued, or the call-taker's handle
time ends, the driver hangs up the citizen's half. A planned agent press is `PlayDTMF` of the
feature code, one digit at a time, on the phone's half (;2) of the call-taker's member leg,
as trace 09 does it: the digits reach the bridged ;1 half, where the feature runs and a
one-key transfer starts, as from a real phone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bridge.demo.desk import AgentDesks
from bridge.demo.tally import DemoTally
from bridge.demo.threeparty import RoomWatch
from telephony.ami.client import AMIClient
from telephony.ami.errors import AMIError
from telephony.ami.events import (
    AgentConnect,
    ConfbridgeStart,
    Event,
    Newchannel,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    UserEvent,
)
from telephony.pbxsim.traffic import PlannedCall

log = logging.getLogger(__name__)

# Originate must not give up on a citizen whose call is still queued unanswered (110 calls
# are answered only by the queue): ring time as long as the longest planned stay.
ORIGINATE_TIMEOUT_MS = 6 * 3600 * 1000
CITIZEN_HOLD_S = "86400"
DRIVER_EVENTS = (
    "Newchannel",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentConnect",
    "UserEvent",
    "ConfbridgeStart",
)


@dataclass
class LiveCall:
    planned: PlannedCall
    pbx: str  # where the citizen dialled in (where its ;1 half lives)
    channel_id: str
    citizen: str = ""  # the ;1 channel name
    queue: str = ""  # the queue it last joined
    answered: bool = False
    pressed: bool = False  # the call-taker's planned keys are pressed once per call
    timers: list[asyncio.TimerHandle] = field(default_factory=list)

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()


class TrafficDriver:
    """Originates the plan's calls on time and reacts to queue events for each one."""

    def __init__(
        self,
        clients: Mapping[str, AMIClient],
        pbx_of_queue: Mapping[str, str],
        time_scale: float,
        tally: DemoTally,
        desks: AgentDesks | None = None,
        rooms: RoomWatch | None = None,
    ) -> None:
        self.clients = clients
        self.desks = desks
        self.rooms = rooms
        self.pbx_of_queue = pbx_of_queue
        self.time_scale = time_scale
        self.tally = tally
        self._calls: dict[str, LiveCall] = {}  # caller number -> call
        self._by_channel_id: dict[str, LiveCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = 0.0
        for pbx, client in clients.items():
            client.add_inline_handler(partial(self._on_event, pbx), DRIVER_EVENTS)

    def now(self) -> float:
        """Emulated seconds since the traffic started."""
        loop_now = asyncio.get_running_loop().time()
        return (loop_now - self._started) * self.time_scale if self._started else 0.0

    async def play(self, calls: Iterable[PlannedCall]) -> None:
        """Place each call at its planned time; returns after the last one is placed."""
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        for number, call in enumerate(calls, start=1):
            delay = self._started + call.arrival / self.time_scale - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._spawn(self._originate(number, call))

    async def stop(self) -> None:
        for call in self._calls.values():
            call.cancel_timers()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- actions -------------------------------------------------------------------------
    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _later(self, call: LiveCall, emulated_s: float, action: Callable[[], None]) -> None:
        handle = asyncio.get_running_loop().call_later(emulated_s / self.time_scale, action)
        call.timers.append(handle)

    async def _originate(self, number: int, planned: PlannedCall) -> None:
        pbx = self.pbx_of_queue[planned.entry]
        call = LiveCall(planned, pbx, f"demo-{number}")
        self._calls[planned.caller] = call
        self._by_channel_id[call.channel_id] = call
        self.tally.calls_placed += 1
        await self._act(
            pbx,
            "Originate",
            Channel=f"Local/{planned.exten}@{planned.context}",
            Application="Wait",
            Data=CITIZEN_HOLD_S,
            CallerID=f'"{planned.caller}" <{planned.caller}>',
            Timeout=str(ORIGINATE_TIMEOUT_MS),
            Async="true",
            ChannelId=call.channel_id,
            OtherChannelId=f"{call.channel_id}-2",
        )

    async def _act(self, pbx: str, action: str, **headers: Any) -> None:
        try:
            await self.clients[pbx].action(action, **headers)
        except AMIError as exc:
            # e.g. the caller hung up on their own a moment before: nothing to undo.
            log.debug("demo action failed", extra={"action": action, "error": str(exc)})

    async def press_key(self, pbx: str, member: str, digit: str) -> None:
        """A call-taker in a three-party room presses `digit`: sent on the phone's half
        (;2) of its `;1` member leg, where the room's menu hears it (trace 09)."""
        phone = member.removesuffix(";1") + ";2" if member.endswith(";1") else member
        await self._act(pbx, "PlayDTMF", Channel=phone, Digit=digit)

    def _hang_up(self, call: LiveCall) -> None:
        """The citizen ends an answered call: their own (;1) half hangs up."""
        call.cancel_timers()
        if call.citizen:
            self._spawn(self._act(call.pbx, "Hangup", Channel=call.citizen))

    def _give_up(self, call: LiveCall, queue: str) -> None:
        """Patience ran out while queued: the citizen hangs up their own (;1) half, and
        the queued ;2 half leaves the queue as an early release."""
        if call.queue != queue or call.answered or not call.citizen:
            return
        call.cancel_timers()
        self._spawn(self._act(call.pbx, "Hangup", Channel=call.citizen))

    def _press(self, pbx: str, queue: str, channel: str, digits: str) -> None:
        self.tally.presses += 1
        self._spawn(self._play_digits(pbx, queue, channel, digits))

    async def _play_digits(self, pbx: str, queue: str, channel: str, digits: str) -> None:
        if self.desks is not None:
            await self.desks.prepare(queue, channel, digits)
        for digit in digits:
            await self._act(pbx, "PlayDTMF", Channel=channel, Digit=digit)

    # -- events --------------------------------------------------------------------------
    def _on_event(self, pbx: str, event: Event) -> None:
        if isinstance(event, Newchannel):
            call = self._by_channel_id.get(event.uniqueid)
            if call is not None:
                call.citizen = event.channel
        elif isinstance(event, QueueCallerJoin):
            self._on_join(pbx, event)
        elif isinstance(event, AgentConnect):
            self._on_connect(pbx, event)
        elif isinstance(event, QueueCallerAbandon):
            self.tally.early_release(
                event.queue,
                _key(pbx, event.uniqueid),
                self.now(),
                event.caller_id_num,
                event.hold_time,
            )
        elif isinstance(event, QueueCallerLeave):
            self.tally.left(event.queue, _key(pbx, event.uniqueid))
        elif isinstance(event, ConfbridgeStart) and self.rooms is not None:
            self.rooms.started(pbx, event.conference)
        elif isinstance(event, UserEvent) and event.user_event == "LinkageTrunkFailed":
            ticket = str(event.headers.get("Ticket", ""))
            self.tally.note(
                self.now(),
                "trunk_failed",
                f"trunk failed for ticket {ticket}: caller back in the origin queue ({pbx})",
            )

    def _on_join(self, pbx: str, event: QueueCallerJoin) -> None:
        now = self.now()
        self.tally.joined(event.queue, _key(pbx, event.uniqueid), now)
        ticket = event.variables.get("LINKAGE_TICKET", "")
        if ticket:
            self.tally.ticket_seen(now, ticket, event.queue, event.caller_id_num)
        call = self._calls.get(event.caller_id_num)
        if call is None:
            return
        if call.answered and call.queue and call.queue != event.queue:
            self.tally.transferred(
                now, call.queue, event.queue, event.caller_id_num, ticket, event.uniqueid
            )
        call.cancel_timers()
        call.queue, call.answered = event.queue, False
        self._later(call, call.planned.patience, partial(self._give_up, call, event.queue))

    def _on_connect(self, pbx: str, event: AgentConnect) -> None:
        self.tally.answered(event.queue, _key(pbx, event.uniqueid), float(event.hold_time))
        call = self._calls.get(event.caller_id_num)
        if call is None:
            return
        call.cancel_timers()
        call.answered = True
        self._later(call, call.planned.handle_time, partial(self._hang_up, call))
        if call.pressed:
            return  # back from a failed transfer, or answered after one: no second press
        call.pressed = True
        for press in call.planned.presses:
            if press.side == "agent" and press.delay < call.planned.handle_time:
                # The phone's side of the member leg (;2) sends the digits into the bridged
                # ;1 half, where the member gosub armed the feature (trace 09).
                agent = event.dest_channel.removesuffix(";1") + ";2"
                press_now = partial(self._press, pbx, event.queue, agent, press.digits)
                self._later(call, press.delay, press_now)
                break  # one code per call: a transfer and a three-party call exclude each other


def _key(pbx: str, uniqueid: str) -> str:
    return f"{pbx}/{uniqueid}"
