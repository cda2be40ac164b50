"""SYNTHETIC demo data: DNA sequences with real JASPAR binding sites planted in simulated background DNA.

Everything this module makes is SYNTHETIC. No sequence comes from a real genome or experiment; only the
motif matrices are real (JASPAR 2026 CORE, bundled with BioDeep, CC BY 4.0). The data exist so that a
new user can train every network in the application within minutes and check that it finds what was
planted. Every generator is deterministic given its ``seed``.

How the data are made
---------------------
Background DNA
    An order-1 Markov chain with the human genome's average GC content (``gc``, default 0.42), the same
    statistics on both strands, and CpG dinucleotides at ``cpg_ratio`` (default 0.25) times their expected
    frequency: the CpG depletion of methylated mammalian DNA (observed/expected ~0.2-0.25 in human).
Binding sites
    Sampled base by base from a JASPAR position frequency matrix (PFM), so sites vary as real sites do,
    then written over the background at a random position, on a random strand (reverse complement for
    ``-``). Sites in one sequence never overlap. Scores are log2-odds against the background composition;
    each data set redraws sites scoring below a stated fraction of the motif's best score, so that a
    planted site is a site a biologist would call one.

Data sets
---------
``planted_motif_set``
    Binary task. Half the sequences carry 1-2 sites of CTCF (MA0139, 15 bp zinc-finger motif, GC-rich)
    or of SPI1/PU.1 (MA0080, 13 bp ETS motif, purine-rich): two well-known, information-rich motifs
    that look nothing alike, so the filters a network learns can be matched back to two JASPAR entries.
    Sites score at least 0.6 x the motif's best. The other half carry none.
``cooperative_pair_set``
    The cooperative/competitive-pair task (``rule='xor'``, the demo): label 1 when EXACTLY ONE of two
    motifs is present, 0 when neither or both are (each factor alone acts, together they interfere).
    Each case (neither, A only, B only, both) is a quarter of the data, so P(label = 1 | A present) =
    P(label = 1 | A absent) = 1/2 for both motifs, and every k-mer count has the same mean in both classes:
    linear models on the sequence, motif counts or k-mer counts sit at chance (logistic regression on
    2- to 6-mer counts: AUROC 0.44-0.53). ``rule='and'`` (label 1 only with both; both 1/2, the other cases
    1/6 each) is the softer all-or-nothing variant: A alone already raises P(label = 1), which linear and
    k-mer models partly exploit.
    A CNN solves the XOR: filters detect the sites, global max + mean pooling give presence and number,
    and a hidden dense layer computes the exclusive or. It needs a foothold, though: with two unrelated
    motifs (tried: CEBPB + RELA) nothing a single filter sees correlates with the label, and training from
    random filters stalls at chance. The motifs are therefore NRF1 (MA0506) and EGR1 (MA0162), two
    distinct GC-rich promoter motifs that both carry CpGs, which are rare in the CpG-depleted background:
    a CpG-sensitive filter already tells "neither" from the rest, so gradient descent gets going from the
    first epoch. Measured with ``models.deepbind.DeepBindCNN`` defaults (Adam, lr 3e-3, batch 64) on 1,000
    held-out sequences: 4,800 training sequences of 100 bp -> AUROC 0.94-0.96 after 5 epochs, 0.99 after
    10 (of 200 bp: 0.98 after 15); 2,000 of 200 bp -> stalls near 0.8. Hence the demo's 6,000 x 100 bp.
    Backgrounds are redrawn until neither motif scores above ``0.5 x`` its best score by chance, and sites
    score at least ``0.7 x`` their best, so "absent" is really absent and the labels are exact.
``affinity_set``
    Regression. A third of the sequences carry 2-3 strong CTCF sites (score >= 0.7 x max), a third one
    degenerate site (0.5-0.65 x max, drawn from the PFM diluted half-and-half with the background), a
    third none. The target is a biophysical-style binding affinity
    computed from the WHOLE sequence, both strands::

        affinity = log2(1 + sum over windows w of 2 ** (score_w - 0.5 x max score)) + N(0, noise^2)

    i.e. the log of the summed binding odds of every window relative to a half-maximal site (chance
    windows count too, weakly). It is a smooth function of the sequence, so a CNN can reach a Pearson
    correlation well above 0.8; ``noise`` (default 0.2) plays the measurement error.
``genome_with_peaks``
    Three chromosomes (chr1-chr3, about 200 kb each) of background DNA with a CTCF or SPI1 site
    planted at the centre of each peak; the peaks are 200 bp intervals, for the BED + genome reader.
"""
from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from biodeep_gui.core.common.fileio import atomic_write
from biodeep_gui.core.sequences.motif_db import Motif, find_motif

