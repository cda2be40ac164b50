"""Per-user folders for data, caches, logs, crash reports and settings.

The rules are those of ``QStandardPaths`` / platformdirs, written in plain Python so that ``biodeep_gui.core``
and the command line can use them without importing Qt:

=========  ====================================  =======================================  ==================================
folder     Linux (XDG)                           Windows                                  macOS
=========  ====================================  =======================================  ==================================
data       ``$XDG_DATA_HOME/BioDeep``            ``%APPDATA%\\BioDeep``                    ``~/Library/Application Support/BioDeep``
           (``~/.local/share/BioDeep``)
config     ``$XDG_CONFIG_HOME/BioDeep``          ``%APPDATA%\\BioDeep\\Config``             ``~/Library/Application Support/BioDeep/Config``
           (``~/.config/BioDeep``)
cache      ``$XDG_CACHE_HOME/BioDeep``           ``%LOCALAPPDATA%\\BioDeep\\Cache``         ``~/Library/Caches/BioDeep``
           (``~/.cache/BioDeep``)
log        ``$XDG_STATE_HOME/BioDeep/logs``      ``%LOCALAPPDATA%\\BioDeep\\Logs``          ``~/Library/Logs/BioDeep``
           (``~/.local/state/BioDeep/logs``)
crash      ``$XDG_STATE_HOME/BioDeep/crash``     ``%LOCALAPPDATA%\\BioDeep\\CrashReports``  ``~/Library/Logs/BioDeep/CrashReports``
=========  ====================================  =======================================  ==================================

``BIODEEP_HOME`` (tests, portable installs) puts all five under one folder: ``$BIODEEP_HOME/data``, ``config``,
``cache``, ``logs``, ``crash``. The older ``BIODEEP_DATA_DIR`` still moves the data folder alone, with a deprecation
line in the log.

Nothing is ever placed next to the executable: an installed app's folder is usually read-only (``Program Files``,
``/opt``, a signed ``.app``), and a science tool that writes there fails to start for every non-admin user.
``ensure_dir`` creates a folder and, if that is impossible (a read-only or full home folder), falls back to a
per-user folder in the system temp directory so that the app still starts; it never raises for that reason.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

APP_NAME = "BioDeep"
#: Environment variable that moves every user folder below one root (tests, portable installs).
HOME_ENV = "BIODEEP_HOME"
#: Deprecated alias that moves only the data folder (BioDeep 0.1); ``BIODEEP_HOME`` replaces it.
DATA_ENV = "BIODEEP_DATA_DIR"
KINDS = ("data", "config", "cache", "log", "crash")


@dataclass(frozen=True)
class UserDirs:
    """The five per-user folders (not created; see ``ensure_dir``)."""

    data: Path
    config: Path
    cache: Path
    log: Path
    crash: Path

    def get(self, kind: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"unknown folder kind {kind!r}; use one of {', '.join(KINDS)}")
        return getattr(self, kind)


def _platform(system: str | None) -> str:
    s = system or sys.platform
    if s.startswith("win"):
        return "windows"
    if s == "darwin":
        return "macos"
    return "linux"  # Linux and the other Unixes follow XDG, as QStandardPaths does


def _absolute(env: Mapping[str, str], name: str) -> Path | None:
    # The XDG spec says relative paths in these variables are invalid and must be ignored.
    value = env.get(name, "")
    return Path(value) if value and os.path.isabs(value) else None


def user_dirs(*, system: str | None = None, env: Mapping[str, str] | None = None,
              home: str | os.PathLike | None = None) -> UserDirs:
    """The per-user folders for this platform.

    Parameters
    ----------
    system : ``sys.platform``-style name ('linux', 'win32', 'darwin'); default: this machine
    env : environment to read (default ``os.environ``)
    home : the user's home folder (default ``Path.home()``)
    """
    env = os.environ if env is None else env
    root = env.get(HOME_ENV, "")
    if root:
        r = Path(root).expanduser().absolute()
        dirs = UserDirs(r / "data", r / "config", r / "cache", r / "logs", r / "crash")
    else:
        dirs = _platform_dirs(system, env, Path(home) if home is not None else Path.home())
    legacy = env.get(DATA_ENV, "")
    if legacy:
        _warn_deprecated()
        dirs = UserDirs(Path(legacy).expanduser().absolute(), dirs.config, dirs.cache, dirs.log, dirs.crash)
    return dirs


_warned: list[bool] = []


def _warn_deprecated() -> None:
    if not _warned:
        _warned.append(True)
        logging.getLogger("biodeep").warning("%s is deprecated: set %s instead (data then goes to %s/data)",
                                             DATA_ENV, HOME_ENV, HOME_ENV)


def _platform_dirs(system: str | None, env: Mapping[str, str], home_p: Path) -> UserDirs:
    kind = _platform(system)
    if kind == "windows":
        roaming = _absolute(env, "APPDATA") or home_p / "AppData" / "Roaming"
        local = _absolute(env, "LOCALAPPDATA") or home_p / "AppData" / "Local"
        return UserDirs(roaming / APP_NAME, roaming / APP_NAME / "Config", local / APP_NAME / "Cache",
                        local / APP_NAME / "Logs", local / APP_NAME / "CrashReports")
    if kind == "macos":
        support = home_p / "Library" / "Application Support" / APP_NAME
        logs = home_p / "Library" / "Logs" / APP_NAME
        return UserDirs(support, support / "Config", home_p / "Library" / "Caches" / APP_NAME, logs,
                        logs / "CrashReports")
    data = _absolute(env, "XDG_DATA_HOME") or home_p / ".local" / "share"
    config = _absolute(env, "XDG_CONFIG_HOME") or home_p / ".config"
    cache = _absolute(env, "XDG_CACHE_HOME") or home_p / ".cache"
    state = _absolute(env, "XDG_STATE_HOME") or home_p / ".local" / "state"
    return UserDirs(data / APP_NAME, config / APP_NAME, cache / APP_NAME, state / APP_NAME / "logs",
                    state / APP_NAME / "crash")


def install_dir() -> Path | None:
    """The folder of the frozen executable (PyInstaller), or ``None`` when running from source."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return None


