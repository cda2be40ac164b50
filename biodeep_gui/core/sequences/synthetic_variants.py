"""SYNTHETIC variants against a synthetic genome: SNVs that break planted sites, control SNVs, short indels.

The demo's ``variants.vcf`` and the variant tests use them: a model that learned the planted motifs should score
the site-breaking SNVs below the controls (a few tens of bases away in the same peak).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from biodeep_gui.core.sequences.motif_db import find_motif

_COMP = {"A": "T", "C": "G", "G": "C", "T": "A"}
VCF_HEADER = "##fileformat=VCFv4.2\n{contigs}#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def site_snvs(chromosomes: dict[str, str], peaks: Sequence, *, controls_per_peak: int = 2,
              seed: int = 0) -> tuple[list[tuple], np.ndarray]:
    """SNVs breaking each planted site (its most informative base -> the motif's least likely base) and control
    SNVs 25-40 bp from the site's centre in the same peak.

    Parameters
    ----------
    chromosomes : name -> sequence; peaks : ``synthetic_genome.Peak``s (each with its planted ``site``)

    Returns
    -------
    records : (chrom, pos 1-based, id, ref, alt), sorted by chromosome and position
    breaks : (N,) bool, True for the site-breaking SNVs (in ``records`` order)
    """
    rng = np.random.default_rng(seed)
    recs = []
    for p in peaks:
        site = p.site
        chrom = chromosomes[p.chrom]
        pfm = np.asarray(find_motif(site.motif_id).pfm)
        ic = 2 + (pfm * np.log2(np.clip(pfm, 1e-9, None))).sum(axis=1)
        j = int(np.argmax(ic))
        low = "ACGT"[int(np.argmin(pfm[j]))]
        if site.strand == "+":
            g0, alt = site.start + j, low
        else:
            g0, alt = site.start + site.width - 1 - j, _COMP[low]
        ref = chrom[g0]
        if alt != ref:
            recs.append((p.chrom, g0 + 1, f"{p.name}_break", ref, alt, True))
        centre = site.start + site.width // 2
        for c in range(controls_per_peak):
            d = int(rng.integers(25, 41)) * (1 if c % 2 == 0 else -1)
            q = centre + d
            r = chrom[q]
            a = "ACGT"[("ACGT".index(r) + int(rng.integers(1, 4))) % 4]
            recs.append((p.chrom, q + 1, f"{p.name}_ctrl{c}", r, a, False))
    recs.sort(key=lambda r: (r[0], r[1]))
    return [r[:5] for r in recs], np.array([r[5] for r in recs], bool)


def site_indels(chromosomes: dict[str, str], peaks: Sequence) -> list[tuple]:
    """For each peak: a 1-bp deletion and a 1-bp insertion at its planted site's centre (VCF style: the base
    before the event is REF's first letter). Returns (chrom, pos 1-based, id, ref, alt) records."""
    recs = []
    for p in peaks:
        chrom, centre = chromosomes[p.chrom], p.site.start + p.site.width // 2
        ref2 = chrom[centre - 1:centre + 1]
        recs.append((p.chrom, centre, f"{p.name}_del1", ref2, ref2[0]))
        base = chrom[centre - 1]
        recs.append((p.chrom, centre, f"{p.name}_ins1", base, base + _COMP[base]))
    return recs


def vcf_text(records: Sequence[tuple], contigs: dict[str, int] | None = None) -> str:
    """A minimal VCF 4.2 of (chrom, pos, id, ref, alt) records; ``contigs`` name -> length for the header."""
    head = "".join(f"##contig=<ID={c},length={n}>\n" for c, n in (contigs or {}).items())
    body = "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\t.\t.\n" for c, p, i, r, a in records)
    return VCF_HEADER.format(contigs=head) + body


def demo_vcf(chromosomes: dict[str, str], peaks: Sequence, *, n_peaks: int = 40, seed: int = 0) -> str:
    """The demo's ``variants.vcf``: site-breaking and control SNVs in the first ``n_peaks`` peaks, a deletion and
    an insertion in two of them, and one multi-allelic record (two ALT alleles at a control position)."""
    chosen = list(peaks)[:n_peaks]
    snvs, _ = site_snvs(chromosomes, chosen, seed=seed)
    recs = snvs + site_indels(chromosomes, chosen[:2])
    chrom, pos, vid, ref, alt = next(r for r in snvs if r[2].endswith("_ctrl0"))
    others = [b for b in "ACGT" if b not in (ref, alt)]
    recs = [r for r in recs if r[2] != vid] + [(chrom, pos, vid, ref, f"{alt},{others[0]}")]
    recs.sort(key=lambda r: (r[0], r[1], r[2]))
    return vcf_text(recs, {c: len(s) for c, s in chromosomes.items()})