#: CTCF and SPI1 (PU.1), JASPAR base ids (latest bundled version is used).
PLANTED_MOTIFS = ("MA0139", "MA0080")
#: NRF1 and EGR1 for the motif-pair task (two CpG-carrying motifs, see the module notes).
COOPERATIVE_MOTIFS = ("MA0506", "MA0162")
#: CTCF for the affinity regression.
AFFINITY_MOTIF = "MA0139"
#: Average GC content of the human genome (GRCh38: ~41 %).
HUMAN_GC = 0.42
#: Observed / expected CpG dinucleotides in human DNA.
CPG_RATIO = 0.25

_BASES = b"ACGT"
# Per-generator salts: the same seed gives unrelated backgrounds in different data sets.
_SALT = {"planted": 11, "cooperative": 12, "affinity": 13, "genome": 14, "predict": 15}


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


@dataclass
class SyntheticSet:
    """A SYNTHETIC labelled sequence set, as plain data.

    Attributes
    ----------
    ids : (N,) unique identifiers
    sequences : (N,) DNA strings of upper-case A/C/G/T, all of one length
    labels : (N,) int64 0/1 for classification, float64 for regression
    groups : (N,) what was planted, in words: a motif id or ``"none"`` (planted set); ``"neither"``, ``"A"``,
             ``"B"``, ``"both"`` (pair task); ``"strong"``, ``"weak"``, ``"none"`` (affinity)
    sites : (N,) the planted sites of each sequence
    motifs : the motifs used, in the order the generator was given them
    description : one line on how the set was made

    Unpacks as ``ids, sequences, labels = synthetic_set``.
    """

    ids: list[str]
    sequences: list[str]
    labels: np.ndarray
    groups: list[str]
    sites: list[tuple[Site, ...]]
    motifs: tuple[Motif, ...]
    description: str = ""

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator:
        return iter((self.ids, self.sequences, self.labels))

    def codes(self) -> np.ndarray:
        """(N, L) uint8 codes 0-3 (A, C, G, T), as ``biodeep_gui.core.encoding`` numbers them."""
        return sequences_to_codes(self.sequences)


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


# ------------------------------------------------------------------------------------- background DNA


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


# ------------------------------------------------------------------------------------------ motifs


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


class _SitePool:
    """Sites drawn in one vectorised ``sample_sites`` call and handed out in order (one call per row is slow)."""

    def __init__(self, rng: np.random.Generator, motif: Motif, n: int, **kwargs):
        self.codes, self.scores = sample_sites(rng, motif, n, **kwargs)
        self.used = 0

    def take(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        part = slice(self.used, self.used + k)
        self.used += k
        return self.codes[part], self.scores[part]


def _reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    return (3 - codes[..., ::-1]).astype(np.uint8)


def _random_starts(rng: np.random.Generator, length: int, widths: Sequence[int]) -> list[int]:
    """Non-overlapping random start positions for sites of these widths in a sequence of ``length``."""
    for _ in range(1000):
        starts = [int(rng.integers(0, length - w + 1)) for w in widths]
        spans = sorted(zip(starts, widths))
        if all(s1 + w1 <= s2 for (s1, w1), (s2, _) in zip(spans, spans[1:])):
            return starts
    raise ValueError(f"cannot fit sites of widths {list(widths)} without overlap in {length} bp")


def _plant(rng: np.random.Generator, row: np.ndarray, motif: Motif, site_codes: Sequence[np.ndarray],
           scores: Sequence[float], starts: Sequence[int]) -> tuple[Site, ...]:
    """Write sites into ``row`` (in place) on random strands; return their descriptions."""
    out = []
    for codes, score, start in zip(site_codes, scores, starts):
        strand = "+" if rng.random() < 0.5 else "-"
        row[start:start + motif.width] = codes if strand == "+" else _reverse_complement_codes(codes)
        out.append(Site(motif.id, motif.name, int(start), motif.width, strand, float(score)))
    return tuple(out)


def sequences_to_codes(sequences: Sequence[str]) -> np.ndarray:
    """(N,) equal-length A/C/G/T strings -> (N, L) uint8 codes 0-3."""
    if not sequences:
        return np.zeros((0, 0), dtype=np.uint8)
    table = np.full(256, 255, dtype=np.uint8)
    table[np.frombuffer(_BASES, dtype=np.uint8)] = np.arange(4, dtype=np.uint8)
    raw = np.frombuffer("".join(sequences).encode("ascii"), dtype=np.uint8)
    return table[raw].reshape(len(sequences), -1)


def codes_to_sequences(codes: np.ndarray) -> list[str]:
    """(N, L) uint8 codes 0-3 -> N strings."""
    letters = np.frombuffer(_BASES, dtype=np.uint8)[codes]
    return [r.tobytes().decode("ascii") for r in letters]


def _resolve(keys: Sequence[str | Motif]) -> tuple[Motif, ...]:
    return tuple(k if isinstance(k, Motif) else find_motif(k) for k in keys)


def _rng(seed: int, salt: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), _SALT[salt]])


