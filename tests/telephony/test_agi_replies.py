"""The AGI result grammar, line by line, with the shapes seen in the real traces."""

from __future__ import annotations

import pytest

from telephony.agi import AgiProtocolError, AgiReply, parse_status_line

INVALID = "Invalid or unknown command"
NOT_PERMITTED = "Command Not Permitted on a dead channel or intercept routine"


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("200 result=1", AgiReply(code=200, result="1")),
        ("200 result=1 (13800000007)", AgiReply(code=200, result="1", data="13800000007")),
        (
            "200 result=1 (Citizen 0007/Local/caller@callers-00000011;1)",
            AgiReply(code=200, result="1", data="Citizen 0007/Local/caller@callers-00000011;1"),
        ),
        ("200 result=1 (求助)", AgiReply(code=200, result="1", data="求助")),
        ("200 result=1 ()", AgiReply(code=200, result="1", data="")),
        ("200 result= (timeout)", AgiReply(code=200, result="", data="timeout")),
        ("200 result=12 (timeout)", AgiReply(code=200, result="12", data="timeout")),
        ("200 result=53", AgiReply(code=200, result="53")),
        ("200 result=-1 endpos=0", AgiReply(code=200, result="-1", endpos=0)),
        ("200 result=0 endpos=3520", AgiReply(code=200, result="0", endpos=3520)),
        (
            "200 result=1 (dtmf) endpos=16000",
            AgiReply(code=200, result="1", data="dtmf", endpos=16000),
        ),
        # a value that imitates endpos stays the value
        ("200 result=1 (x) endpos=5)", AgiReply(code=200, result="1", data="x) endpos=5")),
        ("100 result=0 Trying...", AgiReply(code=100, result="0", message="Trying...")),
        ("510 Invalid or unknown command", AgiReply(code=510, message=INVALID)),
        (f"511 {NOT_PERMITTED}", AgiReply(code=511, message=NOT_PERMITTED)),
        (
            "520-Invalid command syntax.  Proper usage follows:",
            AgiReply(code=520, message="Invalid command syntax.  Proper usage follows:"),
        ),
        ("520 End of proper usage.", AgiReply(code=520, message="End of proper usage.")),
    ],
)
def test_status_lines(line: str, reply: AgiReply) -> None:
    assert parse_status_line(line) == reply


@pytest.mark.parametrize("line", ["HANGUP", "", "20 result=1", "abc result=1", "garbage"])
def test_non_status_lines_are_refused_with_the_line(line: str) -> None:
    with pytest.raises(AgiProtocolError, match="not an AGI status line"):
        parse_status_line(line)


def test_value_of_a_non_number_names_it() -> None:
    assert parse_status_line("200 result=53").value == 53
    with pytest.raises(AgiProtocolError, match="'' is not a number"):
        _ = parse_status_line("200 result= (timeout)").value
