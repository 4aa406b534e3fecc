"""Replays a recorded Asterisk 22 conversation against the emulated PBX and compares.

`replay_ami` opens one TCP connection per `CONNECT` marker, sends the recorded `C->S` bytes at
their recorded times (divided by the PBX's time scale) and collects what the emulator sends.
`compare_conversation` then holds the emulator's messages to the recorded ones:

* the same messages, each with the same header names in the same order;
* the same values, except values that legitimately differ between two runs (`VOLATILE`:
  timestamps, uptime) which are only required to be present, and values that name a run-time
  identity (`RELATIONAL`: Uniqueid/Linkedid, channel sequence suffixes, SessionID, addresses):
  those must map one-to-one, so two places that hold the same value in the trace hold the same
  value in the emulator, and different ones different;
* order: replies to the client's actions (responses and the events of a list) in strict order,
  and asynchronous events in strict order among themselves. Asterisk publishes events through
  its stasis message bus on other threads, so where an event lands *between* replies depends on
  thread timing; the position of an event relative to the replies is therefore not compared.
  Two adjacent asynchronous events may be swapped only when `may_swap` says Asterisk itself
  could emit them in either order (see there).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import sys
import time
from dataclasses import dataclass, field

from telephony.pbxsim.amiwire import Headers, parse_headers
from tests.traces import Record

# Values that change from run to run and carry no relation worth checking.
VOLATILE = {
    "Uptime",
    "LastReload",
    "EventTV",
    "SessionTV",
    "Timestamp",
    "LoginTime",
    "LastCall",
    "LastPause",
}
# Measured durations (whole seconds, or HH:MM:SS): the emulator's clock runs against a replay
# with scheduling jitter (multiplied by the time scale), so they may differ by one second.
DURATION_HEADERS = {
    "Duration",
    "HoldTime",
    "Holdtime",
    "TalkTime",
    "RingTime",
    "Wait",
    "LongestHoldTime",
    "AnsweredTime",
}
# VarSet values that are durations: seconds (one second apart at most) or milliseconds.
DURATION_VARIABLES = {
    "QUEUEWAIT",
    "DIALEDTIME",
    "ANSWEREDTIME",
    "QEHOLDTIME",
    "QUEUEHOLDTIME",
    "QUEUETALKTIME",
    "RINGTIME",
    "PROGRESSTIME",
}
DURATION_MS_VARIABLES = {
    "QUEUEWAIT_MS",
    "DIALEDTIME_MS",
    "ANSWEREDTIME_MS",
    "RINGTIME_MS",
    "PROGRESSTIME_MS",
}


def _seconds(text: str) -> float | None:
    try:
        if ":" in text:
            hours, minutes, seconds = (int(part) for part in text.split(":"))
            return hours * 3600 + minutes * 60 + seconds
        return float(text)
    except ValueError:
        return None


def durations_close(expected: str, actual: str, unit: float = 1.0) -> bool:
    if expected == actual:
        return True
    a, b = _seconds(expected), _seconds(actual)
    return a is not None and b is not None and abs(a - b) <= unit


# Headers whose whole value is an identity that must keep its relations.
RELATIONAL_HEADERS = {
    "CommandId": "agi-command",  # random per AGI command; Start and End share it
    "SessionID": "session",
    "LocalAddress": "address",
    "RemoteAddress": "address",
}
_UNIQUEID = re.compile(r"\b([A-Za-z0-9_]+-\d{9,}\.\d+)\b")  # lab-1795945616.40
_BRIDGE_ID = re.compile(r"\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")
_CHANNEL_SEQ = re.compile(r"(?<=-)([0-9a-f]{8})(?=;[12]\b)|(?<=IAX2/)([A-Za-z0-9_]+-\d+)")


@dataclass
class Message:
    headers: Headers
    raw: bytes

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def kind(self) -> str:
        return self.get("Event") or f"Response: {self.get('Response')}" or "?"

    @property
    def is_async_event(self) -> bool:
        """Published on the event bus (carries Privilege), as opposed to a reply to an action."""
        return self.get("Event") is not None and (
            self.get("Privilege") is not None or self.get("Event") == "FullyBooted"
        )


def split_server_bytes(data: bytes) -> list[Message]:
    messages: list[Message] = []
    rest = data
    if rest.startswith(b"Asterisk Call Manager/"):
        end = rest.index(b"\r\n") + 2
        messages.append(Message([("Banner", rest[: end - 2].decode())], rest[:end]))
        rest = rest[end:]
    while rest:
        end = rest.find(b"\r\n\r\n")
        if end < 0:
            messages.append(Message([("Incomplete", rest.decode(errors="replace"))], rest))
            break
        raw = rest[: end + 4]
        messages.append(Message(parse_headers(raw.decode("utf-8", errors="replace")), raw))
        rest = rest[end + 4 :]
    return messages


@dataclass
class Connection:
    """One recorded TCP conversation and what the emulator answered to its replay."""

    client: list[Record] = field(default_factory=list)
    # The recorded server messages, each with the time it was sent.
    server_messages: list[tuple[float, Message]] = field(default_factory=list)
    expected: bytes = b""
    server_closes: bool = False
    end_t: float = 0.0
    actual: bytes = b""
    # How far behind the recording the replay finished, in emulated seconds: a loaded
    # machine's delays, each multiplied by the time scale, stretch measured durations.
    behind: float = 0.0


def connections_of(records: list[Record]) -> list[Connection]:
    conns: list[Connection] = []
    for record in records:
        if record.direction.startswith("CONNECT"):
            conns.append(Connection())
            continue
        if not conns:
            continue
        conn = conns[-1]
        conn.end_t = record.t
        if record.direction == "C->S":
            conn.client.append(record)
        elif record.direction == "S->C":
            conn.expected += record.data
            conn.server_messages += [(record.t, m) for m in split_server_bytes(record.data)]
        elif record.direction.startswith("EOF-from-server"):
            conn.server_closes = True
    return conns


class Sequencer:
    """Keeps the client sends of traces recorded on one time line in their recorded order
    across connections (trace 16b's CoreShowChannels came 0.2 ms before 16a's Hangup)."""

    def __init__(self, *traces: list[Record]) -> None:
        self._pending = sorted(
            (r.t, id(r)) for records in traces for r in records if r.direction == "C->S"
        )
        self._changed = asyncio.Event()

    async def turn(self, record: Record) -> None:
        while self._pending and self._pending[0] != (record.t, id(record)):
            self._changed.clear()
            await self._changed.wait()

    def done(self, record: Record) -> None:
        self._pending.remove((record.t, id(record)))
        self._changed.set()


async def replay_ami(
    host: str,
    port: int,
    records: list[Record],
    time_scale: float,
    grace: float = 0.3,
    shared_start: float | None = None,
    sequencer: Sequencer | None = None,
) -> list[Connection]:
    """Replay one trace. With `shared_start` (a `time.monotonic()` value) sends follow the
    recorded times from that instant, so two traces recorded on one time line (16a/16b)
    stay in step; without it each send keeps its recorded gap to the previous one."""
    conns = connections_of(records)
    # Each send keeps its recorded gap to the previous one (divided by the time scale): when
    # the replay falls behind (waiting for an identity), later sends shift with it.
    clock = {"at": time.monotonic(), "t": records[0].t if records else 0.0}
    if shared_start is not None:
        clock = {"at": shared_start, "t": 0.0}
    started, first_t = clock["at"], clock["t"]

    async def wait_until(t: float) -> None:
        if shared_start is not None:
            delay = shared_start + t / time_scale - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            return
        target = clock["at"] + max(0.0, t - clock["t"]) / time_scale
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
            # On time: the next gap counts from when this send was due, not from when a busy
            # machine woke the replay. Each late wake-up would otherwise push every later
            # send, and the emulator's measured durations (AnsweredTime, ANSWEREDTIME, which
            # are compared to within a second) would grow by the sum, times the time scale.
            clock["at"] = target
        else:
            # Behind because the replay waited for the emulator: later sends shift with it.
            clock["at"] = time.monotonic()
        clock["t"] = t

    for conn in conns:
        reader, writer = await asyncio.open_connection(host, port)
        received = Received()

        async def pump(reader: asyncio.StreamReader = reader, into: Received = received) -> None:
            while chunk := await reader.read(65536):
                into.extend(chunk)

        pump_task = asyncio.create_task(pump())
        for record in conn.client:
            await wait_until(record.t)
            data = await _translated(record, conn, received)
            if sequencer is not None:
                await sequencer.turn(record)
            writer.write(data)
            await writer.drain()
            if sequencer is not None:
                sequencer.done(record)
        await wait_until(conn.end_t)
        conn.behind = max(0.0, (time.monotonic() - started) * time_scale - (conn.end_t - first_t))
        if os.environ.get("FIDELITY_DEBUG"):
            print(f"fidelity: connection ended {conn.behind:.3f} s behind", file=sys.stderr)
        if conn.server_closes:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pump_task), grace + 2.0)
        else:
            await asyncio.sleep(grace)
        pump_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await pump_task
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        conn.actual = bytes(received.data)
    return conns


async def _translated(record: Record, conn: Connection, received: Received) -> bytes:
    """The client's bytes with the trace's identities (channel names, Uniqueids) replaced by
    the emulator's. The recorded client learnt them from a message; the replay finds the
    first such message in the trace, and the same message (same event, header and shape, same
    occurrence) in what the emulator sent, waiting for it at most `IDENTITY_WAIT` seconds."""
    expected_so_far = [m for t, m in conn.server_messages if t <= record.t]
    await _wait_for_cue(expected_so_far, received)
    text = record.data.decode("utf-8", errors="replace")
    deadline = time.monotonic() + IDENTITY_WAIT
    for identity in dict.fromkeys(_tokens(text)[1]):
        where = _revealed_by(expected_so_far, identity)
        if where is None:
            continue  # an identity the trace never showed (e.g. a made-up channel): keep it
        while (found := _find_revealed(received.messages, where)) is None:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.005)
        if found is not None:
            text = text.replace(identity[1], found)
    return text.encode()


Reveal = tuple[str, str, str, int, int]  # event kind, header, shape, occurrence, token index


def _revealed_by(messages: list[Message], identity: tuple[str, str]) -> Reveal | None:
    seen: dict[tuple[str, str, str], int] = {}
    for message in messages:
        shapes = set()
        for key, value in message.headers:
            shape, ids = _tokens(value)
            signature = (message.kind, key, shape)
            if identity in ids:
                return (*signature, seen.get(signature, 0), ids.index(identity))
            shapes.add(signature)
        for signature in shapes:
            seen[signature] = seen.get(signature, 0) + 1
    return None


def _find_revealed(messages: list[Message], where: Reveal) -> str | None:
    kind, key, shape, occurrence, index = where
    count = 0
    for message in messages:
        if message.kind != kind:
            continue
        for header, value in message.headers:
            if header != key:
                continue
            value_shape, ids = _tokens(value)
            if value_shape == shape:
                if count == occurrence:
                    return ids[index][1]
                count += 1
                break
    return None


IDENTITY_WAIT = 1.0
EVENT_CUE_WAIT = 0.1


def _cue(message: Message) -> tuple[str, str | None]:
    return message.kind, message.get("ActionID")


class Received:
    """The emulator's bytes on one connection, parsed incrementally (the replay polls it and
    must not starve the emulator, which shares its event loop)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.messages: list[Message] = []
        self._parsed_to = 0
        self.cue_counts: dict[tuple[str, str | None], int] = {}

    def extend(self, chunk: bytes) -> None:
        self.data.extend(chunk)
        while True:
            if self._parsed_to == 0 and self.data.startswith(b"Asterisk Call Manager/"):
                end = self.data.find(b"\r\n")
                if end < 0:
                    return
                end += 2
            else:
                found = self.data.find(b"\r\n\r\n", self._parsed_to)
                if found < 0:
                    return
                end = found + 4
            message = split_server_bytes(bytes(self.data[self._parsed_to : end]))[0]
            self.messages.append(message)
            cue = _cue(message)
            self.cue_counts[cue] = self.cue_counts.get(cue, 0) + 1
            self._parsed_to = end


