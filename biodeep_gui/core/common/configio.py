"""Building config dataclasses from plain dicts: unknown keys and wrong types raise ConfigError naming the key."""
from __future__ import annotations

import dataclasses
from typing import Any

from biodeep_gui.core.common.errors import ConfigError


def _build(kind, values: dict[str, Any], section: str):
    if not isinstance(values, dict):
        raise ConfigError(f"[{section}] must be a table of settings")
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown setting(s) in [{section}]: {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
    defaults = kind()
    for name, value in values.items():
        _check_type(f"{section}.{name}", value, getattr(defaults, name))
    return kind(**values)


def _check_type(name: str, value: Any, default: Any) -> None:
    """Refuse a value whose type differs from the setting's default (ints may stand for floats)."""
    import math

    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
    else:
        ok = isinstance(value, str)
    if not ok:
        kind = {bool: "true or false", int: "a whole number", float: "a finite number", list: "a list of names",
                dict: "a table of settings", str: "text"}[type(default)]
        raise ConfigError(f"{name} = {value!r} is not {kind}")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} = {value!r} is not one of: {', '.join(allowed)}")
