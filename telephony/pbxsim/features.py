"""Feature codes pressed on a bridged channel (features.conf).

- `[applicationmap]`: DTMF on a channel whose DYNAMIC_FEATURES names a feature runs the mapped
  application on that channel (`self`) or its bridge peer (`peer`), while the bridge stays up
  (trace 09).
- `[featuremap]` `atxfer`: an attended transfer (transfers.py, trace 05b). The other built-in
  features (`blindxfer`, `disconnect`) are not emulated: loading a features.conf that maps
  them logs that at its file:line (pbx.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telephony.pbxsim import dtmf
from telephony.pbxsim.channels import Channel, HungUp
from telephony.pbxsim.transfers import start_attended_transfer

if TYPE_CHECKING:
    from telephony.pbxsim.conf import ApplicationFeature


# features.conf featuredigittimeout (ms): how long a half-typed feature code is held.
DIGIT_TIMEOUT_MS = 1000


def feature_digit(channel: Channel, digit: str) -> str:
    """A digit ended on `channel`: a running attended transfer reads it, else it is collected
    against the channel's armed features. Returns the digits the bridge passes on: `digit`
    when it starts no feature code, the collected digits when they stop matching any
    (ast_bridge_channel_feature_digit), nothing while collecting (until featuredigittimeout)
    or once a feature ran."""
    if channel.attended_transfer is not None:
        channel.attended_transfer.take_digit(digit)
        return ""
    if channel.bridge is None:
        return ""
    armed = _armed(channel)
    atxfer = channel.pbx.features.featuremap.get("atxfer", "")
    codes = [f.dtmf for f in armed] + ([atxfer] if atxfer else [])
    typed = channel.feature_digits + digit
    _stop_digit_timer(channel)
    if not any(code.startswith(typed) for code in codes):
        channel.feature_digits = ""
        return typed
    matched = [f for f in armed if f.dtmf == typed]
    if matched:
        channel.feature_digits = ""
        _activate(channel, matched[0])
    elif typed == atxfer:
        channel.feature_digits = ""
        start_attended_transfer(channel)
    else:
        channel.feature_digits = typed
        timeout = channel.pbx.features.timeouts.get("featuredigittimeout", DIGIT_TIMEOUT_MS)
        channel.feature_timer = channel.pbx.clock.call_later(
            timeout / 1000, lambda: _digits_timed_out(channel)
        )
    return ""


def _stop_digit_timer(channel: Channel) -> None:
    if channel.feature_timer is not None:
        channel.feature_timer.cancel()
        channel.feature_timer = None


def _digits_timed_out(channel: Channel) -> None:
    """featuredigittimeout passed with a feature code half typed: the collected digits go
    to the bridged peer after all (ast_bridge_channel_feature_digit with no digit)."""
    channel.feature_timer = None
    typed, channel.feature_digits = channel.feature_digits, ""
    if typed and not channel.gone:
        dtmf.stream_to_peer(channel, typed)


def _armed(channel: Channel) -> list[ApplicationFeature]:
    applicationmap = channel.pbx.features.applicationmap
    names = channel.variables.get("DYNAMIC_FEATURES", "").split("#")
    return [applicationmap[name] for name in names if name in applicationmap]


def _activate(channel: Channel, feature: ApplicationFeature) -> None:
    target = channel
    if feature.activate_on == "peer" and channel.bridge is not None:
        target = channel.bridge.peer_of(channel) or channel
    target.set_variable("DYNAMIC_FEATURENAME", feature.name)
    target.set_variable("DYNAMIC_WHO_ACTIVATED", channel.name)
    target.feature_task = target.pbx.spawn(_run(target, feature))


async def _run(channel: Channel, feature: ApplicationFeature) -> None:
    from telephony.pbxsim.applications import APPLICATIONS

    app = APPLICATIONS.get(feature.app.lower())
    if app is None:
        raise HungUp(f"{feature.where}: feature application {feature.app} is not emulated")
    try:
        await app(channel, feature.args)
    except HungUp:
        pass
    finally:
        channel.feature_task = None
        channel.feature_done.set()
