"""The 12345 entry menu over a real FastAGI socket, with a scripted Asterisk on the other end
replaying what Asterisk 22 answers (trace 14: GET DATA gives the digit, `result= (timeout)`
on silence, `result=-1` for a missing prompt; trace 07b: `HANGUP` then dead-channel 511s),
and linkage tickets written to a real Redis.

`ScriptedCall` and `serve` are shared with the diversion and 110-route tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bridge.ivr_wiring import IvrTickets
from bridge.tickets import TicketStore
from bridge.transfers.config import TransferConfig
from ivr.entry_12345 import add_entry_route
from ivr.linkage import LinkageOpening, LinkageTickets
from ivr.prompts import EntryMenu, IvrConfig, IvrConfigError, load_ivr_config, parse_ivr_config
from routing.tickets import Direction, Kind, TicketStatus, Urgency
from telephony.agi.routes import AgiRoutes
from telephony.agi.server import FastAgiServer
from tests.traces import TRACES_DIR, read_trace

CITY = "370800"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "config" / "ivr.toml"


def trace_headers(route: str, uniqueid: str, callerid: str) -> list[bytes]:
    """Trace 14's `agi_*` block, in its two recorded reads, for another route and call."""
    records = read_trace(TRACES_DIR / "14_fastagi_getdata.agi.txt")
    chunks = [r.data for r in records if r.direction == "AST->AGI"][:2]
    replaced = []
    for chunk in chunks:
        text = chunk.decode()
        text = re.sub(r"agi_network_script: .*", f"agi_network_script: {route}", text)
        text = re.sub(r"agi_request: .*", f"agi_request: agi://127.0.0.1:4573/{route}", text)
        text = re.sub(r"agi_uniqueid: .*", f"agi_uniqueid: {uniqueid}", text)
        text = re.sub(r"agi_callerid: .*", f"agi_callerid: {callerid}", text)
        replaced.append(text.encode())
    assert replaced[-1].endswith(b"\n\n"), "trace 14's header block ends with a blank line"
    return replaced


def _unquote(argument: str) -> str:
    if argument.startswith('"') and argument.endswith('"'):
        return re.sub(r"\\(.)", r"\1", argument[1:-1])
    return argument


@dataclass
class ScriptedCall:
    """Asterisk's side of one AGI session: the caller's keys and what the PBX has."""

    route: str
    keys: list[str] = field(default_factory=list)  # one per GET DATA; "" is silence
    missing: set[str] = field(default_factory=set)  # sound files not on the PBX
    hangup_during: int | None = None  # the caller hangs up while this command (0-based) runs
    uniqueid: str = "lab-1795946287.191"
    callerid: str = "13800000014"
    variables: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    closed_by_server: bool = False

    @property
    def hung_up(self) -> bool:
        return self.hangup_during is not None and len(self.commands) > self.hangup_during

    def reply(self, command: str) -> str:
        words = command.split(" ")
        if command.startswith("SET VARIABLE "):
            name, _, value = command.removeprefix("SET VARIABLE ").partition(" ")
            self.variables[name] = _unquote(value)
            return "200 result=1"
        if command.startswith("GET VARIABLE "):
            found = self.variables.get(words[2])
            return "200 result=0" if found is None else f"200 result=1 ({found})"
        if command.startswith(("STREAM FILE ", "GET DATA ")):
            return self._media(command, words[2])
        return "510 Invalid or unknown command"

    def _media(self, command: str, sound: str) -> str:
        if self.hung_up:
            return DEAD
        if sound in self.missing:
            return "200 result=-1 endpos=0" if command.startswith("STREAM") else "200 result=-1"
        if command.startswith("STREAM FILE "):
            return "200 result=0 endpos=3520"
        if not self.keys:
            raise AssertionError(f"the flow asked for more keys than scripted: {command}")
        key = self.keys.pop(0)
        return f"200 result={key}" if key else "200 result= (timeout)"

    async def run(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for chunk in trace_headers(self.route, self.uniqueid, self.callerid):
            writer.write(chunk)
            await writer.drain()
        while line := await reader.readline():
            command = line.decode().removesuffix("\n")
            index = len(self.commands)
            self.commands.append(command)
            if index == self.hangup_during:
                writer.write(b"HANGUP\n")  # Asterisk's notice, then the command's answer
                reply = "200 result=-1" if command.startswith(("STREAM", "GET DATA")) else None
                writer.write(((reply or self.reply(command)) + "\n").encode())
            else:
                writer.write((self.reply(command) + "\n").encode())
            await writer.drain()
        self.closed_by_server = True  # Asterisk never closes first (trace 07b)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def serve(routes: AgiRoutes) -> AsyncIterator[FastAgiServer]:
    server = FastAgiServer(routes)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop(deadline=2)


def ticket_store(redis: aioredis.Redis) -> TicketStore:
    return TicketStore(redis, TransferConfig().deadline_policy())


class BrokenTickets:
    """A ticket service whose store is down (what a Redis outage looks like to a flow)."""

    def __init__(self) -> None:
        self.asked: list[LinkageOpening] = []

    async def open(self, opening: LinkageOpening) -> str:
        self.asked.append(opening)
        raise ConnectionError("Redis is unreachable")


async def play_call(call: ScriptedCall, routes: AgiRoutes) -> FastAgiServer:
    """Serve `routes` and play the scripted call against them (ten seconds at most)."""
    async with serve(routes) as server:
        await asyncio.wait_for(call.run(server.port), 10)
        return server


async def run_entry(
    call: ScriptedCall, tickets: LinkageTickets, menu: EntryMenu | None = None
) -> FastAgiServer:
    routes = AgiRoutes()
    add_entry_route(routes, menu or EntryMenu(), tickets)
    return await play_call(call, routes)


@pytest.fixture
def tickets(redis_client: aioredis.Redis) -> IvrTickets:
    store = ticket_store(redis_client)
    return IvrTickets(lambda: store, CITY)


def entry_call(*keys: str, **options: object) -> ScriptedCall:
    return ScriptedCall("entry-12345", list(keys), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "kind", "priority"),
    [("1", "咨询", "0"), ("2", "求助", "5"), ("3", "投诉举报", "0"), ("4", "意见建议", "0")],
)
async def test_a_kind_key_sets_kind_priority_and_the_queue(
    key: str, kind: str, priority: str, tickets: IvrTickets
) -> None:
    call = entry_call(key)
    await run_entry(call, tickets)
    assert call.variables == {
        "HB_KIND": kind,
        "QUEUE_PRIO": priority,
        "HB_ROUTE": "hb-queue,12345,1",
    }
    assert call.commands[:2] == [
        'STREAM FILE hotline-bridge/entry-greeting ""',
        "GET DATA hotline-bridge/entry-menu 5000 1",
    ]
    assert call.commands[-1] == 'SET VARIABLE HB_ROUTE "hb-queue,12345,1"'
    assert call.closed_by_server


