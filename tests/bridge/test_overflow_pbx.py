"""The overflow controller against the emulated 110 PBX (shipped config, real AMI socket, real
Redis): a scripted surge at 370883 borrows members that answer its callers and go back after
the surge; idempotency; AMI errors retried; a restart mid-surge; operator release/override."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from benchmarks.surge_e2e import MANAGER_USER, SCENARIO, manager_secret, prepare_110
from bridge.overflow.actuation import Actuator
from bridge.overflow.audit import AuditLog
from bridge.overflow.config import load_scenario, pbx_overflow_config
from bridge.overflow.controller import ControllerSettings, OverflowController
from bridge.overflow.snapshot import QueueView
from ivr.route_110 import choose_queue
from routing.overflow import LendMember, OverflowConfig, ReturnMember, StartSupport
from telephony.ami.client import ActionResult, AMIClient
from telephony.ami.errors import AMITimeout
from telephony.ami.events import AgentConnect, Event
from telephony.pbxsim import EmulatedPBX

SURGED = "370883"
OWN, AID = "q110-370883", "q110-aid-370883"
# A short recent window and hold so a test surge starts and ends in a few emulated seconds; the
# five-minute sustained window keeps a burst of six calls from looking like a lasting surge.
SETTINGS = ControllerSettings(tick_s=0.05, rate_window_s=5.0, sustained_window_s=300.0)


def config() -> OverflowConfig:
    # With a 5 s recent window a six-call burst reads as 2.5x every seat of the city: the group
    # would stand down (routing.overflow); these tests are about lending, so it never does here.
    return dataclasses.replace(
        pbx_overflow_config(load_scenario(SCENARIO)), hold_s=2.0, stand_down_load=1000.0
    )


@pytest.fixture
async def pbx(tmp_path: Path) -> AsyncIterator[EmulatedPBX]:
    prepare_110(tmp_path / "pbx-110")
    with (tmp_path / "pbx-110" / "manager.conf").open("a", encoding="utf-8") as manager:
        # A user that may read queues but not change them: QueueAdd gets "Permission denied".
        manager.write("\n[readonly]\nsecret = readonly\nread = agent\nwrite = reporting\n")
    emulated = EmulatedPBX.from_config_dir(tmp_path / "pbx-110", name="pbx-110", time_scale=10.0)
    await emulated.start()
    yield emulated
    await emulated.stop()


@pytest.fixture
async def ami(pbx: EmulatedPBX) -> AsyncIterator[AMIClient]:
    client = AMIClient("127.0.0.1", pbx.ami_port, MANAGER_USER, manager_secret(pbx))
    await client.connect()
    yield client
    await client.close()


def controller_for(
    pbx: EmulatedPBX, client: AMIClient, redis: aioredis.Redis
) -> OverflowController:
    return OverflowController(config(), lambda: client, lambda: redis, SETTINGS, pbx.clock.elapsed)


async def until(condition: Callable[[], Any], what: str, step: float = 0.02) -> None:
    """Bounded polling for the emulated PBX to get somewhere (not a timing assertion)."""
    for _ in range(1000):
        if await condition():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"never: {what}")


async def view(client: AMIClient) -> QueueView:
    return QueueView.from_events((await client.list_action("QueueStatus")).events)


def memberships(found: QueueView) -> list[tuple[str, str, int, bool, bool]]:
    """Who sits in which queue how (call states change as callers are answered)."""
    return sorted((m.queue, m.interface, m.penalty, m.dynamic, m.paused) for m in found.members)


async def call(client: AMIClient, code: str, number: int) -> None:
    await client.action(
        "Originate",
        Channel=f"Local/110{code}@hb-queue",
        Application="Wait",
        Data="86400",
        CallerID=f'"citizen" <1380000{number:04d}>',
        Async="true",
    )


async def surge(client: AMIClient, callers: int = 6) -> None:
    """370883's three seats busy and the rest of its callers waiting."""
    for number in range(callers):
        await call(client, SURGED, number)

    async def swamped() -> bool:
        now = await view(client)
        busy = [m for m in now.in_queue(OWN) if m.in_call]
        return len(busy) == 3 and len(now.callers_in(OWN)) == callers - 3

    await until(swamped, "370883 swamped")