# ---------------------------------------------------------------------------------------- data sets


def planted_motif_set(n: int = 2000, length: int = 200, motifs: Sequence[str | Motif] = PLANTED_MOTIFS,
                      gc: float = HUMAN_GC, seed: int = 0, positive_fraction: float = 0.5,
                      min_fraction: float = 0.6, id_prefix: str = "seq") -> SyntheticSet:
    """SYNTHETIC binary set: positives carry 1-2 sites of one planted motif, negatives none.

    Parameters
    ----------
    n, length : number of sequences and their length (bp)
    motifs : JASPAR ids (base ids pick the bundled latest version) or Motif objects; positives are split
             evenly between them
    gc : background GC content
    seed : same seed, same data
    positive_fraction : share of sequences with a site
    min_fraction : sites scoring below this fraction of the motif's best score are redrawn
    id_prefix : ids are ``<id_prefix>_00001``...

    Returns
    -------
    SyntheticSet with labels (N,) int64 0/1 and ``groups`` the planted motif's id (``"none"`` for negatives).
    """
    return _planted(_rng(seed, "planted"), n, length, _resolve(motifs), gc, seed, positive_fraction, min_fraction,
                    id_prefix)


def _planted(rng: np.random.Generator, n: int, length: int, models: tuple[Motif, ...], gc: float, seed: int,
             positive_fraction: float, min_fraction: float, id_prefix: str) -> SyntheticSet:
    if length < max(m.width for m in models) * 2:
        raise ValueError(f"length {length} bp is too short for two sites of {max(m.width for m in models)} bp")
    codes = background_codes(rng, n, length, gc)
    n_pos = int(round(n * positive_fraction))
    labels = np.zeros(n, dtype=np.int64)
    labels[rng.permutation(n)[:n_pos]] = 1
    which = np.full(n, -1)
    which[labels == 1] = rng.permutation(np.arange(n_pos) % len(models))
    bg = base_composition(gc)
    n_sites = np.where(labels == 1, rng.integers(1, 3, size=n), 0)  # 1 or 2 per positive
    pools = [_SitePool(rng, m, int(n_sites[which == j].sum()), min_score=min_fraction * max_score(m, bg),
                       background=bg) for j, m in enumerate(models)]
    sites: list[tuple[Site, ...]] = [()] * n
    for i in np.flatnonzero(labels):
        m, k = models[which[i]], int(n_sites[i])
        site_codes, scores = pools[which[i]].take(k)
        sites[i] = _plant(rng, codes[i], m, site_codes, scores, _random_starts(rng, length, [m.width] * k))
    names = " or ".join(f"{m.id} {m.name}" for m in models)
    return SyntheticSet(
        ids=[f"{id_prefix}_{i + 1:05d}" for i in range(n)], sequences=codes_to_sequences(codes), labels=labels,
        groups=[models[w].id if w >= 0 else "none" for w in which], sites=sites, motifs=models,
        description=f"SYNTHETIC: {n} x {length} bp, {n_pos} with 1-2 sites of {names} sampled from the JASPAR "
                    f"PFMs (score >= {min_fraction} x best), GC {gc:.2f} CpG-depleted Markov background, seed {seed}")


