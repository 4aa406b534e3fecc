"""Caller-controlled text can never inject a second AGI command or split an argument.

`asterisk_parse_args` is a line-for-line Python model of res_agi.c `parse_args`, and
`asterisk_read_commands` of how Asterisk cuts the byte stream into commands (one per LF, at
most 2047 bytes each). A sent line is safe when Asterisk reads exactly one command from it and
splits it into exactly the words we meant.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telephony.agi import CommandTooLong, Quoted, command_line
from telephony.agi.quoting import MAX_LINE_BYTES


def asterisk_read_commands(stream: bytes) -> list[bytes]:
    commands: list[bytes] = []
    for line in stream.split(b"\n")[:-1]:
        while len(line) + 1 > MAX_LINE_BYTES:  # fgets into a 2048-byte buffer
            commands.append(line[:MAX_LINE_BYTES])
            line = line[MAX_LINE_BYTES:]
        commands.append(line)
    return commands


def asterisk_parse_args(line: str) -> list[str]:
    argv: list[list[str]] = []
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                argv.append([])
                whitespace = False
            continue
        if ch in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:  # "normal:" in the C code
            argv.append([])
            whitespace = False
        argv[-1].append(ch)
        escaped = False
    return ["".join(word) for word in argv]


def sent_words(line: bytes) -> list[str]:
    commands = asterisk_read_commands(line)
    assert len(commands) == 1, f"Asterisk would read {len(commands)} commands from {line!r}"
    return asterisk_parse_args(commands[0].decode())


HOSTILE_NAMES = [
    'Zhang "San"',
    "back\\slash\\",
    'ends with backslash quote\\"',
    "x\nEXEC System rm -rf /",
    'a"\nHANGUP\n"',
    "tab\there  and  spaces",
    "",
    "\\",
    '"',
    "求助 市民",
    "cr\r\nlf",
    "nul\0byte",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_set_variable_with_hostile_caller_name_is_one_command(name: str) -> None:
    line = command_line("SET VARIABLE", "CALLER_NAME", Quoted(name))
    expected_value = name.replace("\r", " ").replace("\n", " ").replace("\0", " ")
    assert sent_words(line) == ["SET", "VARIABLE", "CALLER_NAME", expected_value]


@pytest.mark.parametrize("value", HOSTILE_NAMES)
def test_bare_words_are_quoted_when_they_need_it(value: str) -> None:
    line = command_line("EXEC", "NoOp", value)
    expected = value.replace("\r", " ").replace("\n", " ").replace("\0", " ")
    assert sent_words(line) == ["EXEC", "NoOp", expected]


@given(st.lists(st.text(max_size=40), min_size=1, max_size=5), st.booleans())
def test_any_text_stays_one_argument(values: list[str], force_quotes: bool) -> None:
    args = [Quoted(v) if force_quotes else v for v in values]
    line = command_line("SET VARIABLE", *args)
    expected = [v.replace("\r", " ").replace("\n", " ").replace("\0", " ") for v in values]
    assert sent_words(line) == ["SET", "VARIABLE", *expected]


def test_plain_words_go_bare_and_values_quoted_like_the_traces() -> None:
    assert command_line("GET VARIABLE", "CALLERID(num)") == b"GET VARIABLE CALLERID(num)\n"
    assert command_line("SET VARIABLE", "TICKET_ID", Quoted("T-1")) == (
        b'SET VARIABLE TICKET_ID "T-1"\n'
    )
    assert command_line("STREAM FILE", "beep", "") == b'STREAM FILE beep ""\n'
    assert command_line("WAIT FOR DIGIT", 1500) == b"WAIT FOR DIGIT 1500\n"


def test_too_long_line_is_refused_not_split() -> None:
    with pytest.raises(CommandTooLong, match="SET VARIABLE is 2064 bytes"):
        command_line("SET VARIABLE", "SUMMARY", Quoted("x" * 2040))
    longest = command_line("SET VARIABLE", "S", Quoted("x" * (MAX_LINE_BYTES - 18)))
    assert len(longest) == MAX_LINE_BYTES
    assert len(asterisk_read_commands(longest)) == 1
    assert len(asterisk_read_commands(longest[:-1] + b"x\n")) == 2  # why the limit exists


@pytest.mark.parametrize("name", ["GET VARIABLE\nHANGUP", "EXEC;", "", "GET  DATA", "X\t"])
def test_command_name_must_be_plain_words(name: str) -> None:
    with pytest.raises(ValueError, match="AGI command name"):
        command_line(name)
