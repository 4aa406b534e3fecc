"""Pieces of the overflow controller without a PBX: reading QueueStatus into the policy's view,
loans by their shape, arrival rates, the state adopted after a restart, the running loop."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bridge.overflow.arrivals import ArrivalCounter
from bridge.overflow.audit import AuditEntry, AuditLog
from bridge.overflow.controller import ControllerSettings, OverflowController, seeded_state
from bridge.overflow.snapshot import QueueView, centre_states, loans_on_pbx
from routing.overflow import CentrePolicy, Loan, OverflowConfig
from telephony.ami.events import QueueEntry, QueueMember

CONFIG = OverflowConfig(
    centres=(
        CentrePolicy("370800", "city", queue="q110-city"),
        CentrePolicy("370811", "county", neighbours=("370883",)),
        CentrePolicy("370883", "county", neighbours=("370811",)),
    )
)


def member(
    queue: str, seat: str, penalty: int = 0, dynamic: bool = False, in_call: bool = False
) -> QueueMember:
    return QueueMember.model_validate(
        {
            "Event": "QueueMember",
            "Queue": queue,
            "Name": seat,
            "Location": f"PJSIP/{seat}",
            "StateInterface": f"PJSIP/{seat}",
            "Membership": "dynamic" if dynamic else "static",
            "Penalty": str(penalty),
            "InCall": "1" if in_call else "0",
            "Status": "2" if in_call else "1",
            "Paused": "0",
        }
    )


def entry(queue: str, channel: str, wait: int) -> QueueEntry:
    return QueueEntry.model_validate(
        {
            "Event": "QueueEntry",
            "Queue": queue,
            "Position": "1",
            "Channel": channel,
            "Wait": str(wait),
        }
    )


def surged_view() -> QueueView:
    return QueueView.from_events(
        [
            member("q110-city", "city-01"),
            member("q110-370811", "a-01"),
            member("q110-370811", "a-02", in_call=True),
            member("q110-370883", "z-01", in_call=True),
            member("q110-370883", "z-02", in_call=True),
            member("q110-aid-370883", "z-01", in_call=True),
            member("q110-aid-370883", "a-02", penalty=1, dynamic=True, in_call=True),
            member("q110-aid-370883", "city-01", penalty=2, dynamic=True),
            # Penalty 0 or static: an own seat, never a loan.
            member("q110-aid-370883", "x-09", penalty=0, dynamic=True),
            entry("q110-370883", "Local/a;2", 12),
            entry("q110-aid-370883", "Local/b;2", 30),
        ]
    )


def test_loans_are_found_by_their_shape() -> None:
    loans = loans_on_pbx(CONFIG, surged_view())
    assert loans == {
        Loan("PJSIP/a-02", "370811", "370883", "q110-aid-370883", 1),
        Loan("PJSIP/city-01", "370800", "370883", "q110-aid-370883", 2),
    }
    # A member no longer in its own queue is named by the audit ledger.
    view = QueueView.from_events([member("q110-aid-370883", "gone-01", penalty=3, dynamic=True)])
    assert loans_on_pbx(CONFIG, view) == frozenset()
    assert loans_on_pbx(CONFIG, view, {"PJSIP/gone-01": "370811"}) == {
        Loan("PJSIP/gone-01", "370811", "370883", "q110-aid-370883", 3)
    }


def test_centre_states_count_own_seats_and_both_queues_callers() -> None:
    states = {s.code: s for s in centre_states(CONFIG, surged_view(), {"370883": (0.1, 0.05)})}
    surged = states["370883"]
    assert surged.members == ("PJSIP/z-01", "PJSIP/z-02")
    assert (surged.busy, surged.waiting, surged.longest_wait_s) == (2, 2, 30.0)
    assert (surged.arrival_rate, surged.sustained_arrival_rate) == (0.1, 0.05)
    # a-02 is on a call for 370883 as a lent member: busy for its own centre too.
    assert (states["370811"].busy, states["370811"].waiting) == (1, 0)
    assert states["370800"].arrival_rate == 0.0


def test_arrivals_count_a_withdrawn_caller_once() -> None:
    counter = ArrivalCounter({"q110-370883": "370883", "q110-aid-370883": "370883"}, 60, 300)
    counter.join("q110-370883", "u1", now=0)
    counter.join("q110-aid-370883", "u1", now=5)  # the same call after a withdrawal
    counter.join("q110-370883", "u2", now=10)
    counter.join("q999", "u3", now=10)  # not a centre's queue
    assert counter.rates(now=30)["370883"] == (2 / 60, 2 / 300)
    assert counter.rates(now=100)["370883"] == (0.0, 2 / 300)
    assert counter.rates(now=400)["370883"] == (0.0, 0.0)
    with pytest.raises(ValueError, match="recent"):
        ArrivalCounter({}, 300, 60)


def test_seeded_state_adopts_the_loans_of_a_supported_centre() -> None:
    view = surged_view()
    state = seeded_state(CONFIG, view, loans_on_pbx(CONFIG, view), frozenset({"370883"}), 50.0)
    assert set(state.supported) == {"370883"} and state.supported["370883"].since == 50.0
    assert state.routed == {"370883"} and state.donors == {"370811", "370800"}
    assert state.lent == {"370800": ("PJSIP/city-01",), "370811": ("PJSIP/a-02",)}
    assert len(state.loans) == 2 and state.paused == frozenset()


async def test_audit_round_trip_and_ledger(redis_client: aioredis.Redis) -> None:
    audit = AuditLog(redis_client)
    detail = {"member": "PJSIP/a-02", "donor": "370811", "queue": "q110-aid-370883"}
    await audit.record(AuditEntry("lend", "done", detail, "because 邹城市 surged", t=12.5))
    await audit.record(AuditEntry("return", "failed", detail, "", "AMI timeout", t=13.0))
    newest = await audit.recent(10)
    assert [e["kind"] for e in newest] == ["return", "lend"]
    assert newest[1]["explain"] == "because 邹城市 surged" and newest[1]["t"] == 12.5
    assert newest[0]["error"] == "AMI timeout"
    assert await audit.ledger() == {"PJSIP/a-02": "370811"}


async def test_the_loop_survives_a_missing_session_and_stops(redis_client: aioredis.Redis) -> None:
    controller = OverflowController(
        CONFIG, lambda: None, lambda: redis_client, ControllerSettings(tick_s=0.01)
    )
    await controller.start()
    await asyncio.sleep(0.05)
    health = await controller.health()
    assert health["status"] == "degraded" and "no AMI session" in health["error"]
    await controller.stop()
    assert controller._task is None


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="tick_s"):
        ControllerSettings(tick_s=0)
    with pytest.raises(ValueError, match="release_hold_s"):
        ControllerSettings(release_hold_s=-1)