def _fallback(kind: str) -> Path:
    try:
        user = os.getlogin()
    except OSError:
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"{APP_NAME}-{user}" / kind


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-", delete=True)
        probe.close()
        return True
    except OSError:
        return False


def ensure_dir(kind: str, dirs: UserDirs | None = None) -> Path:
    """Create the ``kind`` folder ('data', 'config', 'cache', 'log', 'crash') and return it.

    A folder that cannot be created or written is replaced by ``<temp>/BioDeep-<user>/<kind>``; a folder inside
    the frozen app's install folder is never used (even if ``BIODEEP_HOME`` points there).
    """
    path = (dirs or user_dirs()).get(kind)
    inst = install_dir()
    inside_install = inst is not None and (path.resolve() == inst or inst in path.resolve().parents)
    if not inside_install and _writable_dir(path):
        return path
    fb = _fallback(kind)
    fb.mkdir(parents=True, exist_ok=True)  # the temp folder is the last resort; if even it fails, say so
    return fb


def data_dir() -> Path:
    """Runs, demo data, projects by default (created)."""
    return ensure_dir("data")


def config_dir() -> Path:
    """Settings files (created)."""
    return ensure_dir("config")


def cache_dir() -> Path:
    """Caches that can be rebuilt: genome indexes, Tomtom results, numba's compiled code (created)."""
    return ensure_dir("cache")


def log_dir() -> Path:
    """Log files (created)."""
    return ensure_dir("log")


def crash_dir() -> Path:
    """Crash reports: one text file per unhandled exception (created)."""
    return ensure_dir("crash")
