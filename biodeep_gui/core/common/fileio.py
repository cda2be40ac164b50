"""Atomic file writes and checksums: a crash mid-save never leaves a half-written file behind."""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary file name in ``path``'s folder; when the block ends without error, fsync that file, give it
    ``path``'s mode and ``os.replace`` it onto ``path``. On any error the temporary file is removed, ``path`` is left
    as it was and the error re-raised.

    The one implementation of temp file + fsync + replace + mode. Use it directly for writers that need a file name
    (pass ``suffix=path.suffix`` when the writer picks the format from it); ``atomic_write_with`` for a stream.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:  # writable: Windows will not fsync a read-only handle
            os.fsync(fh.fileno())
        # mkstemp makes the file 0600; keep the replaced file's mode, else the usual 0644
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_with(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(fh)`` on a binary file opened on an ``atomic_path`` of ``path``: readers see either the old file
    or the new one, never a partial write. ``write`` streams into the file, so a large array never needs a second
    copy in memory."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        write(fh)
    return Path(path)


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
