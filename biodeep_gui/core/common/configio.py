"""The one configuration IO of BioDeep: read, build, check, migrate and write every settings file.

``RunConfig`` (sequences), ``ScansConfig`` (brain scans) and ``Project`` all go through here, so the GUI, the CLI
and saved runs refuse the same bad values with the same words. Every refusal is a ``ConfigError`` whose message
names the file or the setting (``section.key``), the value and what was expected.

- ``read_config_file``: a TOML or JSON file -> dict. Non-regular files (FIFOs, devices such as ``/dev/zero``) are
  refused before they are opened, so they never hang; files over ``MAX_CONFIG_BYTES``, binary files and bad syntax
  give one line naming the file.
- ``build``: nested dataclasses from a dict; unknown keys and wrong types are refused.
- ``check``: the types and ranges of every field of a (nested) dataclass, from the field metadata that
  ``number`` and ``choice`` declare. Call it after changing settings in place (CLI flags, GUI forms).
- ``migrate``: bring a dict of an older schema version up to date; refuse a bad or newer version.
- ``to_dict``, ``to_json``, ``write_json``: the shared serialisation (atomic writes).
- ``ConfigDocument``: the base of a top-level configuration dataclass (``from_dict``, ``load``, ``save``, ...).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import stat
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from biodeep_gui.core.common.errors import ConfigError

#: The largest configuration or project file read (settings files are a few kB; this refuses a wrong file early).
MAX_CONFIG_BYTES = 10 * 1024 * 1024


# ---- reading files -------------------------------------------------------------------------------------------------
def read_config_file(path: str | os.PathLike, *, what: str = "configuration", fmt: str | None = None) -> dict[str, Any]:
    """Read a TOML (``.toml``) or JSON (any other suffix) settings file into a dict.

    Parameters
    ----------
    path : the file
    what : the word used in messages ("configuration", "project")
    fmt : ``"toml"`` or ``"json"`` to override the choice by suffix

    Raises
    ------
    ConfigError : naming the file, for a missing, unreadable, non-regular, binary, oversized or malformed file, or
        one whose top level is not a table
    """
    path = Path(path)
    kind = (fmt or ("toml" if path.suffix.lower() == ".toml" else "json")).lower()
    label = "TOML" if kind == "toml" else "JSON"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} file ({exc.strerror or exc})") from None
    _check_regular(path, st, what)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the check, opening it still does not wait
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as fh:
            _check_regular(path, os.fstat(fh.fileno()), what)
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} file ({exc.strerror or exc})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(_too_big(path, len(raw), what))
    if b"\x00" in raw:
        raise ConfigError(f"{path}: a binary file, not a {label} {what} file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text at byte {exc.start}; expected a {label} {what} file") from None
    try:
        if kind == "toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except RecursionError:
        raise ConfigError(f"{path}: not a readable {what} file (not a valid {label} document: nested too "
                          f"deeply)") from None
    except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors (so are over-long integers)
        raise ConfigError(f"{path}: not a readable {what} file (not a valid {label} document: {exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table of settings at the top level, found {_kind_of(data)}")
    return data


def _check_regular(path: Path, st: os.stat_result, what: str) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"{path}: a folder, not a {what} file")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise ConfigError(f"{path}: {kind}, not a {what} file; give a regular TOML or JSON file")
    if st.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(_too_big(path, st.st_size, what))


def _too_big(path: Path, size: int, what: str) -> str:
    return (f"{path}: over {MAX_CONFIG_BYTES // 2**20} MiB ({size:,} bytes or more), too large for a {what} "
            f"file; is this the right file?")


# ---- field declarations ---------------------------------------------------------------------------------------------
def number(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
           lt: float | None = None, note: str = "") -> Any:
    """A dataclass field holding a number in a range (floats are always finite), checked by ``check``.

    ``note`` is added to the message (e.g. "0 = off").
    """
    return dataclasses.field(default=default, metadata={"range": (ge, gt, le, lt), "note": note})


def choice(default: str, allowed: tuple[str, ...]) -> Any:
    """A dataclass field holding one of ``allowed``, checked by ``check``."""
    return dataclasses.field(default=default, metadata={"choices": tuple(allowed)})


# ---- building and checking ------------------------------------------------------------------------------------------
def build(kind: type, values: Any, section: str = "") -> Any:
    """An instance of the dataclass ``kind`` from a dict, nested dataclass fields built from nested dicts.

    Missing keys take the defaults. Raises ``ConfigError`` naming ``section.key`` for an unknown key, a value of
    the wrong type, a number out of its range or a value not among its choices.
    """
    if not isinstance(values, dict):
        where = section or "the configuration"
        raise ConfigError(f"{where} = {short(values)} is not a table of settings (found {_kind_of(values)})")
    fields = {f.name: f for f in dataclasses.fields(kind) if f.init}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        names = ", ".join(_key(section, str(u)) for u in unknown)
        raise ConfigError(f"unknown setting{'s' if len(unknown) > 1 else ''} {names}; known in "
                          f"{f'[{section}]' if section else 'the top level'}: {', '.join(sorted(fields))}")
    hints = _hints(kind)
    args = {}
    for name, value in values.items():
        key = _key(section, name)
        sub = _dataclass_type(hints[name])
        if sub is not None:
            args[name] = build(sub, value, key)
        else:
            check_value(key, value, hints[name], fields[name])
            args[name] = value
    return kind(**args)


def check(obj: Any, section: str = "") -> None:
    """Check the type, range and choices of every field of the dataclass ``obj`` (recursively).

    Raises ``ConfigError`` naming ``section.key`` of the first bad value.
    """
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        key = _key(section, f.name)
        value = getattr(obj, f.name)
        if _dataclass_type(hints[f.name]) is not None:
            if not dataclasses.is_dataclass(value):
                raise ConfigError(f"{key} = {short(value)} is not a table of settings")
            check(value, key)
        else:
            check_value(key, value, hints[f.name], f)


def check_value(key: str, value: Any, hint: Any, f: dataclasses.Field | None = None) -> None:
    """Refuse ``value`` for the setting ``key`` unless it has the type ``hint`` and meets ``f``'s metadata."""
    meta = f.metadata if f is not None else {}
    check_type(key, value, hint, finite="range" not in meta)  # with a range, its message says what is allowed
    if "choices" in meta:
        check_choice(key, value, meta["choices"])
    if "range" in meta:
        ge, gt, le, lt = meta["range"]
        check_range(key, value, ge=ge, gt=gt, le=le, lt=lt, note=meta.get("note", ""))


