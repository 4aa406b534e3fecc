"""The live terminal view: a compact queue table and a line per notable event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bridge.demo.tally import DemoTally, Happening

CLEAR_SCREEN = "\x1b[H\x1b[J"
EVENT_LINES_SHOWN = 12
HEADER = (
    f"{'queue':<13} {'centre':<12} {'wait':>4} {'longest':>7} {'offered':>7} "
    f"{'answered':>8} {'early rel':>9} {'rate':>6} {'bridge':>6}"
)


def clock_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def happening_line(happening: Happening) -> str:
    return f"[{clock_text(happening.at)}] {happening.kind:<13} {happening.text}"


def queue_table(
    tally: DemoTally,
    now: float,
    centre_names: Mapping[str, str],
    bridge_rates: Mapping[str, float] | None = None,
) -> list[str]:
    """One row per queue; `bridge` is the early-release rate the bridge itself reports
    (GET /api/queues, today's window), beside the one counted from the AMI events."""
    lines = [HEADER]
    for name in sorted(tally.queues):
        queue = tally.queues[name]
        bridge = (bridge_rates or {}).get(name)
        bridge_text = "-" if bridge is None else f"{bridge:.1%}"
        lines.append(
            f"{name:<13} {_fit(centre_names.get(name, ''), 12)} {len(queue.waiting):>4} "
            f"{clock_text(queue.longest_wait(now)):>7} {queue.offered:>7} {queue.answered:>8} "
            f"{queue.early_releases:>9} {queue.early_release_rate:>6.1%} {bridge_text:>6}"
        )
    return lines


def screen(
    tally: DemoTally,
    now: float,
    total: float,
    centre_names: Mapping[str, str],
    bridge_rates: Mapping[str, float] | None = None,
) -> str:
    """The whole screen: title, table, transfer/ticket counts, the latest events."""
    title = (
        f"hotline-bridge demo  emulated {clock_text(now)} / {clock_text(total)}  "
        f"calls {tally.calls_placed}  transfers {len(tally.transfers)}  "
        f"tickets {len(tally.tickets)}  (Ctrl-C stops)"
    )
    recent = list(tally.happenings)[-EVENT_LINES_SHOWN:]
    parts = [title, *queue_table(tally, now, centre_names, bridge_rates), "", "latest events:"]
    parts += [happening_line(h) for h in recent] or ["  (none yet)"]
    return "\n".join(parts)


def _fit(text: str, width: int) -> str:
    """Pad to `width` terminal columns (a CJK character takes two)."""
    shown, used = "", 0
    for char in text:
        cost = 2 if ord(char) > 0x2E80 else 1
        if used + cost > width:
            break
        shown, used = shown + char, used + cost
    return shown + " " * (width - used)


def event_lines(happenings: Iterable[Happening]) -> list[str]:
    return [happening_line(h) for h in happenings]