async def test_zero_goes_to_an_agent_without_a_kind(tickets: IvrTickets) -> None:
    call = entry_call("0")
    await run_entry(call, tickets)
    assert call.variables == {"QUEUE_PRIO": "0", "HB_ROUTE": "hb-queue,12345,1"}
    assert 'STREAM FILE hotline-bridge/entry-to-agent ""' in call.commands


async def test_nine_sends_the_caller_to_110_with_an_urgent_ticket(
    tickets: IvrTickets, redis_client: aioredis.Redis
) -> None:
    call = entry_call("9", callerid="13800000014")
    await run_entry(call, tickets)
    assert call.variables["HB_ROUTE"] == "hb-trunk,110,1"
    assert call.variables["HB_KIND"] == "报警"
    ticket = await ticket_store(redis_client).get(call.variables["LINKAGE_TICKET"])
    assert ticket.direction is Direction.CITY_12345_TO_CITY_110
    assert ticket.urgency is Urgency.URGENT
    assert ticket.kind is Kind.REPORT
    assert ticket.status is TicketStatus.QUEUED
    assert ticket.caller_number == "13800000014"
    assert ticket.uniqueid == "lab-1795946287.191"
    # The ticket is written before the caller is told and moved.
    assert call.commands.index('STREAM FILE hotline-bridge/entry-to-110 ""') < len(call.commands)
    assert call.commands[-1] == 'SET VARIABLE HB_ROUTE "hb-trunk,110,1"'


async def test_nine_still_reaches_110_when_the_ticket_store_is_down() -> None:
    broken = BrokenTickets()
    call = entry_call("9")
    await run_entry(call, broken)
    assert len(broken.asked) == 1 and broken.asked[0].urgent
    assert call.variables["HB_ROUTE"] == "hb-trunk,110,1"
    assert "LINKAGE_TICKET" not in call.variables


class SlowTickets:
    """A ticket service that never answers (Redis hanging)."""

    async def open(self, opening: LinkageOpening) -> str:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


async def test_nine_does_not_wait_for_a_hanging_ticket_store() -> None:
    call = entry_call("9")
    await run_entry(call, SlowTickets(), EntryMenu(ticket_timeout_ms=100))
    assert call.variables["HB_ROUTE"] == "hb-trunk,110,1"
    assert "LINKAGE_TICKET" not in call.variables


async def test_a_retried_agi_for_the_same_call_reuses_its_ticket(
    tickets: IvrTickets, redis_client: aioredis.Redis
) -> None:
    first, second = entry_call("9"), entry_call("9")
    await run_entry(first, tickets)
    await run_entry(second, tickets)
    assert first.variables["LINKAGE_TICKET"] == second.variables["LINKAGE_TICKET"]