async def _wait_for_cue(expected_so_far: list[Message], received: Received) -> None:
    """The recorded client acted after what it had received: wait until the emulator has sent
    as many messages like the last one the client saw (same event or response, same ActionID)
    as the trace shows by then, at most IDENTITY_WAIT seconds."""
    # DeviceStateChange counts legitimately differ (see compare_device_states): never a cue.
    cues = [m for m in expected_so_far if m.kind != "DeviceStateChange"]
    if not cues:
        return
    cue = _cue(cues[-1])
    needed = sum(1 for m in expected_so_far if _cue(m) == cue)
    # A reply is certain to come; an event's count may legitimately differ (races), so an
    # event cue is waited for only briefly.
    deadline = time.monotonic() + (IDENTITY_WAIT if cue[1] is not None else EVENT_CUE_WAIT)
    while time.monotonic() < deadline:
        if received.cue_counts.get(cue, 0) >= needed:
            return
        await asyncio.sleep(0.002)
    if os.environ.get("FIDELITY_DEBUG"):
        print(f"fidelity: cue {cue} x{needed} not seen", file=sys.stderr)


@dataclass
class Relations:
    """One-to-one maps trace value -> emulator value per kind of identity."""

    forward: dict[str, dict[str, str]] = field(default_factory=dict)
    backward: dict[str, dict[str, str]] = field(default_factory=dict)

    def bind(self, kind: str, trace_value: str, emu_value: str) -> str | None:
        fwd = self.forward.setdefault(kind, {})
        bwd = self.backward.setdefault(kind, {})
        if trace_value in fwd:
            if fwd[trace_value] != emu_value:
                return f"{kind} {trace_value!r} was {fwd[trace_value]!r}, now {emu_value!r}"
            return None
        if emu_value in bwd:
            return f"{kind} {emu_value!r} already stands for {bwd[emu_value]!r}"
        fwd[trace_value] = emu_value
        bwd[emu_value] = trace_value
        return None

    def copy(self) -> Relations:
        return Relations(
            {k: dict(v) for k, v in self.forward.items()},
            {k: dict(v) for k, v in self.backward.items()},
        )


