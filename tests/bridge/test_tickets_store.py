"""The linkage-ticket store against a real redis-server (the `redis_client` fixture)."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions as redis_errors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bridge.tickets import (
    IdempotencyConflict,
    TicketDraft,
    TicketKeys,
    TicketNotFound,
    TicketQuery,
    TicketStore,
)
from routing.tickets import (
    HANDLED,
    TRANSITIONS,
    DeadlineRule,
    IllegalTransition,
    Kind,
    Platform,
    TicketStatus,
    Urgency,
    is_linked_not_acted,
    is_overdue,
)
from tests.bridge.test_tickets_model import county_to_12345_hops, draft_data
from tests.redis_server import RedisServer, free_port, start_redis

S = TicketStatus
# 16:30 UTC on the 29th is 00:30 on the 30th in Asia/Shanghai: ids carry the Shanghai day.
START = datetime(2026, 11, 29, 16, 30, tzinfo=UTC)
RULE = DeadlineRule(act_within=timedelta(minutes=30), close_within=timedelta(hours=24))
POLICY = {(kind, urgency): RULE for kind in Kind for urgency in Urgency}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(redis_client: aioredis.Redis, clock: Clock) -> TicketStore:
    return TicketStore(redis_client, POLICY, clock=clock, link_ttl=timedelta(seconds=60))


def draft(**changes: Any) -> TicketDraft:
    return TicketDraft.model_validate(draft_data(**changes))


async def all_keys(client: aioredis.Redis) -> dict[Any, Any]:
    """A snapshot of the whole database, to show a refused write changed nothing."""
    snapshot: dict[Any, Any] = {}
    for key in await client.keys("*"):
        kind = await client.type(key)
        if kind == b"hash":
            snapshot[key] = await client.hgetall(key)
        elif kind == b"zset":
            snapshot[key] = await client.zrange(key, 0, -1, withscores=True)
        elif kind == b"stream":
            snapshot[key] = await client.xrange(key)
        else:
            snapshot[key] = await client.get(key)
    return snapshot


async def test_create_stores_hash_history_and_indexes(
    store: TicketStore, redis_client: aioredis.Redis
) -> None:
    result = await store.create(draft(), request_id="req-1", by="agent101")
    ticket = result.ticket
    assert result.created
    assert ticket.id == "LK-20261130-000001"
    assert ticket.status is S.CREATED
    assert ticket.due_at == START + timedelta(hours=24)
    assert await store.get(ticket.id) == ticket
    keys = TicketKeys()
    assert await redis_client.zscore(keys.by_status("created"), ticket.id) is not None
    assert await redis_client.zscore(keys.by_district("370811"), ticket.id) is not None
    assert await redis_client.zscore(keys.by_platform("12345"), ticket.id) is not None
    assert await redis_client.zscore(keys.by_platform("110"), ticket.id) is not None
    history = await store.history(ticket.id)
    assert [(h.event, h.by, h.to_status) for h in history] == [("created", "agent101", S.CREATED)]


async def test_ids_count_up_per_shanghai_day(store: TicketStore, clock: Clock) -> None:
    first = await store.create(draft(), request_id="a", by="agent101")
    second = await store.create(draft(), request_id="b", by="agent101")
    clock.advance(days=1)
    third = await store.create(draft(), request_id="c", by="agent101")
    assert [first.ticket.id, second.ticket.id, third.ticket.id] == [
        "LK-20261130-000001",
        "LK-20261130-000002",
        "LK-20261201-000001",
    ]


async def test_retried_request_returns_the_same_ticket(
    store: TicketStore, redis_client: aioredis.Redis
) -> None:
    first = await store.create(draft(), request_id="req-7", by="agent101")
    before = await all_keys(redis_client)
    again = await store.create(draft(), request_id="req-7", by="agent101")
    assert not again.created
    assert again.ticket == first.ticket
    assert await all_keys(redis_client) == before


async def test_reused_request_id_with_another_draft_is_a_conflict(store: TicketStore) -> None:
    await store.create(draft(), request_id="req-8", by="agent101")
    with pytest.raises(IdempotencyConflict, match="req-8"):
        await store.create(draft(summary="别的事"), request_id="req-8", by="agent101")


async def test_concurrent_creates_get_distinct_ids(store: TicketStore) -> None:
    # 80 in flight: under redis-py's default pool of 100 connections.
    results = await asyncio.gather(
        *(store.create(draft(), request_id=f"r{n}", by="agent101") for n in range(80))
    )
    ids = {r.ticket.id for r in results}
    assert len(ids) == 80
    assert max(ids) == "LK-20261130-000080"


async def test_two_bridge_instances_never_share_an_id(
    store: TicketStore, redis_server: RedisServer, clock: Clock
) -> None:
    other_client = aioredis.Redis.from_url(redis_server.url)
    other = TicketStore(other_client, POLICY, clock=clock)
    results = await asyncio.gather(
        *(
            (store if n % 2 else other).create(draft(), request_id=f"i{n}", by="agent101")
            for n in range(60)
        )
    )
    assert len({r.ticket.id for r in results}) == 60
    await other_client.aclose()


async def test_create_reloads_the_script_after_script_flush(
    store: TicketStore, redis_client: aioredis.Redis
) -> None:
    await store.create(draft(), request_id="before", by="agent101")
    await redis_client.script_flush()
    after = await store.create(draft(), request_id="after", by="agent101")
    assert after.created and after.ticket.id.endswith("-000002")


async def test_concurrent_retries_of_one_request_make_one_ticket(store: TicketStore) -> None:
    results = await asyncio.gather(
        *(store.create(draft(), request_id="same", by="agent101") for _ in range(20))
    )
    assert len({r.ticket.id for r in results}) == 1
    assert sum(r.created for r in results) == 1


async def test_the_feedback_loop_is_recorded(store: TicketStore, clock: Clock) -> None:
    ticket = (await store.create(draft(), request_id="loop", by="agent101")).ticket
    steps = [
        (S.TRANSFERRING, "agent101"),
        (S.QUEUED, "bridge"),
        (S.ACCEPTED, "agent110-7"),
        (S.IN_PROGRESS, "agent110-7"),
    ]
    for target, who in steps:
        clock.advance(minutes=1)
        ticket = await store.transition(ticket.id, target, by=who, note=f"to {target}")
    clock.advance(minutes=1)
    ticket = await store.transition(
        ticket.id, S.FEEDBACK_GIVEN, by="agent110-7", feedback="民警已到场调解"
    )
    ticket = await store.transition(ticket.id, S.CLOSED, by="agent101")
    assert ticket.status is S.CLOSED
    assert ticket.accepted_by == "agent110-7"
    assert ticket.accepted_at == START + timedelta(minutes=3)
    assert ticket.closed_at == START + timedelta(minutes=5)
    assert [f.text for f in ticket.feedback] == ["民警已到场调解"]
    history = await store.history(ticket.id)
    assert [(h.from_status, h.to_status) for h in history[1:]] == [
        (S.CREATED, S.TRANSFERRING),
        (S.TRANSFERRING, S.QUEUED),
        (S.QUEUED, S.ACCEPTED),
        (S.ACCEPTED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.FEEDBACK_GIVEN),
        (S.FEEDBACK_GIVEN, S.CLOSED),
    ]
    assert history[3].by == "agent110-7" and history[3].note == "to accepted"
    assert history[3].at == START + timedelta(minutes=3)
    assert await store.search(TicketQuery(status=S.CLOSED)) == [ticket]
    assert await store.search(TicketQuery(status=S.IN_PROGRESS)) == []


async def test_illegal_transition_writes_nothing(
    store: TicketStore, redis_client: aioredis.Redis
) -> None:
    ticket = (await store.create(draft(), request_id="bad", by="agent101")).ticket
    before = await all_keys(redis_client)
    with pytest.raises(IllegalTransition, match="created -> accepted"):
        await store.transition(ticket.id, S.ACCEPTED, by="agent110-7", feedback="x")
    assert await all_keys(redis_client) == before


async def test_only_from_refuses_a_move_that_was_overtaken(
    store: TicketStore, redis_client: aioredis.Redis
) -> None:
    """transfer_failed -> transferring is legal (send again), but not for a writer that
    expected `created`: the later outcome stays and nothing is written."""
    ticket = (await store.create(draft(), request_id="late", by="agent101")).ticket
    await store.transition(ticket.id, S.TRANSFER_FAILED, by="bridge", note="trunk failed")
    before = await all_keys(redis_client)
    with pytest.raises(IllegalTransition, match="transfer_failed -> transferring"):
        await store.transition(
            ticket.id, S.TRANSFERRING, by="agent101", only_from=frozenset({S.CREATED})
        )
    assert await all_keys(redis_client) == before
    other = (await store.create(draft(), request_id="on-time", by="agent101")).ticket
    moved = await store.transition(
        other.id, S.TRANSFERRING, by="agent101", only_from=frozenset({S.CREATED})
    )
    assert moved.status is S.TRANSFERRING


async def test_a_failed_transfer_records_its_reason(store: TicketStore) -> None:
    ticket = (await store.create(draft(), request_id="fail", by="agent101")).ticket
    await store.transition(ticket.id, S.TRANSFERRING, by="bridge")
    with pytest.raises(ValueError, match="reason"):
        await store.transition(ticket.id, S.TRANSFER_FAILED, by="bridge")
    failed = await store.transition(
        ticket.id, S.TRANSFER_FAILED, by="bridge", note="q110-city: no such queue"
    )
    assert failed.status is S.TRANSFER_FAILED
    assert (await store.history(ticket.id))[-1].note == "q110-city: no such queue"


async def test_transition_of_unknown_ticket(store: TicketStore) -> None:
    with pytest.raises(TicketNotFound, match="LK-20260101-000009"):
        await store.transition("LK-20260101-000009", S.QUEUED, by="bridge")
    with pytest.raises(TicketNotFound):
        await store.get("LK-20260101-000009")
    with pytest.raises(TicketNotFound):
        await store.history("LK-20260101-000009")


async def test_hops_are_appended_on_transition(store: TicketStore) -> None:
    first, second = county_to_12345_hops()
    county = draft(
        direction="county110->12345",
        origin_platform="110",
        origin_level="county",
        origin_district="370883",
        target_platform="12345",
        hops=[first.model_dump()],
        target_district="370800",
    )
    ticket = (await store.create(county, request_id="hop", by="agent-county")).ticket
    ticket = await store.transition(ticket.id, S.TRANSFERRING, by="bridge", hop=second)
    assert ticket.hops == [first, second]


async def test_indexes_and_search(store: TicketStore, clock: Clock) -> None:
    a = (await store.create(draft(), request_id="a", by="agent101")).ticket
    clock.advance(minutes=10)
    b = (await store.create(draft(district_code="370883"), request_id="b", by="x")).ticket
    clock.advance(minutes=10)
    c_draft = draft(
        direction="110->12345",
        origin_platform="110",
        target_platform="12345",
        kind="求助",
        district_code="370883",
    )
    c = (await store.create(c_draft, request_id="c", by="y")).ticket
    await store.transition(b.id, S.QUEUED, by="bridge")

    assert [t.id for t in await store.search(TicketQuery())] == [a.id, b.id, c.id]
    assert [t.id for t in await store.search(TicketQuery(district="370883"))] == [b.id, c.id]
    found = await store.search(TicketQuery(status=S.CREATED, district="370883"))
    assert [t.id for t in found] == [c.id]
    window = TicketQuery(since=START + timedelta(minutes=5), until=START + timedelta(minutes=15))
    assert [t.id for t in await store.search(window)] == [b.id]
    both = TicketQuery(district="370883", since=START + timedelta(minutes=15))
    assert [t.id for t in await store.search(both)] == [c.id]
    platform = TicketQuery(platform=Platform.HOTLINE_12345, limit=2, offset=1)
    assert [t.id for t in await store.search(platform)] == [b.id, c.id]


async def test_overdue_and_linked_not_acted(store: TicketStore, clock: Clock) -> None:
    idle = (await store.create(draft(), request_id="idle", by="agent101")).ticket
    busy = (await store.create(draft(), request_id="busy", by="agent101")).ticket
    done = (await store.create(draft(), request_id="done", by="agent101")).ticket
    for ticket in (idle, busy, done):
        await store.transition(ticket.id, S.QUEUED, by="bridge")
        await store.transition(ticket.id, S.ACCEPTED, by="agent110-7")
    await store.transition(busy.id, S.IN_PROGRESS, by="agent110-7")
    await store.transition(done.id, S.FEEDBACK_GIVEN, by="agent110-7", feedback="办结")

    clock.advance(minutes=29)
    assert await store.search(TicketQuery(not_acted=True)) == []
    clock.advance(minutes=2)
    assert [t.id for t in await store.search(TicketQuery(not_acted=True))] == [idle.id]
    assert await store.search(TicketQuery(overdue=True)) == []
    clock.advance(hours=24)
    overdue = await store.search(TicketQuery(overdue=True))
    assert [t.id for t in overdue] == [idle.id, busy.id]
    # Acting on it takes it off the 联而不动 list; reopening puts it back on the overdue one.
    await store.transition(idle.id, S.IN_PROGRESS, by="agent110-7")
    assert await store.search(TicketQuery(not_acted=True)) == []
    await store.transition(done.id, S.IN_PROGRESS, by="agent101", note="群众不满意")
    overdue = await store.search(TicketQuery(overdue=True))
    assert [t.id for t in overdue] == [idle.id, busy.id, done.id]


async def test_channel_and_call_links_expire(
    store: TicketStore, redis_client: aioredis.Redis
) -> None:
    with_call = draft(channel="Local/caller@callers-00000001;1", uniqueid="1764400000.12")
    ticket = (await store.create(with_call, request_id="link", by="agent101")).ticket
    assert await store.ticket_for_channel("Local/caller@callers-00000001;1") == ticket.id
    assert await store.ticket_for_call("1764400000.12") == ticket.id
    await store.link_call("1764400000.40", ticket.id)
    assert await store.ticket_for_call("1764400000.40") == ticket.id
    keys = TicketKeys()
    for key in (keys.call_link("1764400000.12"), keys.call_link("1764400000.40")):
        assert 0 < await redis_client.ttl(key) <= 60
    with pytest.raises(TicketNotFound):
        await store.link_channel("SIP/x-1", "LK-20260101-000404")
    assert await store.ticket_for_channel("SIP/nothing") is None


async def test_export_is_json_lines(store: TicketStore) -> None:
    for n in range(3):
        await store.create(draft(summary=f"第{n}件"), request_id=f"e{n}", by="agent101")
    lines = [line async for line in store.export_jsonl(TicketQuery(limit=1))]
    assert len(lines) == 3 and all(line.endswith("\n") for line in lines)
    assert [json.loads(line)["summary"] for line in lines] == ["第0件", "第1件", "第2件"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"request_id": ""}, "request_id must be"),
        ({"request_id": "two words"}, "request_id must be"),
        ({"by": ""}, "by must be"),
    ],
)
async def test_bad_create_arguments_are_named(
    store: TicketStore, call: dict[str, str], message: str
) -> None:
    arguments = {"request_id": "ok", "by": "agent101", **call}
    with pytest.raises(ValueError, match=message):
        await store.create(draft(), **arguments)


def test_bad_queries_are_named() -> None:
    with pytest.raises(ValueError, match="limit"):
        TicketQuery(limit=0)
    with pytest.raises(ValueError, match="district must be a 6-digit code"):
        TicketQuery(district="任城区")
    with pytest.raises(ValueError, match="since must carry a timezone"):
        TicketQuery(since=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="since is after until"):
        TicketQuery(since=START, until=START - timedelta(seconds=1))


async def test_missing_deadline_rule_is_named(redis_client: aioredis.Redis) -> None:
    store = TicketStore(redis_client, {})
    with pytest.raises(KeyError, match="报警"):
        await store.create(draft(), request_id="x", by="agent101")
    assert await redis_client.dbsize() == 0


async def test_acknowledged_tickets_survive_a_redis_crash(tmp_path: Path) -> None:
    # appendfsync always: an acknowledged write is on disk, so even SIGKILL loses nothing.
    server = start_redis(tmp_path / "redis", appendfsync="always")
    try:
        client = aioredis.Redis.from_url(server.url)
        store = TicketStore(client, POLICY)
        made = [
            (await store.create(draft(), request_id=f"k{n}", by="agent101")).ticket
            for n in range(5)
        ]
        await store.transition(made[0].id, S.QUEUED, by="bridge")
        await client.aclose()
    finally:
        server.process.kill()
        server.process.wait()
    server = start_redis(tmp_path / "redis", appendfsync="always", port=server.port)
    try:
        client = aioredis.Redis.from_url(server.url)
        store = TicketStore(client, POLICY)
        assert (await store.get(made[0].id)).status is S.QUEUED
        assert [t.id for t in await store.search(TicketQuery())] == [t.id for t in made]
        # The script cache died with the process: EVALSHA falls back to loading it again.
        again = await store.create(draft(), request_id="k0", by="agent101")
        assert not again.created and again.ticket.id == made[0].id
        moved = await store.transition(made[1].id, S.QUEUED, by="bridge")
        assert moved.status is S.QUEUED
        await client.aclose()
    finally:
        server.stop()


async def test_unreachable_redis_fails_every_create_in_the_batch() -> None:
    # No retries: the point is what the store does with the client's error, not the wait.
    client = aioredis.Redis(host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0))
    store = TicketStore(client, POLICY)
    results = await asyncio.gather(
        *(store.create(draft(), request_id=f"u{n}", by="agent101") for n in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(r, redis_errors.ConnectionError) for r in results)
    await client.aclose()


async def test_random_walk_keeps_indexes_in_step_with_the_pure_rules(
    store: TicketStore, redis_client: aioredis.Redis, clock: Clock
) -> None:
    """Any sequence of moves, legal or not: every index agrees with routing.tickets."""
    rng = random.Random(20261129)
    keys = TicketKeys()
    tickets = [
        (await store.create(draft(), request_id=f"walk{n}", by="agent101")).ticket for n in range(4)
    ]
    moves = {t.id: 0 for t in tickets}
    seen: set[TicketStatus] = set()
    for _ in range(80):
        ticket = rng.choice(tickets)
        # Mostly legal moves (to get somewhere), and any state a third of the time.
        legal_targets = sorted(TRANSITIONS[ticket.status])
        pool = legal_targets if legal_targets and rng.random() < 2 / 3 else list(S)
        target = rng.choice(pool)
        clock.advance(minutes=rng.choice([0, 1, 20, 45, 600]))
        legal = target in TRANSITIONS[ticket.status]
        try:
            moved = await store.transition(ticket.id, target, by="walker", note="因为")
        except IllegalTransition:
            assert not legal
            moved = await store.get(ticket.id)
        else:
            assert legal
            moves[ticket.id] += 1
            seen.add(target)
        tickets = [moved if t.id == moved.id else t for t in tickets]
        overdue, idle = set(), set()
        for t in tickets:
            for status in S:
                in_index = await redis_client.zscore(keys.by_status(status), t.id) is not None
                assert in_index == (status is t.status), (t.id, status)
            assert (await redis_client.zscore(keys.due, t.id) is not None) == (
                t.status not in HANDLED
            )
            assert (await redis_client.zscore(keys.act_due, t.id) is not None) == (
                t.status is S.ACCEPTED
            )
            assert len(await store.history(t.id)) == 1 + moves[t.id]
            if is_overdue(t.status, t.created_at, RULE, clock.now):
                overdue.add(t.id)
            if is_linked_not_acted(t.status, t.accepted_at, RULE, clock.now):
                idle.add(t.id)
        assert {t.id for t in await store.search(TicketQuery(overdue=True))} == overdue
        assert {t.id for t in await store.search(TicketQuery(not_acted=True))} == idle
    # The walk really moved tickets through the machine, not only refused moves.
    assert sum(moves.values()) >= 15
    assert len(seen) >= 7


ROUND_TRIPS = itertools.count()
free_text = st.text(max_size=300)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    summary=free_text,
    caller_name=st.one_of(st.none(), st.text(max_size=64)),
    location=st.one_of(st.none(), free_text),
    kind=st.sampled_from(list(Kind)),
    urgency=st.sampled_from(list(Urgency)),
)
async def test_any_text_survives_the_trip_through_lua_and_redis(
    store: TicketStore,
    summary: str,
    caller_name: str | None,
    location: str | None,
    kind: Kind,
    urgency: Urgency,
) -> None:
    # Quotes, backslashes, NULs, emoji and Chinese pass through JSON, cjson and the hash.
    sent = draft(
        summary=summary, caller_name=caller_name, location=location, kind=kind, urgency=urgency
    )
    made = await store.create(sent, request_id=f"rt{next(ROUND_TRIPS)}", by="agent101")
    stored = await store.get(made.ticket.id)
    assert stored == made.ticket
    assert (stored.summary, stored.caller_name, stored.location) == (
        sent.summary,
        sent.caller_name,
        sent.location,
    )
