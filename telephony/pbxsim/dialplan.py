"""extensions.conf as the runtime needs it (priorities by number and label, on top of the
config loader's model) and the `${...}` / `$[...]` substitution of application arguments."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from telephony.pbxsim import conf


@dataclass(frozen=True)
class Step:
    app: str
    data: str
    label: str | None
    where: str


@dataclass
class Extension:
    pattern: str
    steps: dict[int, Step] = field(default_factory=dict)

    def find_label(self, label: str) -> int | None:
        for priority, step in self.steps.items():
            if step.label == label:
                return priority
        return None


class Dialplan:
    """The runtime's view of the dialplan the config loader read: lookups follow its
    Asterisk search order (exact before pattern, `include =>`)."""

    def __init__(self, source: conf.Dialplan) -> None:
        self.source = source
        self.globals = dict(source.globals)
        self._views: dict[int, Extension] = {}

    def find(self, context: str, exten: str) -> Extension | None:
        found = self.source.find(context, exten)
        if found is None:
            return None
        view = self._views.get(id(found))
        if view is None:
            steps = {
                number: Step(p.app, p.args, p.label, str(p.where))
                for number, p in found.priorities.items()
            }
            view = self._views[id(found)] = Extension(found.name, steps)
        return view

    def exists(self, context: str, exten: str, priority: int = 1) -> bool:
        return self.source.exists(context, exten, priority)


# -- substitution ------------------------------------------------------------------------
Lookup = Callable[[str], str]


def substitute(text: str, lookup: Lookup) -> str:
    """Expand `${...}` and `$[...]` innermost first; `lookup` resolves a variable or a
    function call like `CALLERID(num)`."""
    while True:
        start = _innermost(text)
        if start < 0:
            return text
        kind = text[start + 1]
        end = _closing(text, start + 1, "{" if kind == "{" else "[")
        inner = text[start + 2 : end]
        value = _expression(inner) if kind == "[" else _variable(inner, lookup)
        text = text[:start] + value + text[end + 1 :]


def _innermost(text: str) -> int:
    """Position of the last `${` or `$[` whose body holds no further `$`-expression."""
    best = -1
    for match in re.finditer(r"\$[{\[]", text):
        best = match.start()
    return best


def _closing(text: str, open_at: int, opener: str) -> int:
    closer = "}" if opener == "{" else "]"
    depth = 0
    for index in range(open_at, len(text)):
        if text[index] == opener:
            depth += 1
        elif text[index] == closer:
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced {opener!r} in {text!r}")


def _variable(inner: str, lookup: Lookup) -> str:
    match = re.fullmatch(r"(.*?)(?::(-?\d+)(?::(-?\d+))?)?", inner)
    assert match is not None
    name = match.group(1)
    value = lookup(name)
    if match.group(2) is None:
        return value
    offset = int(match.group(2))
    length = int(match.group(3)) if match.group(3) is not None else None
    value = value[offset:]
    if length is not None:
        value = value[:length]
    return value


_TOKEN = re.compile(r'\s*("(?:[^"]*)"|[^\s()&|=!<>]+|!=|<=|>=|[()&|=<>!])')


def _expression(text: str) -> str:
    """`$[...]`: comparisons (=, !=, <, >, <=, >=), & and | — what the lab dialplans use."""
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    position = 0

    def atom() -> str:
        nonlocal position
        token = tokens[position] if position < len(tokens) else ""
        position += 1
        if token == "(":
            value = disjunction()
            position += 1  # ')'
            return value
        return token.strip('"')

    def comparison() -> str:
        nonlocal position
        left = atom()
        while position < len(tokens) and tokens[position] in ("=", "!=", "<", ">", "<=", ">="):
            op = tokens[position]
            position += 1
            left = "1" if _compare(left, atom(), op) else "0"
        return left

    def conjunction() -> str:
        nonlocal position
        left = comparison()
        while position < len(tokens) and tokens[position] == "&":
            position += 1
            right = comparison()
            left = right if _truthy(left) and _truthy(right) else "0"
        return left

    def disjunction() -> str:
        nonlocal position
        left = conjunction()
        while position < len(tokens) and tokens[position] == "|":
            position += 1
            right = conjunction()
            left = left if _truthy(left) else right
        return left

    return disjunction() if tokens else ""


def _truthy(value: str) -> bool:
    return value not in ("", "0")


def _compare(left: str, right: str, op: str) -> bool:
    try:
        a: float | str = float(left)
        b: float | str = float(right)
    except ValueError:
        a, b = left, right
    return {
        "=": a == b,
        "!=": a != b,
        "<": a < b,  # type: ignore[operator]
        ">": a > b,  # type: ignore[operator]
        "<=": a <= b,  # type: ignore[operator]
        ">=": a >= b,  # type: ignore[operator]
    }[op]


def split_args(data: str) -> list[str]:
    """Split application arguments at top-level commas (not inside parentheses or quotes)."""
    args: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for char in data:
        if char == '"':
            quoted = not quoted
        elif char == "(" and not quoted:
            depth += 1
        elif char == ")" and not quoted:
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            args.append("".join(current))
            current = []
        else:
            current.append(char)
    args.append("".join(current))
    return args
