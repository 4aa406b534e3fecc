"""Call-takers' phones for the emulated PBXs.

The shipped `queues.conf` files name each seat as a `PJSIP/<endpoint>` member, as a real PBX
has them. The emulator does not ring PJSIP devices yet (docs/pbxsim.md, "Not emulated yet"):
a caller offered to one would be dropped. Until it does, the demo runs a copy of each config
folder in which every `PJSIP/<seat>` member becomes `Local/<seat>@hb-demo-phones/n`, and
appends a `[hb-demo-phones]` context where each seat rings briefly, answers and stays up until
the caller's side ends the call. Everything else (dialplan, features, manager users, trunks,
conference menus) is the administrator's file, byte for byte.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

PHONES_CONTEXT = "hb-demo-phones"
# `member => PJSIP/<seat>,<penalty>,<name>`: only the interface is replaced.
_PJSIP_MEMBER = re.compile(r"^(\s*member\s*=>?\s*)PJSIP/([A-Za-z0-9_.\-]+)", re.MULTILINE)
# Emulated seconds a phone rings before the call-taker picks up.
RING_SECONDS = 2


class DemoConfigError(ValueError):
    """A PBX config folder the demo cannot prepare; the message names the folder or file."""


def seats_in(queues_conf: str) -> list[str]:
    """The PJSIP seat names of a queues.conf, each once (a seat may serve several queues,
    e.g. its own centre's and an aid queue), in file order."""
    return list(dict.fromkeys(match.group(2) for match in _PJSIP_MEMBER.finditer(queues_conf)))


def phones_context(seats: list[str]) -> str:
    """Dialplan where each seat answers after RING_SECONDS and waits for the caller to end."""
    lines = [
        "",
        "; Added by hotline-bridge demo: emulated call-takers' phones (bridge/demo/phones.py).",
        f"[{PHONES_CONTEXT}]",
    ]
    lines += [f"exten => {seat},1,Goto({PHONES_CONTEXT},answer,1)" for seat in seats]
    lines += [
        "exten => answer,1,Ringing()",
        f" same => n,Wait({RING_SECONDS})",
        " same => n,Answer()",
        " same => n,Wait(86400)",
        " same => n,Hangup()",
        "",
    ]
    return "\n".join(lines)


def prepare_pbx_dir(source: Path, target: Path) -> list[str]:
    """Copy `source` to `target` with PJSIP seats turned into emulated phones; the seats."""
    for name in ("extensions.conf", "queues.conf", "manager.conf"):
        if not (source / name).is_file():
            raise DemoConfigError(f"{source}: no {name} (is this an Asterisk config folder?)")
    shutil.copytree(source, target)
    queues_path = target / "queues.conf"
    queues_text = queues_path.read_text(encoding="utf-8")
    seats = seats_in(queues_text)
    if not seats:
        raise DemoConfigError(f"{source / 'queues.conf'}: no PJSIP/ member seats to emulate")
    queues_path.write_text(
        _PJSIP_MEMBER.sub(rf"\1Local/\2@{PHONES_CONTEXT}/n", queues_text), encoding="utf-8"
    )
    dialplan_path = target / "extensions.conf"
    dialplan = dialplan_path.read_text(encoding="utf-8")
    dialplan_path.write_text(dialplan + phones_context(seats), encoding="utf-8")
    return seats
