"""Where a one-key transfer goes: source platform + target + district -> hops and the entry.

Pure: the platform table comes in as plain data (`PlatformEntry`, built by the bridge from its
settings), so the rules of MISSION.md "Routing between them" are tested without any I/O:

- city 12345 -> city 110;
- city 110 -> city 12345;
- city 110 -> the county 110 centre of the incident's district (属地);
- county 110 -> city 12345 THROUGH city 110: two hops recorded, one queue wait (the call passes
  city 110's transfer point on the shared PBX/trunk; no city 110 agent answers it).

Transfers happen at city level, so 12345 never sends straight to a county centre: city 110
pushes on if it must. The entry is where the caller is sent on the PBX it is on now: the
target queue's own context/extension when it lives on the same PBX, else the trunk route from
this PBX.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from routing.tickets import Direction

HOTLINE = "12345"
POLICE = "110"
CITY = "city"
COUNTY = "county"


class NoTransferPath(ValueError):
    """The request names no legal or configured path; the message says what was wrong."""


@dataclass(frozen=True)
class TrunkEntry:
    from_pbx: str
    context: str
    extension: str


@dataclass(frozen=True)
class QueueEntry:
    name: str
    context: str
    extension: str
    trunks: tuple[TrunkEntry, ...] = ()


@dataclass(frozen=True)
class PlatformEntry:
    id: str
    kind: str  # "12345" or "110"
    level: str  # "city" or "county"
    district_code: str
    pbx: str
    queues: tuple[QueueEntry, ...]


@dataclass(frozen=True)
class HopPlan:
    from_platform: str  # platform id
    to_platform: str


@dataclass(frozen=True)
class Entry:
    """Where to Redirect the caller: `context,extension,1` on `pbx`."""

    pbx: str
    context: str
    extension: str
    via_trunk: bool


@dataclass(frozen=True)
class TransferPlan:
    direction: Direction
    origin: PlatformEntry
    target: PlatformEntry
    target_queue: str  # the queue the caller waits in, on target.pbx
    entry: Entry
    hops: tuple[HopPlan, ...] = field(default_factory=tuple)


def plan_transfer(
    platforms: Sequence[PlatformEntry],
    source_id: str,
    target_kind: str,
    district: str | None = None,
    zones: Mapping[str, str] | None = None,
) -> TransferPlan:
    """The path from platform `source_id` to the `target_kind` ("12345"/"110") platform.

    `district` is the incident's GB/T 2260 code, or a functional-zone name found in `zones`
    (zone name -> platform id); it matters only for city 110 -> county 110.
    """
    by_id = {platform.id: platform for platform in platforms}
    source = by_id.get(source_id)
    if source is None:
        raise NoTransferPath(f"source platform {source_id!r} is not configured")
    if target_kind not in (HOTLINE, POLICE):
        raise NoTransferPath(f"target must be '12345' or '110', got {target_kind!r}")
    if source.kind == HOTLINE and source.level == CITY and target_kind == POLICE:
        return _direct(source, _city(platforms, POLICE), Direction.CITY_12345_TO_CITY_110)
    if source.kind == POLICE and source.level == CITY and target_kind == HOTLINE:
        return _direct(source, _city(platforms, HOTLINE), Direction.CITY_110_TO_CITY_12345)
    if source.kind == POLICE and source.level == CITY and target_kind == POLICE:
        county = _county_for(platforms, by_id, district, zones or {})
        return _direct(source, county, Direction.CITY_110_TO_COUNTY_110)
    if source.kind == POLICE and source.level == COUNTY and target_kind == HOTLINE:
        return _through_city_110(platforms, source)
    raise NoTransferPath(
        f"no transfer path from {source.level} {source.kind} ({source.id}) to {target_kind}: "
        "the paths are 12345->110, 110->12345, city 110->county 110, county 110->12345"
    )


def _city(platforms: Sequence[PlatformEntry], kind: str) -> PlatformEntry:
    for platform in platforms:
        if platform.kind == kind and platform.level == CITY:
            return platform
    raise NoTransferPath(f"no city-level {kind} platform is configured")


def _county_for(
    platforms: Sequence[PlatformEntry],
    by_id: Mapping[str, PlatformEntry],
    district: str | None,
    zones: Mapping[str, str],
) -> PlatformEntry:
    if not district:
        raise NoTransferPath("district is required for a city 110 -> county 110 transfer (属地)")
    if district in zones:
        attached = by_id.get(zones[district])
        if attached is None:
            raise NoTransferPath(f"zone {district!r} is attached to unknown {zones[district]!r}")
        return attached
    for platform in platforms:
        if platform.kind == POLICE and platform.level == COUNTY:
            if platform.district_code == district:
                return platform
    raise NoTransferPath(f"district {district!r} has no county 110 centre")


def _direct(source: PlatformEntry, target: PlatformEntry, direction: Direction) -> TransferPlan:
    queue, entry = _entry(target, source.pbx)
    return TransferPlan(
        direction=direction,
        origin=source,
        target=target,
        target_queue=queue.name,
        entry=entry,
        hops=(HopPlan(source.id, target.id),),
    )


def _through_city_110(platforms: Sequence[PlatformEntry], county: PlatformEntry) -> TransferPlan:
    city_110 = _city(platforms, POLICE)
    hotline = _city(platforms, HOTLINE)
    # The transfer point is city 110's: its PBX carries the trunk to 12345. A county centre
    # on that PBX uses it directly; any other PBX would need city 110's own route first.
    if county.pbx != city_110.pbx:
        raise NoTransferPath(
            f"county centre {county.id} is on PBX {county.pbx!r}, not on city 110's "
            f"{city_110.pbx!r}: its transfer to 12345 cannot pass the city 110 platform"
        )
    queue, entry = _entry(hotline, city_110.pbx)
    return TransferPlan(
        direction=Direction.COUNTY_110_TO_CITY_12345,
        origin=county,
        target=hotline,
        target_queue=queue.name,
        entry=entry,
        hops=(HopPlan(county.id, city_110.id), HopPlan(city_110.id, hotline.id)),
    )


def _entry(target: PlatformEntry, from_pbx: str) -> tuple[QueueEntry, Entry]:
    """The first queue of `target` reachable from `from_pbx`, and how."""
    for queue in target.queues:
        if target.pbx == from_pbx:
            return queue, Entry(from_pbx, queue.context, queue.extension, via_trunk=False)
        for trunk in queue.trunks:
            if trunk.from_pbx == from_pbx:
                return queue, Entry(from_pbx, trunk.context, trunk.extension, via_trunk=True)
    raise NoTransferPath(
        f"platform {target.id} has no queue reachable from PBX {from_pbx!r} "
        "(add a [[platforms.queues.trunks]] route)"
    )
