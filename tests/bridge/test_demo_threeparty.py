"""The demo's three-party calls and surge overflow, end to end in a subprocess: agents press
*9, the other hotline's queue is rung into the room, the starting agent presses a decision key
in the room (or leaves it to the tie-break), and the bridge records who accepts; the overflow
controller lends 370883 seats on the emulated 110 PBX. Nothing the demo started outlives it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.bridge.test_demo_run import (
    COMMAND,
    ROOT,
    RUN_LIMIT_S,
    _assert_nothing_left,
    _demo_config,
    _environment,
)

PLATFORMS = {"12345-370800", "110-370800"}


def test_json_run_shows_accepted_conferences_and_overflow_actions(tmp_path: Path) -> None:
    # Seed 2 plans three *9 presses in 16 s at 30x (8 emulated minutes).
    command = [*COMMAND, "--duration", "16", "--time-scale", "30", "--seed", "2", "--json"]
    done = subprocess.run(
        [*command, "--config", str(_demo_config(tmp_path))],
        cwd=ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    conferences = summary["conferences"]
    assert conferences, summary["agent_key_presses"]
    for conference in conferences:
        assert set(conference["platforms"].values()) <= PLATFORMS
        assert conference["ticket"].startswith("LK-")
    accepted = [c for c in conferences if c["accepted_by"] is not None]
    assert accepted, conferences
    assert all(c["accepted_by"] in PLATFORMS for c in accepted)
    assert {c["rule"] for c in accepted} <= {"decision", "agreed", "tie_break", "urgent"}
    # Decisions came from keys pressed in the rooms (the ConfBridge menu -> AGI -> bridge).
    decided = [d for c in conferences for d in c["decisions"]]
    assert decided, conferences
    assert all(d["voter_platform"] in PLATFORMS for d in decided)
    # Each conference's ticket is one of the bridge's tickets.
    assert {c["ticket"] for c in conferences} <= {t["id"] for t in summary["tickets"]}
    overflow = summary["overflow"]
    assert overflow["error"] == ""
    lends = [a for a in overflow["actions"] if a["kind"] == "lend"]
    assert lends and all(a["outcome"] in ("done", "already") for a in lends)
    assert overflow["action_counts"]["lend"] == len(lends)
    assert overflow["peak_loans"] > 0
    surged = summary["surged_centre"]
    assert surged["overflow"] is True and surged["offered"] > 0
    _assert_nothing_left(tmp_path)
