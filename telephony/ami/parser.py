"""Turns the AMI byte stream into whole messages.

The reader buffers BYTES and decodes only complete messages (everything up to the blank line
``\\r\\n\\r\\n``), so a multi-byte UTF-8 character cut by a TCP read boundary arrives intact.
panoramisk 1.4 decodes every read on its own and loses such characters (DEPENDENCY-NOTES).

A message keeps every header, repeated names included:

- ``ChanVariable: NAME=value`` lines, their prefixed two-channel forms (``DestChanVariable``,
  ``TransfereeChanVariable``, ...) and the ``ChanVariable(<channel>): NAME=value`` form of
  ``OriginateResponse`` go to :attr:`Message.variables`, keyed by the header name without the
  ``(<channel>)`` part;
- any other header met twice keeps all its values in :attr:`Message.repeated`.
"""

from __future__ import annotations

BANNER_PREFIX = "Asterisk Call Manager/"
_END = b"\r\n\r\n"
_VARIABLE_SUFFIX = "ChanVariable"


class Headers:
    """The parsed headers of one message."""

    __slots__ = ("fields", "problems", "repeated", "variables")

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}  # header -> its first value
        self.variables: dict[str, dict[str, str]] = {}  # "ChanVariable"/"DestChanVariable"/...
        self.repeated: dict[str, list[str]] = {}  # header seen more than once -> all values
        self.problems: list[str] = []  # malformed lines, reported, never fatal


class Message:
    """One AMI message: a response to an action, or an event.

    Headers are parsed on first use: the reader only needs the event name to decide whether
    anyone listens, and events nobody asked for are never split into headers.
    """

    __slots__ = ("_headers", "text")

    def __init__(self, text: str) -> None:
        self.text = text  # the decoded message, CRLF-separated, without the blank line
        self._headers: Headers | None = None

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = parse_headers(self.text)
        return self._headers

    @property
    def parsed(self) -> bool:
        return self._headers is not None

    def peek(self, name: str) -> str:
        """The first value of one header, found in the text without parsing the rest."""
        if self._headers is not None:
            return self._headers.fields.get(name, "")
        text = self.text
        key = f"{name}: "
        if text.startswith(key):
            start = len(key)
        else:
            start = text.find(f"\r\n{key}")
            if start < 0:
                return ""
            start += len(key) + 2
        end = text.find("\r\n", start)
        return text[start:] if end < 0 else text[start:end]

    @property
    def fields(self) -> dict[str, str]:
        return self.headers.fields

    @property
    def variables(self) -> dict[str, dict[str, str]]:
        return self.headers.variables

    @property
    def repeated(self) -> dict[str, list[str]]:
        return self.headers.repeated

    @property
    def problems(self) -> list[str]:
        return self.headers.problems

    @property
    def event(self) -> str | None:
        """The event name; None for a reply to an action."""
        text = self.text
        if text.startswith("Event: "):  # Asterisk puts it first: no need to parse
            end = text.find("\r\n")
            return text[7:] if end < 0 else text[7:end]
        if text.startswith("Response: "):
            return None
        return self.fields.get("Event")

    @property
    def response(self) -> str | None:
        """``Success``/``Error``/``Goodbye``... of a reply; None for events.

        ``OriginateResponse`` is an event that carries a ``Response`` header too, so ``Event``
        decides.
        """
        if self.event is not None:
            return None
        return self.fields.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.fields.get("ActionID")

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)

    def get_all(self, name: str) -> list[str]:
        """Every value of a header, in the order received."""
        if name in self.repeated:
            return list(self.repeated[name])
        if name in self.fields:
            return [self.fields[name]]
        return []

    def __repr__(self) -> str:
        return f"Message({self.text!r})"


def parse_message(text: str) -> Message:
    """The message for the text of one message (CRLF-separated, no closing blank line)."""
    return Message(text)


