"""The `agi_*` block Asterisk sends when an AGI starts, as a typed request.

FastAGI: `AGI(agi://host:4573/<route>?k=v,arg1,arg2)` arrives with
`agi_network_script: <route>?k=v` and `agi_arg_1: arg1`, `agi_arg_2: arg2`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from telephony.agi.errors import AgiHeaderError

_INT_HEADERS = ("agi_callingpres", "agi_callingani2", "agi_callington", "agi_callingtns")


@dataclass(frozen=True, slots=True)
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
    headers: dict[str, str] = {}
    text = block.decode("utf-8", errors="replace")  # a caller name is not always valid UTF-8
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.startswith("agi_"):
            raise AgiHeaderError(f"AGI header line {number} is not `agi_x: value`: {line[:60]!r}")
        headers[key] = value[1:] if value.startswith(" ") else value
    return request_from_headers(headers)


def request_from_headers(headers: Mapping[str, str]) -> AgiRequest:
    """A typed request from `agi_*` headers (from the socket, or from pyst2's `AGI.env`)."""
    if "agi_network_script" not in headers and "agi_request" not in headers:
        raise AgiHeaderError("AGI headers have neither agi_network_script nor agi_request")
    route, query = split_script(headers)
    ints = {name[4:]: _int_header(headers, name) for name in _INT_HEADERS}
    return AgiRequest(
        route=route,
        query=query,
        args=_args(headers),
        channel=headers.get("agi_channel", ""),
        uniqueid=headers.get("agi_uniqueid", ""),
        callerid=headers.get("agi_callerid", ""),
        calleridname=headers.get("agi_calleridname", ""),
        context=headers.get("agi_context", ""),
        extension=headers.get("agi_extension", ""),
        priority=headers.get("agi_priority", ""),
        language=headers.get("agi_language", ""),
        type=headers.get("agi_type", ""),
        version=headers.get("agi_version", ""),
        dnid=headers.get("agi_dnid", ""),
        rdnis=headers.get("agi_rdnis", ""),
        accountcode=headers.get("agi_accountcode", ""),
        threadid=headers.get("agi_threadid", ""),
        enhanced=headers.get("agi_enhanced", ""),
        network_script=headers.get("agi_network_script", ""),
        request=headers.get("agi_request", ""),
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
    return path.strip("/"), dict(parse_qsl(query, keep_blank_values=True))


def _args(headers: Mapping[str, str]) -> list[str]:
    numbered: list[tuple[int, str]] = []
    for key, value in headers.items():
        if key.startswith("agi_arg_"):
            suffix = key[len("agi_arg_") :]
            if not suffix.isdigit():
                raise AgiHeaderError(f"AGI header {key!r}: argument number is not a number")
            numbered.append((int(suffix), value))
    return [value for _, value in sorted(numbered)]


def _int_header(headers: Mapping[str, str], name: str) -> int:
    raw = headers.get(name, "0") or "0"
    try:
        return int(raw)
    except ValueError:
        raise AgiHeaderError(f"AGI header {name}: {raw!r} is not a number") from None