async def hang_up_all(client: AMIClient, pbx: EmulatedPBX) -> None:
    for name in list(pbx.channels):
        if name.startswith(f"Local/110{SURGED}@") or name.startswith(f"Local/aid110{SURGED}@"):
            try:
                await client.action("Hangup", Channel=name)
            except Exception:
                pass  # gone with its other half a moment before


async def tick_until_returned(controller: OverflowController, client: AMIClient) -> None:
    async def returned() -> bool:
        await controller.tick()
        return not controller.state.loans and not controller.state.supported

    await until(returned, "loans returned after the surge", step=0.05)
    assert not [m for m in (await view(client)).members if m.dynamic]


async def test_surge_borrows_answers_and_returns(
    pbx: EmulatedPBX, ami: AMIClient, redis_client: aioredis.Redis
) -> None:
    connects: list[AgentConnect] = []

    def keep(event: Event) -> None:
        if isinstance(event, AgentConnect):
            connects.append(event)

    ami.add_inline_handler(keep, ["AgentConnect"])
    controller = controller_for(pbx, ami, redis_client)
    assert (await controller.tick()) is not None  # calm: nothing planned
    assert controller.state.loans == frozenset()
    await surge(ami)
    plan = await controller.tick()
    assert plan is not None
    starts = [a for a in plan.actions if isinstance(a, StartSupport)]
    assert [a.centre for a in starts] == [SURGED]
    lends = [a for a in plan.actions if isinstance(a, LendMember) and a.loan.queue == AID]
    assert lends and {a.loan.donor for a in lends} >= {"370811", "370800"}
    assert controller.aid_target(SURGED) == "aid110370883"
    # What the route-110 AGI step sets as HB_QUEUE for new calls, with the district kept.
    assert choose_queue(SURGED, controller.aid_target) == "aid110370883"
    assert choose_queue("370811", controller.aid_target) is None
    assert await redis_client.hget("hb:overflow:routing", SURGED) == b"aid110370883"

    # The borrowed members are in the aid queue with the planned penalties...
    on_pbx = await view(ami)
    for action in lends:
        member = on_pbx.member(AID, action.loan.member)
        assert member is not None and member.dynamic
        assert member.penalty == action.loan.penalty
    penalties = {a.loan.donor: a.loan.penalty for a in lends}
    assert penalties["370811"] == 1 and penalties["370800"] == 2  # neighbour, then the city

    # ...and answer the surged callers, who were withdrawn there.
    lent = {a.loan.member for a in lends}

    async def answered_by_lent() -> bool:
        return sum(1 for c in connects if c.queue == AID and c.interface in lent) >= 3

    await until(answered_by_lent, "lent members answer 370883's waiting callers")
    assert not (await view(ami)).callers_in(OWN)

    await hang_up_all(ami, pbx)
    await tick_until_returned(controller, ami)
    assert await redis_client.hget("hb:overflow:routing", SURGED) is None
    kinds = {e["kind"] for e in await controller.audit.recent(10_000)}
    assert {"route_on", "lend", "withdraw", "return", "route_off"} <= kinds


async def test_same_plan_twice_changes_nothing(
    pbx: EmulatedPBX, ami: AMIClient, redis_client: aioredis.Redis
) -> None:
    controller = controller_for(pbx, ami, redis_client)
    await controller.tick()  # running before the surge, so it sees the callers arrive
    await surge(ami)
    plan = await controller.tick()
    assert plan is not None
    before = await view(ami)
    lend = next(a for a in plan.actions if isinstance(a, LendMember))
    # Sending the same QueueAdd again: "Already there" is success, and the PBX is unchanged.
    actuator = Actuator(ami.action, AuditLog(redis_client))
    assert await actuator.lend(lend.loan, lend.paused, "again", lend.loan.member, "again", 0.0)
    assert actuator.failures == 0
    after = await view(ami)
    assert memberships(before) == memberships(after)
    # A tick with the surge unchanged sends nothing more.
    entries = len(await controller.audit.recent(10_000))
    again = await controller.tick()
    assert again is not None
    assert not [a for a in again.actions if isinstance(a, LendMember | ReturnMember)]
    added = len(await controller.audit.recent(10_000)) - entries
    new = await controller.audit.recent(added) if added else []
    assert not [e for e in new if e["kind"] in ("lend", "return")]
    await hang_up_all(ami, pbx)
    await tick_until_returned(controller, ami)


