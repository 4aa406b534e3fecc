"""Load-time checks of a dialplan against the other files, so a dry run finds problems early.

Text that holds `${...}` or `$[...]` is known only at run time and is not checked beyond the
function names it calls. Static text is checked: Goto/GotoIf/Gosub targets exist (a
label in its extension), Queue() names a queue of queues.conf with supported options and an
existing member-gosub context, Dial() goes over an IAX2 peer of iax.conf, ConfBridge() names
existing profiles and menu, AGI() is a FastAGI `agi://` URL, UserEvent() headers are
`Header: value`. An unsupported construct (an option, technology or AGI kind the emulator
does not run) is refused with ConfigError; a mistake Asterisk itself loads — a reference to
something missing, malformed arguments — is returned as a warning with file:line, since only
the call that reaches it fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .applications import SUPPORTED_QUEUE_OPTIONS
from .arguments import (
    ArgumentError,
    parse_confbridge_args,
    parse_dial_args,
    parse_gosub,
    parse_goto_target,
    parse_queue_args,
    parse_set,
    split_app_args,
)
from .dialplan import Priority
from .errors import ConfigError, Where
from .functions import SUPPORTED_FUNCTIONS, WRITABLE_FUNCTIONS
from .substitution import find_expression_calls, find_function_names

if TYPE_CHECKING:
    from .pbx import PbxConfig

Check = Callable[[Priority, "PbxConfig", list[str]], None]


def _dynamic(text: str) -> bool:
    return "$" in text


def _split_top_level(text: str, separator: str) -> tuple[str, str | None]:
    """Split at the first `separator` outside `${...}`/`$[...]`; None when there is none."""
    depth = 0
    for i, char in enumerate(text):
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth = max(depth - 1, 0)
        elif char == separator and depth == 0:
            return text[:i], text[i + 1 :]
    return text, None


def _fail(priority: Priority, message: str) -> ConfigError:
    """An unsupported construct: refused at load."""
    return ConfigError(priority.where, f"{priority.app}({priority.args}): {message}")


def _dangling(priority: Priority, message: str) -> str:
    """A mistake Asterisk loads and fails on at run time: reported as a warning."""
    return f"{priority.where}: {priority.app}({priority.args}): {message}"


def _check_target(text: str, priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    if _dynamic(text):
        return
    try:
        target = parse_goto_target(text, priority.context, priority.exten)
    except ArgumentError as error:
        warnings.append(_dangling(priority, str(error)))
        return
    if target.relative:
        return
    if target.context not in config.dialplan.contexts:
        warnings.append(_dangling(priority, f"no context [{target.context}] in extensions.conf"))
    elif config.dialplan.locate(target) is None:
        warnings.append(_dangling(priority, f"target {target} does not exist"))


def _check_goto(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    _check_target(priority.args, priority, config, warnings)


def _check_gotoif(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    _, branches = _split_top_level(priority.args, "?")
    if branches is None:
        warnings.append(_dangling(priority, "no '?' after the condition"))
        return
    when_true, when_false = _split_top_level(branches, ":")
    for branch in (when_true, when_false or ""):
        if branch:
            _check_target(branch, priority, config, warnings)


def _check_gosub(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    if _dynamic(priority.args):
        return
    try:
        target, _ = parse_gosub(priority.args, priority.context, priority.exten)
    except ArgumentError as error:
        warnings.append(_dangling(priority, str(error)))
        return
    _check_target(str(target), priority, config, warnings)


def _check_set(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    name, equals, _ = priority.args.partition("=")
    if not equals or not name:
        warnings.append(_dangling(priority, "must be Set(name=value); Asterisk sets nothing"))
        return
    if _dynamic(name):
        return
    try:
        assignment = parse_set(priority.args)
    except ArgumentError as error:
        warnings.append(_dangling(priority, str(error)))
        return
    if assignment.function is not None and assignment.function not in WRITABLE_FUNCTIONS:
        raise _fail(priority, f"writing the function {assignment.function}() is not supported")


def _check_queue(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    try:
        call = parse_queue_args(priority.args)
    except ArgumentError as error:
        warnings.append(_dangling(priority, str(error)))
        return
    if not _dynamic(call.queue) and call.queue not in config.queues.queues:
        warnings.append(_dangling(priority, f"no queue [{call.queue}] in queues.conf"))
    if not _dynamic(call.options):
        unknown = set(call.options) - SUPPORTED_QUEUE_OPTIONS
        if unknown:
            raise _fail(priority, f"Queue option(s) {''.join(sorted(unknown))} not supported")
    for name, value in (("URL", call.url), ("announceoverride", call.announce)):
        if value.strip():
            raise _fail(priority, f"the Queue {name} argument is not supported")
    if call.agi.strip() or call.rule.strip() or call.position.strip():
        raise _fail(priority, "Queue AGI, rule and position arguments are not supported")
    gosub = call.gosub_context
    if gosub and not _dynamic(gosub):
        if config.dialplan.find(gosub, "s", 1) is None:
            warnings.append(_dangling(priority, f"member gosub context [{gosub}] has no s,1"))


# Dial options the trunk runs (trunk.py): `g` goes on in the dialplan after the far end hangs up.
DIAL_OPTIONS = frozenset("g")


def _check_dial(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    try:
        call = parse_dial_args(priority.args)
    except ArgumentError as error:
        warnings.append(_dangling(priority, str(error)))
        return
    if len(call.targets) > 1:
        # The trunk dials one destination (trunk.py); ringing several at once is not run.
        raise _fail(priority, "Dial to several destinations at once is not supported")
    for tech, resource in call.targets:
        if _dynamic(tech):
            continue
        if tech != "IAX2":
            raise _fail(priority, f"Dial over {tech} is not supported (only the IAX2 trunk)")
        peer = resource.split("/")[0]
        if not _dynamic(peer) and peer not in config.iax.peers:
            warnings.append(_dangling(priority, f"no IAX2 peer [{peer}] in iax.conf"))
    unsupported = set(call.options) - DIAL_OPTIONS
    if unsupported and not _dynamic(call.options):
        raise _fail(priority, f"Dial options {''.join(sorted(unsupported))!r} are not supported")


def _check_confbridge(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    try:
        call = parse_confbridge_args(priority.args)
    except ArgumentError as error:
        warnings.append(_dangling(priority, str(error)))
        return
    profiles = (
        ("bridge profile", call.bridge_profile, config.confbridge.bridges),
        ("user profile", call.user_profile, config.confbridge.users),
        ("menu", call.menu, config.confbridge.menus),
    )
    for what, name, known in profiles:
        if name and not _dynamic(name) and name not in known:
            warnings.append(_dangling(priority, f"no {what} [{name}] in confbridge.conf"))


def _check_agi(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    args = split_app_args(priority.args)
    if not args or not args[0].strip().startswith("agi://"):
        raise _fail(priority, "only FastAGI (agi://host[:port]/script) is supported")


def _check_user_event(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    args = split_app_args(priority.args)
    if not args or not args[0].strip():
        warnings.append(_dangling(priority, "UserEvent() needs an event name"))
        return
    for part in args[1:]:
        if ":" not in part and not _dynamic(part):
            message = f"{part!r} is not 'Header: value'; app_userevent skips it"
            warnings.append(_dangling(priority, message))


def _check_wait(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    if _dynamic(priority.args):
        return
    try:
        float(priority.args)
    except ValueError:
        warnings.append(_dangling(priority, "expected a number of seconds"))


def _check_channel_redirect(priority: Priority, config: PbxConfig, warnings: list[str]) -> None:
    if len(split_app_args(priority.args)) < 2:
        message = "expected ChannelRedirect(channel,[[context,]exten,]priority)"
        warnings.append(_dangling(priority, message))


_CHECKS: dict[str, Check] = {
    "Goto": _check_goto,
    "GotoIf": _check_gotoif,
    "Gosub": _check_gosub,
    "Set": _check_set,
    "Queue": _check_queue,
    "Dial": _check_dial,
    "ConfBridge": _check_confbridge,
    "AGI": _check_agi,
    "UserEvent": _check_user_event,
    "Wait": _check_wait,
    "ChannelRedirect": _check_channel_redirect,
}


def _check_functions(text: str, where: Where) -> None:
    for name in find_function_names(text):
        if name not in SUPPORTED_FUNCTIONS:
            raise ConfigError(where, f"dialplan function {name}() is not supported")
    for name in find_expression_calls(text):
        raise ConfigError(where, f"function call {name}() inside $[...] is not supported")


def _check_context_exists(
    config: PbxConfig, context: str, where: Where, what: str, warnings: list[str]
) -> None:
    if context not in config.dialplan.contexts:
        warnings.append(f"{where}: {what}: no context [{context}] in extensions.conf")


def check_dialplan(config: PbxConfig) -> list[str]:
    """Raise ConfigError (file:line) for the first construct the emulator cannot run.

    Returns warnings (file:line) for references to what does not exist: Asterisk loads those
    too (the lab's pbx-2 features.conf names a context its dialplan lacks) and fails the call
    that reaches them, so they are reported, not refused.
    """
    warnings: list[str] = []
    for priority in config.dialplan.all_priorities():
        _check_functions(priority.args, priority.where)
        check = _CHECKS.get(priority.app)
        if check is not None:
            check(priority, config, warnings)
    for queue in config.queues.queues.values():
        if queue.context is not None:
            what = f"queue [{queue.name}] context"
            _check_context_exists(config, queue.context, queue.where, what, warnings)
    for endpoint in config.iax.users.values():
        what = f"IAX2 user [{endpoint.name}]"
        _check_context_exists(config, endpoint.context, endpoint.where, what, warnings)
    for feature in config.features.applicationmap.values():
        _check_functions(feature.args, feature.where)
        as_priority = Priority("", "s", 1, None, feature.app, feature.args, feature.where)
        check = _CHECKS.get(feature.app)
        if check is not None:
            check(as_priority, config, warnings)
    for menu in config.confbridge.menus.values():
        for actions in menu.keys.values():
            for action in actions:
                if action.action == "dialplan_exec":
                    target = f"{action.context},{action.exten},{action.priority}"
                    where = action.where or menu.where
                    assert where is not None  # only a configured menu has dialplan_exec
                    as_priority = Priority("", "", 0, None, "dialplan_exec", target, where)
                    _check_target(target, as_priority, config, warnings)
    return warnings
