"""Labelled requests (JSON Lines), the format of shared/data/scope-cases and our own examples."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routing.scope.decision import Channel, Kind, Platform, Route
from routing.scope.rules import JINING_DISTRICT_CODES

_REQUIRED = ("id", "text", "platform", "kind", "urgent")


class CaseFileError(ValueError):
    """A labelled case is malformed; the message names the file, the line and the field."""


@dataclass(frozen=True)
class LabelledCase:
    id: str
    text: str
    route: Route
    kind: Kind
    urgent: bool
    district: str | None = None

    @property
    def platform(self) -> Platform:
        return self.route.platform


def parse_case(raw: Mapping[str, Any], where: str) -> LabelledCase:
    """One case from its JSON object; `where` (file:line) prefixes every error."""
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise CaseFileError(f"{where}: missing fields {missing}")
    text = raw["text"]
    if not isinstance(text, str) or not text.strip():
        raise CaseFileError(f"{where}: 'text' must be a non-empty string")
    try:
        platform = Platform(raw["platform"])
        channel = Channel(raw["channel"]) if raw.get("channel") is not None else None
        route = Route.of(platform, channel)
        kind = Kind(raw["kind"])
    except ValueError as error:
        raise CaseFileError(f"{where}: {error}") from None
    if not isinstance(raw["urgent"], bool):
        raise CaseFileError(f"{where}: 'urgent' must be true or false")
    district = raw.get("district")
    if district is not None and district not in JINING_DISTRICT_CODES:
        raise CaseFileError(f"{where}: 'district' {district!r} is not a Jining district code")
    return LabelledCase(str(raw["id"]), text, route, kind, raw["urgent"], district)


def parse_cases(lines: Iterable[str], source: str) -> list[LabelledCase]:
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise CaseFileError(f"{where}: not valid JSON: {error.msg}") from None
        if not isinstance(raw, dict):
            raise CaseFileError(f"{where}: each line must be a JSON object")
        cases.append(parse_case(raw, where))
    return cases


def load_cases(path: Path) -> list[LabelledCase]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseFileError(f"{path}: file not found") from None
    return parse_cases(text.splitlines(), str(path))
