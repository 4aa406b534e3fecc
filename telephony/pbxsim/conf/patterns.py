"""Extension patterns, matched and ordered exactly as Asterisk's main/pbx.c does it.

A name starting with `_` is a pattern: `X` = 0-9, `Z` = 1-9, `N` = 2-9 (lowercase x/z/n too,
which is why the lab writes `_age[n]t.` to match a literal `n`), `[1-5a]` a set with ranges,
`.` one or more of anything, `!` zero or more of anything. `-` is eye candy and ignored, in
patterns and in literal names alike (`12-34` is `1234`). Any other character matches itself,
case-sensitively.

Order (`compare_extensions`, Asterisk's `ext_cmp`): literal names first, compared byte by byte;
then patterns, position by position, the one with the smaller character set first (a literal
char < N < Z < X < `.` < `!` < end), equal-sized sets ordered by their lowest characters.
Asterisk keeps a context's extensions in that order and takes the first that matches, so a
more specific pattern wins over `_X.`.
"""

from __future__ import annotations

import functools

# Scores from ext_cmp_pattern_pos(): bits 0-7 lowest char, bits 8-15 set size, above: specials.
_ANY_ONE_OR_MORE = 0x18000  # '.'
_ANY_ZERO_OR_MORE = 0x28000  # '!'
_END = 0x30000
_BAD_SET = 0x40000

_DIGIT_SETS = {
    "N": (0x0800 | ord("2"), "23456789"),
    "Z": (0x0900 | ord("1"), "123456789"),
    "X": (0x0A00 | ord("0"), "0123456789"),
}


def is_pattern(name: str) -> bool:
    return name.startswith("_")


def pattern_error(name: str) -> str | None:
    """Why a pattern cannot be used (an unclosed `[`, `/` caller-ID matching), or None."""
    if "/" in name:
        return f"extension {name!r}: caller-ID matching ('/') is not supported"
    if not is_pattern(name):
        return None
    body = name[1:]
    depth_open = body.find("[")
    while depth_open >= 0:
        close = body.find("]", depth_open + 1)
        if close < 0:
            return f"extension pattern {name!r}: '[' without a closing ']'"
        depth_open = body.find("[", close + 1)
    return None


def _set_members(body: str) -> set[str]:
    """Characters of a `[...]` body: single chars and `a-d` ranges, like Asterisk reads them."""
    members: set[str] = set()
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            members.update(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
            i += 3
        else:
            members.add(body[i])
            i += 1
    return members


def extension_matches(name: str, dialled: str) -> bool:
    """True when the dialled extension runs extension `name` (Asterisk's E_MATCH)."""
    if not is_pattern(name):
        return name.replace("-", "") == dialled.replace("-", "")
    if is_pattern(dialled) and compare_extensions(name, dialled) == 0:
        return True  # "_X." looked up as itself, as Asterisk allows
    rest = _rest_after(name[1:], dialled)
    return rest is not None and (rest in (_WILDCARD, "") or rest.startswith("!"))


def extension_matches_more(name: str, dialled: str) -> bool:
    """True when a longer number starting with `dialled` could run extension `name`
    (Asterisk's E_MATCHMORE, what ast_app_dtget() asks before it reads another digit)."""
    if not is_pattern(name):
        plain, typed = name.replace("-", ""), dialled.replace("-", "")
        return len(plain) > len(typed) and plain.startswith(typed)
    rest = _rest_after(name[1:], dialled)
    return rest is not None and rest not in ("", "!")


_WILDCARD = "\0"  # _rest_after(): a `.` or `!` took the rest of the data


def _rest_after(pattern: str, data: str) -> str | None:
    """What of `pattern` is left once `data` has matched its start: _WILDCARD when a `.`/`!`
    took the rest of the data, None when `data` does not fit."""
    p = d = 0
    while True:
        while d < len(data) and data[d] == "-":
            d += 1
        while p < len(pattern) and pattern[p] == "-":
            p += 1
        if d >= len(data) or p >= len(pattern):
            break
        char = pattern[p]
        upper = char.upper()
        if char == "[":
            close = pattern.find("]", p + 1)
            if close < 0:
                return None
            if close == p + 1:
                p = close + 1  # an empty set is ignored
                continue
            if data[d] not in _set_members(pattern[p + 1 : close]):
                return None
            p = close
        elif upper in _DIGIT_SETS:
            if data[d] not in _DIGIT_SETS[upper][1]:
                return None
        elif char in ".!":
            return _WILDCARD
        elif data[d] != char:
            return None
        d += 1
        p += 1
    if d < len(data):
        return None  # the dialled number is longer than the pattern
    return pattern[p:].replace("-", "")


def _pattern_position(pattern: str, pos: int) -> tuple[int, int, int]:
    """(score, 256-bit set as an int MSB-first for the lowest chars, next position)."""
    while True:
        while pos < len(pattern) and pattern[pos] == "-":
            pos += 1
        if pos >= len(pattern):
            return _END, 0, pos
        char = pattern[pos]
        pos += 1
        upper = char.upper()
        if upper in _DIGIT_SETS:
            score, members = _DIGIT_SETS[upper]
            return score, _bits(members), pos
        if char == ".":
            return _ANY_ONE_OR_MORE, 0, pos
        if char == "!":
            return _ANY_ZERO_OR_MORE, 0, pos
        if char != "[":
            return 0x0100 | ord(char), _bits(char), pos
        close = pattern.find("]", pos)
        if close < 0:
            return _BAD_SET, 0, len(pattern)
        members_set = _set_members(pattern[pos:close])
        pos = close + 1
        if members_set:  # an empty set is skipped, as Asterisk does
            count = len(members_set)
            return (count << 8) | min(ord(c) for c in members_set), _bits(members_set), pos


def _bits(members: str | set[str]) -> int:
    # Asterisk's memcmp of the bit sets puts lower characters in the more significant bits.
    value = 0
    for char in members:
        value |= 1 << (255 - (ord(char) & 0xFF))
    return value


def _compare_patterns(left: str, right: str) -> int:
    lpos = rpos = 0
    while True:
        lscore, lbits, lpos = _pattern_position(left, lpos)
        rscore, rbits, rpos = _pattern_position(right, rpos)
        cmp = lscore - rscore
        if cmp == 0:
            cmp = rbits - lbits  # larger set of low characters sorts first
        if cmp != 0:
            return cmp
        if lscore == _END:
            return 0


def compare_extensions(left: str, right: str) -> int:
    """Negative when `left` comes first in a context (Asterisk's ext_cmp)."""
    if not is_pattern(left):
        if is_pattern(right):
            return -1
        a, b = left.replace("-", ""), right.replace("-", "")
        return (a > b) - (a < b)
    if not is_pattern(right):
        return 1
    return _compare_patterns(left[1:], right[1:])


extension_sort_key = functools.cmp_to_key(compare_extensions)
