"""The demo's pure parts: phone shim for the emulated PBXs, traffic profile, tally, view."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bridge.demo.logs import LogCounter
from bridge.demo.phones import (
    PHONES_CONTEXT,
    DemoConfigError,
    phones_context,
    prepare_pbx_dir,
    seats_in,
)
from bridge.demo.profile import (
    SURGED_QUEUE,
    DemoQueue,
    demo_profile,
    exten_for_queue,
)
from bridge.demo.tally import DemoTally, mask
from bridge.demo.view import queue_table, screen
from telephony.pbxsim import EmulatedPBX
from telephony.pbxsim.traffic import TrafficError, parse_surge, plan_calls

ASTERISK = Path(__file__).resolve().parents[2] / "config" / "asterisk"


def test_seats_are_read_from_pjsip_members() -> None:
    text = "[q](t)\nmember => PJSIP/110-city-01,0,seat 1\nmember => PJSIP/x-2,5,seat 2\n"
    assert seats_in(text) == ["110-city-01", "x-2"]


@pytest.mark.parametrize("pbx", ["pbx-12345", "pbx-110"])
async def test_prepared_config_runs_on_the_emulator_with_local_seats(
    pbx: str, tmp_path: Path
) -> None:
    seats = prepare_pbx_dir(ASTERISK / pbx, tmp_path / pbx)
    original = (ASTERISK / pbx / "queues.conf").read_text(encoding="utf-8")
    assert seats == seats_in(original)
    emulated = EmulatedPBX.from_config_dir(tmp_path / pbx, name=pbx)
    interfaces = [m.interface for q in emulated.config.queues.values() for m in q.members]
    assert set(interfaces) == {f"Local/{seat}@{PHONES_CONTEXT}/n" for seat in seats}
    assert len(interfaces) == original.count("member => PJSIP/")
    # Only queues.conf and extensions.conf differ from the administrator's files.
    for name in ("manager.conf", "features.conf", "iax.conf", "confbridge.conf"):
        assert (tmp_path / pbx / name).read_bytes() == (ASTERISK / pbx / name).read_bytes()
    dialplan = (tmp_path / pbx / "extensions.conf").read_text(encoding="utf-8")
    shipped = (ASTERISK / pbx / "extensions.conf").read_text(encoding="utf-8")
    # The administrator's dialplan byte for byte, then the phones' context.
    assert dialplan.startswith(shipped)
    assert dialplan[len(shipped) :] == phones_context(seats)


def test_prepare_refuses_a_folder_without_asterisk_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DemoConfigError, match=r"no extensions\.conf"):
        prepare_pbx_dir(tmp_path / "empty", tmp_path / "copy")


def test_prepare_refuses_queues_without_pjsip_seats(tmp_path: Path) -> None:
    source = tmp_path / "pbx"
    source.mkdir()
    for name in ("extensions.conf", "manager.conf"):
        (source / name).write_text("[general]\n", encoding="utf-8")
    (source / "queues.conf").write_text("[q1]\nmember => Local/1@x/n\n", encoding="utf-8")
    with pytest.raises(DemoConfigError, match="no PJSIP/ member seats"):
        prepare_pbx_dir(source, tmp_path / "copy")


def _queues() -> list[DemoQueue]:
    return [
        DemoQueue("q12345", "pbx-12345", "12345", 6),
        DemoQueue("q110-city", "pbx-110", "110", 8),
        DemoQueue("q110-370811", "pbx-110", "110370811", 5),
        DemoQueue(SURGED_QUEUE, "pbx-110", "110370883", 3),
    ]


def test_profile_surges_370883_and_plans_agent_transfers() -> None:
    profile = demo_profile(_queues(), 1200.0, "*8")
    (surge,) = profile.surges
    assert (surge.entry, surge.factor, surge.start, surge.end) == (SURGED_QUEUE, 5.0, 300, 900)
    calls = plan_calls(profile, seed=7)
    assert {c.entry for c in calls} == {q.name for q in _queues()}
    presses = [p for c in calls for p in c.presses]
    assert all(p.side == "agent" for p in presses)
    # One-key transfers after 20 s, three-party calls (*9) after 10 s, at both hotlines.
    assert {(p.digits, p.delay) for p in presses} == {("*8", 20.0), ("*9", 10.0)}
    assert {c.entry for c in calls if c.presses} == {"q12345", "q110-city"}
    surged = [c.arrival for c in calls if c.entry == SURGED_QUEUE]
    in_surge = sum(1 for t in surged if 300 <= t < 900)
    # Half the time at five times the rate: far more than half the calls.
    assert in_surge > 2 * (len(surged) - in_surge)


def test_profile_takes_given_surges_instead() -> None:
    surge = parse_surge("q110-city:3x@0+60")
    assert demo_profile(_queues(), 600.0, surges=(surge,)).surges == (surge,)
    assert demo_profile(_queues(), 600.0, surges=()).surges == ()
    with pytest.raises(TrafficError, match="unknown entry 'q-nowhere'"):
        demo_profile(_queues(), 600.0, surges=(parse_surge("q-nowhere:2x@0+60"),))


def test_profile_rate_follows_the_seats() -> None:
    entries = {e.name: e for e in demo_profile(_queues(), 600.0).entries}
    assert entries["q110-city"].calls_per_hour == pytest.approx(
        entries["q12345"].calls_per_hour * 8 / 6
    )


def test_profile_refuses_a_queue_without_seats() -> None:
    with pytest.raises(TrafficError, match="q9: has no seats"):
        demo_profile([DemoQueue("q9", "pbx", "9", 0)], 600.0)


@pytest.mark.parametrize(
    ("queue", "exten"),
    [("q12345", "12345"), ("q110-city", "110"), ("q110-370883", "110370883")],
)
def test_exten_for_queue(queue: str, exten: str) -> None:
    assert exten_for_queue(queue) == exten


def test_exten_for_an_unknown_queue_names_it() -> None:
    with pytest.raises(TrafficError, match="'q-support'"):
        exten_for_queue("q-support")


def test_tally_counts_and_summarises() -> None:
    tally = DemoTally()
    tally.joined("q1", "a", 0.0)
    tally.joined("q1", "b", 1.0)
    tally.joined("q1", "c", 2.0)
    tally.answered("q1", "a", 4.0)
    tally.early_release("q1", "b", 10.0, "13812345678", 9)
    assert tally.queues["q1"].longest_wait(12.0) == 10.0
    tally.left("q1", "c")
    tally.ticket_seen(20.0, "LK-1", "q2", "13812345678")
    tally.transferred(20.0, "q1", "q2", "13812345678", "LK-1", "u-1")
    tally.transferred(25.0, "q2", "q3", "13812345678", "", "u-2")
    tally.transferred(26.0, "q2", "q3", "13912345678", "", "u-3")
    tally.link_tickets({"u-2": "LK-2", "u-1": "LK-9"})
    summary = tally.summary(30.0, {"seed": 1})
    q1 = summary["queues"]["q1"]
    assert (q1["offered"], q1["answered"], q1["early_releases"]) == (3, 1, 1)
    assert q1["early_release_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert q1["waiting_at_end"] == 0
    assert summary["transfers"] == [
        {"from": "q1", "to": "q2", "caller": "138****5678", "ticket": "LK-1"},
        {"from": "q2", "to": "q3", "caller": "138****5678", "ticket": "LK-2"},
        {"from": "q2", "to": "q3", "caller": "139****5678", "ticket": None},
    ]
    assert summary["tickets"][0]["ticket"] == "LK-1"
    assert summary["seed"] == 1
    kinds = [h.kind for h in tally.take_new()]
    assert kinds == ["early_release", "ticket", "transfer", "transfer", "transfer"]
    assert tally.take_new() == []


def test_mask_hides_the_middle_of_a_number() -> None:
    assert mask("13812345678") == "138****5678"
    assert mask("110") == "110"


def test_view_shows_each_queue_and_the_latest_events() -> None:
    tally = DemoTally()
    tally.joined("q110-370883", "a", 0.0)
    tally.early_release("q110-370883", "a", 65.0, "13812345678", 65)
    table = queue_table(tally, 70.0, {"q110-370883": "邹城市"}, {"q110-370883": 1.0})
    row = table[1].split()
    assert row[:2] == ["q110-370883", "邹城市"]
    assert row[-3:] == ["1", "100.0%", "100.0%"]
    text = screen(tally, 70.0, 1200.0, {})
    assert "01:10 / 20:00" in text
    assert "[01:05] early_release" in text and "138****5678" in text


def test_log_counter_counts_warnings_and_errors_by_message() -> None:
    counter = LogCounter()
    logger = logging.getLogger("tests.demo.counter")
    logger.addHandler(counter)
    try:
        for _ in range(3):
            logger.error("prompt %s cannot be played", "menu")
        logger.warning("slow")
        logger.info("not counted")
    finally:
        logger.removeHandler(counter)
    summary = counter.summary()
    assert (summary["errors"], summary["warnings"]) == (3, 1)
    assert summary["most_frequent"][0] == {
        "level": "ERROR",
        "logger": "tests.demo.counter",
        "msg": "prompt menu cannot be played",
        "count": 3,
    }
    assert counter.line() == (
        "bridge log: 3 errors, 1 warnings; most frequent (3x): prompt menu cannot be played"
    )
