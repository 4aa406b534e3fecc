"""Dialplan functions: the pure ones computed here, the channel ones named for the runtime.

Pure (no channel state beyond reading a variable):
- `CUT(varname,delimiter,fields)`: fields of a variable's value; `fields` is `N`, `N-M`,
  `N-`, `-M`, several joined by `&`; the delimiter defaults to `-`.
- `LEN(text)`: length in bytes of UTF-8, as Asterisk's strlen() counts.
- `IF(condition?true[:false])`, `ISNULL(text)`, `EXISTS(text)`.

Channel functions the runtime resolves through `call_function`: CALLERID, CHANNEL, IAXVAR.
Any other function name in a dialplan is refused at load.
"""

from __future__ import annotations

from collections.abc import Callable

from .arguments import ArgumentError, split_app_args
from .expressions import check_condition

ResolveVar = Callable[[str], "str | None"]

CHANNEL_FUNCTIONS = frozenset({"CALLERID", "CHANNEL", "IAXVAR"})
PURE_FUNCTIONS = frozenset({"CUT", "LEN", "IF", "ISNULL", "EXISTS"})
SUPPORTED_FUNCTIONS = CHANNEL_FUNCTIONS | PURE_FUNCTIONS
WRITABLE_FUNCTIONS = frozenset({"CALLERID", "IAXVAR"})  # allowed on the left of Set()


def _cut(args: str, resolve_var: ResolveVar) -> str:
    parts = split_app_args(args)
    if len(parts) < 3 or not parts[0]:
        raise ArgumentError(f"CUT({args}) must be CUT(varname,delimiter,fields)")
    value = resolve_var(parts[0].strip()) or ""
    delimiter = parts[1][:1] or "-"
    fields = value.split(delimiter)
    chosen: list[str] = []
    for spec in parts[2].split("&"):
        first, dash, last = spec.strip().partition("-")
        try:
            start = int(first) if first else 1
            end = (int(last) if last else len(fields)) if dash else start
        except ValueError:
            raise ArgumentError(
                f"CUT({args}): field range {spec!r} is not N, N-M, N- or -M"
            ) from None
        if start < 1:
            raise ArgumentError(f"CUT({args}): fields count from 1")
        chosen.extend(fields[start - 1 : end])
    return delimiter.join(chosen)


def _strip_quoted(text: str) -> str:
    """ast_strip_quoted(): blanks off both ends, then one pair of surrounding quotes."""
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text


def _if(args: str) -> str:
    condition, question, branches = args.partition("?")
    if not question:
        raise ArgumentError(f"IF({args}) must be IF(condition?true[:false])")
    when_true, _, when_false = branches.partition(":")
    chosen = when_true if check_condition(_strip_quoted(condition)) else when_false
    return _strip_quoted(chosen)


def call_pure_function(name: str, args: str, resolve_var: ResolveVar) -> str:
    """The value of one of PURE_FUNCTIONS; `args` is already substituted."""
    if name == "CUT":
        return _cut(args, resolve_var)
    if name == "LEN":
        return str(len(args.encode("utf-8")))
    if name == "IF":
        return _if(args)
    if name == "ISNULL":
        return "1" if args == "" else "0"
    if name == "EXISTS":
        return "0" if args == "" else "1"
    raise ArgumentError(f"{name}() is not a pure dialplan function")
