"""The dialplan runner and the applications it executes on a channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from telephony.pbxsim.channels import (
    CAUSE_BUSY,
    CAUSE_NORMAL,
    STATE_BUSY,
    STATE_UP,
    Channel,
    HungUp,
)
from telephony.pbxsim.conf import substitute
from telephony.pbxsim.dialplan import split_args

log = logging.getLogger(__name__)
Application = Callable[[Channel, str], Awaitable[None]]


class Jump(Exception):
    """An application moved the channel (Goto): do not advance the priority."""


def lookup(channel: Channel | None, name: str) -> str:
    """A variable or function value as `${name}` would expand on this channel (without a
    channel: a global variable, or a function of none)."""
    if "(" in name and name.endswith(")"):
        return expand(channel, "${" + name + "}")
    return _variable(channel, name) or ""


def _variable(channel: Channel | None, name: str) -> str | None:
    if channel is None:
        return None
    special = {
        "EXTEN": channel.exten,
        "CONTEXT": channel.context,
        "PRIORITY": str(channel.priority),
        "CHANNEL": channel.name,
        "UNIQUEID": channel.uniqueid,
    }
    if name in special:
        return special[name]
    if name in channel.variables:
        return channel.variables[name]
    return channel.pbx.global_vars.get(name)


def _channel_function(channel: Channel | None, function: str, arg_text: str) -> str:
    """The channel functions (conf.CHANNEL_FUNCTIONS) of an already substituted call; the pure
    ones (CUT, LEN, IF, ...) are computed by conf.substitute itself."""
    args = split_args(arg_text)
    function = function.upper()
    if channel is None:
        return ""
    if function == "CALLERID":
        return {
            "num": channel.cid_num,
            "name": channel.cid_name,
            "all": f'"{channel.cid_name}" <{channel.cid_num}>',
        }.get(args[0].strip().lower(), "")
    if function == "CHANNEL":
        return {
            "name": channel.name,
            "peername": channel.iax_peername,
            "peerip": channel.iax_peerip,
        }.get(args[0].strip(), "")
    if function == "IAXVAR":
        return channel.iaxvars.get(args[0].strip(), "")
    return ""


def expand(channel: Channel | None, text: str) -> str:
    """`${...}` and `$[...]` in `text`, by the same evaluator the load-time checks use."""

    def warn(message: str) -> None:
        where = channel.name if channel is not None else "(no channel)"
        log.warning("%s: %s", where, message)

    return substitute(
        text,
        lambda name: _variable(channel, name),
        lambda function, args: _channel_function(channel, function, args),
        warn,
    )


async def wait_for(
    channel: Channel, seconds: float | None, until: Callable[[], bool] | None = None
) -> None:
    """Wait emulated seconds, or until the channel is hung up (raises HungUp) or redirected,
    or `until()` holds. Other wake-ups (a digit arriving) do not end the wait."""
    loop = asyncio.get_running_loop()
    deadline = None if seconds is None else loop.time() + seconds / channel.pbx.clock.time_scale
    while True:
        channel.check()
        if channel.redirect_to is not None or (until is not None and until()):
            return
        channel.wakeup.clear()
        timeout = None if deadline is None else deadline - loop.time()
        if timeout is not None and timeout <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(channel.wakeup.wait(), timeout)


class Returned(Exception):
    """Return() ended the innermost Gosub."""

    def __init__(self, value: str = "") -> None:
        super().__init__(value)
        self.value = value


async def run_gosub(channel: Channel, target: str) -> None:
    """Run `context[,exten[,priority]][(args)]` as a subroutine and come back, publishing
    what app_stack publishes (trace 14): a Newexten of the calling application at the
    target's priority - 1, LOCAL(ARGC), the subroutine, then on Return a Newexten of Return
    back where the channel was, and ARGC / GOSUB_RETVAL cleared or set."""
    location, _, arg_text = target.partition("(")
    args = split_args(arg_text[:-1]) if arg_text.endswith(")") else []
    parts = [p.strip() for p in split_args(location)]
    context = parts[0]
    exten = parts[1] if len(parts) > 1 and parts[1] else "s"
    priority = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
    saved = (channel.context, channel.exten, channel.priority)
    calling_app, calling_data = channel.application, channel.app_data
    channel.context, channel.exten, channel.priority = context, exten, priority - 1
    channel.emit(
        "Newexten",
        "dialplan",
        [("Extension", exten), ("Application", calling_app), ("AppData", calling_data)],
    )
    channel.set_variable("LOCAL(ARGC)", str(len(args)))
    for number, arg in enumerate(args, start=1):
        channel.set_variable(f"LOCAL(ARG{number})", arg)
    channel.priority = priority
    result = ""
    try:
        await run_dialplan(channel, until_return=True)
    except Returned as returned:
        result = returned.value
    channel.context, channel.exten, channel.priority = saved
    channel.application, channel.app_data = "Return", result
    channel.emit(
        "Newexten",
        "dialplan",
        [("Extension", channel.exten), ("Application", "Return"), ("AppData", result)],
    )
    channel.set_variable("ARGC", "")
    for number in range(1, len(args) + 1):
        channel.set_variable(f"ARG{number}", "")
    channel.set_variable("GOSUB_RETVAL", result)
    channel.application, channel.app_data = calling_app, calling_data


async def run_dialplan(channel: Channel, until_return: bool = False) -> None:
    """Execute priorities from the channel's context/exten/priority until one hangs up or
    the extension runs out (which hangs up, as in Asterisk)."""
    pbx = channel.pbx
    if not until_return:
        channel.in_pbx = True
    while True:
        channel.check()
        if channel.redirect_to is not None:
            channel.context, channel.exten, channel.priority = channel.redirect_to
            channel.redirect_to = None
        extension = pbx.dialplan.find(channel.context, channel.exten)
        step = extension.steps.get(channel.priority) if extension else None
        if step is None:
            return
        data = expand(channel, step.data)
        channel.application, channel.app_data = step.app, data
        channel.emit(
            "Newexten",
            "dialplan",
            [("Extension", channel.exten), ("Application", step.app), ("AppData", data)],
        )
        if channel.pending_dtmf_begin is not None:
            digit, channel.pending_dtmf_begin = channel.pending_dtmf_begin, None
            channel.emit("DTMFBegin", "dtmf", [("Digit", digit), ("Direction", "Received")])
        app = APPLICATIONS.get(step.app.lower())
        if app is None:
            raise HungUp(f"{step.where}: application {step.app} is not emulated")
        try:
            await app(channel, data)
        except Jump:
            continue
        # An application that ends because its channel was hung up returns -1: the PBX
        # stops on its priority (trace 05b, Queue after a regex Hangup).
        channel.check()
        if channel.redirect_to is None:
            channel.priority += 1


async def no_op(channel: Channel, data: str) -> None:
    return None


async def set_variable(channel: Channel, data: str) -> None:
    name, _, value = data.partition("=")
    name = name.strip()
    if name.upper().startswith("IAXVAR(") and name.endswith(")"):
        # Carried to the far end of an IAX2 call; not a channel variable (no VarSet).
        channel.iaxvars[name[7:-1]] = value
        return
    channel.set_variable(name, value)


# Answer() on a channel that was not up waits for media before the next priority, at most
# 500 ms (__ast_answer in main/channel.c); a Local channel never sends any, so the next
# priority starts 0.5 s later (traces 09, 10, 14).
ANSWER_MEDIA_WAIT = 0.5


async def answer(channel: Channel, data: str) -> None:
    if channel.state == STATE_UP:
        return
    channel.set_state(STATE_UP)
    if channel.pair is not None and channel is channel.pair.two:
        channel.pair.answered()
    channel.in_answer_wait = True
    try:
        await wait_for(channel, ANSWER_MEDIA_WAIT, until=lambda: not channel.in_answer_wait)
    finally:
        channel.in_answer_wait = False


async def ringing(channel: Channel, data: str) -> None:
    if channel.pair is not None and channel is channel.pair.two:
        channel.pair.ringing()
    channel.far_ringing.set()


async def wait(channel: Channel, data: str) -> None:
    try:
        seconds = float(data or "0")
    except ValueError:
        seconds = 0.0
    await wait_for(channel, seconds)


# app_senddtmf / ast_dtmf_stream: the default gap between digits, the pause a `w` makes, and
# ast_senddigit's tone length when none is given.
SENDDTMF_GAP_MS = 250
SENDDTMF_PAUSE_MS = 500
SENDDTMF_MIN_DURATION_MS = 100
_DTMF_DIGITS = frozenset("0123456789*#ABCDabcd")


async def send_dtmf(channel: Channel, data: str) -> None:
    """SendDTMF(digits[,timeout_ms[,duration_ms[,channel]]]): each digit sent on the channel
    (or the named one) after its tone's duration, `timeout_ms` apart; `w` pauses 500 ms. The
    other end of the channel receives them (dtmf.send)."""
    from telephony.pbxsim import dtmf

    args = [a.strip() for a in split_args(data)] + ["", "", ""]
    digits, gap_text, duration_text, target_name = args[:4]
    gap = int(gap_text) if gap_text.isdigit() and int(gap_text) > 0 else SENDDTMF_GAP_MS
    duration = max(int(duration_text) if duration_text.isdigit() else 0, SENDDTMF_MIN_DURATION_MS)
    target = channel.pbx.find_channel(target_name) if target_name else channel
    if target is None:
        log.warning("SendDTMF(%s): no channel %s", data, target_name)
        return
    for index, digit in enumerate(digits):
        if index:
            await wait_for(channel, gap / 1000)
        if digit in "wW":
            await wait_for(channel, SENDDTMF_PAUSE_MS / 1000)
        elif digit in _DTMF_DIGITS:
            await wait_for(channel, duration / 1000)
            dtmf.send(target, digit.upper(), duration)


async def hangup(channel: Channel, data: str) -> None:
    if data.strip().isdigit():
        channel.cause = int(data)
    elif not channel.cause:
        channel.cause = CAUSE_NORMAL
    # Hangup() soft-hangs the channel up first, which Asterisk publishes (trace 07).
    channel.soft_hangup_pending = True
    raise HungUp(channel.name)


async def busy(channel: Channel, data: str) -> None:
    channel.set_state(STATE_BUSY)
    channel.cause = CAUSE_BUSY
    if channel.pair is not None and channel is channel.pair.two:
        channel.pair.busy()
    seconds = float(data) if data.strip() else None
    await wait_for(channel, seconds)
    raise HungUp(channel.name)


def _goto_target(channel: Channel, target: str) -> tuple[str, str, int]:
    parts = [p.strip() for p in split_args(target)]
    if len(parts) == 1:
        context, exten, priority = channel.context, channel.exten, parts[0]
    elif len(parts) == 2:
        context, (exten, priority) = channel.context, parts
    else:
        context, exten, priority = parts[0], parts[1], parts[2]
    if priority.isdigit():
        return context, exten, int(priority)
    extension = channel.pbx.dialplan.find(context, exten)
    label = extension.find_label(priority) if extension else None
    if label is None:
        raise HungUp(f"Goto target {target!r} does not exist")
    return context, exten, label


async def goto(channel: Channel, data: str) -> None:
    channel.context, channel.exten, channel.priority = _goto_target(channel, data)
    raise Jump


async def goto_if(channel: Channel, data: str) -> None:
    condition, _, branches = data.partition("?")
    when_true, _, when_false = branches.partition(":")
    chosen = when_true if condition.strip() not in ("", "0") else when_false
    if chosen:
        await goto(channel, chosen)


async def return_(channel: Channel, data: str) -> None:
    raise Returned(data)


async def gosub(channel: Channel, data: str) -> None:
    await run_gosub(channel, data)


async def channel_redirect(channel: Channel, data: str) -> None:
    """ChannelRedirect(channel,[[context,]exten,]priority)."""
    from telephony.pbxsim.calls import redirect

    args = [a.strip() for a in split_args(data)]
    target = channel.pbx.find_channel(args[0]) if args else None
    if target is None or len(args) < 2:
        channel.set_variable("CHANNELREDIRECT_STATUS", "NOCHANNEL")
        return
    context, exten, priority = _goto_target(target, ",".join(args[1:]))
    channel.set_variable("CHANNELREDIRECT_STATUS", "SUCCESS")
    redirect(target, context, exten, priority)


async def user_event(channel: Channel, data: str) -> None:
    args = split_args(data)
    headers = [("UserEvent", args[0])]
    for arg in args[1:]:
        key, _, value = arg.partition(":")
        headers.append((key.strip(), value.strip()))
    channel.emit("UserEvent", "user", headers)


APPLICATIONS: dict[str, Application] = {
    "noop": no_op,
    "set": set_variable,
    "answer": answer,
    "ringing": ringing,
    "wait": wait,
    "hangup": hangup,
    "busy": busy,
    "goto": goto,
    "gotoif": goto_if,
    "userevent": user_event,
    "playback": no_op,
    "return": return_,
    "channelredirect": channel_redirect,
    "gosub": gosub,
    "senddtmf": send_dtmf,
}


def _register_late() -> None:
    # Queue() needs the runner's helpers; it registers itself once both modules exist.
    from telephony.pbxsim.agi import agi
    from telephony.pbxsim.conference import confbridge
    from telephony.pbxsim.queue_app import queue

    APPLICATIONS["confbridge"] = confbridge
    from telephony.pbxsim.trunk import dial

    APPLICATIONS["dial"] = dial
    APPLICATIONS["queue"] = queue
    APPLICATIONS["agi"] = agi


_register_late()