async def test_an_invalid_key_then_a_valid_one(tickets: IvrTickets) -> None:
    call = entry_call("7", "3")
    await run_entry(call, tickets)
    assert call.variables["HB_KIND"] == "投诉举报"
    assert call.commands[2] == 'STREAM FILE hotline-bridge/entry-invalid ""'
    assert call.commands.count("GET DATA hotline-bridge/entry-menu 5000 1") == 2


async def test_silence_is_retried_then_an_agent(tickets: IvrTickets) -> None:
    call = entry_call("", "", "")
    await run_entry(call, tickets)
    assert call.commands.count("GET DATA hotline-bridge/entry-menu 5000 1") == 3
    assert call.commands.count('STREAM FILE hotline-bridge/entry-no-input ""') == 3
    assert call.variables == {"QUEUE_PRIO": "0", "HB_ROUTE": "hb-queue,12345,1"}


async def test_the_configured_retry_count_and_timeout_are_used(tickets: IvrTickets) -> None:
    menu = EntryMenu(attempts=2, timeout_ms=8000)
    call = entry_call("8", "")
    await run_entry(call, tickets, menu)
    assert call.commands.count("GET DATA hotline-bridge/entry-menu 8000 1") == 2
    assert call.variables["HB_ROUTE"] == "hb-queue,12345,1"
    assert "HB_KIND" not in call.variables


@pytest.mark.parametrize("during", [0, 1, 2])
async def test_a_hang_up_mid_menu_ends_the_flow_cleanly(
    during: int, tickets: IvrTickets, redis_client: aioredis.Redis
) -> None:
    # 0: during the greeting, 1: during the menu, 2: while the invalid-key prompt plays.
    call = entry_call("7", "9", hangup_during=during)
    server = await run_entry(call, tickets)
    assert call.closed_by_server
    assert call.commands[during + 1 :] == []
    assert "HB_ROUTE" not in call.variables
    assert await redis_client.keys("*") == []  # no ticket for a caller who left
    status = server.status()
    assert status.sessions_failed == 0 and status.sessions_hung_up == 1


async def test_missing_prompts_do_not_stop_the_call(tickets: IvrTickets) -> None:
    call = entry_call("2", missing={"hotline-bridge/entry-greeting"})
    await run_entry(call, tickets)
    assert call.variables["HB_KIND"] == "求助"


async def test_a_missing_menu_prompt_goes_straight_to_an_agent(tickets: IvrTickets) -> None:
    call = entry_call(missing={"hotline-bridge/entry-menu"})
    await run_entry(call, tickets)
    assert call.commands.count("GET DATA hotline-bridge/entry-menu 5000 1") == 1
    assert call.variables["HB_ROUTE"] == "hb-queue,12345,1"


async def test_an_unexpected_agi_failure_leaves_hb_route_empty_for_the_dialplan_fallback(
    tickets: IvrTickets,
) -> None:
    # Asterisk answering something the session cannot parse is a failed flow: HB_ROUTE stays
    # unset, and [from-pstn] sends the caller to the 12345 queue.
    call = entry_call("1")
    original = call.reply

    def garbled(command: str) -> str:
        return "999 nonsense" if command.startswith("SET VARIABLE HB_KIND") else original(command)

    call.reply = garbled  # type: ignore[method-assign]
    server = await run_entry(call, tickets)
    assert "HB_ROUTE" not in call.variables
    assert server.status().sessions_failed == 1


def test_the_shipped_config_is_the_default() -> None:
    assert load_ivr_config(SHIPPED_CONFIG) == IvrConfig()


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"entry": {"attempts": 0}}, "entry.attempts"),
        ({"entry": {"danger_key": "1"}}, "choices[0].key '1' is already used by danger_key"),
        ({"entry": {"prompts": {"menu": "menu.wav; rm"}}}, "entry.prompts.menu"),
        ({"entry": {"queue_target": "hb-queue 12345"}}, "entry.queue_target"),
        ({"entry": {"choices": [{"key": "1", "kind": "闲聊"}]}}, "entry.choices.0.kind"),
        ({"divert": {"confirm_key": "11"}}, "divert.confirm_key"),
        ({"entry": {"timeout": 5}}, "entry.timeout"),
    ],
)
def test_bad_config_is_refused_naming_the_key(data: dict[str, object], named: str) -> None:
    with pytest.raises(IvrConfigError, match=re.escape(named)):
        parse_ivr_config(data)


def test_a_config_file_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ivr.toml"
    path.write_text("[entry\n", encoding="utf-8")
    with pytest.raises(IvrConfigError, match=r"ivr\.toml: not valid TOML"):
        load_ivr_config(path)
    with pytest.raises(IvrConfigError, match="cannot read"):
        load_ivr_config(tmp_path / "absent.toml")
