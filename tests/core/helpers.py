"""Small seeded data sets for core tests."""
import numpy as np

from biodeep_gui.core.sequences.dataset import SequenceSet

MOTIF = np.array([0, 1, 2, 3, 3, 2, 1, 0, 2, 2], np.uint8)  # ACGTTGCAGG


def planted(n=400, length=60, seed=0, task="binary") -> SequenceSet:
    """Random DNA; half the sequences carry MOTIF at a random position (label 1)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length)).astype(np.uint8)
    y = np.zeros(n, np.float32)
    y[: n // 2] = 1
    rng.shuffle(y)
    for i in np.flatnonzero(y):
        p = rng.integers(0, length - len(MOTIF))
        codes[i, p:p + len(MOTIF)] = MOTIF
    if task == "regression":
        labels = (y * 2 + rng.normal(0, 0.1, n)).astype(np.float32)[:, None]
        return SequenceSet([f"s{i}" for i in range(n)], codes, labels, "regression", ["affinity"], [],
                           np.full(n, length, np.int32))
    return SequenceSet([f"s{i}" for i in range(n)], codes, y[:, None], "binary", ["bound"], ["background", "bound"],
                       np.full(n, length, np.int32))
