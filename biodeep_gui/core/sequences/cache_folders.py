"""What the encoded cache holds on disk, and clearing it (File ▸ Clear encoded cache… in the window).

Every encoded set is one folder under ``cache.default_root()`` named by ``cache.folder_for`` (24 hex digits).
Deleting such a folder is always safe: the next run on the same files encodes them again. Only folders with
such a name are counted or deleted, so that nothing else a user may have put in that folder is ever touched.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

_NAME = re.compile(r"[0-9a-f]{24}")


def cache_folders(root: str | os.PathLike | None = None) -> list[tuple[Path, int]]:
    """The encoded sets under ``root`` (default ``cache.default_root()``) and their sizes on disk.

    Returns
    -------
    (folder, bytes) pairs in name order; [] when ``root`` does not exist
    """
    if root is None:
        from biodeep_gui.core.sequences.cache import default_root

        root = default_root()
    root = Path(root)
    try:
        entries = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and _NAME.fullmatch(p.name))
    except OSError:
        return []
    return [(p, _size(p)) for p in entries]


def clear_cache(root: str | os.PathLike | None = None, keep=()) -> tuple[int, list[str]]:
    """Delete the encoded sets under ``root`` except the folders in ``keep`` (e.g. the set open in the window).

    Returns
    -------
    freed : bytes deleted
    problems : one line per folder that could not be deleted (folder: reason); what is left of it is encoded
               again when next needed
    """
    kept = {Path(k).resolve() for k in keep if k}
    freed, problems = 0, []
    for folder, size in cache_folders(root):
        if folder.resolve() in kept:
            continue
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            problems.append(f"{folder}: could not be deleted ({exc.strerror or exc})")
            continue
        freed += size
    return freed, problems


def _size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass  # a file deleted meanwhile takes no room
    return total
