"""Application arguments: split and read the way each Asterisk application reads them.

Every function here takes the argument text AFTER variable substitution (Asterisk substitutes
the whole `App(...)` text first, then the application parses it).

- `split_app_args(raw)`: Asterisk's `__ast_app_separate_args()` — commas inside `(...)`,
  `[...]` or `"..."` do not split, `"` quotes are removed, `\\x` keeps `x` literally (so
  `\\,` is a comma inside an argument), a trailing comma adds an empty argument.
- `parse_goto_target(text, context, exten)`: `[[context,]exten,]priority` with a number, a
  label, or `+n`/`-n` relative to the current priority (plain `,` split, as Asterisk does).
- `split_gotoif(text)`: `condition?[true][:false]` → (condition, true, false).
- `parse_gosub(text, context, exten)`: `[[context,]exten,]priority[(arg1,...)]`.
- `parse_set(text)`: `[_|__]NAME=value` or `FUNC(args)=value` (value keeps its commas).
- `parse_queue_args`, `parse_agi_args`, `parse_dial_args`, `parse_confbridge_args`,
  `parse_user_event_args`: typed views of those applications' arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class ArgumentError(ValueError):
    """Arguments an application rejects: Asterisk logs a warning, and the application either
    fails (the call hangs up: Goto, Gosub, Queue, Dial...) or does nothing (Set without `=`)."""


def split_app_args(raw: str, delimiter: str = ",", remove_quotes: bool = True) -> list[str]:
    """Split application arguments exactly like Asterisk's `AST_STANDARD_APP_ARGS`."""
    if not raw:
        return []
    if not any(char in raw for char in '([\\"'):
        return raw.split(delimiter)  # nothing that groups or escapes: a plain split is the same
    args: list[str] = []
    current: list[str] = []
    paren = bracket = 0
    quote = False
    ended_on_delimiter = False
    i = 0
    while i < len(raw):
        char = raw[i]
        ended_on_delimiter = False
        if char == "(":
            paren += 1
        elif char == ")" and paren:
            paren -= 1
        elif char == "[":
            bracket += 1
        elif char == "]" and bracket:
            bracket -= 1
        elif char == '"' and delimiter != '"':
            quote = not quote
            if remove_quotes:
                i += 1
                continue
        elif char == "\\":
            # The next character is taken literally; with remove_quotes the backslash goes.
            if not remove_quotes:
                current.append(char)
            i += 1
            if i < len(raw):
                current.append(raw[i])
            i += 1
            continue
        elif char == delimiter and not (paren or bracket or quote):
            args.append("".join(current))
            current = []
            ended_on_delimiter = True
            i += 1
            continue
        current.append(char)
        i += 1
    if current or ended_on_delimiter:
        args.append("".join(current))
    return args


@dataclass(frozen=True)
class GotoTarget:
    context: str
    exten: str
    priority: int | None  # an absolute number, or the step for a relative target
    label: str | None = None
    relative: int = 0  # +1 for "+n", -1 for "-n", 0 for an absolute priority or a label

    def __str__(self) -> str:
        where = self.label if self.label is not None else str(self.priority)
        if self.relative:
            where = ("+" if self.relative > 0 else "-") + where
        return f"{self.context},{self.exten},{where}"


def _scan_int(text: str) -> int | None:
    """C's sscanf("%d"): blanks, a sign and digits at the start; the rest is ignored."""
    match = re.match(r"\s*[-+]?\d+", text)
    return int(match.group(0)) if match else None


