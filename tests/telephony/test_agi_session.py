"""AgiSession's reply handling over an in-memory link: the cases the traces do not show."""

from __future__ import annotations

import pytest

from telephony.agi import (
    AgiHangup,
    AgiProtocolError,
    AgiSession,
    CommandFailed,
    request_from_headers,
)


class ScriptedLink:
    """Plays Asterisk from a list of reply lines; records what the session sent."""

    def __init__(self, *replies: bytes, sighup: bool = False) -> None:
        self.replies = list(replies)
        self.sent: list[bytes] = []
        self.sighup = sighup

    async def send(self, line: bytes) -> None:
        self.sent.append(line)

    async def read_line(self) -> bytes:
        return self.replies.pop(0) if self.replies else b""

    def hangup_signalled(self) -> bool:
        return self.sighup


def session(link: ScriptedLink) -> AgiSession:
    return AgiSession(request_from_headers({"agi_network_script": "t"}), link)


async def test_provisional_100_is_skipped() -> None:
    link = ScriptedLink(b"100 result=0 Trying...\n", b"200 result=0 (timeout) endpos=8000\n")
    reply = await session(link).command("RECORD FILE", "msg", "wav", "#", 5000)
    assert (reply.code, reply.data, reply.endpos) == (200, "timeout", 8000)
    assert link.sent == [b"RECORD FILE msg wav # 5000\n"]


async def test_hangup_is_raised_once_then_dead_channel_commands_work() -> None:
    link = ScriptedLink(b"HANGUP\n", b"200 result=1\n", b"HANGUP\n", b"200 result=1 (v)\n")
    agi = session(link)
    with pytest.raises(AgiHangup) as raised:
        await agi.verbose("x")
    assert raised.value.reply is not None and raised.value.reply.result == "1"
    assert await agi.get_variable("V") == "v"  # a second HANGUP line does not raise again
    assert agi.hung_up


async def test_connection_closed_is_a_hangup() -> None:
    agi = session(ScriptedLink(b"200 res"))  # cut mid-line, then EOF
    with pytest.raises(AgiHangup, match="closed"):
        await agi.answer()
    assert agi.hung_up


async def test_sighup_raises_before_sending() -> None:
    link = ScriptedLink(sighup=True)
    with pytest.raises(AgiHangup, match="SIGHUP"):
        await session(link).answer()
    assert link.sent == []


async def test_empty_value_is_not_unset() -> None:
    agi = session(ScriptedLink(b"200 result=1 ()\n", b"200 result=0\n"))
    assert await agi.get_variable("EMPTY") == ""
    assert await agi.get_variable("UNSET") is None


async def test_get_data_arguments() -> None:
    link = ScriptedLink(b"200 result=12 (timeout)\n", b"200 result=\n")
    agi = session(link)
    assert await agi.get_data("menu", max_digits=4) == "12"  # digits typed before the timeout
    assert await agi.get_data("menu") == ""
    assert link.sent == [b"GET DATA menu 0 4\n", b"GET DATA menu\n"]


async def test_exec_of_a_missing_application_fails() -> None:
    with pytest.raises(CommandFailed, match="no application named 'Nope'"):
        await session(ScriptedLink(b"200 result=-2\n")).exec("Nope")


@pytest.mark.parametrize(
    ("reply", "message"),
    [(b"300 who knows\n", "unexpected AGI reply code 300"), (b"hello\n", "not an AGI status")],
)
async def test_unknown_replies_are_protocol_errors(reply: bytes, message: str) -> None:
    with pytest.raises(AgiProtocolError, match=message):
        await session(ScriptedLink(reply)).answer()


async def test_unknown_channel_state_is_a_protocol_error() -> None:
    with pytest.raises(AgiProtocolError, match="unknown state 9"):
        await session(ScriptedLink(b"200 result=9\n")).channel_status()
