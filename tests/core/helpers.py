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


GC_BOX = "GGGCGGGGC"
AT_BOX = "TTAATTAA"


def planted_gc_box(task: str = "binary", n: int = 300, length: int = 50, seed: int = 0) -> SequenceSet:
    """Random DNA with a planted GC box: every other sequence carries it (binary), none / GC box / AT box
    (multiclass, labels 0/1/2 in turn) or 0-2 copies with the count plus noise as the value (regression)."""
    from biodeep_gui.core.sequences.encoding import encode

    gc, at = encode(GC_BOX), encode(AT_BOX)
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length)).astype(np.uint8)
    ids = [f"s{i}" for i in range(n)]
    lengths = np.full(n, length, np.int32)
    if task == "binary":
        y = (np.arange(n) % 2).astype(np.float32)
        for i in np.flatnonzero(y):
            p = rng.integers(0, length - len(gc))
            codes[i, p:p + len(gc)] = gc
        return SequenceSet(ids, codes, y[:, None], "binary", ["bound"], ["background", "bound"], lengths)
    if task == "multiclass":
        y = (np.arange(n) % 3).astype(np.float32)
        for i in range(n):
            m = {1: gc, 2: at}.get(int(y[i]))
            if m is not None:
                p = rng.integers(0, length - len(m))
                codes[i, p:p + len(m)] = m
        return SequenceSet(ids, codes, y[:, None], "multiclass", ["class"], ["none", "GC box", "AT box"], lengths)
    y = np.zeros(n, np.float32)
    for i in range(n):
        k = int(rng.integers(0, 3))
        for j in range(k):
            p = j * 20 + int(rng.integers(0, 20 - len(gc)))
            codes[i, p:p + len(gc)] = gc
        y[i] = k + rng.normal(0, 0.3)
    return SequenceSet(ids, codes, y[:, None], "regression", ["affinity"], [], lengths)


class ChunkOnly:
    """(N, L) codes that refuse to be copied whole (``np.asarray``) and record the rows of each read: a stand-in for
    a memory-mapped cache that proves a reader goes chunk by chunk."""

    def __init__(self, codes):
        self.codes, self.reads = codes, []
        self.shape, self.dtype, self.ndim = codes.shape, codes.dtype, 2

    def __len__(self):
        return len(self.codes)

    def __getitem__(self, index):
        out = np.asarray(self.codes[index])
        self.reads.append(len(out))
        return out

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the whole array was copied")
