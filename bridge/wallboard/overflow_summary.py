"""What the wallboard shows of surge overflow, in Chinese: which 110 centres are being
supported and by whom (how many seats each lender gives), and the last overflow actions.

Built from the overflow controller's state and its Redis audit stream. A surge lends hundreds of
members one `QueueAdd` at a time, so consecutive audit entries of the same kind for the same
centre are shown as one line with a count: a wall screen has room for a handful of lines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from redis.exceptions import RedisError

from bridge.overflow.controller import OverflowController

AUDIT_READ = 200  # newest audit entries read per poll: enough to group a burst of loans
ACTIONS_SHOWN = 4  # as many as the wallboard's header has room for at 1080 lines

ACTION_NAMES = {
    "route_on": "启动支援",
    "route_off": "结束支援",
    "lend": "借调坐席",
    "return": "归还坐席",
    "pause": "暂停借调",
    "resume": "恢复借调",
    "withdraw": "转移排队来电",
    "release": "手动收回",
    "override": "人工干预",
    "recover": "重启接管",
}
OVERRIDE_NAMES = {"force": "强制支援", "forbid": "禁止支援", "auto": "恢复自动"}
# The reason of a grouped run of loan steps (or withdrawn callers): the donor and the count.
COUNTED_REASONS = {
    "lend": "{donor} 借出 {count} 席",
    "return": "{count} 席归还 {donor}",
    "pause": "{donor} 空闲坐席降至下限，暂停 {count} 席",
    "resume": "{donor} 空闲坐席回升，恢复 {count} 席",
    "withdraw": "{count} 个排队来电转入互助队列",
}

# The policy's reasons (routing/overflow.py) are English sentences with figures in them; these
# patterns say the same in Chinese, keeping the figures.
REASONS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"pressure ([\d.]+) >= ([\d.]+) with no seat free"),
        lambda m: f"压力 {m[1]} ≥ {m[2]}，本中心无空闲坐席",
    ),
    (
        re.compile(r"a caller has waited (\d+) s >= (\d+) s"),
        lambda m: f"有来电已等待 {m[1]} 秒（≥ {m[2]} 秒），本中心无空闲坐席",
    ),
    (
        re.compile(r"it now has no seat to spare"),
        lambda m: "本中心已无余力，停止外借，转为接受支援",
    ),
    (
        re.compile(r"pressure low \(< ([\d.]+), nobody waiting\) for (\d+) s"),
        lambda m: f"压力低于 {m[1]} 且无人排队已持续 {m[2]} 秒",
    ),
    (
        re.compile(r"it has seats to spare again"),
        lambda m: "本中心重新有空闲坐席，转为对外支援",
    ),
]


def reason_in_chinese(explain: str) -> str:
    """The policy's reason in Chinese, or '' when the text is not one the policy writes."""
    for pattern, say in REASONS:
        found = pattern.search(explain)
        if found:
            return say(found)
    return ""


