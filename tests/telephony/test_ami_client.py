"""The AMI client against a small in-test TCP server that replays recorded Asterisk replies."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvloop

from telephony.ami.client import AMIClient, backoff_delay, encode_action
from telephony.ami.errors import AMIAuthError, AMIConnectionError, AMIError, AMITimeout
from telephony.ami.events import (
    CoreShowChannel,
    Event,
    GenericEvent,
    QueueEntry,
    QueueMember,
    QueueParams,
    UserEvent,
)
from telephony.live import LiveModel
from tests.traces import TRACES_DIR, read_trace

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
ACTION_ID = re.compile(rb"^ActionID: (.*)$", re.M)


def recorded_replies(trace: str) -> dict[str, list[list[bytes]]]:
    """For each action name, in trace order, the server messages that carried its ActionID."""
    latest: dict[bytes, list[bytes]] = {}  # ActionID -> reply of the latest action using it
    replies: dict[str, list[list[bytes]]] = {}
    for record in read_trace(TRACES_DIR / trace):
        found = ACTION_ID.search(record.data.replace(b"\r\n", b"\n"))
        if found is None:
            continue
        action_id = found.group(1)
        if record.direction == "C->S":
            name = record.data.split(b"\r\n", 1)[0].removeprefix(b"Action: ").decode()
            latest[action_id] = []
            replies.setdefault(name, []).append(latest[action_id])
        elif record.direction == "S->C" and action_id in latest:
            latest[action_id].append(record.data)
    return replies


def with_action_id(message: bytes, action_id: bytes) -> bytes:
    head, found, rest = message.partition(b"ActionID: ")
    if not found:
        return message
    return head + found + action_id + rest[rest.index(b"\r\n") :]


class ReplayServer:
    """Answers each action with the recorded reply to the same action name, ActionID rewritten.

    ``replies[name]`` is a list of recorded replies; the n-th ``name`` action gets the n-th
    (the last one repeats). Actions in ``silent`` get no answer. ``close_after_login`` closes
    the first connection right after the login reply.
    """

    def __init__(self, *traces: str) -> None:
        self.replies: dict[str, list[list[bytes]]] = {}
        for trace in traces:
            for name, answers in recorded_replies(trace).items():
                self.replies.setdefault(name, []).extend(answers)
        self.used: dict[str, int] = {}
        self.silent: set[str] = set()
        self.received: list[str] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.connections = 0
        self.on_action: Callable[[str, asyncio.StreamWriter], Awaitable[None]] | None = None
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def push(self, data: bytes) -> None:
        writer = self.writers[-1]
        writer.write(data)
        await writer.drain()

    def drop(self) -> None:
        self.writers[-1].close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        writer.write(BANNER)
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                name = raw.split(b"\r\n", 1)[0].removeprefix(b"Action: ").decode()
                found = ACTION_ID.search(raw.replace(b"\r\n", b"\n"))
                assert found is not None
                self.received.append(name)
                if self.on_action is not None:
                    await self.on_action(name, writer)
                if name in self.silent:
                    continue
                for message in self._reply(name):
                    writer.write(with_action_id(message, found.group(1)))
                await writer.drain()
                if name == "Login" and b"Authentication failed" in b"".join(self._last(name)):
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()  # the client went away, or the test is over

    def _reply(self, name: str) -> list[bytes]:
        answers = self.replies.get(name)
        if not answers:
            return [b"Response: Error\r\nActionID: x\r\nMessage: Invalid/unknown command\r\n\r\n"]
        n = self.used.get(name, 0)
        self.used[name] = n + 1
        return answers[min(n, len(answers) - 1)]

    def _last(self, name: str) -> list[bytes]:
        answers = self.replies.get(name, [])
        n = self.used.get(name, 0) - 1
        return answers[min(n, len(answers) - 1)] if answers and n >= 0 else []


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds (no timing asserted; 5 s guard against hangs)."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    replay = ReplayServer("01_login_ping_status.ami.txt")
    yield replay
    await replay.stop()


def make_client(port: int, **options: float) -> AMIClient:
    settings = {"action_timeout": 2.0, "ping_interval": 60.0, "reconnect_base": 0.01}
    settings.update(options)
    return AMIClient("127.0.0.1", port, "bridge", "bridgepass", rng=random.Random(7), **settings)


async def test_login_ping_and_a_list_action(server: ReplayServer) -> None:
    client = make_client(await server.start())
    await client.connect()
    try:
        assert client.banner == "Asterisk Call Manager/11.0.0"
        pong = await client.action("Ping")
        assert pong.get("Ping") == "Pong"
        status = await client.list_action("QueueStatus")
        assert status.message == "Queue status will follow"
        kinds = {type(e) for e in status.events}
        assert {QueueParams, QueueMember} <= kinds
        assert status.complete is not None and status.complete.name == "QueueStatusComplete"
        assert len(status.events) == getattr(status.complete, "list_items", None)
        channels = await client.list_action("CoreShowChannels")
        assert channels.events == []
    finally:
        await client.close()
    assert server.received[0] == "Login" and server.received[-1] == "Logoff"


def test_connects_on_uvloop_as_the_service_runs() -> None:
    """`hotline-bridge run` runs on uvloop, whose TCP transport is no asyncio.Transport."""

    async def login_and_ping() -> str | None:
        replay = ReplayServer("01_login_ping_status.ami.txt")
        client = make_client(await replay.start())
        await client.connect()
        try:
            return (await client.action("Ping")).get("Ping")
        finally:
            await client.close()
            await replay.stop()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(login_and_ping()) == "Pong"


async def test_wrong_secret_is_a_clear_auth_error() -> None:
    replay = ReplayServer("01b_auth_errors_readonly.ami.txt")  # first Login: Authentication failed
    client = make_client(await replay.start())
    try:
        with pytest.raises(AMIAuthError, match="Authentication failed") as caught:
            await client.connect()
        assert "'bridge'" in str(caught.value)
        assert not client.connected
    finally:
        await replay.stop()


async def test_permission_denied_carries_asterisks_message() -> None:
    replay = ReplayServer("01b_auth_errors_readonly.ami.txt")
    replay.replies["Login"] = replay.replies["Login"][1:]  # the readonly login that succeeds
    client = make_client(await replay.start())
    await client.connect()
    try:
        with pytest.raises(AMIError) as caught:
            await client.action("Originate", Channel="Local/caller@callers", Application="Wait")
        assert caught.value.message == "Permission denied"
        assert caught.value.action == "Originate"
        assert str(caught.value) == "AMI action Originate failed: Permission denied"
        with pytest.raises(AMIError, match="Permission denied"):
            await client.action("Getvar", Variable="EPOCH")
        summary = await client.list_action("QueueSummary", Queue="q12345")
        assert [e.name for e in summary.events] == ["QueueSummary"]
    finally:
        await client.close()
        await replay.stop()


async def test_no_such_channel_from_trace_15() -> None:
    replay = ReplayServer("01_login_ping_status.ami.txt", "15_originate_sync_and_failures.ami.txt")
    client = make_client(await replay.start())
    await client.connect()
    try:
        with pytest.raises(AMIError, match="No such channel"):
            await client.action("Hangup", Channel="Local/nobody@callers-ffffffff;1")
    finally:
        await client.close()
        await replay.stop()


async def test_every_action_has_a_timeout(server: ReplayServer) -> None:
    server.silent.add("Ping")
    client = make_client(await server.start())
    await client.connect()
    try:
        with pytest.raises(AMITimeout, match=r"no complete reply within 0\.05 s"):
            await client.action("Ping", time_limit=0.05)
        assert client._pending == {}
        server.silent.clear()
        assert (await client.action("Ping")).get("Ping") == "Pong"
    finally:
        await client.close()


async def test_events_reach_listeners_by_name_and_catch_all(server: ReplayServer) -> None:
    client = make_client(await server.start())
    named: list[Event] = []
    everything: list[Event] = []
    client.subscribe(named.append, ["UserEvent"])
    client.subscribe(everything.append)
    await client.connect()
    try:
        await server.push(
            b"Event: UserEvent\r\nUserEvent: Linkage\r\nTicket: LK-1\r\n\r\n"
            b"Event: BrandNewThing\r\nFoo: bar\r\n\r\n"
        )
        await eventually(lambda: len(everything) >= 2, "the user event and the unknown one")
        assert [e.name for e in named] == ["UserEvent"]
        assert isinstance(named[0], UserEvent) and named[0].headers["Ticket"] == "LK-1"
        unknown = everything[-1]
        assert isinstance(unknown, GenericEvent) and unknown.get("Foo") == "bar"
    finally:
        await client.close()


async def test_chinese_split_across_tcp_writes_arrives_intact(server: ReplayServer) -> None:
    client = make_client(await server.start())
    seen: list[Event] = []
    client.add_inline_handler(seen.append, ["UserEvent"])
    await client.connect()
    try:
        data = "Event: UserEvent\r\nUserEvent: T\r\nKind: 求助\r\n\r\n".encode()
        cut = data.index("求".encode()) + 1  # inside the first character
        await server.push(data[:cut])
        await asyncio.sleep(0.02)
        await server.push(data[cut:])
        await eventually(lambda: bool(seen), "the UserEvent")
        assert isinstance(seen[0], UserEvent) and seen[0].headers["Kind"] == "求助"
    finally:
        await client.close()


async def test_a_slow_listener_drops_events_and_never_stalls_the_reader(
    server: ReplayServer,
) -> None:
    client = make_client(await server.start())
    release = asyncio.Event()
    handled: list[Event] = []

    taken: list[Event] = []

    async def slow(event: Event) -> None:
        taken.append(event)
        await release.wait()

    inline: list[Event] = []
    subscription = client.subscribe(slow, ["UserEvent"], queue_size=5)
    fast = client.subscribe(handled.append, ["UserEvent"])
    client.add_inline_handler(inline.append, ["UserEvent"])
    await client.connect()
    try:
        burst = b"".join(f"Event: UserEvent\r\nUserEvent: n{i}\r\n\r\n".encode() for i in range(50))
        await server.push(burst)
        await eventually(lambda: len(inline) == 50, "all 50 events read")
        # the reader keeps going: an action still gets its answer while the listener is stuck
        assert (await client.action("Ping")).get("Ping") == "Pong"
        await eventually(lambda: len(handled) == 50, "the fast subscriber got all 50")
        # the slow one holds at most 1 in hand and 5 queued; the rest were dropped and counted
        assert subscription.errors == 0
        assert len(taken) == 1
        assert subscription.dropped + subscription.queue.qsize() + len(taken) == 50
        assert subscription.dropped >= 44
        assert fast.dropped == 0
        release.set()
        await eventually(lambda: subscription.queue.empty(), "the slow queue drained")
    finally:
        await client.close()


async def test_reconnect_resynchronises_the_live_model() -> None:
    # first connection: trace 02's mid-call lists; after the drop: trace 01's idle ones
    replay = ReplayServer("02_originate_queue.ami.txt", "01_login_ping_status.ami.txt")
    statuses = replay.replies["QueueStatus"]
    replay.replies["QueueStatus"] = [statuses[0], statuses[-1]]
    replay.replies["CoreShowChannels"] = [
        replay.replies["CoreShowChannels"][0],
        replay.replies["CoreShowChannels"][-1],
    ]
    client = make_client(await replay.start())
    model = LiveModel()
    model.attach(client)
    await client.connect()
    try:
        assert len(model.channels) == 4
        peer = model.bridged_peer("Local/caller@callers-00000000;1")
        assert peer is not None and peer.name == "Local/agent121@agents-00000001;1"
        replay.drop()
        await eventually(lambda: client.stats.connects == 2, "the client came back")
        await eventually(lambda: model.channels == {}, "the model rebuilt from the idle lists")
        assert replay.connections == 2
        assert replay.received.count("Login") == 2
        assert replay.received.count("CoreShowChannels") == 2
        assert (await client.action("Ping")).get("Ping") == "Pong"
    finally:
        await client.close()
        await replay.stop()


async def test_pending_actions_fail_when_the_connection_drops(server: ReplayServer) -> None:
    server.silent.add("Ping")
    client = make_client(await server.start(), reconnect_base=5.0, reconnect_cap=5.0)
    await client.connect()
    try:
        waiting = asyncio.ensure_future(client.action("Ping"))
        await eventually(lambda: "Ping" in server.received, "the Ping reached the server")
        server.drop()
        with pytest.raises(AMIConnectionError, match="lost"):
            await waiting
        with pytest.raises(AMIConnectionError, match="not connected"):
            await client.action("Ping")
    finally:
        await client.close()


async def test_keep_alive_ping_without_pong_reconnects(server: ReplayServer) -> None:
    client = make_client(await server.start(), ping_interval=0.05, action_timeout=0.5)
    server.silent.add("Ping")
    await client.connect()
    try:
        await eventually(lambda: client.stats.connects >= 2, "reconnected after a lost Pong")
        assert server.received.count("Ping") >= 1
    finally:
        await client.close()


async def test_list_items_go_to_the_caller_not_to_listeners(server: ReplayServer) -> None:
    replay = ReplayServer("01_login_ping_status.ami.txt", "11_queue_withdraw.ami.txt")
    replay.replies["QueueStatus"] = replay.replies["QueueStatus"][-1:]  # trace 11's
    client = make_client(await replay.start())
    heard: list[str] = []
    client.add_inline_handler(lambda e: heard.append(e.name))
    await client.connect()
    try:
        status = await client.list_action("QueueStatus", Queue="q12345")
        entries = [e for e in status.events if isinstance(e, QueueEntry)]
        assert [(e.position, e.wait) for e in entries] == [(1, 4), (2, 3)]
        assert "QueueEntry" not in heard and "QueueStatusComplete" not in heard
    finally:
        await client.close()
        await replay.stop()


def test_actions_refuse_header_injection() -> None:
    wire = encode_action("Setvar", "s-1", {"Variable": "NAME", "Value": "张三"})
    expected = "Action: Setvar\r\nActionID: s-1\r\nVariable: NAME\r\nValue: 张三\r\n\r\n"
    assert wire == expected.encode()
    with pytest.raises(ValueError, match="Value of action Setvar contains CR/LF"):
        encode_action("Setvar", "s-2", {"Value": "x\r\nAction: Hangup"})
    with pytest.raises(ValueError, match="not a plain word"):
        encode_action("Setvar", "s-3", {"Bad Name": "x"})
    repeated = encode_action("Originate", "o-1", {"Variable": ["A=1", "B=2"]})
    assert b"Variable: A=1\r\nVariable: B=2\r\n" in repeated


def test_backoff_grows_caps_and_jitters() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, base=0.5, cap=30.0, rng=rng) for n in range(12)]
    for n, delay in enumerate(delays):
        ceiling = min(30.0, 0.5 * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 30.0
    assert len({round(d, 6) for d in delays[8:]}) > 1  # jittered, not lock-step
    with pytest.raises(ValueError, match="0 < base <= cap"):
        backoff_delay(0, base=5.0, cap=1.0, rng=rng)


def test_core_show_channel_items_are_typed() -> None:
    items = recorded_replies("02_originate_queue.ami.txt")["CoreShowChannels"][0]
    from telephony.ami.events import to_event
    from telephony.ami.parser import parse_message

    typed = [to_event(parse_message(m.decode().rstrip("\r\n"))) for m in items[1:-1]]
    assert all(isinstance(e, CoreShowChannel) for e in typed)


async def test_originate_waits_for_its_originate_response() -> None:
    replay = ReplayServer("01_login_ping_status.ami.txt", "02_originate_queue.ami.txt")
    client = make_client(await replay.start())
    await client.connect()
    try:
        outcome = await client.originate(
            Channel="Local/caller@callers", Context="inbound", Exten="110370811", Priority=1
        )
        assert outcome.success
        assert outcome.channel == "Local/caller@callers-00000000;1"
        assert outcome.variables["TICKET_ID"] == "T-0002"
        assert client._originates == {}
    finally:
        await client.close()
        await replay.stop()


async def test_originate_failure_reason_from_trace_15() -> None:
    replay = ReplayServer("01_login_ping_status.ami.txt", "15_originate_sync_and_failures.ami.txt")
    replay.replies["Originate"] = [
        reply for reply in replay.replies["Originate"] if b"Reason: 3\r\n" in b"".join(reply)
    ]
    client = make_client(await replay.start())
    await client.connect()
    try:
        outcome = await client.originate(
            Channel="Local/noanswer@callers", Application="Wait", Data="1", Timeout=3000
        )
        assert not outcome.success
        assert outcome.reason == 3
        assert outcome.uniqueid == "<unknown>"
        with pytest.raises(ValueError, match="Timeout must be milliseconds"):
            await client.originate(Channel="Local/x@y", Timeout="soon")
    finally:
        await client.close()
        await replay.stop()


async def test_originate_without_outcome_times_out(server: ReplayServer) -> None:
    server.replies["Originate"] = [
        [b"Response: Success\r\nActionID: o\r\nMessage: Originate successfully queued\r\n\r\n"]
    ]
    client = make_client(await server.start())
    await client.connect()
    try:
        with pytest.raises(AMITimeout, match="no OriginateResponse"):
            await client.originate(Channel="Local/x@y", Application="Wait", time_limit=0.1)
        assert client._originates == {}
    finally:
        await client.close()


async def test_a_malformed_event_is_counted_and_passed_on_untyped(server: ReplayServer) -> None:
    client = make_client(await server.start())
    seen: list[Event] = []
    client.add_inline_handler(seen.append, ["QueueCallerJoin"])
    await client.connect()
    try:
        await server.push(b"Event: QueueCallerJoin\r\nQueue: q1\r\nPosition: first\r\n\r\n")
        await eventually(lambda: bool(seen), "the malformed event")
        assert isinstance(seen[0], GenericEvent)
        assert "QueueCallerJoin.Position" in seen[0].problems[0]
        assert client.stats.malformed == 1
        assert (await client.action("Ping")).get("Ping") == "Pong"  # the session goes on
    finally:
        await client.close()


async def test_nobody_listening_means_nothing_typed_but_still_counted(
    server: ReplayServer,
) -> None:
    client = make_client(await server.start())
    await client.connect()
    try:
        await server.push(b"Event: QueueCallerJoin\r\nQueue: q1\r\nPosition: first\r\n\r\n")
        await eventually(lambda: client.stats.events >= 1, "the event counted")
        assert client.stats.malformed == 0  # never typed, so never found malformed
    finally:
        await client.close()


async def test_connection_refused_names_the_address() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    client = make_client(port)
    with pytest.raises(OSError, match=str(port)):
        await client.connect()
    assert not client.connected
    with pytest.raises(AMIConnectionError, match=f"not connected to 127.0.0.1:{port}"):
        await client.action("Ping")


async def test_a_drop_fails_an_originate_waiting_for_its_outcome(server: ReplayServer) -> None:
    server.replies["Originate"] = [
        [b"Response: Success\r\nActionID: o\r\nMessage: Originate successfully queued\r\n\r\n"]
    ]
    client = make_client(await server.start(), reconnect_base=5.0, reconnect_cap=5.0)
    await client.connect()
    try:
        waiting = asyncio.ensure_future(client.originate(Channel="Local/x@y", Application="Wait"))
        await eventually(lambda: "Originate" in server.received, "the Originate sent")
        await asyncio.sleep(0.05)  # let the queued reply arrive first
        server.drop()
        with pytest.raises(AMIConnectionError, match="lost"):
            await waiting
    finally:
        await client.close()
