"""SYNTHETIC demo data: DNA sequences with real JASPAR binding sites planted in simulated background DNA.

Everything this module makes is SYNTHETIC. No sequence comes from a real genome or experiment; only the
motif matrices are real (JASPAR 2026 CORE, bundled with BioDeep, CC BY 4.0). The data exist so that a
new user can train every network in the application within minutes and check that it finds what was
planted. Every generator is deterministic given its ``seed``.

The parts live in modules named for what they do: ``synthetic_background`` (the background DNA, code
conversions, seeded streams), ``synthetic_motifs`` (scoring, sampling and planting JASPAR sites) and
``synthetic_genome`` (chromosomes with peaks, for the BED + genome reader); this module makes the labelled sets
and writes the demo folder (``write_demo``).

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
    The motif-pair tasks. ``rule='xor'``, the EXCLUSIVE pair (either motif, not both; the demo): label 1 when
    EXACTLY ONE of two motifs is present, 0 when neither or both are (each factor alone acts, together they
    interfere).
    Each case (neither, A only, B only, both) is a quarter of the data, so P(label = 1 | A present) =
    P(label = 1 | A absent) = 1/2 for both motifs, and every k-mer count has the same mean in both classes:
    linear models on the sequence, motif counts or k-mer counts sit at chance (logistic regression on
    2- to 6-mer counts: AUROC 0.44-0.53). ``rule='and'``, the COOPERATIVE pair (label 1 only with both; both
    1/2, the other cases 1/6 each), is the softer variant: A alone already raises P(label = 1), which linear
    and k-mer models partly exploit.
    A CNN solves the exclusive pair: filters detect the sites, global max + mean pooling give presence and
    number, and a hidden dense layer computes "either, not both". It needs a foothold, though: with two unrelated
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
import io
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from biodeep_gui.core.common import quick
from biodeep_gui.core.common.fileio import atomic_write
from biodeep_gui.core.sequences.motif_db import Motif, find_motif
from biodeep_gui.core.sequences.synthetic_background import (
    CPG_RATIO,
    HUMAN_GC,
    background_codes,
    base_composition,
    codes_to_sequences,
    seeded_rng,
    sequences_to_codes,
)
from biodeep_gui.core.sequences.synthetic_genome import genome_with_peaks
from biodeep_gui.core.sequences.synthetic_motifs import (
    PLANTED_MOTIFS,
    Site,
    SitePool,
    max_score,
    motif_scores,
    plant_sites,
    random_starts,
    resolve_motifs,
)
from biodeep_gui.core.sequences.synthetic_variants import demo_vcf

#: NRF1 and EGR1 for the motif-pair task (two CpG-carrying motifs, see the module notes).
COOPERATIVE_MOTIFS = ("MA0506", "MA0162")
#: CTCF for the affinity regression.
AFFINITY_MOTIF = "MA0139"


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
    return _planted(seeded_rng(seed, "planted"), n, length, resolve_motifs(motifs), gc, seed, positive_fraction,
                    min_fraction, id_prefix)


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
    pools = [SitePool(rng, m, int(n_sites[which == j].sum()), min_score=min_fraction * max_score(m, bg),
                       background=bg) for j, m in enumerate(models)]
    sites: list[tuple[Site, ...]] = [()] * n
    for i in np.flatnonzero(labels):
        m, k = models[which[i]], int(n_sites[i])
        site_codes, scores = pools[which[i]].take(k)
        sites[i] = plant_sites(rng, codes[i], m, site_codes, scores, random_starts(rng, length, [m.width] * k))
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

    ``rule='xor'``, exclusive (either motif, not both; the demo): label 1 iff EXACTLY ONE motif is present,
    a quarter each of neither / A / B / both; no single motif or k-mer count carries any signal, so linear and
    k-mer models sit at chance while a CNN with a hidden layer learns it. ``rule='and'``, cooperative: label 1
    iff BOTH are present; half carry both, a sixth each neither, A only, B only.

    Parameters
    ----------
    n, length : number of sequences and their length (bp)
    motifs : (A, B), JASPAR ids or Motif objects
    gc : background GC content
    seed : same seed, same data
    present_fraction : a planted site scores at least this fraction of its motif's best score
    absent_fraction : no background window scores above this fraction of either motif's best score
    rule : ``"xor"`` (exclusive) or ``"and"`` (cooperative), see above

    Returns
    -------
    SyntheticSet with labels (N,) int64 0/1 (balanced) and ``groups`` in ``"neither"``, ``"A"``, ``"B"``,
    ``"both"``.
    """
    models = resolve_motifs(motifs)
    if len(models) != 2:
        raise ValueError("cooperative_pair_set needs exactly two motifs (A, B)")
    if rule not in ("and", "xor"):
        raise ValueError(f"rule must be 'and' or 'xor', not {rule!r}")
    rng = seeded_rng(seed, "cooperative")
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
        pools = [SitePool(rng, models[k], int(has[k][todo].sum()), min_score=present_fraction * best[k],
                           background=bg) for k in range(2)]
        for i in todo:
            codes[i] = background[i]
            present = [k for k in range(2) if has[k][i]]
            planted: tuple[Site, ...] = ()
            for k, start in zip(present, random_starts(rng, length, [models[k].width for k in present])):
                site_codes, scores = pools[k].take(1)
                planted += plant_sites(rng, codes[i], models[k], site_codes, scores, [start])
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
    what = ("BOTH A = {a} and B = {b} are present (cooperative; both 1/2, neither / A / B 1/6 each)"
            if rule == "and" else "exactly one of A = {a}, B = {b} is present (exclusive: either motif, not both; "
                                  "a quarter each)")
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
    (m,) = resolve_motifs([motif])
    rng = seeded_rng(seed, "affinity")
    bg = base_composition(gc)
    best = max_score(m, bg)
    codes = background_codes(rng, n, length, gc)
    group = rng.permutation(np.arange(n) % 3)  # 0 none, 1 weak, 2 strong
    # Degenerate sites: drawn from the PFM diluted half-and-half with the background, kept if in the weak band.
    diluted = 0.5 * m.pfm + 0.5 * bg[None, :]
    n_sites = np.select([group == 2, group == 1], [rng.integers(2, 4, size=n), 1], 0)
    strong = SitePool(rng, m, int(n_sites[group == 2].sum()), min_score=strong_fraction * best, background=bg)
    weak = SitePool(rng, m, int((group == 1).sum()), min_score=weak_band[0] * best, max_score_=weak_band[1] * best,
                     pfm=diluted, background=bg)
    sites: list[tuple[Site, ...]] = [()] * n
    for i in np.flatnonzero(group > 0):
        k = int(n_sites[i])
        site_codes, scores = (strong if group[i] == 2 else weak).take(k)
        sites[i] = plant_sites(rng, codes[i], m, site_codes, scores, random_starts(rng, length, [m.width] * k))
    affinity = affinity_target(codes, m, bg) + rng.normal(0.0, noise, size=n)
    return SyntheticSet(
        ids=[f"aff_{i + 1:05d}" for i in range(n)], sequences=codes_to_sequences(codes), labels=affinity,
        groups=[("none", "weak", "strong")[g] for g in group], sites=sites, motifs=(m,),
        description=f"SYNTHETIC: {m.id} {m.name} affinity = log2(1 + sum 2^(window score - half max)) + "
                    f"N(0, {noise}^2); strong / weak / none a third each, {n} x {length} bp, seed {seed}")


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
Made by biodeep_gui.core.sequences.synthetic.write_demo(seed={seed}); the same seed rebuilds identical files.

