"""The shape of the bridge's TOML configuration, as pydantic models.

Every model forbids unknown keys: a misspelt key is an error, never silently ignored. Checks
that need more than one section (a platform naming a PBX, a zone attached to a centre) live in
`bridge.settings.references`, so that each problem can name the exact key path.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.settings.calls import ConferenceSettings, TransferSettings
from routing.metrics import MetricsConfig

# Environment variable names as the POSIX shell accepts them; upper case by convention here.
ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
# GB/T 2260 administrative division codes are six digits.
DISTRICT_CODE_PATTERN = r"^[0-9]{6}$"
# Asterisk queue names: the lab scheme is q12345, q110-city, q110-<district>.
QUEUE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
# Dialplan contexts and extensions: no spaces, commas or pipes (they separate Asterisk arguments).
DIALPLAN_TOKEN_PATTERN = r"^[A-Za-z0-9_*#+.\-]+$"
# DTMF feature codes as features.conf writes them.
FEATURE_CODE_PATTERN = r"^[0-9*#]{1,8}$"
# An Asterisk dial string: technology/resource, e.g. IAX2/to110/110.
DIAL_STRING_PATTERN = r"^[A-Za-z0-9]+/\S+$"
REDIS_URL_PATTERN = r"^(rediss?|unix)://"

EnvName = Annotated[str, Field(pattern=ENV_NAME_PATTERN)]
DistrictCode = Annotated[str, Field(pattern=DISTRICT_CODE_PATTERN)]
DialplanToken = Annotated[str, Field(pattern=DIALPLAN_TOKEN_PATTERN, max_length=80)]
# Strict: TOML `true` must not pass as port 1 or as a one-second timeout.
Port = Annotated[int, Field(ge=1, le=65535, strict=True)]
Seconds = Annotated[float, Field(gt=0, strict=True)]
Host = Annotated[str, Field(min_length=1, max_length=253)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class PlatformKind(StrEnum):
    HOTLINE_12345 = "12345"
    POLICE_110 = "110"


class PlatformLevel(StrEnum):
    CITY = "city"
    COUNTY = "county"


class Role(StrEnum):
    AGENT_12345 = "agent_12345"
    AGENT_110 = "agent_110"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    MONITOR = "monitor"


# An agent token acts for one platform of its own kind; the other roles span the city.
AGENT_ROLE_KIND: dict[Role, PlatformKind] = {
    Role.AGENT_12345: PlatformKind.HOTLINE_12345,
    Role.AGENT_110: PlatformKind.POLICE_110,
}


class CityArea(StrictModel):
    code: DistrictCode
    name: str = Field(min_length=1)


class District(StrictModel):
    code: DistrictCode
    name: str = Field(min_length=1)


class PbxSettings(StrictModel):
    name: DialplanToken
    ami_host: Host
    ami_port: Port = 5038
    ami_username: str = Field(min_length=1, max_length=80)
    # The secret itself never sits in the file: only the name of the variable holding it.
    secret_env: EnvName
    ami_timeout_seconds: Seconds = Field(default=5.0, le=120)


class TrunkRoute(StrictModel):
    """How a call placed on another PBX reaches this queue over a trunk."""

    from_pbx: DialplanToken
    # Where a Redirect sends the caller on `from_pbx` (e.g. trunk,to110 dials the trunk).
    context: DialplanToken
    extension: DialplanToken
    # Channel to Originate a new leg over the trunk (three-party call), e.g. IAX2/to110/110.
    dial: str = Field(min_length=3, max_length=200, pattern=DIAL_STRING_PATTERN)


class QueueSettings(StrictModel):
    name: str = Field(min_length=1, max_length=80, pattern=QUEUE_NAME_PATTERN)
    # Where a call enters the queue on the platform's own PBX (Redirect / Local channel target).
    context: DialplanToken
    extension: DialplanToken
    trunks: list[TrunkRoute] = Field(default_factory=list)


class PlatformSettings(StrictModel):
    id: DialplanToken
    kind: PlatformKind
    level: PlatformLevel
    district_code: DistrictCode
    name: str = Field(min_length=1)
    pbx: DialplanToken
    queues: list[QueueSettings] = Field(min_length=1)


class ZoneSettings(StrictModel):
    """A functional zone with no division code of its own, served by a 110 centre."""

    name: str = Field(min_length=1)
    attached_to: DialplanToken


class FeatureCodes(StrictModel):
    one_key_transfer: str = Field(default="*8", pattern=FEATURE_CODE_PATTERN)
    three_party_call: str = Field(default="*9", pattern=FEATURE_CODE_PATTERN)

    @model_validator(mode="after")
    def _codes_differ(self) -> FeatureCodes:
        if self.one_key_transfer == self.three_party_call:
            raise ValueError(
                f"one_key_transfer and three_party_call are both {self.one_key_transfer!r}"
            )
        return self


class FastAgiSettings(StrictModel):
    host: Host = "0.0.0.0"
    port: Port = 4573


class HttpSettings(StrictModel):
    host: Host = "0.0.0.0"
    port: Port = 8080


class RedisSettings(StrictModel):
    url: str = Field(default="redis://127.0.0.1:6379/0", pattern=REDIS_URL_PATTERN)
    # What the operator runs Redis with (AOF). everysec: a crash may lose up to one second of
    # acknowledged tickets; always: none, at about half the write rate. Checked at start-up.
    appendfsync: Literal["everysec", "always"] = "everysec"
    connect_timeout_seconds: Seconds = Field(default=2.0, le=60)

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for logs and summaries."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


class ApiToken(StrictModel):
    name: str = Field(min_length=1, max_length=80)
    token_env: EnvName
    role: Role
    platform: DialplanToken | None = None


class LoggingSettings(StrictModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class ShutdownSettings(StrictModel):
    # How long SIGTERM waits for components (AGI sessions, pending writes) before giving up.
    deadline_seconds: Seconds = Field(default=15.0, le=600)


class MonitoringSettings(StrictModel):
    """[monitoring]: early-release thresholds, wallboard targets, history retention."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    short_abandon_seconds: float = Field(default=5.0, ge=0)
    service_level_seconds: float = Field(default=20.0, gt=0)
    # Wallboard and alert targets: a queue over either is shown red.
    early_release_target: float = Field(default=0.05, ge=0, le=1)
    service_level_target: float = Field(default=0.80, ge=0, le=1)
    # Days of per-minute history kept in Redis (EXPIRE on each day's hash).
    retention_days: int = Field(default=400, ge=1, le=3660)
    # How long an Abandon/Leave may wait for the event that tells its kind (Hangup, VarSet,
    # AgentConnect) before the default decision; keeps event -> metric under one second.
    decision_grace_seconds: float = Field(default=0.5, gt=0, le=0.9)
    summary_interval_seconds: float = Field(default=60.0, gt=0)
    # True: /wallboard/data answers without a token (a screen on a closed network).
    wallboard_open: bool = False
    # Where a call-back Originate sends the agent's leg: Exten=<number> in this context.
    callback_context: str = Field(default="hb-callback", pattern=r"^[A-Za-z0-9_.\-]+$")

    def metrics_config(self, timezone: str) -> MetricsConfig:
        return MetricsConfig(
            short_abandon_s=self.short_abandon_seconds,
            service_level_s=self.service_level_seconds,
            timezone=timezone,
        )


