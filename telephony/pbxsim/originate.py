"""The Originate action: dial a Local channel, then run an application or dialplan on `;1`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telephony.pbxsim.amiwire import Headers
from telephony.pbxsim.applications import APPLICATIONS, run_dialplan
from telephony.pbxsim.calls import LocalPair, finish, parse_local, run_until_hangup
from telephony.pbxsim.channels import CAUSE_NO_ANSWER, Channel

if TYPE_CHECKING:
    from telephony.pbxsim.pbx import EmulatedPBX

# OriginateResponse Reason codes (AST_CONTROL_*): 0 failed, 1 hung up while dialling,
# 3 no answer, 4 answered, 5 busy.
REASON_FAILED, REASON_HANGUP, REASON_NO_ANSWER, REASON_ANSWERED, REASON_BUSY = 0, 1, 3, 4, 5


@dataclass
class OriginateRequest:
    channel: str
    application: str | None = None
    data: str = ""
    context: str = ""
    exten: str = ""
    priority: int = 1
    timeout_ms: int = 30000
    caller_id: tuple[str, str] | None = None
    variables: list[tuple[str, str]] = field(default_factory=list)
    channel_ids: tuple[str | None, str | None] = (None, None)
    action_id: str | None = None


@dataclass
class OriginateResult:
    reason: int
    channel: Channel | None


async def place_call(pbx: EmulatedPBX, request: OriginateRequest) -> OriginateResult:
    target = parse_local(request.channel.split("/", 1)[1])
    pair = LocalPair(pbx, target, ids=request.channel_ids)
    one, two = pair.one, pair.two
    one.application, one.app_data = "AppDial2", "(Outgoing Line)"
    one.emit(
        "Newexten",
        "dialplan",
        [("Extension", target.exten), ("Application", "AppDial2"), ("AppData", "(Outgoing Line)")],
    )
    # Originate's variables land on ;1 in reverse order, then on ;2 in order (trace 02).
    for key, value in reversed(request.variables):
        one.set_variable(key, value)
    if request.caller_id is not None:
        num, name = request.caller_id
        one.set_caller_id(num, name)
        one.set_connected_line(num, name)
    # ;2 gets them while its snapshot is staged: the VarSets show the values from before.
    staged = dict(two.variables)
    for key, value in request.variables:
        two.set_variable(key, value, snapshot=staged)
    if request.caller_id is not None:
        num, name = request.caller_id
        two.connected_num, two.connected_name = num, name
        two.set_caller_id(num, name)
        two.set_connected_line(num, name)
    if not pbx.dialplan.exists(target.context, target.exten):
        # Asterisk drops both halves at once, without a hangup request, and the device
        # becomes INVALID.
        for half in (two, one):
            half.gone = True
            half.emit("Hangup", "call", [("Cause", "0"), ("Cause-txt", "Unknown")])
            pbx.remove_channel(half)
        pair.set_device_state("INVALID")
        return OriginateResult(REASON_FAILED, None)
    pbx.emit("LocalBridge", "call", pair.local_bridge_headers())
    pbx.emit("DialBegin", "call", [*one.headers("Dest"), ("DialString", target.dial_string)])
    pbx.spawn(run_until_hangup(two, lambda: run_dialplan(two)))
    outcome = await _dial_outcome(pair, request.timeout_ms / 1000 / pbx.clock.time_scale)
    if outcome == "TIMEOUT":
        one.cause = CAUSE_NO_ANSWER
        finish(one)
        return OriginateResult(REASON_NO_ANSWER, None)
    if outcome == "HANGUP":
        # ;1 hung up (AMI Hangup) while ;2 still ran its dialplan: the pair goes together
        # (__ast_request_and_dial reads no frame and reports AST_CONTROL_HANGUP).
        finish(one)
        return OriginateResult(REASON_HANGUP, None)
    if outcome != "ANSWER":
        finish(one)
        return OriginateResult(REASON_BUSY, None)
    return OriginateResult(REASON_ANSWERED, one)


async def _dial_outcome(pair: LocalPair, seconds: float) -> str:
    """ANSWER/BUSY from the pair, TIMEOUT, or HANGUP when ;1 is hung up while dialling."""
    hung_up: asyncio.Future[str] = asyncio.ensure_future(_ended(pair.one))
    try:
        done, _ = await asyncio.wait(
            [pair.outcome, hung_up], timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        hung_up.cancel()
    if pair.outcome in done:
        return pair.outcome.result()
    return "HANGUP" if done else "TIMEOUT"


async def _ended(channel: Channel) -> str:
    await channel.ended.wait()
    return "HANGUP"


def start_on_answer(pbx: EmulatedPBX, request: OriginateRequest, one: Channel) -> None:
    """What the answered `;1` does: the application, or the dialplan at context/exten."""
    if request.application is not None:
        app = APPLICATIONS.get(request.application.lower())

        async def body() -> None:
            if app is not None:
                one.application, one.app_data = request.application or "", request.data
                await app(one, request.data)
            if one.redirect_to is not None:
                await run_dialplan(one)

        pbx.spawn(run_until_hangup(one, body))
        return
    one.context, one.exten, one.priority = request.context, request.exten, request.priority
    pbx.spawn(run_until_hangup(one, lambda: run_dialplan(one)))


def response_event(request: OriginateRequest, result: OriginateResult) -> Headers:
    headers: Headers = []
    if request.action_id is not None:
        headers.append(("ActionID", request.action_id))
    one = result.channel
    headers += [
        ("Response", "Success" if one is not None else "Failure"),
        ("Channel", one.name if one is not None else request.channel),
    ]
    if request.application is not None:
        headers += [("Application", request.application), ("Data", request.data)]
    else:
        headers += [("Context", request.context), ("Exten", request.exten)]
    headers.append(("Reason", str(result.reason)))
    if one is None:
        headers += [
            ("Uniqueid", "<unknown>"),
            ("CallerIDNum", "<unknown>"),
            ("CallerIDName", "<unknown>"),
        ]
        return headers
    headers += [
        ("Uniqueid", one.uniqueid),
        ("CallerIDNum", one.cid_num or "<unknown>"),
        ("CallerIDName", one.cid_name or "<unknown>"),
    ]
    for var in one.pbx.config.channelvars:
        headers.append((f"ChanVariable({one.name})", f"{var}={one.variables.get(var, '')}"))
    return headers
