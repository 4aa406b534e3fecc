"""The `agi_*` block Asterisk sends when an AGI starts, as a typed request.

FastAGI: `AGI(agi://host:4573/<route>?k=v,arg1,arg2)` arrives with
`agi_network_script: <route>?k=v` and `agi_arg_1: arg1`, `agi_arg_2: arg2`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from telephony.agi.errors import AgiHeaderError

_HEADER_LINE = re.compile(r"^(agi_\w+): ?(.*)$", re.MULTILINE)
_INT_HEADERS = ("agi_callingpres", "agi_callingani2", "agi_callington", "agi_callingtns")


@dataclass(slots=True)  # not frozen: frozen doubles the cost of building one per call
class AgiRequest:
    route: str  # path of agi_network_script ("" for a bare agi://host/)
    query: dict[str, str]  # its ?k=v parameters
    args: list[str]  # agi_arg_1, agi_arg_2, ... in order
    channel: str
    uniqueid: str
    callerid: str
    calleridname: str
    context: str
    extension: str
    priority: str
    language: str = ""
    type: str = ""
    version: str = ""
    dnid: str = ""
    rdnis: str = ""
    accountcode: str = ""
    threadid: str = ""
    enhanced: str = ""
    network_script: str = ""
    request: str = ""
    callingpres: int = 0
    callingani2: int = 0
    callington: int = 0
    callingtns: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # every agi_* header, as sent


def parse_header_block(block: bytes) -> AgiRequest:
    """The bytes up to (and including or not) the blank line into an AgiRequest."""
    text = block.decode("utf-8", errors="replace")  # a caller name is not always valid UTF-8
    pairs = _HEADER_LINE.findall(text)
    lines = text.split("\n")
    if len(pairs) != len(lines) - lines.count(""):  # some line is not `agi_x: value`
        return request_from_headers(_careful_headers([line for line in lines if line]))
    return request_from_headers(dict(pairs))


def _careful_headers(lines: list[str]) -> dict[str, str]:
    """Line by line, to accept `agi_name:` with no value and name the first bad line."""
    headers: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        key, colon, value = line.partition(":")
        if not colon or not key.startswith("agi_"):
            raise AgiHeaderError(f"AGI header line {number} is not `agi_x: value`: {line[:60]!r}")
        headers[key] = value[1:] if value.startswith(" ") else value
    return headers


def request_from_headers(headers: Mapping[str, str]) -> AgiRequest:
    """A typed request from `agi_*` headers (from the socket, or from pyst2's `AGI.env`)."""
    if "agi_network_script" not in headers and "agi_request" not in headers:
        raise AgiHeaderError("AGI headers have neither agi_network_script nor agi_request")
    route, query = split_script(headers)
    ints = {name[4:]: _int_header(headers, name) for name in _INT_HEADERS}
    get = headers.get
    return AgiRequest(
        route=route,
        query=query,
        args=_args(headers),
        channel=get("agi_channel", ""),
        uniqueid=get("agi_uniqueid", ""),
        callerid=get("agi_callerid", ""),
        calleridname=get("agi_calleridname", ""),
        context=get("agi_context", ""),
        extension=get("agi_extension", ""),
        priority=get("agi_priority", ""),
        language=get("agi_language", ""),
        type=get("agi_type", ""),
        version=get("agi_version", ""),
        dnid=get("agi_dnid", ""),
        rdnis=get("agi_rdnis", ""),
        accountcode=get("agi_accountcode", ""),
        threadid=get("agi_threadid", ""),
        enhanced=get("agi_enhanced", ""),
        network_script=get("agi_network_script", ""),
        request=get("agi_request", ""),
        headers=dict(headers),
        **ints,
    )


def split_script(headers: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """Route name and query parameters, from agi_network_script or else agi_request's path."""
    script = headers.get("agi_network_script")
    if script is None:
        parts = urlsplit(headers["agi_request"])
        path, query = parts.path, parts.query
    else:
        path, _, query = script.partition("?")
    if not query:
        return path.strip("/"), {}
    return path.strip("/"), dict(parse_qsl(query, keep_blank_values=True))


def _args(headers: Mapping[str, str]) -> list[str]:
    # Asterisk numbers them from 1 without gaps.
    args: list[str] = []
    while (value := headers.get(f"agi_arg_{len(args) + 1}")) is not None:
        args.append(value)
    return args


def _int_header(headers: Mapping[str, str], name: str) -> int:
    raw = headers.get(name, "0") or "0"
    try:
        return int(raw)
    except ValueError:
        raise AgiHeaderError(f"AGI header {name}: {raw!r} is not a number") from None
