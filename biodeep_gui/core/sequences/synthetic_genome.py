"""A SYNTHETIC genome for the BED + genome reader: chromosomes of background DNA with a site at each peak's centre.

Three chromosomes (chr1-chr3, about 200 kb each) of background DNA (``synthetic_background``) with a CTCF or
SPI1 site (``synthetic_motifs``) planted at the centre of each peak; the peaks are 200 bp intervals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from biodeep_gui.core.sequences.motif_db import Motif
from biodeep_gui.core.sequences.synthetic_background import (
    HUMAN_GC,
    background_codes,
    base_composition,
    codes_to_sequences,
    seeded_rng,
)
from biodeep_gui.core.sequences.synthetic_motifs import (
    PLANTED_MOTIFS,
    Site,
    SitePool,
    max_score,
    plant_sites,
    resolve_motifs,
)


@dataclass(frozen=True)
class Peak:
    """A 200 bp peak interval on a synthetic chromosome (BED coordinates: 0-based, end exclusive)."""

    chrom: str
    start: int
    end: int
    name: str
    site: Site


@dataclass
class SyntheticGenome:
    """SYNTHETIC chromosomes (name -> sequence) and the peaks planted on them, sorted by position."""

    chromosomes: dict[str, str]
    peaks: list[Peak] = field(default_factory=list)


def genome_with_peaks(chrom_lengths: Sequence[int] = (210_000, 200_000, 190_000), peaks_per_chrom: int = 150,
                      motifs: Sequence[str | Motif] = PLANTED_MOTIFS, peak_width: int = 200,
                      min_spacing: int = 800, gc: float = HUMAN_GC, seed: int = 0,
                      min_fraction: float = 0.6) -> SyntheticGenome:
    """SYNTHETIC chromosomes ``chr1``.. with one motif site planted at the centre of each peak.

    Peaks are ``peak_width`` bp, at least ``min_spacing`` bp apart centre to centre and ``min_spacing`` bp from
    the chromosome ends; each motif gets an equal share of the peaks. Sites score at least ``min_fraction``
    x the motif's best score. Chromosome lengths are in bp.
    """
    models = resolve_motifs(motifs)
    rng = seeded_rng(seed, "genome")
    bg = base_composition(gc)
    chunk = 1000  # Markov chain drawn in 1 kb rows for speed; each row restarts from the stationary state
    chromosomes: dict[str, str] = {}
    peaks: list[Peak] = []
    total_peaks = peaks_per_chrom * len(chrom_lengths)
    which = rng.permutation(np.arange(total_peaks) % len(models))
    pools = [SitePool(rng, m, int((which == j).sum()), min_score=min_fraction * max_score(m, bg), background=bg)
             for j, m in enumerate(models)]
    for c, chrom_len in enumerate(chrom_lengths):
        name = f"chr{c + 1}"
        rows = -(-chrom_len // chunk)
        seq = background_codes(rng, rows, chunk, gc).reshape(-1)[:chrom_len].copy()
        free = chrom_len - 2 * min_spacing - (peaks_per_chrom - 1) * min_spacing
        if free < peaks_per_chrom:
            raise ValueError(f"{name}: {chrom_len} bp cannot hold {peaks_per_chrom} peaks {min_spacing} bp apart")
        offsets = np.sort(rng.choice(free, size=peaks_per_chrom, replace=False))
        centres = min_spacing + offsets + np.arange(peaks_per_chrom) * min_spacing
        for p, centre in enumerate(centres):
            k = which[c * peaks_per_chrom + p]
            m = models[k]
            site_codes, scores = pools[k].take(1)
            start = int(centre) - m.width // 2
            (site,) = plant_sites(rng, seq, m, site_codes, scores, [start])
            peak_start = int(centre) - peak_width // 2
            peaks.append(Peak(name, peak_start, peak_start + peak_width, f"peak_{len(peaks) + 1:04d}", site))
        chromosomes[name] = codes_to_sequences(seq[None, :])[0]
    return SyntheticGenome(chromosomes, peaks)
