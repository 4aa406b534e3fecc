"""Typed readers of `.conf` option values, with Asterisk's own spellings of yes and no."""

from __future__ import annotations

from .errors import ConfigError, Where

# ast_true() / ast_false() in Asterisk's main/utils.c accept exactly these words.
_TRUE = {"yes", "true", "y", "t", "1", "on"}
_FALSE = {"no", "false", "n", "f", "0", "off"}


def parse_bool(value: str, key: str, where: Where) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConfigError(where, f"{key} = {value!r}: expected yes or no")


def parse_int(value: str, key: str, where: Where, minimum: int | None = 0) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(where, f"{key} = {value!r}: expected a whole number") from None
    if minimum is not None and number < minimum:
        raise ConfigError(where, f"{key} = {value!r}: must be at least {minimum}")
    return number


def parse_choice(value: str, key: str, where: Where, choices: frozenset[str]) -> str:
    word = value.strip().lower()
    if word not in choices:
        allowed = ", ".join(sorted(choices))
        raise ConfigError(where, f"{key} = {value!r} is not supported (supported: {allowed})")
    return word


def parse_list(value: str) -> tuple[str, ...]:
    """A comma-separated list with blanks dropped (`channelvars`, `read`, `write`)."""
    return tuple(part.strip() for part in value.split(",") if part.strip())