def parse_goto_target(text: str, context: str, exten: str) -> GotoTarget:
    """`[[context,]exten,]priority` as Asterisk's pbx_parseable_goto() reads it.

    Parts are split at commas and not trimmed; an empty context or exten keeps the current
    one; the priority is a number (read like sscanf %d, so " 2" is 2), `+n`/`-n` relative
    to the current priority, or else a label (looked up in the target extension).
    """
    parts = text.split(",", 2)
    if len(parts) == 1:
        new_context, new_exten, priority = "", "", parts[0]
    elif len(parts) == 2:
        new_context, new_exten, priority = "", parts[0], parts[1]
    else:
        new_context, new_exten, priority = parts
    if not priority:
        raise ArgumentError(f"goto target {text!r} has no priority or label")
    relative = 0
    if priority[0] in "+-":
        relative = 1 if priority[0] == "+" else -1
        priority = priority[1:]
    target_context = new_context or context
    target_exten = new_exten or exten
    number = _scan_int(priority)
    if number is not None:
        return GotoTarget(target_context, target_exten, number, None, relative)
    return GotoTarget(target_context, target_exten, None, priority)  # a label is absolute


def split_gotoif(text: str) -> tuple[str, str, str]:
    """`condition?[true][:false]` split at the first `?` and then the first `:` (untrimmed)."""
    condition, question, branches = text.partition("?")
    if not question:
        raise ArgumentError(f"GotoIf({text}) has no '?' after its condition")
    when_true, _, when_false = branches.partition(":")
    return condition, when_true, when_false


def parse_gosub(text: str, context: str, exten: str) -> tuple[GotoTarget, list[str]]:
    """A Gosub target and its `(arg1,...)` list (they become ARG1... in the subroutine)."""
    location, paren, rest = text.partition("(")
    args: list[str] = []
    if paren:
        close = rest.rfind(")")
        if close < 0:
            raise ArgumentError(f"Gosub({text}): '(' without a closing ')'")
        args = split_app_args(rest[:close])
    return parse_goto_target(location, context, exten), args


@dataclass(frozen=True)
class SetAssignment:
    name: str  # without the `_`/`__` inheritance marker
    value: str
    inheritance: int  # 0: this channel only, 1 (`_X`): one generation, 2 (`__X`): all
    function: str | None = None  # `IAXVAR` for `Set(IAXVAR(LINKAGE_TICKET)=...)`
    function_args: str = ""


def parse_set(text: str) -> SetAssignment:
    """pbx_builtin_setvar(): the name is everything before the first `=`, kept as written."""
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise ArgumentError(f"Set({text}) must be Set(name=value)")
    if name.endswith(")"):
        function, _, args = name[:-1].partition("(")
        return SetAssignment(name, value, 0, function.strip(), args)
    inheritance = 2 if name.startswith("__") else 1 if name.startswith("_") else 0
    bare = name[inheritance:]
    if not bare:
        raise ArgumentError(f"Set({text}): the variable name is empty")
    return SetAssignment(bare, value, inheritance)


def inherited_level(inheritance: int) -> int | None:
    """What a channel created by this one inherits (ast_channel_inherit_variables()).

    `__X` (2) passes on as `__X` to every generation; `_X` (1) arrives as plain `X` (0) and
    goes no further; a plain variable (0) is not inherited (None).
    """
    return {2: 2, 1: 0}.get(inheritance)


