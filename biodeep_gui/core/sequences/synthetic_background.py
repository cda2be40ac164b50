"""SYNTHETIC background DNA: an order-1 Markov chain with the human GC content and CpG depletion.

Background DNA is an order-1 Markov chain with the human genome's average GC content (``gc``, default 0.42),
the same statistics on both strands, and CpG dinucleotides at ``cpg_ratio`` (default 0.25) times their expected
frequency: the CpG depletion of methylated mammalian DNA (observed/expected ~0.2-0.25 in human). Also the
A/C/G/T <-> uint8 code conversions and the seeded random streams of the SYNTHETIC generators.
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from biodeep_gui.core.sequences.encoding import BASES, encode

#: Average GC content of the human genome (GRCh38: ~41 %).
HUMAN_GC = 0.42
#: Observed / expected CpG dinucleotides in human DNA.
CPG_RATIO = 0.25

# Per-generator salts: the same seed gives unrelated backgrounds in different data sets.
_SALT = {"planted": 11, "cooperative": 12, "affinity": 13, "genome": 14, "predict": 15}


def seeded_rng(seed: int, salt: str) -> np.random.Generator:
    """The random stream of one SYNTHETIC generator (``salt``: planted, cooperative, affinity, genome, predict)."""
    return np.random.default_rng([int(seed), _SALT[salt]])


@functools.lru_cache(maxsize=32)
def background_model(gc: float = HUMAN_GC, cpg_ratio: float = CPG_RATIO) -> tuple[np.ndarray, np.ndarray]:
    """The order-1 Markov chain of the background DNA.

    Built from a dinucleotide table ``F[x, y] = a_x * b_y * K[x, y]`` with ``K = 1`` except for CpG, scaled
    (Sinkhorn) so that both margins equal the base composition: the chain then has exactly ``gc`` GC, equal
    A/T and C/G (both strands alike, as in real DNA), and CpG at ``cpg_ratio`` x its expected frequency.

    Returns
    -------
    start : (4,) float64, stationary base distribution (A, C, G, T); ``start[1] + start[2] == gc``
    transition : (4, 4) float64, ``transition[prev, next]``, rows sum to 1. Read-only (cached).
    """
    if not 0.0 < gc < 1.0:
        raise ValueError(f"gc must be between 0 and 1, got {gc}")
    if not 0.0 < cpg_ratio <= 1.0:
        raise ValueError(f"cpg_ratio must be in (0, 1], got {cpg_ratio}")
    comp = base_composition(gc)

    def table(k_cg: float) -> np.ndarray:
        kernel = np.ones((4, 4))
        kernel[1, 2] = k_cg
        f = np.outer(comp, comp) * kernel
        for _ in range(1000):  # Sinkhorn: alternate row and column scaling to the target margins
            f *= (comp / f.sum(axis=1))[:, None]
            f *= (comp / f.sum(axis=0))[None, :]
            if np.abs(f.sum(axis=1) - comp).max() < 1e-15:
                break
        return f

    # The scaling lifts CpG back a little; solve the kernel weight that lands on cpg_ratio exactly.
    lo, hi = 1e-6, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2
        observed = table(mid)[1, 2] / (comp[1] * comp[2])
        lo, hi = (mid, hi) if observed < cpg_ratio else (lo, mid)
    f = table((lo + hi) / 2)
    trans = f / f.sum(axis=1, keepdims=True)
    start = comp.copy()
    start.setflags(write=False)
    trans.setflags(write=False)
    return start, trans


def background_codes(rng: np.random.Generator, n: int, length: int, gc: float = HUMAN_GC,
                     cpg_ratio: float = CPG_RATIO) -> np.ndarray:
    """(n, length) uint8 codes 0-3 drawn from ``background_model``; each row starts in the stationary state."""
    start, trans = background_model(gc, cpg_ratio)
    cum_start = np.cumsum(start)
    cum = np.cumsum(trans, axis=1)
    cum_start[-1] = cum[:, -1] = 1.0  # u < 1 always lands on a base
    u = rng.random((n, length))
    out = np.empty((n, length), dtype=np.uint8)
    if length == 0:
        return out
    out[:, 0] = (u[:, :1] >= cum_start[None, :]).sum(axis=1)
    for j in range(1, length):  # vectorised over sequences; the chain itself is sequential
        out[:, j] = (u[:, j:j + 1] >= cum[out[:, j - 1]]).sum(axis=1)
    return out


def base_composition(gc: float = HUMAN_GC) -> np.ndarray:
    """(4,) A, C, G, T probabilities with the given GC content, the background of the log-odds scores."""
    return np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])


def sequences_to_codes(sequences: Sequence[str]) -> np.ndarray:
    """(N,) equal-length A/C/G/T strings -> (N, L) uint8 codes 0-3 (``encoding``'s codes)."""
    if not sequences:
        return np.zeros((0, 0), dtype=np.uint8)
    return encode("".join(sequences)).reshape(len(sequences), -1)


def codes_to_sequences(codes: np.ndarray) -> list[str]:
    """(N, L) uint8 codes 0-3 -> N strings (vectorised ``encoding.decode`` for the four bases)."""
    letters = np.frombuffer(BASES.encode("ascii"), dtype=np.uint8)[codes]
    return [r.tobytes().decode("ascii") for r in letters]
