"""AMI messages as bytes on the wire: CRLF lines of `Name: value`, a blank line ends a message.

Bytes are buffered and a message is decoded only when whole, so a multi-byte UTF-8 character
cut by a TCP read boundary survives (the panoramisk bug in DEPENDENCY-NOTES.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
Headers = list[tuple[str, str]]


@dataclass
class Action:
    """One request from a client; header names are matched case-insensitively, as Asterisk does."""

    headers: Headers

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def name(self) -> str:
        return self.get("Action") or ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")


@dataclass
class ActionReader:
    """Splits a client byte stream into actions at each blank line."""

    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Action]:
        self._buffer.extend(data)
        actions: list[Action] = []
        while True:
            # Clients may end lines with bare LF; Asterisk accepts both.
            end, sep_len = _find_message_end(self._buffer)
            if end < 0:
                return actions
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + sep_len]
            headers = parse_headers(raw.decode("utf-8", errors="replace"))
            if headers:
                actions.append(Action(headers))


def _find_message_end(buffer: bytearray) -> tuple[int, int]:
    crlf = buffer.find(b"\r\n\r\n")
    lf = buffer.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return -1, 0
    if lf < 0 or (0 <= crlf < lf):
        return crlf, 4
    return lf, 2


def parse_headers(text: str) -> Headers:
    headers: Headers = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        headers.append((key.strip(), value[1:] if value.startswith(" ") else value))
    return headers


def encode(headers: Headers) -> bytes:
    return "".join(f"{key}: {value}\r\n" for key, value in headers).encode() + b"\r\n"