@functools.lru_cache(maxsize=200_000)
def _tokens(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Text with identities replaced by placeholders, and the identities found in order."""
    found: list[tuple[str, str]] = []

    def uid(match: re.Match[str]) -> str:
        found.append(("uniqueid", match.group(1)))
        return "<uniqueid>"

    def seq(match: re.Match[str]) -> str:
        found.append(("channel", match.group(0)))
        return "<seq>"

    def bridge(match: re.Match[str]) -> str:
        found.append(("bridge", match.group(1)))
        return "<bridge>"

    shape = _CHANNEL_SEQ.sub(seq, _UNIQUEID.sub(uid, _BRIDGE_ID.sub(bridge, text)))
    return shape, tuple(found)


# Where queue statistics show up: list/status events, and the variables app_queue sets.
_STATISTICS_EVENTS = {
    "QueueParams",
    "QueueSummary",
    "QueueMember",
    "QueueMemberStatus",
    "QueueMemberAdded",
    "QueueMemberPause",
    "QueueMemberPenalty",
    "QueueMemberRemoved",
}


def _carried(message: Message, key: str, carried_over: frozenset[str]) -> bool:
    """Is this value one the recording inherited from earlier scenarios?"""
    if not carried_over:
        return False
    if message.kind in _STATISTICS_EVENTS:
        return key in carried_over
    return message.kind == "VarSet" and key == "Value" and message.get("Variable") in carried_over


# AgentComplete carries the snapshot of whichever of the caller and member channels still
# exist when app_queue publishes it, a race between the two hangups (trace 02: neither, 12:
# the member): it is compared without those blocks.
_SNAPSHOT_RACES = {"AgentComplete"}
_BLOCK_KEY = re.compile(
    r"^(Dest)?(Channel|ChannelState|ChannelStateDesc|CallerIDNum|CallerIDName|ConnectedLineNum"
    r"|ConnectedLineName|Language|AccountCode|Context|Exten|Priority|Uniqueid|Linkedid"
    r"|ChanVariable)$"
)


_RINGING_RACE = {"DestChannelState", "DestChannelStateDesc"}


def _without(message: Message, keys: set[str]) -> Message:
    return Message([(k, v) for k, v in message.headers if k not in keys], message.raw)


def _without_snapshots(message: Message) -> Message:
    kept = [(k, v) for k, v in message.headers if not _BLOCK_KEY.match(k)]
    return Message(kept, message.raw)


def message_difference(
    expected: Message,
    actual: Message,
    relations: Relations,
    carried_over: frozenset[str] = frozenset(),
    slack: float = 0.0,
) -> str | None:
    """None when `actual` stands for `expected` (binding identities in `relations`).
    `carried_over` names headers whose value the recording inherited from earlier scenarios;
    `slack` (emulated seconds the replay ran behind the recording) widens the one second a
    measured duration may differ by."""
    if expected.kind in _SNAPSHOT_RACES and actual.kind == expected.kind:
        expected, actual = _without_snapshots(expected), _without_snapshots(actual)
    if expected.kind in _CONFERENCE_TOPIC and actual.kind == expected.kind:
        # The bridge's count when these are published races with other members joining or
        # leaving (trace 06: both joins show 3; trace 13: the first shows 2).
        expected = _without(expected, {"BridgeNumChannels"})
        actual = _without(actual, {"BridgeNumChannels"})
    if expected.kind in ("AgentCalled", "DialBegin") and actual.kind == expected.kind:
        # The dialled snapshot may already show it ringing (trace 09) or not yet (02).
        expected, actual = _without(expected, _RINGING_RACE), _without(actual, _RINGING_RACE)
    exp_names = [k for k, _ in expected.headers]
    act_names = [k for k, _ in actual.headers]
    exp_shape = [_tokens(k)[0] for k in exp_names]
    act_shape = [_tokens(k)[0] for k in act_names]
    if exp_shape != act_shape:
        return f"header names differ:\n  expected {exp_names}\n  actual   {act_names}"
    for (exp_key, exp_value), (act_key, act_value) in zip(
        expected.headers, actual.headers, strict=True
    ):
        pairs = list(zip(_tokens(exp_key)[1], _tokens(act_key)[1], strict=True))
        if exp_key in VOLATILE or _carried(expected, exp_key, carried_over):
            continue
        if expected.kind == "OriginateResponse" and exp_key.startswith("ChanVariable("):
            # Its snapshot is taken when the originating thread gets to publish, which races
            # with the answered channel's first priorities (02: CITY_CODE unset, 11: set).
            exp_value, act_value = exp_value.split("=", 1)[0], act_value.split("=", 1)[0]
        variable = expected.get("Variable") if exp_key == "Value" else None
        if exp_key in DURATION_HEADERS or variable in DURATION_VARIABLES:
            if not durations_close(exp_value, act_value, unit=1.0 + slack):
                return f"{exp_key}: expected about {exp_value!r}, got {act_value!r}"
            continue
        if variable in DURATION_MS_VARIABLES:
            if not durations_close(exp_value, act_value, unit=1000.0 * (1.0 + slack)):
                return f"{exp_key}: expected about {exp_value!r} ms, got {act_value!r}"
            continue
        if exp_key in RELATIONAL_HEADERS:
            pairs.append(((RELATIONAL_HEADERS[exp_key], exp_value), ("", act_value)))
        else:
            exp_text, exp_ids = _tokens(exp_value)
            act_text, act_ids = _tokens(act_value)
            if exp_text != act_text or len(exp_ids) != len(act_ids):
                return f"{exp_key}: expected {exp_value!r}, got {act_value!r}"
            pairs += list(zip(exp_ids, act_ids, strict=True))
        for (kind, trace_value), (_, emu_value) in pairs:
            problem = relations.bind(kind, trace_value, emu_value)
            if problem:
                return f"{exp_key}: {problem}"
    return None


# Which adjacent asynchronous events Asterisk may emit in either order. Events are published
# by the thread that owns the channel; two channels' threads race, so events about different
# channels may interleave either way. (DeviceStateChange is compared on its own, see
# compare_device_states.) Bridge* events without a channel come from the bridge's thread and
# queue events without one from app_queue's: they race with other channels' events too.
_CHANNEL_KEYS = ("Channel", "DestChannel", "LocalOneChannel", "Queue", "BridgeUniqueid")


def _subject(message: Message) -> str | None:
    for key in _CHANNEL_KEYS:
        value = message.get(key)
        if value is not None:
            return value
    return None


# OriginateResponse is published by the originating thread while the dialled channels' own
# threads publish their events: traces 08 and 15 show it before and after DialEnd, trace 07
# even before the ;2 half's caller id events. It may take any place among channel events.


_CONFERENCE_TOPIC = {"ConfbridgeJoin", "ConfbridgeLeave"}
# QueueMemberStatus comes from the device-state thread, AgentComplete from the caller's.
_THREAD_RACES = [{"QueueMemberStatus", "AgentComplete"}]


def _conference_peers_race(first: Message, second: Message) -> bool:
    """A conference member told to leave clears its own BRIDGEPEER on its own thread
    (ast_bridge_channel_leave_bridge_nolock) while other members' threads, leaving the same
    softmix bridge, rewrite it (set_bridge_peer_vars): trace 06 shows the clearing before
    and after those rewrites. A peer list naming the CBAnn/ announcer is a conference's."""
    values = []
    for message in (first, second):
        if message.kind != "VarSet" or message.get("Variable") != "BRIDGEPEER":
            return False
        values.append(message.get("Value") or "")
    if first.get("Channel") != second.get("Channel"):
        return False
    cleared = [v for v in values if not v]
    return len(cleared) == 1 and any("CBAnn/" in v for v in values)


def may_swap(first: Message, second: Message) -> bool:
    kinds = {first.kind, second.kind}
    if "OriginateResponse" in kinds:
        return True
    if _conference_peers_race(first, second):
        return True
    if kinds in _THREAD_RACES:
        return True
    if kinds & _CONFERENCE_TOPIC:
        # Published on the conference's topic: trace 06 shows a member's join even before
        # that member's own Newexten events, a leave before its BridgeLeave (13: after).
        return True
    a, b = _subject(first), _subject(second)
    return a is not None and b is not None and a != b


MAX_PROBLEMS = 4
# How far ahead an event may be found, when every event it jumps over is on another channel.
SWAP_WINDOW = 40


def _match_sequence(
    expected: list[Message],
    actual: list[Message],
    relations: Relations,
    label: str,
    carried_over: frozenset[str],
    strict: bool = False,
    slack: float = 0.0,
) -> list[str]:
    """Match in order; an expected message with no counterpart is reported and skipped, so
    the identities of later messages still bind (the replay needs them to translate)."""
    problems: list[str] = []
    remaining = list(actual)
    for index, exp in enumerate(expected):
        matched = False
        # Look ahead a little: a later actual message may stand for this one if every
        # message it jumps over may be swapped with it.
        window = _same_list_run(remaining, exp) if strict else SWAP_WINDOW
        for pos, act in enumerate(remaining[:window]):
            if pos and not all(may_swap(skipped, act) for skipped in remaining[:pos]):
                continue
            trial = relations.copy()
            if message_difference(exp, act, trial, carried_over, slack) is None:
                relations.forward, relations.backward = trial.forward, trial.backward
                del remaining[pos]
                matched = True
                break
        if not matched and strict and remaining:
            # Replies pair one-to-one: a wrong reply is consumed with the expected one.
            got_reply = remaining.pop(0)
            if len(problems) < MAX_PROBLEMS:
                problems.append(
                    f"{label} #{index} expected {exp.kind}:\n{_show(exp)}"
                    f"\n  got {got_reply.kind}:\n{_show(got_reply)}\n  difference: "
                    f"{message_difference(exp, got_reply, relations.copy(), carried_over, slack)}"
                )
            continue
        if not matched and len(problems) < MAX_PROBLEMS:
            got = remaining[0] if remaining else None
            detail = (
                "nothing"
                if got is None
                else message_difference(exp, got, relations.copy(), carried_over, slack)
            )
            problems.append(
                f"{label} #{index} expected {exp.kind}:\n{_show(exp)}"
                + ("" if got is None else f"\n  got {got.kind}:\n{_show(got)}")
                + f"\n  difference: {detail}"
            )
    if not problems:
        for extra in remaining[:MAX_PROBLEMS]:
            problems.append(f"{label}: unexpected extra {extra.kind}:\n{_show(extra)}")
    return problems


# List items whose order is Asterisk's hash order of channel names: the names' sequence
# numbers legitimately differ, so within one list these may come in any order.
# ConfbridgeList follows the order members were added, which races for members that joined
# at the same instant (trace 06's dual Redirect).
_HASH_ORDERED_ITEMS = {"CoreShowChannel", "ChannelHungup", "ConfbridgeList"}


def _same_list_run(remaining: list[Message], expected: Message) -> int:
    if expected.kind not in _HASH_ORDERED_ITEMS:
        return 1
    run = 0
    for message in remaining:
        if message.kind != expected.kind or message.get("ActionID") != expected.get("ActionID"):
            break
        run += 1
    return max(run, 1)


def _device_states(messages: list[Message]) -> dict[str, list[str]]:
    """Each device's states in order, repeats collapsed."""
    states: dict[str, list[str]] = {}
    for message in messages:
        if message.kind != "DeviceStateChange":
            continue
        seen = states.setdefault(message.get("Device") or "", [])
        state = message.get("State") or ""
        if not seen or seen[-1] != state:
            seen.append(state)
    return states


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    position = iter(long)
    return all(any(item == candidate for candidate in position) for item in short)


def compare_device_states(expected: list[Message], actual: list[Message]) -> list[str]:
    """DeviceStateChange comes from Asterisk's device-state thread, which coalesces and
    re-publishes changes as thread timing falls (trace 15 shows the same busy scenario with one
    INUSE and with none). So per device: every state the trace passes through must appear in
    the emulator's sequence in the same order, and the last state must be the same."""
    problems = []
    want, got = _device_states(expected), _device_states(actual)
    for device in sorted(want):
        # A device the trace never reports had no change against Asterisk's cache, which
        # earlier scenarios filled; only devices the trace reports are compared.
        trace_states, emu_states = want.get(device, []), got.get(device, [])
        if trace_states[:1] == ["NOT_INUSE"] and emu_states[:1] != ["NOT_INUSE"]:
            # Asterisk re-published the idle state it had cached before the call (trace 09).
            trace_states = trace_states[1:]
        if not trace_states:
            continue
        if not _is_subsequence(trace_states, emu_states) or trace_states[-1:] != emu_states[-1:]:
            problems.append(
                f"device {device}: states {trace_states} in the trace, {emu_states} emulated"
            )
    return problems


def _show(message: Message) -> str:
    return "\n".join(f"    {k}: {v}" for k, v in message.headers)


def compare_conversation(
    expected_bytes: bytes,
    actual_bytes: bytes,
    relations: Relations | None = None,
    carried_over: frozenset[str] = frozenset(),
    slack: float = 0.0,
) -> list[str]:
    """The differences between the recorded and the emulator's server bytes; `slack` as in
    message_difference (Connection.behind after a replay)."""
    relations = relations if relations is not None else Relations()
    expected = split_server_bytes(expected_bytes)
    actual = split_server_bytes(actual_bytes)
    problems = _match_sequence(
        [m for m in expected if not m.is_async_event],
        [m for m in actual if not m.is_async_event],
        relations,
        "reply",
        carried_over,
        strict=True,
        slack=slack,
    )
    problems += compare_device_states(expected, actual)
    problems += _match_sequence(
        [m for m in expected if m.is_async_event and m.kind != "DeviceStateChange"],
        [m for m in actual if m.is_async_event and m.kind != "DeviceStateChange"],
        relations,
        "event",
        carried_over,
        slack=slack,
    )
    return problems


# -- FastAGI ------------------------------------------------------------------------------


@dataclass
class AGIConversation:
    """One recorded FastAGI connection: what Asterisk sent, what the server sent back."""

    records: list[Record] = field(default_factory=list)
    expected: bytes = b""
    actual: bytearray = field(default_factory=bytearray)


def agi_conversations(records: list[Record]) -> list[AGIConversation]:
    conversations: list[AGIConversation] = []
    for record in records:
        if record.direction.startswith("ACCEPT"):
            conversations.append(AGIConversation())
        elif conversations:
            conversations[-1].records.append(record)
            if record.direction == "AST->AGI":
                conversations[-1].expected += record.data
    return conversations


class AGIReplay:
    """Plays the recorded FastAGI server: accepts the emulator's connections in order, sends
    each recorded `AGI->AST` command once the emulator has sent as many lines as Asterisk had
    by then, and closes where the recorded server closed."""

    def __init__(self, records: list[Record], time_scale: float = 1.0) -> None:
        self.conversations = agi_conversations(records)
        self.time_scale = time_scale
        self._next = 0
        self._server: asyncio.Server | None = None
        self._done: list[asyncio.Task[None]] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._next >= len(self.conversations):
            writer.close()
            return
        conversation = self.conversations[self._next]
        self._next += 1
        pump = asyncio.ensure_future(self._pump(reader, conversation))
        expected_lines = 0
        # The server's own pauses (e.g. 3 s before it closes) keep their recorded length.
        last_t, last_at = conversation.records[0].t if conversation.records else 0.0, 0.0
        for record in conversation.records:
            if record.direction == "AST->AGI":
                expected_lines += record.data.count(b"\n")
                last_t, last_at = record.t, 0.0
                continue
            if record.direction != "AGI->AST" and not record.direction.startswith("CLOSE"):
                continue
            await self._wait_lines(conversation, expected_lines)
            now = time.monotonic()
            if not last_at:
                last_at = now
            await asyncio.sleep(max(0.0, last_at + (record.t - last_t) / self.time_scale - now))
            last_t, last_at = record.t, time.monotonic()
            if record.direction.startswith("CLOSE"):
                break
            writer.write(self._translated(record.data, conversation))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        pump.cancel()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, conversation: AGIConversation) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                conversation.actual.extend(chunk)

    @staticmethod
    async def _wait_lines(conversation: AGIConversation, lines: int) -> None:
        deadline = time.monotonic() + IDENTITY_WAIT * 5
        while time.monotonic() < deadline:
            if conversation.actual.count(b"\n") >= lines:
                return
            await asyncio.sleep(0.002)

    @staticmethod
    def _translated(data: bytes, conversation: AGIConversation) -> bytes:
        """Identities in a command (a channel name the server read) as the emulator's."""
        text = data.decode("utf-8", errors="replace")
        wanted = _tokens(text)[1]
        if not wanted:
            return data
        seen = _tokens(conversation.expected.decode("utf-8", errors="replace"))[1]
        got = _tokens(conversation.actual.decode("utf-8", errors="replace"))[1]
        mapping = {t[1]: g[1] for t, g in zip(seen, got, strict=False) if t[0] == g[0]}
        for _, value in wanted:
            if value in mapping:
                text = text.replace(value, mapping[value])
        return text.encode()