class CentreNames:
    """Centre code → the name the wallboard shows (its 110 platform's), or the code itself."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names

    def __call__(self, code: str) -> str:
        return self.names.get(code) or code


def supported_centres(snapshot: Mapping[str, Any], name: CentreNames) -> list[dict[str, Any]]:
    """Every supported centre with its queues (to find its wallboard row) and its lenders."""
    loans = snapshot["loans"]
    result = []
    for code in snapshot["supported"]:
        seats: dict[str, set[str]] = {}
        queues = set()
        for loan in loans:
            if loan["recipient"] == code:
                # A member lent into the own and the aid queue is still one seat.
                seats.setdefault(loan["donor"], set()).add(loan["member"])
                queues.add(loan["queue"])
        lenders = [
            {"centre": donor, "name": name(donor), "seats": len(members)}
            for donor, members in sorted(seats.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ]
        result.append(
            {
                "centre": code,
                "name": name(code),
                "routed": code in snapshot["routed"],
                "lenders": lenders,
                "seats": sum(len(members) for members in seats.values()),
            }
        )
    return result


def _centre_of(entry: Mapping[str, Any]) -> str:
    detail = entry.get("detail") or {}
    return str(detail.get("recipient") or detail.get("centre") or detail.get("donor") or "")


def _entry_reason(entry: Mapping[str, Any], count: int, name: CentreNames) -> str:
    kind = entry["kind"]
    detail = entry.get("detail") or {}
    if kind in {"route_on", "route_off"}:
        said = reason_in_chinese(entry.get("explain", ""))
    elif kind in COUNTED_REASONS:
        said = COUNTED_REASONS[kind].format(donor=name(detail.get("donor", "")), count=count)
    elif kind == "release":
        said = f"{detail.get('by', '值班员')} 收回全部 {detail.get('loans', '0')} 席"
    elif kind == "override":
        mode = OVERRIDE_NAMES.get(detail.get("override", ""), detail.get("override", ""))
        said = f"{detail.get('by', '值班员')} 设为{mode}"
    elif kind == "recover":
        said = f"发现 {detail.get('loans_found', '0')} 席借调"
    else:
        said = ""
    if entry.get("outcome") == "failed":
        said = (
            f"{said}（失败：{entry.get('error', '')}）" if said else f"失败：{entry.get('error')}"
        )
    return said


def _clock_time(entry_id: str, zone: tzinfo) -> str:
    # A stream id starts with the wall-clock milliseconds of the write.
    millis = int(entry_id.split("-", 1)[0])
    return datetime.fromtimestamp(millis / 1000, zone).strftime("%H:%M:%S")


@dataclass
class Group:
    """A run of audit entries shown as one action: the newest entry and what the run counts
    (members for loan steps — one lent into two queues is one seat —, callers, or steps)."""

    newest: dict[str, Any]
    counted: set[str] = field(default_factory=set)
    cut: bool = False  # the run may go on past the entries read: its count is a lower bound

    def add(self, entry: Mapping[str, Any]) -> None:
        detail = entry.get("detail") or {}
        self.counted.add(str(detail.get("member") or detail.get("caller") or entry.get("id")))


def _group_key(entry: Mapping[str, Any]) -> tuple[str, str, str, str]:
    detail = entry.get("detail") or {}
    return (
        entry["kind"],
        _centre_of(entry),
        str(detail.get("donor", "")),
        entry.get("outcome", ""),
    )


def recent_actions(
    audit: list[dict[str, Any]],
    name: CentreNames,
    zone: tzinfo,
    shown: int = ACTIONS_SHOWN,
    complete: bool = True,
) -> list[dict[str, Any]]:
    """The newest `shown` actions, newest first; a run of entries of the same kind, centre,
    donor and outcome is one action with a count. Policy notes (English prose) are left out.
    `complete` False: `audit` is only the newest part of the stream."""
    groups: list[Group] = []
    stopped = False
    for entry in audit:
        if entry.get("kind") not in ACTION_NAMES:
            continue
        if groups and _group_key(groups[-1].newest) == _group_key(entry):
            groups[-1].add(entry)
            continue
        if len(groups) == shown:
            stopped = True
            break
        groups.append(Group(entry))
        groups[-1].add(entry)
    if groups and not stopped and not complete:
        groups[-1].cut = True
    return [_action_json(group, name, zone) for group in groups]


def _action_json(group: Group, name: CentreNames, zone: tzinfo) -> dict[str, Any]:
    entry = group.newest
    centre = _centre_of(entry)
    count = len(group.counted)
    reason = _entry_reason(entry, count, name)
    return {
        "time": _clock_time(entry["id"], zone),
        "kind": entry["kind"],
        "action": ACTION_NAMES[entry["kind"]],
        "centre": centre,
        "name": name(centre) if centre else "",
        "count": count,
        "at_least": group.cut,
        "failed": entry.get("outcome") == "failed",
        "reason": f"{reason}（或更多）" if group.cut else reason,
    }


async def overflow_summary(
    controller: OverflowController, names: Mapping[str, str], zone: tzinfo
) -> dict[str, Any]:
    """The `overflow` part of /api/wallboard (docs/monitoring.md)."""
    snapshot = controller.snapshot()
    name = CentreNames(names)
    summary: dict[str, Any] = {
        "supported": supported_centres(snapshot, name),
        "queues": {c.queue: c.code for c in controller.config.centres}
        | {c.aid_queue: c.code for c in controller.config.centres},
        # The board folds an aid queue under its centre's row rather than giving it a row.
        "aid_queues": {c.aid_queue: c.code for c in controller.config.centres},
        "actions": [],
    }
    try:
        audit = await controller.audit.recent(AUDIT_READ)
    except RedisError as error:
        summary["actions_error"] = str(error)
    else:
        summary["actions"] = recent_actions(audit, name, zone, complete=len(audit) < AUDIT_READ)
    return summary


class OverflowFeed:
    """The overflow part for every wall screen polling: built at most once per `max_age_s`
    (reading and parsing the audit entries costs about 20 ms; screens poll every second)."""

    def __init__(
        self,
        controller: OverflowController,
        names: Mapping[str, str],
        zone: tzinfo,
        max_age_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.controller = controller
        self.names = names
        self.zone = zone
        self.max_age_s = max_age_s
        self.clock = clock
        self._built: tuple[float, dict[str, Any]] | None = None

    async def summary(self) -> dict[str, Any]:
        now = self.clock()
        if self._built is None or now - self._built[0] >= self.max_age_s:
            self._built = (now, await overflow_summary(self.controller, self.names, self.zone))
        return self._built[1]
