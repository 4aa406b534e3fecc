"""The bridge's configuration: pydantic models loaded from TOML, checked across sections.

`load_settings(path)` returns a `Settings` or raises `SettingsError` naming the file, the key
path and the problem. Secrets and API tokens are read from the environment variables the file
names (`pbx_secret`, `resolve_tokens`).
"""

from bridge.settings.environment import (
    MissingSecretError,
    environment_problems,
    pbx_secret,
    resolve_tokens,
)
from bridge.settings.loading import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    SettingsError,
    config_path,
    load_settings,
    parse_settings,
)
from bridge.settings.models import (
    ApiToken,
    HttpSettings,
    PbxSettings,
    PlatformKind,
    PlatformLevel,
    PlatformSettings,
    QueueSettings,
    RedisSettings,
    Role,
    Settings,
    TrunkRoute,
    ZoneSettings,
)
from bridge.settings.references import Problem

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "ApiToken",
    "HttpSettings",
    "MissingSecretError",
    "PbxSettings",
    "PlatformKind",
    "PlatformLevel",
    "PlatformSettings",
    "Problem",
    "QueueSettings",
    "RedisSettings",
    "Role",
    "Settings",
    "SettingsError",
    "TrunkRoute",
    "ZoneSettings",
    "config_path",
    "environment_problems",
    "load_settings",
    "parse_settings",
    "pbx_secret",
    "resolve_tokens",
]
