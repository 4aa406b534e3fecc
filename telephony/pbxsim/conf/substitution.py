"""`${...}` and `$[...]` substitution, as Asterisk's pbx_substitute_variables_helper does it.

`substitute(text, resolve_var, call_function, warn)`:
- `${NAME}`: `resolve_var(NAME)`; None (unset) becomes "".
- `${NAME:offset}` / `${NAME:offset:length}`: a substring; a negative offset counts from the
  end, a negative length leaves that many characters off the end (`${EXTEN:5}`).
- `${FUNC(args)}` (and `${FUNC(args):offset:length}`): the pure functions (CUT, LEN, IF,
  ISNULL, EXISTS) are computed here; any other goes to `call_function(FUNC, args)`.
- `$[expression]`: `evaluate_expression()`; a syntax error gives "0" and a warning, as in
  Asterisk; warnings go to `warn(message)`. ExpressionError (a construct the emulator does
  not evaluate) propagates. A function call with bad arguments raises ArgumentError, or,
  given `warn` (run time), is warned about and gives "" as in Asterisk.
- Nesting works inside out: `${${X}}`, `${CUT(${V},-,1)}`, `$[${A} + 1]`.
- `find_function_names(text)` lists the function names a text calls (load-time checks).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .arguments import ArgumentError
from .expressions import evaluate_expression
from .functions import PURE_FUNCTIONS, ResolveVar, call_pure_function

CallFunction = Callable[[str, str], str]
Warn = Callable[[str], None]

_FUNCTION_CALL = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\(")
_CALL_IN_EXPRESSION = re.compile(r"(?<![\w{$])([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def _closing(text: str, start: int, opener: str, closer: str) -> int:
    """Index of the closer matching the opener just before `start`, or len(text)."""
    depth = 1
    i = start
    while True:
        close = text.find(closer, i)
        if close < 0:
            return len(text)  # Asterisk takes the rest of the text when the closer is missing
        depth += text.count(opener, i, close) - 1
        if depth == 0:
            return close
        i = close + 1


def _split_offset(name: str) -> tuple[str, int, int | None]:
    """`NAME:offset:length` → (NAME, offset, length); a `:` inside `(...)` does not count."""
    if ":" not in name:
        return name, 0, None
    depth = 0
    for i, char in enumerate(name):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == ":" and depth == 0:
            numbers = name[i + 1 :].split(":")
            offset = _leading_int(numbers[0])
            length = _leading_int(numbers[1]) if len(numbers) > 1 else None
            return name[:i], offset, length
    return name, 0, None


def _leading_int(text: str) -> int:
    match = re.match(r"\s*[-+]?\d+", text)
    return int(match.group(0)) if match else 0


def substring(value: str, offset: int, length: int | None) -> str:
    """Asterisk's substring(): negative offset from the end, negative length trims the end."""
    size = len(value)
    if offset < 0:
        offset = max(size + offset, 0)
    if offset >= size:
        return ""
    rest = value[offset:]
    if length is None:
        return rest
    if length >= 0:
        return rest[:length]
    return rest[: max(len(rest) + length, 0)]


def _expand_name(
    name: str, resolve_var: ResolveVar, call_function: CallFunction | None, warn: Warn | None
) -> str:
    try:
        return _expand_checked(name, resolve_var, call_function)
    except ArgumentError as error:
        if warn is None:
            raise
        # At run time Asterisk logs a function it cannot compute and gives it no value.
        warn(str(error))
        return ""


def _expand_checked(name: str, resolve_var: ResolveVar, call_function: CallFunction | None) -> str:
    base, offset, length = _split_offset(name)
    paren = base.find("(")
    if paren >= 0:
        function = base[:paren].strip()
        close = base.rfind(")")
        args = base[paren + 1 : close if close > paren else len(base)]
        if function in PURE_FUNCTIONS:
            value = call_pure_function(function, args, resolve_var)
        elif call_function is None:
            raise ArgumentError(f"no resolver for the dialplan function {function}()")
        else:
            value = call_function(function, args)
    else:
        value = resolve_var(base) or ""
    return substring(value, offset, length)


def substitute(
    text: str,
    resolve_var: ResolveVar,
    call_function: CallFunction | None = None,
    warn: Warn | None = None,
) -> str:
    """Replace every `${...}` and `$[...]` in `text`."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        start = text.find("$", i)
        while start >= 0 and text[start + 1 : start + 2] not in ("{", "["):
            start = text.find("$", start + 1)
        if start < 0:
            out.append(text[i:])
            break
        out.append(text[i:start])
        opener = text[start + 1]
        closer = "}" if opener == "{" else "]"
        end = _closing(text, start + 2, opener, closer)
        if end == len(text) and warn is not None:
            warn(f"missing '{closer}' in {text!r}")
        inner = substitute(text[start + 2 : end], resolve_var, call_function, warn)
        if opener == "{":
            out.append(_expand_name(inner, resolve_var, call_function, warn))
        else:
            out.append(evaluate_expression(inner, warn))
        i = end + 1
    return "".join(out)


def find_function_names(text: str) -> list[str]:
    """Names of the functions `text` calls as `${NAME(...)}`, in order of appearance."""
    return _FUNCTION_CALL.findall(text)


def find_expression_calls(text: str) -> list[str]:
    """Names called as `NAME(...)` directly inside `$[...]` (ast_expr2's own functions)."""
    names: list[str] = []
    start = text.find("$[")
    while start >= 0:
        end = _closing(text, start + 2, "[", "]")
        body = _strip_substitutions(text[start + 2 : end])
        names.extend(_CALL_IN_EXPRESSION.findall(body))
        start = text.find("$[", start + 2)
    return names


def _strip_substitutions(text: str) -> str:
    """`text` with every `${...}` removed (what they hold is not the expression's own)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        start = text.find("${", i)
        if start < 0:
            out.append(text[i:])
            break
        out.append(text[i:start] + " ")
        i = _closing(text, start + 2, "{", "}") + 1
    return "".join(out)
