"""The demo's traffic: every queue of both PBXs loaded to a share of its seats, a surge at
邹城 370883, and call-takers pressing the one-key transfer code on a few calls.

Rates follow from the seats each queue has (queues.conf) so the demo stays busy but
answerable everywhere except where the surge hits: offered load = occupancy × seats, and
calls per hour = load × 3600 / mean handle time.
"""

from __future__ import annotations

from dataclasses import dataclass

from telephony.pbxsim.traffic import (
    Distribution,
    Entry,
    PressScript,
    Surge,
    TrafficError,
    TrafficProfile,
)

SURGED_QUEUE = "q110-370883"
HANDLE_MEAN_S = 120.0
PATIENCE_MEAN_S = 75.0
OCCUPANCY = 0.55
# A few calls turn out to belong to the other hotline: the call-taker presses *8 this many
# seconds after answering, on this share of calls.
TRANSFER_SHARE = {"q12345": 0.15, "q110-city": 0.15}
TRANSFER_AFTER_S = 20.0
# Where responsibility is unclear the call-taker presses *9 instead: a three-party call with
# the other hotline (issue 5). A call presses at most one code (the driver keeps the first).
THREEPARTY_SHARE = {"q12345": 0.08, "q110-city": 0.08}
THREEPARTY_AFTER_S = 10.0


@dataclass(frozen=True)
class DemoQueue:
    """One queue the traffic feeds: where citizens dial it on which PBX."""

    name: str
    pbx: str
    exten: str  # dialled in the PBX's [from-pstn]
    seats: int


def entry_for(queue: DemoQueue, feature_code: str, threeparty_code: str = "*9") -> Entry:
    if queue.seats <= 0:
        raise TrafficError(f"queue {queue.name}: has no seats to answer the demo's calls")
    presses = []
    if share := THREEPARTY_SHARE.get(queue.name, 0.0):
        presses.append(PressScript(threeparty_code, "agent", THREEPARTY_AFTER_S, share))
    if share := TRANSFER_SHARE.get(queue.name, 0.0):
        presses.append(PressScript(feature_code, "agent", TRANSFER_AFTER_S, share))
    return Entry(
        name=queue.name,
        context="from-pstn",
        exten=queue.exten,
        calls_per_hour=OCCUPANCY * queue.seats * 3600.0 / HANDLE_MEAN_S,
        patience=Distribution("exponential", PATIENCE_MEAN_S),
        handle_time=Distribution("exponential", HANDLE_MEAN_S),
        presses=tuple(presses),
    )


def demo_profile(
    queues: list[DemoQueue],
    traffic_seconds: float,
    feature_code: str = "*8",
    surges: tuple[Surge, ...] | None = None,
    threeparty_code: str = "*9",
) -> TrafficProfile:
    """`traffic_seconds` of emulated traffic. Surges: as given, else 370883 at 5× through
    the middle half of the run."""
    entries = tuple(entry_for(queue, feature_code, threeparty_code) for queue in queues)
    if surges is None:
        surges = default_surges(queues, traffic_seconds)
    return TrafficProfile(entries, traffic_seconds, surges)


def default_surges(queues: list[DemoQueue], traffic_seconds: float) -> tuple[Surge, ...]:
    if not any(queue.name == SURGED_QUEUE for queue in queues):
        return ()
    return (
        Surge(
            5.0, start=traffic_seconds * 0.25, duration=traffic_seconds * 0.5, entry=SURGED_QUEUE
        ),
    )


def exten_for_queue(name: str) -> str:
    """The [from-pstn] extension citizens dial to reach a queue of the shipped dialplans."""
    if name == "q12345":
        return "12345"
    if name == "q110-city":
        return "110"
    district = name.removeprefix("q110-")
    if district.isdigit() and len(district) == 6:
        return "110" + district
    raise TrafficError(f"queue {name!r}: the demo does not know which number reaches it")
