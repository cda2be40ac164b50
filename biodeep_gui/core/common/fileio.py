"""Atomic file writes and checksums: a crash mid-save never leaves a half-written file behind."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable


def atomic_write_with(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(fh)`` on a temporary file in ``path``'s folder, fsync it and ``os.replace`` it onto ``path``.

    The one implementation of temp file + fsync + replace + mode: readers see either the old file or the new one,
    never a partial write. ``write`` streams into the open binary file, so a large array never needs a second
    copy in memory. On any error the temporary file is removed and the error re-raised.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file 0600; keep the replaced file's mode, else the usual 0644
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write(path: str | os.PathLike, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write ``data`` (bytes, or text encoded with ``encoding``) to ``path`` atomically (see ``atomic_write_with``)."""
    raw = data.encode(encoding) if isinstance(data, str) else data
    return atomic_write_with(path, lambda fh: fh.write(raw))


def atomic_save_npy(path: str | os.PathLike, arr: Any) -> Path:
    """``np.save`` of ``arr`` (no pickles) to ``path`` atomically, streamed to disk (see ``atomic_write_with``)."""
    import numpy as np

    return atomic_write_with(path, lambda fh: np.save(fh, arr, allow_pickle=False))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
