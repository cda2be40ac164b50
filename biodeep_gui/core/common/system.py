"""Facts about this process read from the operating system: its memory and its age (Linux /proc, else getrusage).

One reader for the window's status bar, the self-test and the benchmarks, so that they all measure the same thing.
"""
from __future__ import annotations

import os
import sys

#: ``/proc/self/status`` fields that ``getrusage``'s peak can stand in for where /proc does not exist.
_PEAK_FALLBACK = ("VmRSS", "VmHWM")


def process_memory(field: str = "VmRSS") -> int | None:
    """One memory figure of this process in bytes.

    Parameters
    ----------
    field : a ``/proc/self/status`` field in kB: ``VmRSS`` (resident now, the default), ``VmHWM`` (peak resident),
            ``RssAnon`` (resident anonymous memory), ...

    Returns
    -------
    The value in bytes. Without /proc (macOS, Windows, BSD) ``VmRSS`` and ``VmHWM`` fall back to the peak resident
    size from ``getrusage``; other fields, or no reader at all, give None.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return None
    except OSError:
        pass
    if field not in _PEAK_FALLBACK:
        return None
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux/BSD
    except (ImportError, OSError):
        return None


def seconds_since_process_start() -> float | None:
    """Wall time since this process started (Linux: from /proc; elsewhere ``None``)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5); the split drops pid and comm
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def bound_heap(mmap_threshold: int = 256 << 10, arenas: int = 2) -> bool:
    """Keep freed large blocks from staying in this process's heap (glibc only; elsewhere a no-op).

    glibc raises its mmap threshold each time a large block is freed, after which batch-sized buffers come from
    per-thread heaps that are never given back: resident anonymous memory then creeps up by tens to hundreds of MiB
    over a long streamed training run. A fixed threshold (blocks >= ``mmap_threshold`` bytes are mapped and
    unmapped on free) and at most ``arenas`` heaps keep it flat. Called when a run streams from the encoded cache.

    Returns
    -------
    True when both settings were applied.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold, m_arena_max = -3, -8  # from malloc.h
        return libc.mallopt(m_mmap_threshold, int(mmap_threshold)) == 1 and libc.mallopt(m_arena_max, int(arenas)) == 1
    except (OSError, AttributeError):
        return False


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask on Linux, else all of the machine's), at least 1.

    A batch job or a container given 4 of a node's 64 cores has an affinity of 4: threads beyond that only wait.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def limit_threads(n: int) -> int:
    """Make torch's intra-op pool use ``n`` threads (the command line's ``--threads``); returns ``n``.

    torch sizes its pool from the machine's cores, not from the CPUs a job was given, and on a shared or
    batch-scheduled machine the extra threads spin at their barriers instead of working.
    """
    import torch

    torch.set_num_threads(int(n))
    return int(n)
