"""Builds AGI command lines so that no argument can end the line or split into two arguments.

Asterisk reads one command per LF-terminated line into a 2048-byte buffer (res_agi.c
AGI_BUF_LEN) and splits it with `parse_args`: blanks and tabs separate words, `"` toggles
quoting, `\\` makes the next character literal. So inside double quotes with `\\` and `"`
escaped, any text stays one argument. A LF (or CR, which some readers also stop at) can never be
escaped -- it would end the line and let the rest run as a second command -- so it is replaced by
a space; NUL would cut the C string, so it goes too. A line longer than the buffer would be read
in two pieces, the second run as a command of its own, so it is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telephony.agi.errors import CommandTooLong

MAX_LINE_BYTES = 2047  # AGI_BUF_LEN (2048) less the terminating NUL, LF included
_UNSENDABLE = str.maketrans({"\n": " ", "\r": " ", "\0": " "})
_NEEDS_QUOTES = frozenset(' \t"\\\n\r\0')
_COMMAND_NAME = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)*")
_CHECKED_NAMES: set[str] = set()


@dataclass(frozen=True, slots=True)
class Quoted:
    """An argument sent in double quotes even when it would not need them (values, messages)."""

    text: str


Arg = str | int | Quoted


def quote(text: str) -> str:
    """`text` as one double-quoted AGI argument."""
    safe = text.translate(_UNSENDABLE)
    return '"' + safe.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(arg: Arg) -> str:
    """One argument as sent: bare when it is a plain word, else quoted and escaped."""
    if isinstance(arg, Quoted):
        return quote(arg.text)
    text = str(arg)
    if text and not _NEEDS_QUOTES.intersection(text):
        return text
    return quote(text)


def command_line(command: str, *args: Arg) -> bytes:
    """One AGI command line, UTF-8 and LF-terminated: `command` is the fixed words (such as
    "GET VARIABLE"), each of `args` becomes exactly one argument whatever it contains."""
    if command not in _CHECKED_NAMES:
        if not _COMMAND_NAME.fullmatch(command):
            raise ValueError(f"AGI command name {command!r}: letters in space-separated words")
        _CHECKED_NAMES.add(command)  # a handful of distinct names: check each once
    line = " ".join([command, *map(render, args)]).encode() + b"\n"
    if len(line) > MAX_LINE_BYTES:
        raise CommandTooLong(
            f"AGI command {command} is {len(line)} bytes; Asterisk reads at most "
            f"{MAX_LINE_BYTES} bytes per command"
        )
    return line