def check_type(key: str, value: Any, hint: Any, *, finite: bool = True) -> None:
    """Refuse a value that is not of the type ``hint`` (bool, int, float, str, list[...], dict[...]).

    Whole numbers stand for floats; floats must be finite (NaN and infinities are refused everywhere).
    """
    origin = typing.get_origin(hint) or hint
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        if not isinstance(value, list):
            raise ConfigError(f"{key} = {short(value)} is not a list ({_describe(item)} each)")
        for i, v in enumerate(value):
            check_type(f"{key}[{i}]", v, item)
        return
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} = {short(value)} is not a table of settings")
        check_finite_tree(key, value)
        return
    if hint is Any:
        return
    ok = {bool: lambda v: isinstance(v, bool),
          int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          str: lambda v: isinstance(v, str)}[origin](value)
    if not ok:
        raise ConfigError(f"{key} = {short(value)} is not {_describe(origin)} (found {_kind_of(value)})")
    if finite and origin is float and not math.isfinite(value):
        raise ConfigError(f"{key} = {short(value)} is not a finite number")


def check_finite_tree(key: str, value: Any) -> None:
    """Refuse NaN or infinite floats anywhere inside a free-form table (e.g. model hyper-parameters)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} = {short(value)} is not a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite_tree(f"{key}.{k}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_finite_tree(f"{key}[{i}]", v)


def check_range(key: str, value: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
                lt: float | None = None, note: str = "") -> None:
    """Refuse a number outside the range (NaN and infinities always refused); the message states the range."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float))
    if not bad and isinstance(value, float) and not math.isfinite(value):
        bad = True
    if not bad:
        bad = ((ge is not None and value < ge) or (gt is not None and value <= gt)
               or (le is not None and value > le) or (lt is not None and value >= lt))
    if bad:
        raise ConfigError(f"{key} = {short(value)} is not {_range_words(value, ge, gt, le, lt)}"
                          + (f" ({note})" if note else ""))


def check_choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} = {short(value)} is not one of: {', '.join(allowed)}")


def _range_words(value: Any, ge, gt, le, lt) -> str:
    whole = isinstance(value, int) and not isinstance(value, bool)
    noun = "a whole number" if whole else "a finite number"
    lo = f">= {_fmt(ge)}" if ge is not None else f"> {_fmt(gt)}" if gt is not None else ""
    hi = f"<= {_fmt(le)}" if le is not None else f"< {_fmt(lt)}" if lt is not None else ""
    if lo and hi:
        left = "[" if ge is not None else "("
        right = "]" if le is not None else ")"
        low = ge if ge is not None else gt
        high = le if le is not None else lt
        return f"{noun} in {left}{_fmt(low)}, {_fmt(high)}{right}"
    return f"{noun} {lo or hi}".rstrip()


