"""A tiny AMI server for monitoring tests, scripted queue traffic, and tests of both.

`ScriptedAMI` speaks just enough AMI over a real TCP socket for AMIClient: the banner, Login,
Ping, QueueStatus (from `entries`), CoreShowChannels (empty), Originate (recorded), Logoff.
`push()` sends events to every connected session; `drop()` closes them (a reconnect test).
The builders below write events with the headers Asterisk 22 sends (see the traces).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import pytest

from telephony.ami.client import AMIClient

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def message(**headers: str | int) -> bytes:
    lines = [f"{key.replace('_', '-')}: {value}" for key, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def channel_headers(uid: str, number: str, context: str, exten: str) -> dict[str, str | int]:
    return {
        "Channel": f"Local/caller@callers-{uid};1",
        "ChannelState": 6,
        "ChannelStateDesc": "Up",
        "CallerIDNum": number,
        "CallerIDName": f"Citizen {number[-4:]}" if number else "",
        "Context": context,
        "Exten": exten,
        "Priority": 3,
        "Uniqueid": uid,
        "Linkedid": uid,
    }


@dataclass
class Caller:
    """One scripted caller in one queue; its events in Asterisk 22's order."""

    uid: str
    queue: str
    number: str = "13800000001"
    context: str = "inbound"
    exten: str = "110"

    def _h(self, **more: str | int) -> dict[str, str | int]:
        return {**channel_headers(self.uid, self.number, self.context, self.exten), **more}

    def join(self, position: int = 1, count: int = 1) -> bytes:
        return message(
            Event="QueueCallerJoin", **self._h(Queue=self.queue, Position=position, Count=count)
        )

    def answered(self, hold_time: int, agent: str = "agent101") -> bytes:
        return self.leave() + message(
            Event="AgentConnect",
            **self._h(
                Queue=self.queue,
                DestChannel=f"Local/{agent}@agents-{self.uid};1",
                DestUniqueid=f"{self.uid}-agent",
                Interface=f"Local/{agent}@agents/n",
                MemberName=agent,
                HoldTime=hold_time,
                RingTime=1,
            ),
        )

    def leave(self, context: str | None = None, exten: str | None = None) -> bytes:
        headers = self._h(Queue=self.queue, Position=1, Count=0)
        if context is not None:
            headers.update(Context=context, Exten=exten or "", Priority=0)
        return message(Event="QueueCallerLeave", **headers)

    def abandon_event(self, hold_time: int, position: int = 1, original: int = 1) -> bytes:
        return message(
            Event="QueueCallerAbandon",
            **self._h(
                Queue=self.queue, Position=position, OriginalPosition=original, HoldTime=hold_time
            ),
        )

    def hangup(self) -> bytes:
        return message(Event="Hangup", **self._h(Cause=16, **{"Cause-txt": "Normal Clearing"}))

    def early_release(self, hold_time: int, position: int = 1, original: int = 1) -> bytes:
        """Trace 03: Abandon, Leave, then the caller's Hangup."""
        return self.abandon_event(hold_time, position, original) + self.leave() + self.hangup()

    def varset(self, name: str, value: str) -> bytes:
        return message(Event="VarSet", **self._h(Variable=name, Value=value))

    def withdrawn(self, hold_time: int, info: str = "support-370811") -> bytes:
        """Trace 11: Abandon, QUEUE_WITHDRAW_INFO, Leave, QUEUESTATUS=WITHDRAW."""
        return (
            self.abandon_event(hold_time)
            + self.varset("QUEUE_WITHDRAW_INFO", info)
            + self.leave()
            + self.varset("QUEUESTATUS", "WITHDRAW")
        )

    def timed_out(self) -> bytes:
        return self.leave() + self.varset("QUEUESTATUS", "TIMEOUT")

    def exit_key(self, context: str = "divert110", key: str = "1") -> bytes:
        """Trace 10: the Leave already shows the queue context; no QUEUESTATUS."""
        return self.leave(context, key)

    def entry(self, position: int, wait: int, action_id: str) -> bytes:
        return message(
            Event="QueueEntry",
            ActionID=action_id,
            Queue=self.queue,
            Position=position,
            Channel=f"Local/caller@callers-{self.uid};1",
            Uniqueid=self.uid,
            CallerIDNum=self.number,
            CallerIDName="",
            ConnectedLineNum="",
            ConnectedLineName="",
            Wait=wait,
            Priority=0,
        )


@dataclass
class ScriptedAMI:
    queues: list[str]
    # (caller, seconds waited) listed by QueueStatus
    waiting: list[tuple[Caller, int]] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)
    logins: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def push(self, data: bytes) -> None:
        for writer in self._writers:
            writer.write(data)

    def client(self) -> AMIClient:
        return AMIClient(
            "127.0.0.1", self.port, "bridge", "secret", reconnect_base=0.01, reconnect_cap=0.05
        )

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        writer.write(BANNER)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                fields = dict(
                    line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line
                )
                self.actions.append(fields)
                writer.write(self._reply(fields))
                await writer.drain()
        self._writers.discard(writer)

    def _reply(self, action: dict[str, str]) -> bytes:
        name, action_id = action.get("Action", ""), action.get("ActionID", "")
        if name == "Login":
            self.logins += 1
            return message(Response="Success", ActionID=action_id, Message="Authenticated")
        if name == "QueueStatus":
            items = [
                message(Event="QueueParams", ActionID=action_id, Queue=queue, Strategy="rrmemory")
                for queue in self.queues
            ]
            for number, (caller, wait) in enumerate(self.waiting, 1):
                items.append(caller.entry(number, wait, action_id))
            return self._list(action_id, "QueueStatusComplete", items)
        if name == "CoreShowChannels":
            return self._list(action_id, "CoreShowChannelsComplete", [])
        return message(Response="Success", ActionID=action_id, Message=f"{name} done")

    @staticmethod
    def _list(action_id: str, complete: str, items: Iterable[bytes]) -> bytes:
        items = list(items)
        return (
            message(Response="Success", ActionID=action_id, EventList="start", Message="follows")
            + b"".join(items)
            + message(
                Event=complete, ActionID=action_id, EventList="Complete", ListItems=len(items)
            )
        )


async def settle(client: AMIClient) -> None:
    """Every event pushed before this call has been read and handled (AMI keeps order)."""
    await client.action("Ping")


@pytest.fixture
async def ami_server() -> AsyncIterator[ScriptedAMI]:
    server = ScriptedAMI(queues=["q110-city", "q12345"])
    await server.start()
    yield server
    await server.stop()


async def test_scripted_server_answers_login_and_lists(ami_server: ScriptedAMI) -> None:
    ami_server.waiting = [(Caller("u1", "q110-city"), 7)]
    client = ami_server.client()
    await client.connect()
    try:
        status = await client.list_action("QueueStatus")
        await settle(client)
    finally:
        await client.close()
    assert ami_server.logins == 1
    assert [item.name for item in status.events] == ["QueueParams", "QueueParams", "QueueEntry"]


async def test_scripted_events_reach_an_inline_handler(ami_server: ScriptedAMI) -> None:
    seen: list[str] = []
    client = ami_server.client()
    client.add_inline_handler(lambda event: seen.append(event.name))
    await client.connect()
    try:
        caller = Caller("u2", "q110-city")
        ami_server.push(caller.join() + caller.early_release(4))
        await settle(client)
    finally:
        await client.close()
    assert seen == ["QueueCallerJoin", "QueueCallerAbandon", "QueueCallerLeave", "Hangup"]
