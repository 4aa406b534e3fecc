"""Surge scenarios: the TOML text of config/scenarios/*.toml checked into plain dataclasses.

routing/ does no I/O: the caller reads the file and passes its text and name; every problem is
reported with that name and the setting that is wrong.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from typing import Any

from routing.overflow import CentrePolicy, OverflowConfig

# [policy] settings passed to OverflowConfig, with their defaults (see routing/overflow.py).
_POLICY_DEFAULTS = {
    "activate_pressure": 1.5,
    "activate_wait_s": 20.0,
    "release_pressure": 0.8,
    "hold_s": 180.0,
    "surge_load": 1.5,
    "stand_down_load": 1.5,
    "resume_load": 1.0,
    "stand_down_hold_s": 30.0,
}

# Per-call overheads of a real PBX, top-level settings in seconds; each defaults to 0 so a
# scenario written before they existed still means an instant answer.
_PBX_OVERHEADS = ("answer_delay_s", "turn_check_s", "wrapup_s")


class ScenarioError(ValueError):
    """A scenario file that cannot be run, with the reason."""


@dataclass(frozen=True)
class Centre:
    code: str
    name: str
    seats: int
    policy: CentrePolicy


@dataclass(frozen=True)
class Surge:
    code: str
    factor: float  # multiplies the centre's base arrival rate
    start_s: float  # from the start of the measured window
    duration_s: float


@dataclass(frozen=True)
class Scenario:
    name: str
    centres: tuple[Centre, ...]
    surges: tuple[Surge, ...]
    handle_time_s: float
    patience_s: float
    base_load: float  # busy share of each centre's own seats at base arrival rate
    warmup_s: float  # simulated before the window so queues start in their normal state
    window_s: float  # measured stretch: calls arriving in it are counted
    tick_s: float  # how often the bridge policy runs
    rate_window_s: float  # arrival rate the policy sees = arrivals in this many seconds / it
    sustained_window_s: float  # the same over a longer window, for judging a lasting surge
    overflow: OverflowConfig
    # What a PBX adds to every answered call (0 = a seat connects the instant it takes a caller):
    answer_delay_s: float = 0.0  # the member's phone rings this long before the caller connects
    turn_check_s: float = 0.0  # app_queue looks at a queued caller's turn this often
    wrapup_s: float = 0.0  # queues.conf wrapuptime: a seat rests this long after each call

    def base_rate(self, centre: Centre) -> float:
        """Calls per second that keep `base_load` of the centre's seats busy."""
        return self.base_load * centre.seats / self.handle_time_s

    @property
    def surged_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.code for s in self.surges))