def cooperative_pair_set(n: int = 6000, length: int = 100, motifs: Sequence[str | Motif] = COOPERATIVE_MOTIFS,
                         gc: float = HUMAN_GC, seed: int = 0, present_fraction: float = 0.7,
                         absent_fraction: float = 0.5, rule: str = "xor") -> SyntheticSet:
    """SYNTHETIC motif-pair set (see the module notes); the defaults are the demo file's recipe.

    ``rule='xor'`` (the demo, the cooperative/competitive-pair task): label 1 iff EXACTLY ONE motif is present,
    a quarter each of neither / A / B / both; no single motif or k-mer count carries any signal, so linear and
    k-mer models sit at chance while a CNN with a hidden layer learns it. ``rule='and'``: all-or-nothing
    cooperative binding, label 1 iff BOTH are present; half carry both, a sixth each neither, A only, B only.

    Parameters
    ----------
    n, length : number of sequences and their length (bp)
    motifs : (A, B), JASPAR ids or Motif objects
    gc : background GC content
    seed : same seed, same data
    present_fraction : a planted site scores at least this fraction of its motif's best score
    absent_fraction : no background window scores above this fraction of either motif's best score
    rule : ``"xor"`` or ``"and"``, see above

    Returns
    -------
    SyntheticSet with labels (N,) int64 0/1 (balanced) and ``groups`` in ``"neither"``, ``"A"``, ``"B"``,
    ``"both"``.
    """
    models = _resolve(motifs)
    if len(models) != 2:
        raise ValueError("cooperative_pair_set needs exactly two motifs (A, B)")
    if rule not in ("and", "xor"):
        raise ValueError(f"rule must be 'and' or 'xor', not {rule!r}")
    rng = _rng(seed, "cooperative")
    bg = base_composition(gc)
    best = [max_score(m, bg) for m in models]
    codes = background_codes(rng, n, length, gc)
    # Redraw backgrounds with a chance near-site so that 'absent' means absent and labels stay exact.
    for _ in range(100):
        dirty = np.zeros(n, dtype=bool)
        for m, b in zip(models, best):
            dirty |= motif_scores(codes, m, bg).max(axis=(1, 2)) > absent_fraction * b
        if not dirty.any():
            break
        codes[dirty] = background_codes(rng, int(dirty.sum()), length, gc)
    else:
        raise RuntimeError("could not draw backgrounds free of chance motif matches; lower absent_fraction")
    # 0 neither, 1 A only, 2 B only, 3 both; for AND, 'both' is half so that the classes are balanced
    group = rng.permutation(np.arange(n) % 4 if rule == "xor" else np.array([0, 1, 2, 3, 3, 3])[np.arange(n) % 6])
    has = [(group == 1) | (group == 3), (group == 2) | (group == 3)]
    sites: list[tuple[Site, ...]] = [()] * n
    background = codes.copy()
    todo = np.flatnonzero(has[0] | has[1])
    for _ in range(100):
        if todo.size == 0:
            break
        pools = [_SitePool(rng, models[k], int(has[k][todo].sum()), min_score=present_fraction * best[k],
                           background=bg) for k in range(2)]
        for i in todo:
            codes[i] = background[i]
            present = [k for k in range(2) if has[k][i]]
            planted: tuple[Site, ...] = ()
            for k, start in zip(present, _random_starts(rng, length, [models[k].width for k in present])):
                site_codes, scores = pools[k].take(1)
                planted += _plant(rng, codes[i], models[k], site_codes, scores, [start])
            sites[i] = planted
        # Similar motifs cross-match (an EGR1 site can score high for NRF1): redraw the rows where the motif
        # that should be absent shows up, so that the label stays exact.
        bad = np.zeros(todo.size, dtype=bool)
        for k in range(2):
            absent = ~has[k][todo]
            if absent.any():
                top = motif_scores(codes[todo[absent]], models[k], bg).max(axis=(1, 2))
                bad[absent] |= top > absent_fraction * best[k]
        todo = todo[bad]
    else:
        raise RuntimeError(f"{models[0].id} and {models[1].id} sites keep matching each other; pick less similar "
                           "motifs")
    labels = ((has[0] & has[1]) if rule == "and" else (has[0] ^ has[1])).astype(np.int64)
    a, b = models
    what = ("BOTH A = {a} and B = {b} are present (all-or-nothing; both 1/2, neither / A / B 1/6 each)"
            if rule == "and" else "exactly one of A = {a}, B = {b} is present (exclusive or; a quarter each)")
    return SyntheticSet(
        ids=[f"pair_{i + 1:05d}" for i in range(n)], sequences=codes_to_sequences(codes), labels=labels,
        groups=[("neither", "A", "B", "both")[g] for g in group], sites=sites, motifs=models,
        description="SYNTHETIC: label 1 iff " + what.format(a=f"{a.id} {a.name}", b=f"{b.id} {b.name}")
                    + f", {n} x {length} bp, seed {seed}")


