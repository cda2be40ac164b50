"""Atomic file writes and checksums: a crash mid-save never leaves a half-written file behind."""
from __future__ import annotations

import contextlib
import hashlib
import os
import stat
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


# ---- the one read guard ----------------------------------------------------------------------------------------

_GiB = 1 << 30


def check_readable_file(path: str | os.PathLike, what: str, max_bytes: int | None = None) -> Path:
    """Refuse anything but a readable regular file, before opening it; returns ``Path(path)``.

    A named pipe (FIFO), a socket, a device (``/dev/zero``) or a folder is named as such: opening one could
    block forever or never end. ``what`` says what was expected ("a FASTA/FASTQ file"); ``max_bytes`` caps the
    size where a bigger file cannot be what was expected (a motif file, a label table).

    Raises
    ------
    InputFileError
    """
    from biodeep_gui.core.common.errors import InputFileError

    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputFileError(path, "file not found", expected=what) from None
    except PermissionError:
        raise InputFileError(path, "cannot be read (permission denied)", expected=what) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        raise InputFileError(path, f"cannot be read ({getattr(exc, 'strerror', None) or exc})", expected=what) from None
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise InputFileError(path, "is a folder, not a file", expected=what)
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
        raise InputFileError(path, f"is {kind}, not a regular file; save the data to a file and give that",
                             expected=what)
    if max_bytes is not None and st.st_size > max_bytes:
        raise InputFileError(path, f"is {st.st_size / 1e6:,.1f} MB, more than the {max_bytes / 1e6:,.0f} MB "
                                   f"such a file can sensibly be", expected=what)
    if not os.access(p, os.R_OK):
        raise InputFileError(path, "cannot be read (permission denied)", expected=what)
    return p


def memory_budget(fraction: float = 0.25, floor: int = 2 * _GiB) -> int:
    """Bytes one array may take: ``fraction`` of the machine's RAM (at least ``floor``), and never more than
    half of the address-space limit (``ulimit -v``) when one is set."""
    budget = floor
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        budget = max(floor, int(ram * fraction))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            budget = min(budget, soft // 2)
    except (ImportError, OSError, ValueError):
        pass
    return budget


# ---- the one write rule ----------------------------------------------------------------------------------------

RUN_MARKER = "run.json"  # every BioDeep run folder (sequences and scans) has one


def _run_folder_of(p: Path) -> Path | None:
    """The run folder ``p`` is, or lies inside (the nearest folder up holding a run.json)."""
    for folder in (p, *p.parents):
        try:
            if (folder / RUN_MARKER).is_file():
                return folder
        except OSError:
            return None
    return None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a == b


def check_output_path(out: str | os.PathLike, inputs=(), kind: str = "file", *, setting: str = "--out",
                      overwrite: bool = False, own_suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse an output path that would destroy an input or someone else's files; returns ``Path(out)``.

    Parameters
    ----------
    out : the path the command writes
    inputs : files and folders the command reads (an input run folder included)
    kind : 'file' (one file written, e.g. a CSV), 'folder' (files written into it) or 'run' (a run folder)
    setting : the flag or form field named in messages
    overwrite : 'run' only: an existing run folder may be replaced
    own_suffixes : 'folder' only: an existing non-empty folder is accepted when every file in it has one of
                   these suffixes (what this command writes, so it can be run again into the same folder)

    Rules: never equal to or inside an input file, never holding an input (for folders), never a file inside
    an existing run folder, never a non-empty folder that is not a BioDeep run, and an existing run folder
    only with ``overwrite``.

    Raises
    ------
    ConfigError
    """
    from biodeep_gui.core.common.errors import ConfigError

    raw = out
    out = Path(out)
    where = f"{setting} {str(raw)!r}"
    try:
        target = out.resolve()
    except (OSError, RuntimeError) as exc:
        raise ConfigError(f"{where}: cannot be used as an output ({exc})") from None
    for inp in inputs:
        if not inp:
            continue
        ip = Path(inp)
        try:
            ires = ip.resolve()
        except (OSError, RuntimeError):
            continue
        if target == ires or _same(out, ip):
            raise ConfigError(f"{where} is the input {str(inp)!r}: writing there would destroy it; "
                              f"choose another output path")
        if ires in target.parents:
            raise ConfigError(f"{where} lies inside the input {str(inp)!r}; choose an output path outside it")
        if kind == "run" and ip.name == RUN_MARKER and ires.parent == target:
            continue  # retraining a run from its own run.json (read before anything is written): --overwrite decides
        if kind in ("folder", "run") and target in ires.parents and ip.is_file():
            raise ConfigError(f"{where} holds the input file {str(inp)!r}; choose a new folder for the output")
    if out.exists() and not out.is_dir() and kind != "file":
        raise ConfigError(f"{where} is an existing file, not a folder; choose a new folder")
    if kind == "file":
        if out.is_dir():
            raise ConfigError(f"{where} is a folder; give a file name to write")
        run = _run_folder_of(target.parent)
        if run is not None:
            raise ConfigError(f"{where} lies inside the run folder {str(run)!r}, whose files only training "
                              f"writes; choose a path outside it")
        if out.exists() and not out.is_file():
            raise ConfigError(f"{where} is not a regular file; choose a file to write")
        return out
    run = _run_folder_of(target)
    if run is not None and run != target:
        raise ConfigError(f"{where} lies inside the run folder {str(run)!r}; choose a path outside it")
    if not out.is_dir():
        return out
    try:
        entries = list(out.iterdir())
    except OSError as exc:
        raise ConfigError(f"{where}: the folder cannot be listed ({exc.strerror or exc})") from None
    if not entries:
        return out
    if run == target:
        if kind == "run" and overwrite:
            return out
        if kind == "run":
            how = "give --overwrite to replace it, or " if setting.startswith("--") else ""
            raise ConfigError(f"{where} is an existing run; {how}choose a new folder")
        raise ConfigError(f"{where} is a run folder; write the output to a folder of its own")
    if kind == "folder" and own_suffixes:
        files = [f for f in out.rglob("*") if not f.is_dir()]
        if all(f.name.lower().endswith(own_suffixes) for f in files):
            return out
    raise ConfigError(f"{where} is a folder that already holds files and is not a BioDeep "
                      f"{'run' if kind == 'run' else 'output'}; choose a new or empty folder")