def _fmt(x: float) -> str:
    if isinstance(x, int) and abs(x) >= 10_000:
        return f"{x:,}".replace(",", "_")
    return f"{x:g}" if isinstance(x, float) else str(x)


def short(value: Any, limit: int = 60) -> str:
    """``repr`` of a value, cut to ``limit`` characters (a megabyte-long string must not become the message)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind_of(value: Any) -> str:
    return {bool: "true/false", int: "a whole number", float: "a number", str: "text", list: "a list",
            dict: "a table", type(None): "nothing (null)"}.get(type(value), type(value).__name__)


def _describe(kind: Any) -> str:
    return {bool: "true or false", int: "a whole number", float: "a finite number", str: "text",
            list: "a list", dict: "a table of settings", Any: "any value"}.get(kind, getattr(kind, "__name__", str(kind)))


def _key(section: str, name: str) -> str:
    return f"{section}.{name}" if section else name


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(kind: type) -> dict[str, Any]:
    if kind not in _HINTS:
        _HINTS[kind] = typing.get_type_hints(kind)
    return _HINTS[kind]


def _dataclass_type(hint: Any) -> type | None:
    return hint if isinstance(hint, type) and dataclasses.is_dataclass(hint) else None


# ---- schema versions ------------------------------------------------------------------------------------------------
def check_version(version: Any, current: int, *, key: str = "schema_version", what: str = "configuration") -> int:
    """``version`` as an int; ``ConfigError`` for text, true/false, a number < 1 or a version newer than ``current``."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"{key} = {short(version)} is not a whole number >= 1")
    if version > current:
        raise ConfigError(f"{what} {key} {version} is newer than this BioDeep understands ({current}); "
                          f"please update BioDeep")
    return version


def migrate(raw: Any, current: int, steps: dict[int, Callable[[dict[str, Any]], None]] | None = None, *,
            key: str = "schema_version", default: int = 1, what: str = "configuration") -> dict[str, Any]:
    """A deep copy of ``raw`` brought up to version ``current``.

    Parameters
    ----------
    raw : a dict read from a file or a run folder
    current : the version this BioDeep writes
    steps : ``{v: f}`` where ``f(d)`` turns a version-``v`` dict into a version ``v + 1`` one, in place
    key : where the version is stored (set to ``current`` in the result)
    default : the version of a dict without ``key``
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"expected a table of settings, found {_kind_of(raw)}")
    raw = copy.deepcopy(raw)
    version = check_version(raw.get(key, default), current, key=key, what=what)
    for v in range(version, current):
        step = (steps or {}).get(v)
        if step is not None:
            step(raw)
    raw[key] = current
    return raw


def section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    """The sub-table ``raw[name]`` (empty when absent); a ``ConfigError`` naming it when it is not a table."""
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{name} = {short(value)} is not a table of settings (found {_kind_of(value)})")
    return value


# ---- writing --------------------------------------------------------------------------------------------------------
def to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass as plain JSON-ready data."""
    return dataclasses.asdict(obj)


def to_json(data: Any) -> str:
    """Pretty, stable JSON of a dict or a dataclass."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    return json.dumps(data, indent=2, sort_keys=True)


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write a dict or a dataclass as JSON atomically (temp file + rename)."""
    from biodeep_gui.core.common.fileio import atomic_write

    return atomic_write(path, to_json(data) + "\n")


# ---- a top-level configuration ----------------------------------------------------------------------------------------
class ConfigDocument:
    """Base of a versioned top-level configuration dataclass (``RunConfig``, ``ScansConfig``).

    A subclass is a ``@dataclass`` whose fields declare their checks (``number``, ``choice``, nested dataclasses);
    it defines ``migrate_dict`` (older dict -> current dict) and may extend ``validate`` (combinations of settings)
    and ``unwrap`` (e.g. take the configuration out of a run folder's ``run.json``).
    """

    @classmethod
    def migrate_dict(cls, raw: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def unwrap(cls, raw: dict[str, Any]) -> dict[str, Any]:
        """The configuration inside a document read from a file (itself by default)."""
        return raw

    @classmethod
    def from_dict(cls, raw: dict[str, Any]):
        """Build and check a configuration of any schema version; ``ConfigError`` naming the first bad setting."""
        cfg = build(cls, cls.migrate_dict(raw))
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Read a TOML (``.toml``) or JSON file; ``ConfigError`` naming the file and the setting."""
        raw = cls.unwrap(read_config_file(path))
        try:
            return cls.from_dict(raw)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first invalid setting (types, ranges and choices of every field)."""
        check(self)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def to_json(self) -> str:
        return to_json(self)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the configuration as JSON, atomically."""
        return write_json(path, self)