def _optional_seconds(text: str, what: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise ArgumentError(f"{what} {text!r} is not a number of seconds") from None


@dataclass(frozen=True)
class QueueCall:
    queue: str
    options: str = ""
    url: str = ""
    announce: str = ""
    timeout: float | None = None
    agi: str = ""
    gosub_context: str = ""  # the member gosub: runs `context,s,1` on the answered member
    gosub_args: tuple[str, ...] = ()
    rule: str = ""
    position: str = ""


def parse_queue_args(text: str) -> QueueCall:
    """`Queue(queuename[,options[,URL[,announceoverride[,timeout[,AGI[,gosub[,rule[,pos]]]]]]]])`."""
    args = split_app_args(text)
    if not args or not args[0].strip():
        raise ArgumentError("Queue() needs a queue name")
    args += [""] * (9 - len(args))
    # app_queue runs the gosub as `context,s,1(args)`; a quoted "ctx,a,b" carries arguments.
    gosub_context, _, gosub_args = args[6].partition(",")
    return QueueCall(
        queue=args[0].strip(),
        options=args[1].strip(),
        url=args[2],
        announce=args[3],
        timeout=_optional_seconds(args[4], "Queue timeout"),
        agi=args[5],
        gosub_context=gosub_context.strip(),
        gosub_args=tuple(split_app_args(gosub_args)),
        rule=args[7],
        position=args[8],
    )


@dataclass(frozen=True)
class AgiCall:
    url: str
    host: str
    port: int
    script: str  # path and query after the host, e.g. "route?district=370811"
    args: tuple[str, ...] = field(default=())


def parse_agi_args(text: str) -> AgiCall:
    """`AGI(agi://host[:port]/script[?query],arg1,...)`: FastAGI only, default port 4573."""
    args = split_app_args(text)
    if not args or not args[0].strip():
        raise ArgumentError("AGI() needs a command")
    url = args[0].strip()
    if not url.startswith("agi://"):
        raise ArgumentError(f"AGI({url}): only FastAGI agi:// URLs are supported")
    hostport, _, script = url[len("agi://") :].partition("/")
    host, colon, port_text = hostport.partition(":")
    if not host:
        raise ArgumentError(f"AGI({url}): no host")
    try:
        port = int(port_text) if colon else 4573
    except ValueError:
        raise ArgumentError(f"AGI({url}): port {port_text!r} is not a number") from None
    return AgiCall(url, host, port, script, tuple(args[1:]))


@dataclass(frozen=True)
class DialCall:
    targets: tuple[tuple[str, str], ...]  # (technology, resource): ("IAX2", "to110/110")
    timeout: float | None
    options: str
    url: str


def parse_dial_args(text: str) -> DialCall:
    """`Dial(Tech/resource[&Tech2/resource2...][,timeout[,options[,URL]]])`."""
    args = split_app_args(text)
    if not args or not args[0].strip():
        raise ArgumentError("Dial() needs a destination")
    args += [""] * (4 - len(args))
    targets: list[tuple[str, str]] = []
    for target in args[0].split("&"):
        tech, slash, resource = target.strip().partition("/")
        if not slash or not tech or not resource:
            raise ArgumentError(f"Dial({text}): {target!r} is not Tech/resource")
        targets.append((tech, resource))
    return DialCall(
        tuple(targets), _optional_seconds(args[1], "Dial timeout"), args[2].strip(), args[3]
    )


@dataclass(frozen=True)
class ConfBridgeCall:
    conference: str
    bridge_profile: str
    user_profile: str
    menu: str


def parse_confbridge_args(text: str) -> ConfBridgeCall:
    """`ConfBridge(conference[,bridge_profile[,user_profile[,menu]]])`.

    Left out, the profiles are `default_bridge` and `default_user` and the menu is
    `default_menu` (app_confbridge's conf_set_menu_to_user() applies it; Asterisk builds an
    empty one when confbridge.conf has none).
    """
    args = split_app_args(text)
    if not args or not args[0].strip():
        raise ArgumentError("ConfBridge() needs a conference name")
    args += [""] * (4 - len(args))
    return ConfBridgeCall(
        conference=args[0].strip(),
        bridge_profile=args[1].strip() or "default_bridge",
        user_profile=args[2].strip() or "default_user",
        menu=args[3].strip() or "default_menu",
    )


def parse_user_event_args(text: str) -> tuple[str, list[tuple[str, str]]]:
    """`UserEvent(name[,Header: value,...])` → (name, [(header, value), ...]).

    As app_userevent: a body part without `:` is skipped, the key is kept as written and the
    value is stripped of blanks.
    """
    args = split_app_args(text)
    if not args or not args[0].strip():
        raise ArgumentError("UserEvent() needs an event name")
    headers: list[tuple[str, str]] = []
    for arg in args[1:]:
        header, colon, value = arg.partition(":")
        if colon:
            headers.append((header, value.strip()))
    return args[0].strip(), headers