def affinity_target(codes: np.ndarray, motif: Motif, background: Sequence[float] | None = None,
                    reference_fraction: float = 0.5) -> np.ndarray:
    """Noise-free affinity of each sequence: log2(1 + sum_w 2 ** (score_w - reference)), both strands.

    ``reference`` is ``reference_fraction`` x the motif's best score: a window that good counts 1.

    Parameters
    ----------
    codes : (N, L) uint8 codes 0-3

    Returns
    -------
    (N,) float64, >= 0
    """
    bg = base_composition() if background is None else background
    ref = reference_fraction * max_score(motif, bg)
    scores = motif_scores(codes, motif, bg).reshape(len(codes), -1) - ref
    top = scores.max(axis=1, keepdims=True)
    # log-sum-exp in base 2, stable for strong sites (2 ** 20 and more)
    log_sum = top[:, 0] + np.log2(np.exp2(scores - top).sum(axis=1))
    return np.logaddexp2(0.0, log_sum)


def affinity_set(n: int = 2000, length: int = 200, motif: str | Motif = AFFINITY_MOTIF, gc: float = HUMAN_GC,
                 seed: int = 0, noise: float = 0.2, strong_fraction: float = 0.7,
                 weak_band: tuple[float, float] = (0.5, 0.65)) -> SyntheticSet:
    """SYNTHETIC regression set: strong (2-3 sites), weak (1 degenerate site) or no binding; continuous target.

    Parameters
    ----------
    n, length : number of sequences and their length (bp)
    motif : JASPAR id or Motif
    gc : background GC content
    seed : same seed, same data
    noise : standard deviation of the Gaussian noise added to the affinity (log2 units)
    strong_fraction : strong sites score at least this fraction of the motif's best score
    weak_band : the degenerate site scores within this band of fractions of the best score

    Returns
    -------
    SyntheticSet with labels (N,) float64 affinities (see ``affinity_target``; ~0 without a site) and
    ``groups`` ``"strong"``, ``"weak"`` or ``"none"`` (a third each).
    """
    (m,) = _resolve([motif])
    rng = _rng(seed, "affinity")
    bg = base_composition(gc)
    best = max_score(m, bg)
    codes = background_codes(rng, n, length, gc)
    group = rng.permutation(np.arange(n) % 3)  # 0 none, 1 weak, 2 strong
    # Degenerate sites: drawn from the PFM diluted half-and-half with the background, kept if in the weak band.
    diluted = 0.5 * m.pfm + 0.5 * bg[None, :]
    n_sites = np.select([group == 2, group == 1], [rng.integers(2, 4, size=n), 1], 0)
    strong = _SitePool(rng, m, int(n_sites[group == 2].sum()), min_score=strong_fraction * best, background=bg)
    weak = _SitePool(rng, m, int((group == 1).sum()), min_score=weak_band[0] * best, max_score_=weak_band[1] * best,
                     pfm=diluted, background=bg)
    sites: list[tuple[Site, ...]] = [()] * n
    for i in np.flatnonzero(group > 0):
        k = int(n_sites[i])
        site_codes, scores = (strong if group[i] == 2 else weak).take(k)
        sites[i] = _plant(rng, codes[i], m, site_codes, scores, _random_starts(rng, length, [m.width] * k))
    affinity = affinity_target(codes, m, bg) + rng.normal(0.0, noise, size=n)
    return SyntheticSet(
        ids=[f"aff_{i + 1:05d}" for i in range(n)], sequences=codes_to_sequences(codes), labels=affinity,
        groups=[("none", "weak", "strong")[g] for g in group], sites=sites, motifs=(m,),
        description=f"SYNTHETIC: {m.id} {m.name} affinity = log2(1 + sum 2^(window score - half max)) + "
                    f"N(0, {noise}^2); strong / weak / none a third each, {n} x {length} bp, seed {seed}")


