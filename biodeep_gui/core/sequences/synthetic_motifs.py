"""JASPAR binding sites for SYNTHETIC data: log-odds scanning, sampling sites from a PFM, planting them.

Sites are sampled base by base from a JASPAR position frequency matrix (PFM), so sites vary as real sites do,
then written over the background at a random position, on a random strand (reverse complement for ``-``).
Sites in one sequence never overlap. Scores are log2-odds against the background composition
(``synthetic_background.base_composition``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from biodeep_gui.core.sequences.encoding import reverse_complement
from biodeep_gui.core.sequences.motif_db import Motif, find_motif
from biodeep_gui.core.sequences.synthetic_background import base_composition

#: CTCF and SPI1 (PU.1), JASPAR base ids (latest bundled version is used).
PLANTED_MOTIFS = ("MA0139", "MA0080")


@dataclass(frozen=True)
class Site:
    """One planted binding site.

    ``start`` is 0-based on the given sequence's + strand (the site covers ``start : start + width``),
    ``strand`` is ``"+"`` or ``"-"`` (the motif reads on the reverse complement), ``score`` its log2-odds.
    """

    motif_id: str
    motif_name: str
    start: int
    width: int
    strand: str
    score: float


def motif_scores(codes: np.ndarray, motif: Motif, background: Sequence[float] | None = None) -> np.ndarray:
    """Log2-odds score of every window, both strands.

    Parameters
    ----------
    codes : (N, L) or (L,) uint8 codes 0-3
    motif : width W
    background : (4,) base composition; default ``base_composition(HUMAN_GC)``

    Returns
    -------
    scores : (N, 2, L - W + 1) float64; ``[:, 0, p]`` the + strand window starting at ``p``, ``[:, 1, p]`` its
             reverse complement. (N,) axis dropped for a 1-D input.
    """
    codes = np.asarray(codes)
    one = codes.ndim == 1
    codes = np.atleast_2d(codes)
    if codes.size and codes.max() > 3:
        raise ValueError("motif_scores takes codes 0-3 only (A, C, G, T)")
    lo = motif.log_odds(base_composition() if background is None else background)
    width, n_pos = motif.width, codes.shape[1] - motif.width + 1
    out = np.zeros((codes.shape[0], 2, max(n_pos, 0)))
    if n_pos <= 0:
        return out[0] if one else out
    lo_rc = lo[::-1, ::-1]  # reverse complement matrix: scores the - strand reading the + strand
    for w in range(width):
        window = codes[:, w:w + n_pos]
        out[:, 0] += lo[w][window]
        out[:, 1] += lo_rc[w][window]
    return out[0] if one else out


def max_score(motif: Motif, background: Sequence[float] | None = None) -> float:
    """Best possible log2-odds score of ``motif``."""
    lo = motif.log_odds(base_composition() if background is None else background)
    return float(lo.max(axis=1).sum())


def sample_sites(rng: np.random.Generator, motif: Motif, n: int, min_score: float = -np.inf,
                 max_score_: float = np.inf, pfm: np.ndarray | None = None,
                 background: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` sites base by base from ``motif.pfm`` (or ``pfm``), keeping those scoring in the given band.

    Returns
    -------
    sites : (n, W) uint8 codes, + strand
    scores : (n,) float64 log2-odds scores of the sites against ``motif``
    """
    source = motif.pfm if pfm is None else np.asarray(pfm, dtype=np.float64)
    lo = motif.log_odds(base_composition() if background is None else background)
    if n <= 0:
        return np.zeros((0, motif.width), dtype=np.uint8), np.zeros(0)
    cum = np.cumsum(source, axis=1)
    cum[:, -1] = 1.0
    width = motif.width
    kept_sites, kept_scores, have = [], [], 0
    for _ in range(1000):
        if have >= n:
            break
        batch = max(64, 2 * (n - have))
        draw = (rng.random((batch, width, 1)) >= cum[None]).sum(axis=2).astype(np.uint8)
        score = lo[np.arange(width), draw].sum(axis=1)
        ok = (score >= min_score) & (score <= max_score_)
        kept_sites.append(draw[ok])
        kept_scores.append(score[ok])
        have += int(ok.sum())
    if have < n:
        raise RuntimeError(f"{motif.id}: could not sample sites scoring in [{min_score:.1f}, {max_score_:.1f}]")
    return np.concatenate(kept_sites)[:n], np.concatenate(kept_scores)[:n]


class SitePool:
    """Sites drawn in one vectorised ``sample_sites`` call and handed out in order (one call per row is slow)."""

    def __init__(self, rng: np.random.Generator, motif: Motif, n: int, **kwargs):
        self.codes, self.scores = sample_sites(rng, motif, n, **kwargs)
        self.used = 0

    def take(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        part = slice(self.used, self.used + k)
        self.used += k
        return self.codes[part], self.scores[part]


def random_starts(rng: np.random.Generator, length: int, widths: Sequence[int]) -> list[int]:
    """Non-overlapping random start positions for sites of these widths in a sequence of ``length``."""
    for _ in range(1000):
        starts = [int(rng.integers(0, length - w + 1)) for w in widths]
        spans = sorted(zip(starts, widths))
        if all(s1 + w1 <= s2 for (s1, w1), (s2, _) in zip(spans, spans[1:])):
            return starts
    raise ValueError(f"cannot fit sites of widths {list(widths)} without overlap in {length} bp")


def plant_sites(rng: np.random.Generator, row: np.ndarray, motif: Motif, site_codes: Sequence[np.ndarray],
                scores: Sequence[float], starts: Sequence[int]) -> tuple[Site, ...]:
    """Write sites into ``row`` (in place) on random strands; return their descriptions."""
    out = []
    for codes, score, start in zip(site_codes, scores, starts):
        strand = "+" if rng.random() < 0.5 else "-"
        row[start:start + motif.width] = codes if strand == "+" else reverse_complement(codes)
        out.append(Site(motif.id, motif.name, int(start), motif.width, strand, float(score)))
    return tuple(out)


def resolve_motifs(keys: Sequence[str | Motif]) -> tuple[Motif, ...]:
    """JASPAR ids (base ids pick the bundled latest version) or Motif objects -> Motifs."""
    return tuple(k if isinstance(k, Motif) else find_motif(k) for k in keys)
