"""The linkage-ticket model: validation names the field, hash round trip is exact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.tickets.model import (
    Hop,
    Ticket,
    TicketDraft,
    ticket_from_hash,
    to_hash_fields,
)
from routing.tickets import (
    Direction,
    Kind,
    Level,
    Platform,
    TicketStatus,
    Urgency,
)


def draft_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "direction": "12345->110",
        "origin_platform": "12345",
        "origin_level": "city",
        "origin_district": "370800",
        "origin_ref": "GD-2026-0001",
        "caller_number": "13800000000",
        "caller_name": "张三",
        "kind": "报警",
        "summary": "邻居家传出打斗声",
        "urgency": "urgent",
        "district_code": "370811",
        "location": "任城区某小区3号楼",
        "originating_agent": "agent101",
        "target_platform": "110",
        "target_level": "city",
        "target_district": "370800",
    }
    data.update(changes)
    return data


def county_to_12345_hops() -> list[Hop]:
    return [
        Hop(
            from_platform=Platform.POLICE_110,
            from_level=Level.COUNTY,
            from_district="370883",
            to_platform=Platform.POLICE_110,
            to_level=Level.CITY,
            to_district="370800",
        ),
        Hop(
            from_platform=Platform.POLICE_110,
            from_level=Level.CITY,
            from_district="370800",
            to_platform=Platform.HOTLINE_12345,
            to_level=Level.CITY,
            to_district="370800",
        ),
    ]


def test_a_valid_draft_parses_chinese_kinds() -> None:
    draft = TicketDraft.model_validate(draft_data())
    assert draft.kind is Kind.REPORT
    assert draft.urgency is Urgency.URGENT
    assert draft.direction is Direction.CITY_12345_TO_CITY_110


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"district_code": "37081"}, "district_code"),
        ({"kind": "闲聊"}, "kind"),
        ({"caller_number": "call me"}, "caller_number"),
        ({"urgency": "asap"}, "urgency"),
        ({"originating_agent": ""}, "originating_agent"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_validation_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TicketDraft.model_validate(draft_data(**changes))
    assert field in str(caught.value)


def test_direction_must_agree_with_platforms() -> None:
    with pytest.raises(ValidationError, match="target_platform is '12345'"):
        TicketDraft.model_validate(draft_data(target_platform="12345"))


def test_county_to_12345_carries_two_connected_hops() -> None:
    draft = TicketDraft.model_validate(
        draft_data(
            direction="county110->12345",
            origin_platform="110",
            origin_level="county",
            origin_district="370883",
            target_platform="12345",
            target_level="city",
            hops=[h.model_dump() for h in county_to_12345_hops()],
        )
    )
    assert len(draft.hops) == 2


def test_disconnected_hops_are_refused() -> None:
    first, second = county_to_12345_hops()
    broken = second.model_copy(update={"from_district": "370811"})
    with pytest.raises(ValidationError, match=r"hops\[1\] does not start"):
        TicketDraft.model_validate(
            draft_data(
                direction="county110->12345",
                origin_platform="110",
                origin_level="county",
                origin_district="370883",
                target_platform="12345",
                hops=[first.model_dump(), broken.model_dump()],
            )
        )


def test_hash_round_trip_keeps_every_field() -> None:
    moment = datetime(2026, 11, 29, 3, 4, 5, 678000, tzinfo=UTC)
    ticket = Ticket.model_validate(
        draft_data(
            id="LK-20261129-000123",
            request_id="req-1",
            status="accepted",
            accepted_by="agent110-7",
            feedback=[{"by": "agent110-7", "at": moment, "text": "已出警"}],
            created_at=moment,
            updated_at=moment,
            accepted_at=moment,
            due_at=moment,
            act_within_s=600,
        )
    )
    fields = to_hash_fields(ticket)
    assert "closed_at" not in fields  # None is left out, not stored as "None"
    back = ticket_from_hash({k.encode(): v.encode() for k, v in fields.items()})
    assert back == ticket
    assert back.status is TicketStatus.ACCEPTED
    assert back.feedback[0].text == "已出警"


def test_first_hop_must_leave_from_the_origin() -> None:
    first, _ = county_to_12345_hops()
    with pytest.raises(ValidationError, match=r"hops\[0\] must start at the origin"):
        TicketDraft.model_validate(
            draft_data(
                direction="county110->12345",
                origin_platform="110",
                origin_level="county",
                origin_district="370811",
                target_platform="12345",
                hops=[first.model_dump()],
            )
        )