Background DNA: an order-1 Markov chain with {gc:.0%} GC (the human genome average) and CpG dinucleotides
depleted to ~{cpg:.2f} of their expected frequency, as in methylated mammalian DNA.
Binding sites: sampled base by base from the JASPAR matrix, placed at a random position, on a random strand.

Files
-----
bound.fa          {n_pos} x {length} bp sequences, each with 1-2 sites of CTCF or SPI1 (positives)
background.fa     {n_neg} x {length} bp sequences with no planted site (negatives)
labelled.fa       the same {n_planted} sequences in one file, headers ">id label=1" / ">id label=0"
predict_me.fa     {n_predict} unlabelled sequences made the same way (about half carry a site) to try a model on
cooperative.csv   id,sequence,label - {n_pair} x {pair_length} bp, the exclusive motif pair (either motif, not
                  both): label 1 when EXACTLY ONE of NRF1 and EGR1 is present, 0 when neither or both are
                  (a quarter of each case). Each motif alone says nothing
                  about the label, so linear and k-mer models stay at chance; a CNN with a hidden layer
                  learns it (AUROC ~0.99 within about 10 epochs).
affinity.csv      id,sequence,affinity,strength - regression on CTCF binding: strength is strong (2-3 good
                  sites), weak (one degenerate site) or none; affinity = log2(1 + sum over all windows and
                  both strands of 2^(PWM score - half the best score)) + Gaussian noise (sd {noise}).