def parse_headers(text: str) -> Headers:
    """Splits a message's text into headers."""
    pairs = [line.split(": ", 1) for line in text.split("\r\n")]
    try:
        fields = dict(pairs)  # the fast path: done in C when every line is "Name: value"
    except ValueError:
        return _parse_line_by_line(text)
    headers = Headers()
    headers.fields = fields
    if _VARIABLE_SUFFIX in text:
        # Repeated ChanVariable lines collapsed in the dict: collect them from the pairs.
        variables = headers.variables
        for key, value in [pair for pair in pairs if _VARIABLE_SUFFIX in pair[0]]:
            if not _is_variable_header(key):
                continue
            name, sep, var_value = value.partition("=")
            if not sep:
                return _parse_line_by_line(text)  # reports the malformed line
            variables.setdefault(key.split("(", 1)[0], {})[name] = var_value
            fields.pop(key, None)
        if len(fields) + sum(map(len, variables.values())) != len(pairs):
            return _parse_line_by_line(text)  # a header repeated, or a variable set twice
    elif len(fields) != len(pairs):
        return _parse_line_by_line(text)  # a header repeated: keep every value
    return headers


def _is_variable_header(name: str) -> bool:
    return name.endswith(_VARIABLE_SUFFIX) or name.startswith("ChanVariable(")


def _parse_line_by_line(text: str) -> Headers:
    message = Headers()
    fields = message.fields
    for line in text.split("\r\n"):
        name, sep, value = line.partition(": ")
        if not sep:
            # "Name:" with nothing after it is an empty value; anything else is malformed.
            if line.endswith(":") and " " not in line:
                name, value = line[:-1], ""
            elif line:
                message.problems.append(f"line without 'Name: value': {line!r}")
                continue
            else:
                continue
        if _is_variable_header(name):
            _add_variable(message, name, value)
        elif name in fields:
            message.repeated.setdefault(name, [fields[name]]).append(value)
        else:
            fields[name] = value
    return message


def _add_variable(message: Headers, name: str, value: str) -> None:
    key = name.split("(", 1)[0]
    var_name, sep, var_value = value.partition("=")
    if not sep:
        message.problems.append(f"{name} without NAME=value: {value!r}")
        return
    message.variables.setdefault(key, {})[var_name] = var_value


class AMIParser:
    """Incremental parser: feed it the bytes of each read, get back the whole messages.

    The first line of a connection is the banner (``Asterisk Call Manager/11.0.0``), which ends
    with one CRLF instead of a blank line; it is kept in :attr:`banner`.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self.banner: str | None = None
        self.problems: list[str] = []  # stream-level problems (bad banner, bad UTF-8)

    def reset(self) -> None:
        """Forget everything: a new connection starts with a new banner."""
        self._buffer = b""
        self.banner = None

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the end of a message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Message]:
        buffer = self._buffer + data if self._buffer else data
        if self.banner is None:
            buffer = self._take_banner(buffer)
            if self.banner is None:
                self._buffer = buffer
                return []
        end = buffer.rfind(_END)
        if end < 0:
            self._buffer = buffer
            return []
        self._buffer = buffer[end + 4 :]
        texts = self._decode(buffer[:end]).split("\r\n\r\n")
        return [Message(text) for text in texts if text]

    def _take_banner(self, buffer: bytes) -> bytes:
        end = buffer.find(b"\r\n")
        if end < 0:
            return buffer
        line = buffer[:end].decode("utf-8", "replace")
        if not line.startswith(BANNER_PREFIX):
            # Not fatal: some proxies omit it. Parse the line as part of the first message.
            self.problems.append(f"expected the banner {BANNER_PREFIX!r}..., got {line!r}")
            self.banner = ""
            return buffer
        self.banner = line
        return buffer[end + 2 :]

    def _decode(self, chunk: bytes) -> str:
        # Message boundaries are ASCII, so decoding a run of whole messages at once is safe.
        try:
            return chunk.decode("utf-8")
        except UnicodeDecodeError as error:
            self.problems.append(f"invalid UTF-8 in AMI data at byte {error.start}; replaced")
            return chunk.decode("utf-8", "replace")
