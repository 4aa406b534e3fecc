"""The language layer against real Asterisk: every dialplan step a trace shows, re-derived.

Asterisk publishes a `Newexten` event for each dialplan step a channel runs, with Context,
Exten, Priority, the Application and its AppData AFTER substitution. For every such event in
the recorded traces, the lab dialplan loaded here must name the same application at that
place, and `substitute()` of its raw arguments — with the channel's variables taken from the
trace's `VarSet` events, and CALLERID(num) from the event itself — must give the same
AppData byte for byte. That covers pattern matching, priorities/labels, `${EXTEN:5}`,
`${CUT(...)}` and the `$[...]` of trace 11's GotoIf.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from telephony.pbxsim.conf import PbxConfig, load_pbx_config, substitute
from tests.traces import LAB_CONFIG, read_trace, trace_files

# Legs that are not running dialplan steps: a Local ;1 half placed by Originate/Queue and the
# outgoing IAX2 leg of Dial() show these placeholder applications.
PLACEHOLDER_APPS = {"AppDial", "AppDial2", "AppQueue"}
# Traces 01-08 were recorded before the lab gave Queue() its member gosub (trace 09 added it,
# as it added LINKAGE_TICKET to channelvars): the one line that differs from lab-config today.
OLDER_LINES = {("inbound", "12345", 3): ("q12345,tT,,,,,onekey-arm", "q12345,tT")}
OLDER_TRACES = ("01", "02", "03", "04", "05", "06", "07", "08")
# Channel functions a trace cannot tell us the value of (they need the IAX2 peer's state).
UNKNOWABLE = {"CHANNEL(peername)", "CHANNEL(peerip)", "IAXVAR(LINKAGE_TICKET)"}


def events(path: Path) -> Iterator[dict[str, str]]:
    for record in read_trace(path):
        if record.direction != "S->C":
            continue
        for block in record.data.decode("utf-8").split("\r\n\r\n"):
            headers: dict[str, str] = {}
            for line in block.split("\r\n"):
                key, sep, value = line.partition(": ")
                if sep:
                    headers.setdefault(key, value)
                elif line.endswith(":"):
                    headers.setdefault(line[:-1], "")
            if "Event" in headers:
                yield headers


def substitute_as_traced(
    raw: str, event: dict[str, str], channel_vars: dict[str, str], config: PbxConfig
) -> tuple[str, list[str]]:
    """`raw` substituted with what the trace knows of the channel; also the unknowable calls."""
    builtins = {"EXTEN": event["Exten"], "CONTEXT": event["Context"], "CHANNEL": event["Channel"]}
    unknown: list[str] = []

    def resolve(name: str) -> str | None:
        found = builtins.get(name, channel_vars.get(name))
        return found if found is not None else config.dialplan.globals.get(name)

    def call(name: str, args: str) -> str:
        if (name, args) == ("CALLERID", "num"):
            return event["CallerIDNum"]
        unknown.append(f"{name}({args})")
        return ""

    return substitute(raw, resolve, call), unknown


@dataclass
class Tally:
    matched: int = 0
    skipped: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)


def replay(path: Path, config: PbxConfig) -> Tally:
    tally = Tally()
    variables: dict[str, dict[str, str]] = defaultdict(dict)
    last_app: dict[str, str] = {}
    for event in events(path):
        channel = event.get("Channel", "")
        if event["Event"] == "VarSet":
            variables[channel][event["Variable"].lstrip("_")] = event["Value"]
            continue
        if event["Event"] != "Newexten":
            continue
        app, previous = event["Application"], last_app.get(channel)
        last_app[channel] = app
        context, exten, number = event["Context"], event["Exten"], int(event["Priority"])
        where = f"{path.name} {context},{exten},{number} {app}({event['AppData']})"
        if app in PLACEHOLDER_APPS or number == 0:
            continue  # not a step; priority 0 is a goto in flight (the next step is n=1)
        extension = config.dialplan.find(context, exten, number)
        if extension is None:
            # Return publishes the frame it returns to (the member's Queue gosub caller).
            assert app == "Return", f"no dialplan step for {where}"
            tally.skipped.append(where)
            continue
        step = extension.priority(number)
        assert step is not None
        if step.app != app:
            # A Redirect publishes the new place before its first step runs, still naming
            # the application the channel was in.
            assert app == previous, f"{where}: the dialplan runs {step.app} there"
            tally.skipped.append(where)
            continue
        expected = event["AppData"]
        raw = step.args
        older = OLDER_LINES.get((context, exten, number))
        if older is not None and path.name.startswith(OLDER_TRACES):
            assert raw == older[0]
            raw = older[1]
        value, unknown = substitute_as_traced(raw, event, variables[channel], config)
        if unknown:
            assert set(unknown) <= UNKNOWABLE, where
            tally.skipped.append(where)
        elif value == expected:
            tally.matched += 1
        else:
            tally.mismatched.append(f"{where}: substitute gave {value!r}")
    return tally


@pytest.fixture(scope="module")
def configs() -> dict[str, PbxConfig]:
    return {
        "pbx-1": load_pbx_config(LAB_CONFIG / "pbx-1"),
        "pbx-2": load_pbx_config(LAB_CONFIG / "pbx-2"),
    }


AMI_TRACES = trace_files(".ami.txt")


@pytest.mark.parametrize("path", AMI_TRACES, ids=lambda p: p.name.split(".")[0])
def test_every_traced_step_is_the_lab_dialplan_substituted(
    path: Path, configs: dict[str, PbxConfig]
) -> None:
    config = configs["pbx-2" if ".lab2." in path.name else "pbx-1"]
    tally = replay(path, config)
    assert tally.mismatched == []
    # never more skipped than matched: the skips are the few documented exceptions
    assert len(tally.skipped) <= max(tally.matched, 4), tally.skipped


def test_the_traces_cover_the_language(configs: dict[str, PbxConfig]) -> None:
    total = Tally()
    for path in AMI_TRACES:
        tally = replay(path, configs["pbx-2" if ".lab2." in path.name else "pbx-1"])
        total.matched += tally.matched
        total.skipped += tally.skipped
    assert len(AMI_TRACES) >= 20
    assert total.matched >= 290, total.matched  # 300 steps as of the recorded traces
    trace_11 = replay(LAB_CONFIG.parent / "11_queue_withdraw.ami.txt", configs["pbx-1"])
    assert trace_11.matched >= 20 and not trace_11.skipped
