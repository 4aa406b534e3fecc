"""The AGI result grammar: one status line into a typed reply.

Shapes Asterisk 22 sends (see the traces): `200 result=1 (data)`, `200 result=0 endpos=3520`,
`200 result= (timeout)`, `200 result=-1`, `100 result=0 Trying...` (provisional, the real
answer follows), `510 Invalid or unknown command`, `511 Command Not Permitted on a dead channel
or intercept routine`, `520-Invalid command syntax.  Proper usage follows:` + usage lines +
`520 End of proper usage.`, and the bare `HANGUP` notice (handled by the session).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from telephony.agi.errors import AgiProtocolError

_ENDPOS = re.compile(r" endpos=(-?\d+)$")


class AgiReply(NamedTuple):  # a NamedTuple: immutable and the cheapest to build, 3 per call
    code: int
    result: str = ""  # the text after `result=`; empty in `200 result= (timeout)`
    data: str | None = None  # the text in parentheses, e.g. a variable's value or "timeout"
    endpos: int | None = None  # sample offset where playback stopped (STREAM FILE & co.)
    message: str = ""  # the text after a 1xx/5xx code
    usage: str = ""  # the usage lines of a 520 reply, LF-joined

    @property
    def value(self) -> int:
        """`result` as an integer; an AgiProtocolError when Asterisk sent something else."""
        try:
            return int(self.result)
        except ValueError:
            raise AgiProtocolError(f"AGI result {self.result!r} is not a number") from None


def parse_status_line(line: str) -> AgiReply:
    """One status line (without its LF) into an AgiReply; an AgiProtocolError if it is none."""
    if line.startswith("200 result="):  # nearly every reply: skip the general parse
        return _result_reply(200, line[11:])
    if line[3:4] == "-":  # "520-Invalid command syntax..." opens a multi-line reply
        code_text, rest = line[:3], line[4:]
    else:
        code_text, _, rest = line.partition(" ")
    if len(code_text) != 3 or not code_text.isdigit():
        raise AgiProtocolError(f"not an AGI status line: {line[:80]!r}")
    code = int(code_text)
    if not rest.startswith("result="):
        return AgiReply(code=code, message=rest)
    return _result_reply(code, rest[len("result=") :])


def _result_reply(code: int, text: str) -> AgiReply:
    result, space, tail = text.partition(" ")
    if not space:
        return AgiReply(code=code, result=result)
    tail = " " + tail
    # A value in parentheses may itself hold ") endpos=": it always runs to the line's end,
    # and endpos is only ever sent after a fixed word such as (timeout) or (dtmf).
    endpos: int | None = None
    if not tail.endswith(")"):
        match = _ENDPOS.search(tail)
        if match:
            endpos = int(match[1])
            tail = tail[: match.start()]
    if not tail:
        return AgiReply(code=code, result=result, endpos=endpos)
    if tail.startswith(" (") and tail.endswith(")"):
        return AgiReply(code=code, result=result, data=tail[2:-1], endpos=endpos)
    return AgiReply(code=code, result=result, endpos=endpos, message=tail.strip())