def genome_with_peaks(chrom_lengths: Sequence[int] = (210_000, 200_000, 190_000), peaks_per_chrom: int = 150,
                      motifs: Sequence[str | Motif] = PLANTED_MOTIFS, peak_width: int = 200,
                      min_spacing: int = 800, gc: float = HUMAN_GC, seed: int = 0,
                      min_fraction: float = 0.6) -> SyntheticGenome:
    """SYNTHETIC chromosomes ``chr1``.. with one motif site planted at the centre of each peak.

    Peaks are ``peak_width`` bp, at least ``min_spacing`` bp apart centre to centre and ``min_spacing`` bp from
    the chromosome ends; each motif gets an equal share of the peaks. Sites score at least ``min_fraction``
    x the motif's best score. Chromosome lengths are in bp.
    """
    models = _resolve(motifs)
    rng = _rng(seed, "genome")
    bg = base_composition(gc)
    chunk = 1000  # Markov chain drawn in 1 kb rows for speed; each row restarts from the stationary state
    chromosomes: dict[str, str] = {}
    peaks: list[Peak] = []
    total_peaks = peaks_per_chrom * len(chrom_lengths)
    which = rng.permutation(np.arange(total_peaks) % len(models))
    pools = [_SitePool(rng, m, int((which == j).sum()), min_score=min_fraction * max_score(m, bg), background=bg)
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
            (site,) = _plant(rng, seq, m, site_codes, scores, [start])
            peak_start = int(centre) - peak_width // 2
            peaks.append(Peak(name, peak_start, peak_start + peak_width, f"peak_{len(peaks) + 1:04d}", site))
        chromosomes[name] = codes_to_sequences(seq[None, :])[0]
    return SyntheticGenome(chromosomes, peaks)


# ------------------------------------------------------------------------------------------- writing


def format_fasta(ids: Sequence[str], sequences: Sequence[str], descriptions: Sequence[str] | None = None,
                 width: int = 0) -> str:
    """FASTA text; ``width`` > 0 wraps sequence lines at that many bases."""
    out = []
    for k, (rid, seq) in enumerate(zip(ids, sequences)):
        desc = f" {descriptions[k]}" if descriptions is not None and descriptions[k] else ""
        out.append(f">{rid}{desc}\n")
        if width > 0:
            out.extend(seq[j:j + width] + "\n" for j in range(0, len(seq), width))
        else:
            out.append(seq + "\n")
    return "".join(out)


def _csv_text(header: Sequence[str], rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


_README = """\
BioDeep demo data - SYNTHETIC
=============================

Every sequence in this folder is SYNTHETIC. Nothing comes from a real genome or experiment; only the
motif matrices are real: {motif_lines}
taken from the JASPAR 2026 CORE collection bundled with BioDeep (CC BY 4.0; see resources/motifs/README.md).
Made by biodeep_gui.core.synthetic.write_demo(seed={seed}); the same seed rebuilds identical files.

Background DNA: an order-1 Markov chain with {gc:.0%} GC (the human genome average) and CpG dinucleotides
depleted to ~{cpg:.2f} of their expected frequency, as in methylated mammalian DNA.
Binding sites: sampled base by base from the JASPAR matrix, placed at a random position, on a random strand.

Files
-----
bound.fa          {n_pos} x {length} bp sequences, each with 1-2 sites of CTCF or SPI1 (positives)
background.fa     {n_neg} x {length} bp sequences with no planted site (negatives)
labelled.fa       the same {n_planted} sequences in one file, headers ">id label=1" / ">id label=0"
predict_me.fa     {n_predict} unlabelled sequences made the same way (about half carry a site) to try a model on
cooperative.csv   id,sequence,label - {n_pair} x {pair_length} bp; label 1 when EXACTLY ONE of NRF1 and EGR1 is
                  present, 0 when neither or both are (a quarter of each case). Each motif alone says nothing
                  about the label, so linear and k-mer models stay at chance; a CNN with a hidden layer
                  learns it (AUROC ~0.99 within about 10 epochs).
affinity.csv      id,sequence,affinity,strength - regression on CTCF binding: strength is strong (2-3 good
                  sites), weak (one degenerate site) or none; affinity = log2(1 + sum over all windows and
                  both strands of 2^(PWM score - half the best score)) + Gaussian noise (sd {noise}).
genome.fa         a small genome: {chrom_desc}
peaks.bed         {n_peaks} peaks (BED6, 0-based, 200 bp) on genome.fa; a CTCF or SPI1 site sits at each
                  peak's centre; score = site score as a share of the motif's best (0-1000)
"""


def write_demo(out_dir: str | PathLike, seed: int = 0) -> dict[str, Path]:
    """Write the SYNTHETIC demo files (about 2.7 MB) into ``out_dir``, each atomically.

    Returns
    -------
    dict name -> path, names: ``bound``, ``background``, ``labelled``, ``predict_me``, ``cooperative``,
    ``affinity``, ``genome``, ``peaks``, ``readme``
    """
    out = Path(out_dir)
    files: dict[str, Path] = {}

    planted = planted_motif_set(n=2000, length=200, seed=seed)
    pos = [i for i, y in enumerate(planted.labels) if y == 1]
    neg = [i for i, y in enumerate(planted.labels) if y == 0]
    files["bound"] = atomic_write(out / "bound.fa", format_fasta(
        [planted.ids[i] for i in pos], [planted.sequences[i] for i in pos]))
    files["background"] = atomic_write(out / "background.fa", format_fasta(
        [planted.ids[i] for i in neg], [planted.sequences[i] for i in neg]))
    files["labelled"] = atomic_write(out / "labelled.fa", format_fasta(
        planted.ids, planted.sequences, [f"label={y}" for y in planted.labels]))

    # Same recipe as the training set, its own random stream: new sequences, not copies.
    predict = _planted(_rng(seed, "predict"), 300, 200, planted.motifs, HUMAN_GC, seed, 0.5, 0.6, "query")
    files["predict_me"] = atomic_write(out / "predict_me.fa", format_fasta(predict.ids, predict.sequences))

    coop = cooperative_pair_set(n=6000, length=100, seed=seed, rule="xor")  # 2,000 x 200 bp is too few to learn
    files["cooperative"] = atomic_write(out / "cooperative.csv", _csv_text(
        ["id", "sequence", "label"], zip(coop.ids, coop.sequences, coop.labels.tolist())))

    aff = affinity_set(n=2000, length=200, seed=seed)
    files["affinity"] = atomic_write(out / "affinity.csv", _csv_text(
        ["id", "sequence", "affinity", "strength"],
        zip(aff.ids, aff.sequences, (f"{v:.4f}" for v in aff.labels), aff.groups)))

    genome = genome_with_peaks(seed=seed)
    files["genome"] = atomic_write(out / "genome.fa", format_fasta(
        list(genome.chromosomes), list(genome.chromosomes.values()), width=60))
    bed = []
    for p in genome.peaks:
        share = p.site.score / max_score(find_motif(p.site.motif_id, planted.motifs))
        bed.append(f"{p.chrom}\t{p.start}\t{p.end}\t{p.name}\t{int(round(1000 * min(max(share, 0.0), 1.0)))}\t.\n")
    files["peaks"] = atomic_write(out / "peaks.bed", "".join(bed))

    chrom_desc = ", ".join(f"{k} ({len(v) / 1000:.0f} kb)" for k, v in genome.chromosomes.items())
    files["readme"] = atomic_write(out / "README.txt", _README.format(
        motif_lines=", ".join(f"{m.id} {m.name}" for m in planted.motifs + coop.motifs),
        seed=seed, gc=HUMAN_GC, cpg=CPG_RATIO, n_pos=len(pos), n_neg=len(neg), n_planted=len(planted),
        length=200, n_predict=len(predict), noise=0.2, chrom_desc=chrom_desc, n_peaks=len(genome.peaks),
        n_pair=len(coop), pair_length=len(coop.sequences[0])))
    return files
