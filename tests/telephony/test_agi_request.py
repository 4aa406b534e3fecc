"""The agi_* block into a typed request: route, query, args, numbers, and bad blocks."""

from __future__ import annotations

import pytest

from telephony.agi import AgiHeaderError, parse_header_block, request_from_headers
from tests.traces import read_trace, trace_files


def _headers(path_name: str) -> bytes:
    path = next(p for p in trace_files(".agi.txt") if p.name.startswith(path_name))
    chunks = [r.data for r in read_trace(path) if r.direction == "AST->AGI"]
    return chunks[0] + chunks[1]  # the block arrives in two reads


def test_trace_07_headers() -> None:
    request = parse_header_block(_headers("07_"))
    assert request.route == "route"
    assert request.query == {}
    assert request.args == []
    assert request.channel == "Local/caller@callers-00000011;1"
    assert request.callerid == "13800000007"
    assert request.calleridname == "Citizen 0007"
    assert request.context == "agi"
    assert request.extension == "fastagi"
    assert request.priority == "3"
    assert request.version == "22.10.1"
    assert request.accountcode == ""
    assert request.callingpres == 0
    assert request.threadid == "139799761209024"
    assert request.headers["agi_network"] == "yes"


def test_route_from_agi_request_when_network_script_is_missing() -> None:
    request = request_from_headers(
        {"agi_request": "agi://10.0.0.1:4573/ivr/main?district=370811&x=", "agi_arg_1": "a"}
    )
    assert (request.route, request.query, request.args) == (
        "ivr/main",
        {"district": "370811", "x": ""},
        ["a"],
    )


def test_args_are_ordered_by_number_not_by_text() -> None:
    headers = {f"agi_arg_{n}": str(n) for n in (10, 2, 1, 3, 4, 5, 6, 7, 8, 9)}
    request = request_from_headers({"agi_network_script": "r", **headers})
    assert request.args == [str(n) for n in range(1, 11)]


def test_utf8_and_invalid_bytes_in_caller_name() -> None:
    block = "agi_network_script: ivr\nagi_calleridname: 张三\n\n".encode()
    assert parse_header_block(block).calleridname == "张三"
    bad = b"agi_network_script: ivr\nagi_calleridname: \xff\xfeZ\n\n"
    assert parse_header_block(bad).calleridname.endswith("Z")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (b"GET / HTTP/1.1\nHost: x\n\n", "line 1 is not `agi_x: value`"),
        (b"agi_channel: SIP/1\n\n", "neither agi_network_script nor agi_request"),
        (b"agi_network_script: r\nagi_callingpres: high\n\n", "agi_callingpres: 'high'"),
        (b"agi_network_script: r\nagi_channel SIP/1\n\n", "line 2 is not `agi_x: value`"),
    ],
)
def test_bad_blocks_name_the_problem(block: bytes, message: str) -> None:
    with pytest.raises(AgiHeaderError, match=message.replace("(", r"\(")):
        parse_header_block(block)
