"""The AMI byte-stream parser against the recorded Asterisk 22 traces and hand-made edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.ami.parser import (
    AMIParser,
    Message,
    _parse_line_by_line,
    parse_headers,
    parse_message,
)
from tests.traces import read_trace, server_stream, trace_files

AMI_TRACES = trace_files(".ami.txt")


def connections(path: Path) -> list[bytes]:
    """The server byte stream of each TCP connection in a trace."""
    streams: list[bytes] = []
    for record in read_trace(path):
        if record.direction.startswith("CONNECT"):
            streams.append(b"")
        elif record.direction == "S->C":
            streams[-1] += record.data
    return streams


def test_there_are_ami_traces() -> None:
    assert len(AMI_TRACES) >= 20


@pytest.mark.parametrize("path", AMI_TRACES, ids=lambda p: p.name)
def test_every_server_message_parses_cleanly(path: Path) -> None:
    records = [r for r in read_trace(path) if r.direction == "S->C"]
    messages: list[Message] = []
    for stream in connections(path):
        parser = AMIParser()
        messages += parser.feed(stream)
        assert parser.banner == "Asterisk Call Manager/11.0.0"
        assert parser.pending == 0
        assert parser.problems == []
    # one message per recorded S->C record, the banner records excepted
    assert len(messages) == sum(1 for r in records if not r.data.startswith(b"Asterisk Call"))
    for message in messages:
        assert message.problems == []
        assert message.event is not None or message.response is not None


@pytest.mark.parametrize("path", AMI_TRACES[:6], ids=lambda p: p.name)
def test_one_byte_reads_give_the_same_messages(path: Path) -> None:
    stream = connections(path)[0]
    whole = AMIParser().feed(stream)
    parser = AMIParser()
    pieces: list[Message] = []
    for i in range(len(stream)):
        pieces += parser.feed(stream[i : i + 1])
    assert [m.fields for m in pieces] == [m.fields for m in whole]
    assert [m.variables for m in pieces] == [m.variables for m in whole]


CHINESE = (
    "Event: UserEvent\r\nUserEvent: Linkage\r\nCallerIDName: 张三丰\r\n"
    "Kind: 求助\r\nSummary: 兖州区某小区停水，请尽快处理\r\n\r\n"
).encode()


def test_utf8_split_at_every_byte_boundary_arrives_intact() -> None:
    stream = b"Asterisk Call Manager/11.0.0\r\n" + CHINESE
    for cut in range(1, len(stream)):
        parser = AMIParser()
        messages = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert len(messages) == 1, cut
        fields = messages[0].fields
        assert fields["CallerIDName"] == "张三丰", cut
        assert fields["Kind"] == "求助", cut
        assert fields["Summary"] == "兖州区某小区停水，请尽快处理", cut
        assert parser.problems == []


def test_trace_14_chinese_value_survives_three_way_splits() -> None:
    stream = connections(Path(AMI_TRACES[0]).parent / "14_fastagi_getdata.ami.txt")[0]
    where = stream.index("求助".encode())
    for cut in (where + 1, where + 2, where + 4):
        parser = AMIParser()
        messages = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        values = [m.fields.get("Value") for m in messages if m.event == "VarSet"]
        assert "求助" in values


def test_banner_is_kept_and_messages_follow() -> None:
    parser = AMIParser()
    assert parser.feed(b"Asterisk Call Man") == []
    messages = parser.feed(b"ager/11.0.0\r\nResponse: Success\r\nActionID: a-1\r\n\r\n")
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert messages[0].response == "Success"
    assert messages[0].action_id == "a-1"


def test_a_missing_banner_is_reported_not_fatal() -> None:
    parser = AMIParser()
    messages = parser.feed(b"Response: Success\r\nActionID: x\r\n\r\n")
    assert messages[0].response == "Success"
    assert "expected the banner" in parser.problems[0]


def test_three_variable_forms() -> None:
    originate = parse_message(
        "Event: OriginateResponse\r\nResponse: Success\r\n"
        "ChanVariable(Local/caller@callers-00000000;1): TICKET_ID=T-0002\r\n"
        "ChanVariable(Local/caller@callers-00000000;1): CITY_CODE="
    )
    assert originate.variables == {"ChanVariable": {"TICKET_ID": "T-0002", "CITY_CODE": ""}}
    assert originate.response is None  # an event, despite its Response header
    two = parse_message(
        "Event: AgentConnect\r\nChanVariable: TICKET_ID=T-1\r\nChanVariable: CITY_CODE=370811"
        "\r\nDestChanVariable: TICKET_ID=\r\nDestChanVariable: A=b=c"
    )
    assert two.variables == {
        "ChanVariable": {"TICKET_ID": "T-1", "CITY_CODE": "370811"},
        "DestChanVariable": {"TICKET_ID": "", "A": "b=c"},
    }
    assert "ChanVariable" not in two.fields


def test_repeated_headers_keep_every_value() -> None:
    message = parse_message("Event: X\r\nVariable: a=1\r\nVariable: b=2\r\nOther: 1")
    assert message.fields["Variable"] == "a=1"
    assert message.get_all("Variable") == ["a=1", "b=2"]
    assert message.get_all("Other") == ["1"]
    assert message.get_all("Missing") == []


def test_malformed_lines_are_reported_not_fatal() -> None:
    message = parse_message("Event: X\r\nthis is not a header\r\nEmpty:\r\nChanVariable: NOEQ")
    assert message.event == "X"
    assert message.fields["Empty"] == ""
    assert len(message.problems) == 2
    assert "this is not a header" in message.problems[0]
    assert "NOEQ" in message.problems[1]


def test_invalid_utf8_is_replaced_and_reported() -> None:
    parser = AMIParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    messages = parser.feed(b"Event: X\r\nName: \xff\xfe\r\n\r\n")
    assert messages[0].fields["Name"] == "\ufffd\ufffd"
    assert "invalid UTF-8" in parser.problems[0]


def test_whole_trace_stream_equals_concatenated_records() -> None:
    path = AMI_TRACES[0]
    assert server_stream(read_trace(path)) == b"".join(connections(path))


@pytest.mark.parametrize("path", AMI_TRACES, ids=lambda p: p.name)
def test_fast_path_agrees_with_the_line_by_line_parser(path: Path) -> None:
    for stream in connections(path):
        for message in AMIParser().feed(stream):
            careful = _parse_line_by_line(message.text)
            fast = parse_headers(message.text)
            assert (fast.fields, fast.variables, fast.repeated) == (
                careful.fields,
                careful.variables,
                careful.repeated,
            )


def test_event_name_without_parsing_matches_the_parsed_one() -> None:
    message = parse_message("Event: Hangup\r\nCause: 16")
    assert message.event == "Hangup"
    assert message._headers is None  # the name came straight from the text
    assert parse_message("Foo: 1\r\nEvent: Late").event == "Late"
    assert parse_message("Response: Success\r\nActionID: 1").event is None