def scenario_from_toml(text: str, source: str) -> Scenario:
    """Parse a scenario file's text; `source` (usually the path) prefixes every error."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return parse_scenario(raw)
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {exc}") from exc


def parse_scenario(raw: dict[str, Any]) -> Scenario:
    _reject_unknown(
        "top level",
        raw,
        {
            "name",
            "description",
            "handle_time_s",
            "patience_s",
            "base_load",
            "warmup_s",
            "window_s",
            "centre",
            "surge",
            "policy",
            *_PBX_OVERHEADS,
        },
    )
    name = _text(raw, "name", "top level")
    handle = _positive(raw, "handle_time_s", "top level")
    patience = _positive(raw, "patience_s", "top level")
    base_load = _positive(raw, "base_load", "top level")
    if base_load >= 1:
        raise ScenarioError(f"base_load must be below 1 (a share of seats), got {base_load}")
    warmup = _positive(raw, "warmup_s", "top level")
    centres = _centres(raw.get("centre"))
    codes = {c.code for c in centres}
    surges = _surges(raw.get("surge", []), codes)
    # The measured window defaults to the span of the surges: that is where the policies differ.
    span = max((s.start_s + s.duration_s for s in surges), default=0.0)
    window = _positive(raw, "window_s", "top level", default=span or None)
    policy = raw.get("policy", {})
    if not isinstance(policy, dict):
        raise ScenarioError("[policy] must be a table")
    known = set(_POLICY_DEFAULTS) | {"tick_s", "rate_window_s", "sustained_window_s", "mutual_aid"}
    _reject_unknown("[policy]", policy, known)
    thresholds = {}
    for key, default in _POLICY_DEFAULTS.items():
        thresholds[key] = _number(policy, key, "[policy]", default)
    mutual_aid = policy.get("mutual_aid", False)
    if not isinstance(mutual_aid, bool):
        raise ScenarioError(f"[policy]: mutual_aid must be true or false, got {mutual_aid!r}")
    try:
        overflow = OverflowConfig(
            centres=tuple(c.policy for c in centres),
            handle_time_s=handle,
            mutual_aid=mutual_aid,
            **thresholds,
        )
    except (ValueError, TypeError) as exc:
        raise ScenarioError(f"[policy]: {exc}") from exc
    return Scenario(
        name=name,
        centres=centres,
        surges=surges,
        handle_time_s=handle,
        patience_s=patience,
        base_load=base_load,
        warmup_s=warmup,
        window_s=window,
        tick_s=_positive(policy, "tick_s", "[policy]", default=1.0),
        rate_window_s=_positive(policy, "rate_window_s", "[policy]", default=60.0),
        sustained_window_s=_positive(policy, "sustained_window_s", "[policy]", default=300.0),
        overflow=overflow,
        answer_delay_s=_non_negative(raw, "answer_delay_s", "top level"),
        turn_check_s=_non_negative(raw, "turn_check_s", "top level"),
        wrapup_s=_non_negative(raw, "wrapup_s", "top level"),
    )


def _centres(raw: Any) -> tuple[Centre, ...]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioError("needs at least one [[centre]] table")
    centres = []
    for index, item in enumerate(raw):
        where = f"[[centre]] #{index + 1}"
        if not isinstance(item, dict):
            raise ScenarioError(f"{where} must be a table")
        _reject_unknown(
            where,
            item,
            {"code", "name", "level", "seats", "neighbours", "min_free_seats", "max_lend"},
        )
        code = _text(item, "code", where)
        where = f"[[centre]] {code}"
        seats = _integer(item, "seats", where, minimum=1)
        neighbours = item.get("neighbours", [])
        if not isinstance(neighbours, list) or not all(isinstance(n, str) for n in neighbours):
            raise ScenarioError(f"{where}: neighbours must be a list of district codes")
        try:
            policy = CentrePolicy(
                code=code,
                level=item.get("level", "county"),
                neighbours=tuple(neighbours),
                min_free_seats=_integer(item, "min_free_seats", where, minimum=0, default=1),
                max_lend=_integer(item, "max_lend", where, minimum=0, default=4),
            )
        except ValueError as exc:
            raise ScenarioError(str(exc)) from exc
        centres.append(Centre(code, str(item.get("name", code)), seats, policy))
    seen = [c.code for c in centres]
    duplicates = sorted({c for c in seen if seen.count(c) > 1})
    if duplicates:
        raise ScenarioError(f"centre codes appear twice: {duplicates}")
    for centre in centres:
        unknown = [n for n in centre.policy.neighbours if n not in seen]
        if unknown:
            raise ScenarioError(f"[[centre]] {centre.code}: unknown neighbours {unknown}")
    return tuple(centres)


def _surges(raw: Any, codes: set[str]) -> tuple[Surge, ...]:
    if not isinstance(raw, list):
        raise ScenarioError("[[surge]] must be an array of tables")
    surges = []
    for index, item in enumerate(raw):
        where = f"[[surge]] #{index + 1}"
        if not isinstance(item, dict):
            raise ScenarioError(f"{where} must be a table")
        _reject_unknown(where, item, {"centre", "factor", "start_s", "duration_s"})
        code = _text(item, "centre", where)
        if code not in codes:
            raise ScenarioError(f"{where}: centre {code!r} is not a [[centre]] code")
        start = item.get("start_s", 0.0)
        if not isinstance(start, int | float) or start < 0:
            raise ScenarioError(f"{where}: start_s must be a number >= 0, got {start!r}")
        surges.append(
            Surge(
                code,
                _positive(item, "factor", where),
                float(start),
                _positive(item, "duration_s", where),
            )
        )
    return tuple(surges)


def _reject_unknown(where: str, table: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ScenarioError(f"{where}: unknown settings {unknown} (known: {sorted(known)})")


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value


def _positive(table: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = table.get(key, default)
    if value is None:
        raise ScenarioError(f"{where}: {key} is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: {key} must be a number, got {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise ScenarioError(f"{where}: {key} must be positive, got {value!r}")
    return float(value)


def _non_negative(table: dict[str, Any], key: str, where: str) -> float:
    value = table.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: {key} must be a number of seconds, got {value!r}")
    if not (value >= 0 and math.isfinite(value)):
        raise ScenarioError(f"{where}: {key} must be >= 0 seconds, got {value!r}")
    return float(value)


def _number(table: dict[str, Any], key: str, where: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _integer(
    table: dict[str, Any], key: str, where: str, minimum: int, default: int | None = None
) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{where}: {key} must be an integer, got {value!r}")
    if value < minimum:
        raise ScenarioError(f"{where}: {key} must be >= {minimum}, got {value}")
    return value