class FlakyClient(AMIClient):
    """A real AMI session whose first queue changes time out, as on an overloaded PBX."""

    def __init__(self, *args: Any, failures: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures_left = failures

    async def action(
        self, name: str, *, time_limit: float | None = None, **headers: Any
    ) -> ActionResult:
        if name == "QueueAdd" and self.failures_left > 0:
            self.failures_left -= 1
            raise AMITimeout(name, "no complete reply within 3.0 s")
        return await super().action(name, time_limit=time_limit, **headers)


async def test_ami_errors_are_logged_and_retried(
    pbx: EmulatedPBX, ami: AMIClient, redis_client: aioredis.Redis
) -> None:
    readonly = AMIClient("127.0.0.1", pbx.ami_port, "readonly", "readonly")
    flaky = FlakyClient("127.0.0.1", pbx.ami_port, MANAGER_USER, manager_secret(pbx), failures=4)
    await readonly.connect()
    await flaky.connect()
    current: list[AMIClient] = [readonly]
    controller = OverflowController(
        config(), lambda: current[0], lambda: redis_client, SETTINGS, pbx.clock.elapsed
    )
    try:
        await controller.tick()
        await surge(ami)
        plan = await controller.tick()  # every QueueAdd refused: Permission denied
        assert plan is not None and controller.state.loans
        assert not [m for m in (await view(ami)).in_queue(AID) if m.dynamic]
        failed = [e for e in await controller.audit.recent(1000) if e["outcome"] == "failed"]
        assert failed and all("Permission denied" in e["error"] for e in failed)

        current[0] = flaky  # the next ticks retry; the first four time out, then all land
        await controller.tick()
        await controller.tick()
        present = {m.interface for m in (await view(ami)).in_queue(AID) if m.dynamic}
        wanted = {loan.member for loan in controller.state.loans if loan.queue == AID}
        assert present == wanted
        errors = [e["error"] for e in await controller.audit.recent(1000)]
        assert any("no complete reply" in error for error in errors)
        current[0] = ami
        await hang_up_all(ami, pbx)
        await tick_until_returned(controller, ami)
    finally:
        await readonly.close()
        await flaky.close()


async def test_restart_mid_surge_keeps_managing_then_returns(
    pbx: EmulatedPBX, ami: AMIClient, redis_client: aioredis.Redis
) -> None:
    first = controller_for(pbx, ami, redis_client)
    await first.tick()
    await surge(ami)
    await first.tick()
    loans = first.state.loans
    assert loans
    await first.stop()  # the bridge dies: its loans stay on the PBX

    second = controller_for(pbx, ami, redis_client)
    await second.tick()
    assert second.state.loans == loans
    assert SURGED in second.state.supported and SURGED in second.state.routed
    recent = await second.audit.recent(20)
    assert recent[-1]["kind"] != "return"
    assert any(e["kind"] == "recover" for e in recent)
    assert not [e for e in recent if e["kind"] == "return"]

    await hang_up_all(ami, pbx)
    await tick_until_returned(second, ami)


async def test_restart_after_the_surge_returns_leftovers(
    pbx: EmulatedPBX, ami: AMIClient, redis_client: aioredis.Redis
) -> None:
    # Members lent by hand (or by a bridge whose audit was lost) with nobody waiting any more.
    await ami.action(
        "QueueAdd", Queue=AID, Interface="Local/110-370881-03@hb-e2e-phones/n", Penalty="3"
    )
    controller = controller_for(pbx, ami, redis_client)

    async def returned() -> bool:
        await controller.tick()
        return not [m for m in (await view(ami)).in_queue(AID) if m.dynamic]

    await until(returned, "a leftover loan returned", step=0.05)
    kinds = [e["kind"] for e in await controller.audit.recent(50)]
    assert "recover" in kinds and "return" in kinds