class OverflowSettings(StrictModel):
    """[overflow]: the surge-overflow controller on the 110 PBX (docs/overflow-actuation.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    pbx: str = Field(default="pbx-110", min_length=1)  # the [[pbx]] whose queues it manages
    # Centres, neighbours, lend caps and thresholds: the scenario file the simulation runs.
    scenario: str = Field(default="config/scenarios/jining-surge.toml", min_length=1)
    tick_seconds: float = Field(default=1.0, gt=0, le=60)
    # After POST /api/overflow/release: no automatic support for this long (default: hold_s).
    release_hold_seconds: float | None = Field(default=None, ge=0)
    # Move callers already waiting in a routed centre's own queue to its aid queue.
    withdraw_waiting: bool = True


class Settings(StrictModel):
    timezone: str = "Asia/Shanghai"
    city: CityArea
    districts: list[District] = Field(min_length=1)
    pbx: list[PbxSettings] = Field(min_length=1)
    platforms: list[PlatformSettings] = Field(min_length=1)
    zones: list[ZoneSettings] = Field(default_factory=list)
    feature_codes: FeatureCodes = Field(default_factory=FeatureCodes)
    fastagi: FastAgiSettings = Field(default_factory=FastAgiSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    api_tokens: list[ApiToken] = Field(default_factory=list)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    shutdown: ShutdownSettings = Field(default_factory=ShutdownSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    transfers: TransferSettings = Field(default_factory=TransferSettings)
    conferences: ConferenceSettings = Field(default_factory=ConferenceSettings)
    overflow: OverflowSettings = Field(default_factory=OverflowSettings)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    def platform(self, platform_id: str) -> PlatformSettings:
        for platform in self.platforms:
            if platform.id == platform_id:
                return platform
        raise KeyError(f"no platform with id {platform_id!r}")

    def pbx_named(self, name: str) -> PbxSettings:
        for pbx in self.pbx:
            if pbx.name == name:
                return pbx
        raise KeyError(f"no PBX named {name!r}")

    def centre_for_zone(self, zone_name: str) -> PlatformSettings:
        for zone in self.zones:
            if zone.name == zone_name:
                return self.platform(zone.attached_to)
        raise KeyError(f"no functional zone named {zone_name!r}")
