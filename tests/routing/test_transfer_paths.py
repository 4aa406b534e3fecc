"""Transfer paths: every legal path, its hops and entry; every illegal request named."""

from __future__ import annotations

import pytest

from routing.tickets import Direction
from routing.transfer_paths import (
    NoTransferPath,
    PlatformEntry,
    QueueEntry,
    TrunkEntry,
    plan_transfer,
)

HOTLINE = PlatformEntry(
    "12345-370800",
    "12345",
    "city",
    "370800",
    "pbx-a",
    (QueueEntry("q12345", "hb-queue", "12345", (TrunkEntry("pbx-b", "hb-trunk", "12345"),)),),
)
CITY_110 = PlatformEntry(
    "110-370800",
    "110",
    "city",
    "370800",
    "pbx-b",
    (QueueEntry("q110-city", "hb-queue", "110370800", (TrunkEntry("pbx-a", "hb-trunk", "110"),)),),
)
RENCHENG = PlatformEntry(
    "110-370811",
    "110",
    "county",
    "370811",
    "pbx-b",
    (QueueEntry("q110-370811", "hb-queue", "110370811"),),
)
ZOUCHENG = PlatformEntry(
    "110-370883",
    "110",
    "county",
    "370883",
    "pbx-b",
    (QueueEntry("q110-370883", "hb-queue", "110370883"),),
)
TABLE = [HOTLINE, CITY_110, RENCHENG, ZOUCHENG]


def test_city_12345_to_city_110_crosses_the_trunk() -> None:
    plan = plan_transfer(TABLE, "12345-370800", "110")
    assert plan.direction is Direction.CITY_12345_TO_CITY_110
    assert plan.target is CITY_110 and plan.target_queue == "q110-city"
    assert (plan.entry.pbx, plan.entry.context, plan.entry.extension) == (
        "pbx-a",
        "hb-trunk",
        "110",
    )
    assert plan.entry.via_trunk
    assert [(h.from_platform, h.to_platform) for h in plan.hops] == [("12345-370800", "110-370800")]


def test_12345_goes_to_city_110_even_with_a_county_district() -> None:
    # Transfers happen at city level; city 110 pushes on to the county (属地).
    assert plan_transfer(TABLE, "12345-370800", "110", "370883").target is CITY_110


def test_city_110_to_city_12345() -> None:
    plan = plan_transfer(TABLE, "110-370800", "12345")
    assert plan.direction is Direction.CITY_110_TO_CITY_12345
    assert (plan.entry.context, plan.entry.extension, plan.target_queue) == (
        "hb-trunk",
        "12345",
        "q12345",
    )


def test_city_110_to_the_county_of_the_incident_stays_on_its_pbx() -> None:
    plan = plan_transfer(TABLE, "110-370800", "110", "370883")
    assert plan.direction is Direction.CITY_110_TO_COUNTY_110
    assert plan.target is ZOUCHENG
    assert not plan.entry.via_trunk
    assert (plan.entry.pbx, plan.entry.context, plan.entry.extension) == (
        "pbx-b",
        "hb-queue",
        "110370883",
    )


def test_a_functional_zone_goes_to_the_centre_it_is_attached_to() -> None:
    plan = plan_transfer(TABLE, "110-370800", "110", "济宁高新区", {"济宁高新区": "110-370811"})
    assert plan.target is RENCHENG


def test_county_110_to_12345_passes_city_110_in_two_hops_one_queue() -> None:
    plan = plan_transfer(TABLE, "110-370883", "12345")
    assert plan.direction is Direction.COUNTY_110_TO_CITY_12345
    assert [(h.from_platform, h.to_platform) for h in plan.hops] == [
        ("110-370883", "110-370800"),
        ("110-370800", "12345-370800"),
    ]
    # One queue wait only: straight onto city 110's trunk to 12345, not into q110-city.
    assert plan.target_queue == "q12345"
    assert (plan.entry.pbx, plan.entry.context, plan.entry.extension) == (
        "pbx-b",
        "hb-trunk",
        "12345",
    )


@pytest.mark.parametrize(
    ("source", "target", "district", "message"),
    [
        ("nope", "110", None, "source platform 'nope' is not configured"),
        ("12345-370800", "119", None, "target must be '12345' or '110'"),
        ("12345-370800", "12345", None, "no transfer path from city 12345"),
        ("110-370883", "110", "370811", "no transfer path from county 110"),
        ("110-370800", "110", None, "district is required"),
        ("110-370800", "110", "370899", "district '370899' has no county 110 centre"),
        ("110-370800", "110", "370800", "district '370800' has no county 110 centre"),
    ],
)
def test_illegal_requests_say_what_is_wrong(
    source: str, target: str, district: str | None, message: str
) -> None:
    with pytest.raises(NoTransferPath, match=message):
        plan_transfer(TABLE, source, target, district)


def test_a_target_with_no_route_from_this_pbx_is_refused() -> None:
    lonely = PlatformEntry(
        "110-370800", "110", "city", "370800", "pbx-b", (QueueEntry("q", "c", "1"),)
    )
    with pytest.raises(NoTransferPath, match="no queue reachable from PBX 'pbx-a'"):
        plan_transfer([HOTLINE, lonely], "12345-370800", "110")


def test_a_county_centre_on_another_pbx_cannot_pass_city_110() -> None:
    remote = PlatformEntry(
        "110-370826", "110", "county", "370826", "pbx-c", (QueueEntry("q", "c", "1"),)
    )
    with pytest.raises(NoTransferPath, match="cannot pass the city 110 platform"):
        plan_transfer([*TABLE, remote], "110-370826", "12345")
