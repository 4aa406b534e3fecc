"""What the acceptance-scope classifier answers, and the labels it answers with.

The labels are the annex's own words (受理范围指导清单): the platform that takes the call, the
kind of request, whether it is urgent. Chinese stays in the values because agents read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Platform(StrEnum):
    HOTLINE_12345 = "12345"
    POLICE_110 = "110"
    BOTH = "both"  # unclear or shared responsibility: a three-party call
    OTHER = "other"  # neither line: guide the caller to `channel`


class Channel(StrEnum):
    FIRE_119 = "119"
    MEDICAL_120 = "120"
    TRAFFIC_122 = "122"
    UTILITY = "utility"


class Kind(StrEnum):
    REPORT = "报警"
    CONSULTATION = "咨询"
    HELP = "求助"
    COMPLAINT = "投诉举报"
    SUGGESTION = "意见建议"


class Route(StrEnum):
    """Platform and channel in one label: what rules vote for and the model predicts."""

    HOTLINE_12345 = "12345"
    POLICE_110 = "110"
    BOTH = "both"
    FIRE_119 = "119"
    MEDICAL_120 = "120"
    TRAFFIC_122 = "122"
    UTILITY = "utility"

    @property
    def platform(self) -> Platform:
        if self.value in {"12345", "110", "both"}:
            return Platform(self.value)
        return Platform.OTHER

    @property
    def channel(self) -> Channel | None:
        if self.platform is Platform.OTHER:
            return Channel(self.value)
        return None

    @classmethod
    def of(cls, platform: Platform, channel: Channel | None) -> Route:
        """The route for a platform/channel pair; `other` needs a channel, the rest none."""
        if platform is Platform.OTHER:
            if channel is None:
                raise ValueError("platform 'other' needs a channel (119, 120, 122 or utility)")
            return cls(channel.value)
        if channel is not None:
            raise ValueError(f"platform {platform.value!r} takes no channel, got {channel.value!r}")
        return cls(platform.value)


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired, with the words in the text that made it fire."""

    rule_id: str
    matched: tuple[str, ...]
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "matched": list(self.matched),
            "description": self.description,
        }


@dataclass(frozen=True)
class ScopeDecision:
    """The suggestion for one request; `reasons` say why, for the agent and the auditor."""

    route: Route
    kind: Kind
    urgent: bool
    district: str | None
    confidence: float
    reasons: tuple[RuleHit, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def platform(self) -> Platform:
        return self.route.platform

    @property
    def channel(self) -> Channel | None:
        return self.route.channel

    def to_dict(self) -> dict[str, Any]:
        channel = self.channel
        return {
            "platform": self.platform.value,
            "channel": channel.value if channel else None,
            "kind": self.kind.value,
            "urgent": self.urgent,
            "district": self.district,
            "confidence": round(self.confidence, 3),
            "reasons": [hit.to_dict() for hit in self.reasons],
            "notes": list(self.notes),
        }