genome.fa         a small genome: {chrom_desc}
peaks.bed         {n_peaks} peaks (BED6, 0-based, 200 bp) on genome.fa; a CTCF or SPI1 site sits at each
                  peak's centre; score = site score as a share of the motif's best (0-1000)
heldout.fa        {n_heldout} labelled sequences made like labelled.fa from another random stream: a model trained
                  on the files above never saw them (biodeep evaluate RUN heldout.fa)
variants.vcf      variants against genome.fa in its first {n_vcf_peaks} peaks: for each, an SNV that breaks the
                  planted site (ID peak_NNNN_break) and two control SNVs 25-40 bp away (_ctrl0, _ctrl1); a 1-bp
                  deletion and insertion at two sites; one multi-allelic record
"""


def write_demo(out_dir: str | PathLike, seed: int = 0) -> dict[str, Path]:
    """Write the SYNTHETIC demo files (about 2.7 MB) into ``out_dir``, each atomically (smaller sets under
    ``BIODEEP_QUICK``, see ``core.common.quick``).

    Returns
    -------
    dict name -> path, names: ``bound``, ``background``, ``labelled``, ``predict_me``, ``cooperative``,
    ``affinity``, ``genome``, ``peaks``, ``heldout``, ``variants``, ``readme``
    """
    out = Path(out_dir)
    files: dict[str, Path] = {}

    planted = planted_motif_set(n=quick.size(2000, 600), length=200, seed=seed)
    pos = [i for i, y in enumerate(planted.labels) if y == 1]
    neg = [i for i, y in enumerate(planted.labels) if y == 0]
    files["bound"] = atomic_write(out / "bound.fa", format_fasta(
        [planted.ids[i] for i in pos], [planted.sequences[i] for i in pos]))
    files["background"] = atomic_write(out / "background.fa", format_fasta(
        [planted.ids[i] for i in neg], [planted.sequences[i] for i in neg]))
    files["labelled"] = atomic_write(out / "labelled.fa", format_fasta(
        planted.ids, planted.sequences, [f"label={y}" for y in planted.labels]))

    # Same recipe as the training set, its own random stream: new sequences, not copies.
    predict = _planted(seeded_rng(seed, "predict"), quick.size(300, 60), 200, planted.motifs, HUMAN_GC, seed, 0.5,
                       0.6, "query")
    files["predict_me"] = atomic_write(out / "predict_me.fa", format_fasta(predict.ids, predict.sequences))

    # the exclusive pair (either motif, not both); 2,000 x 200 bp is too few to learn it
    coop = cooperative_pair_set(n=quick.size(6000, 600), length=100, seed=seed, rule="xor")
    files["cooperative"] = atomic_write(out / "cooperative.csv", _csv_text(
        ["id", "sequence", "label"], zip(coop.ids, coop.sequences, coop.labels.tolist())))

    aff = affinity_set(n=quick.size(2000, 400), length=200, seed=seed)
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

    # labelled like labelled.fa, from another random stream: sequences no demo run was trained on
    held = planted_motif_set(n=quick.size(500, 150), length=200, seed=seed + 7919, id_prefix="heldout")
    files["heldout"] = atomic_write(out / "heldout.fa", format_fasta(held.ids, held.sequences,
                                                                     [f"label={y}" for y in held.labels]))
    n_vcf_peaks = 40
    files["variants"] = atomic_write(out / "variants.vcf", demo_vcf(genome.chromosomes, genome.peaks,
                                                                    n_peaks=n_vcf_peaks, seed=seed))

    chrom_desc = ", ".join(f"{k} ({len(v) / 1000:.0f} kb)" for k, v in genome.chromosomes.items())
    files["readme"] = atomic_write(out / "README.txt", _README.format(
        motif_lines=", ".join(f"{m.id} {m.name}" for m in planted.motifs + coop.motifs),
        seed=seed, gc=HUMAN_GC, cpg=CPG_RATIO, n_pos=len(pos), n_neg=len(neg), n_planted=len(planted),
        length=200, n_predict=len(predict), noise=0.2, chrom_desc=chrom_desc, n_peaks=len(genome.peaks),
        n_pair=len(coop), pair_length=len(coop.sequences[0]), n_heldout=len(held), n_vcf_peaks=n_vcf_peaks))
    return files