# agi_threadid is the recording Asterisk's thread id: nothing to compare.
AGI_VOLATILE = {"agi_threadid"}


def compare_agi(expected: bytes, actual: bytes, relations: Relations) -> list[str]:
    """Line by line: the same `agi_*` names in order with the same values (identities
    related as in the AMI comparison), then the same replies."""
    want = expected.decode("utf-8", errors="replace").split("\n")
    got = actual.decode("utf-8", errors="replace").split("\n")
    problems = []
    for number, (exp, act) in enumerate(zip(want, got, strict=False), start=1):
        key = exp.split(":", 1)[0]
        if key in AGI_VOLATILE and act.split(":", 1)[0] == key:
            continue
        exp_text, exp_ids = _tokens(exp)
        act_text, act_ids = _tokens(act)
        problem = None
        if exp_text != act_text or len(exp_ids) != len(act_ids):
            problem = f"expected {exp!r}, got {act!r}"
        else:
            for (kind, trace_value), (_, emu_value) in zip(exp_ids, act_ids, strict=True):
                problem = problem or relations.bind(kind, trace_value, emu_value)
        if problem:
            problems.append(f"AGI line {number}: {problem}")
            if len(problems) >= MAX_PROBLEMS:
                break
    if len(want) != len(got) and not problems:
        problems.append(
            f"AGI: {len(want)} lines in the trace, {len(got)} emulated; "
            f"first extra/missing: {(want[len(got) :] or got[len(want) :])[:3]}"
        )
    return problems
