"""``BIODEEP_QUICK=1``: a testing aid that shortens the heavy commands, and the one place that reads it.

``tests/test_readme.py`` runs every command the README shows, verbatim, in a copy of the repository; with this
variable set, training stops after one epoch, the scans cross-validation uses few folds and permutations, the demo
writers write small data sets, the benchmarks run their quick mode and ``biodeep gui --demo`` closes itself once the
demo is open. Results are NOT comparable with a normal run: every command that shortens something says so on
stderr (the message comes from ``notice``). When the variable is unset (or ``0``) nothing here changes anything.
"""
from __future__ import annotations

import dataclasses
import os

ENV = "BIODEEP_QUICK"

#: Settings capped in quick mode, by field name (in whichever configuration dataclass holds them).
LIMITS: dict[str, int] = {
    "epochs": 1,  # sequences and the scans autoencoder
    "cnn_epochs": 1,  # the scans 3-D CNN arm
    "head_epochs": 5,  # the code classifier (full-batch epochs, milliseconds each)
    "folds": 2,
    "permutations": 2,
}


def active() -> bool:
    """Whether ``BIODEEP_QUICK`` is set to something other than empty or ``0``."""
    return os.environ.get(ENV, "").strip() not in ("", "0")


def size(normal: int, quick: int) -> int:
    """``quick`` in quick mode, else ``normal``: the size of a demo data set or of a benchmark's workload."""
    return min(normal, quick) if active() else normal


def shorten(*configs) -> list[str]:
    """Cap the fields of ``LIMITS`` found in the given configuration dataclasses, in place, in quick mode.

    Returns
    -------
    what was capped, e.g. ``["epochs capped at 1"]`` (empty when quick mode is off or nothing was above its cap);
    the caller prints it with ``notice``.
    """
    if not active():
        return []
    done = []
    for cfg in configs:
        names = {f.name for f in dataclasses.fields(cfg)}
        for name, limit in LIMITS.items():
            if name in names and getattr(cfg, name) > limit:
                setattr(cfg, name, limit)
                done.append(f"{name} capped at {limit}")
    return done


def notice(capped: list[str] | None = None, what: str = "") -> str:
    """``BIODEEP_QUICK is set: ...`` in quick mode (the CLI and the benchmarks print it, so no shortened result
    passes unseen), else ``""``. ``capped`` lists what ``shorten`` changed; ``what`` anything else shortened."""
    if not active():
        return ""
    parts = list(capped or []) + ([what] if what else [])
    return f"{ENV} is set: " + ("; ".join(parts) if parts else "quick mode (a testing aid)")
