"""Motif discovery from attributions: TF-MoDISco-lite over the attributions of the test positives.

TF-MoDISco (Shrikumar et al. 2018; the ``modisco-lite`` package, Schreiber & Kundaje) cuts the attribution tracks
into *seqlets* (short windows of high attribution), clusters them by the similarity of their hypothetical
contributions and aggregates each cluster into a *pattern*: a contribution weight matrix (CWM, mean attribution
per base), a position probability matrix (PFM, base frequencies of the seqlets) and its seqlet count. Unlike
first-layer filters, a pattern is what the whole network uses, whatever layers assembled it.

Steps of ``iter_discover``
--------------------------
1. the sequences: the run's test split, positives only (classification: label 1 of the explained output;
   multiclass: that class; regression: the upper quartile), or every sequence with ``split='all'``;
2. attributions (``attributions.iter_attributions``: DeepLIFT/SHAP or integrated gradients, dinucleotide-shuffled
   references), hypothetical contributions kept;
3. ``modiscolite.tfmodisco.TFMoDISco`` (its defaults, except the ``SETTINGS`` below, sized for the short sequences
   and small test sets of a desktop run); positive patterns first (bases that raise the output), then negative;
4. each pattern trimmed to the columns whose summed |CWM| reaches 30 % of its maximum, plus 4 columns each side
   (modisco-lite's report does the same) and its PFM matched to a bundled JASPAR collection (or a user motif
   file) with ``matching.iter_match_filters`` (Tomtom, in-process).

MoDISco needs enough seqlets: clusters smaller than ``final_min_cluster_size`` are dropped, and a metacluster
(positive or negative seqlets) with fewer than ``min_metacluster_size`` seqlets is not clustered at all. A test
split of a few dozen positives gives no pattern; the result then says so (``notes``). modisco-lite compiles its
numba kernels on first use (tens of seconds, cached on disk) and may fork helper processes (Linux) for parts of
the clustering. TF-MoDISco runs as one call: a cancel request takes effect when it returns (before matching).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from biodeep_gui.core.sequences.interpret.progress import InterpretError, Progress, check_stop

#: TF-MoDISco settings that differ from modisco-lite's defaults (window sized for 10-20 bp TF motifs in
#: sequences of ~100-1000 bp; fewer Leiden runs for a desktop). Measured on the planted CTCF/SPI1 set
#: (400 positives x 100 bp): both motifs recovered; with the defaults (21 bp windows, 10 bp flanks) SPI1 was
#: split and CTCF merged into a 50-column pattern.
SETTINGS = {"sliding_window_size": 15, "flank_size": 5, "trim_to_window_size": 20, "initial_flank_to_add": 5,
            "min_metacluster_size": 50, "final_min_cluster_size": 20, "n_leiden_runs": 10,
            "max_seqlets_per_metacluster": 5000, "target_seqlet_fdr": 0.2}
#: Trimming of a pattern before matching (fraction of the largest column |CWM|, and columns kept each side).
TRIM_FRACTION = 0.3
TRIM_PAD = 4


@dataclass
class DiscoveredPattern:
    """One TF-MoDISco pattern, trimmed.

    name : 'pattern 1', ... (positive patterns first)
    sign : +1 for bases that raise the output, -1 for bases that lower it
    pfm : (W, 4) base frequencies of its seqlets
    cwm : (W, 4) mean contribution of each base (the contribution weight matrix)
    n_seqlets : seqlets aggregated into it
    matches : best JASPAR (or user) matches, best first (``matching.MotifMatch``)
    """

    name: str
    sign: int
    pfm: np.ndarray
    cwm: np.ndarray
    n_seqlets: int
    matches: list = field(default_factory=list)

    @property
    def best(self):
        return self.matches[0] if self.matches else None

    @property
    def consensus(self) -> str:
        return "".join("ACGT"[j] if self.pfm[k, j] >= 0.5 else "n" for k, j in enumerate(self.pfm.argmax(axis=1)))


@dataclass
class DiscoveryResult:
    """What ``iter_discover`` found.

    patterns : ``DiscoveredPattern`` list, positive patterns first, each by decreasing seqlet count
    which : the sequences used, in words
    n_sequences : how many
    method, exact, method_note : of the attributions (see ``attributions.Attributions``)
    release : the target collection of the matches
    n_targets : motifs in it
    settings : the TF-MoDISco settings used
    elapsed_s : seconds for attributions + MoDISco + matching
    notes : lines for the user (nothing found, fall-backs, Tomtom notes)
    targets : the target motifs (``motif_db.Motif``), for drawing a match's logo
    """

    patterns: list[DiscoveredPattern]
    which: str
    n_sequences: int
    method: str
    exact: bool
    method_note: str
    release: str
    n_targets: int
    settings: dict
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    targets: list = field(default_factory=list)


# --------------------------------------------------------------------------------------------- sequences


def select_sequences(run, data=None, *, split: str = "test", output: int = 0,
                     max_sequences: int = 5000) -> tuple[np.ndarray, list[str], str]:
    """The sequences whose attributions MoDISco reads: (codes (N, L), ids, description).

    ``split`` 'test' (the run's test split, as its seed drew it) or 'all'; positives of ``output`` only.
    """
    from biodeep_gui.core.sequences.interpret.analysis import load_run_data
    from biodeep_gui.core.sequences.pipeline import prepare_data, split_method_of

    if split not in ("test", "all"):
        raise InterpretError(f"split must be 'test' or 'all', not {split!r}")
    data = load_run_data(run) if data is None else data
    if split == "test":
        subset = prepare_data(run.config, data, split_method_of(run.doc)).test_set
        where = "the test split"
    else:
        subset, where = data, "all the run's sequences"
    y = subset.labels
    task = run.info.task
    if y.size == 0 or y.shape[0] != len(subset):
        keep, what = np.arange(len(subset)), "sequences"
    elif task == "binary":
        col = min(output, y.shape[1] - 1)
        keep, what = np.flatnonzero(y[:, col] == 1), "positives"
    elif task == "multiclass":
        keep = np.flatnonzero(y[:, 0] == output)
        name = run.info.class_names[output] if output < len(run.info.class_names) else f"class {output + 1}"
        what = f"sequences of class {name}"
    else:
        col = min(output, y.shape[1] - 1)
        keep, what = np.flatnonzero(y[:, col] >= np.nanquantile(y[:, col], 0.75)), "upper-quartile sequences"
    keep = keep[:max_sequences]
    if keep.size == 0:
        raise InterpretError(f"{where} holds no {what} to discover motifs in")
    return (np.asarray(subset.codes[keep]), [subset.ids[i] for i in keep],
            f"{len(keep)} {what} of {where}")


# ------------------------------------------------------------------------------------------------ MoDISco


def trim_pattern(cwm: np.ndarray, fraction: float = TRIM_FRACTION, pad: int = TRIM_PAD) -> slice:
    """Columns of a pattern worth keeping: where sum |CWM| >= ``fraction`` x its maximum, +/- ``pad``."""
    score = np.abs(cwm).sum(axis=1)
    keep = np.flatnonzero(score >= fraction * score.max()) if score.size and score.max() > 0 else np.arange(0)
    if keep.size == 0:
        return slice(0, len(cwm))
    return slice(max(0, int(keep[0]) - pad), min(len(cwm), int(keep[-1]) + pad + 1))


def run_modisco(onehot: np.ndarray, hypothetical: np.ndarray, settings: dict | None = None) -> list[DiscoveredPattern]:
    """TF-MoDISco-lite on (N, L, 4) one-hot sequences and hypothetical contributions; patterns trimmed.

    Returns positive patterns then negative ones, each by decreasing seqlet count; names 'pattern 1', ...
    """
    import warnings

    from modiscolite.tfmodisco import TFMoDISco

    kw = {**SETTINGS, **(settings or {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pos, neg = TFMoDISco(np.ascontiguousarray(onehot, dtype=np.float32),
                             np.ascontiguousarray(hypothetical, dtype=np.float32), **kw)
    out: list[DiscoveredPattern] = []
    for sign, group in ((1, pos), (-1, neg)):
        found = []
        for p in group or []:
            cwm = np.asarray(p.contrib_scores, dtype=np.float64)
            sl = trim_pattern(cwm)
            pfm = np.asarray(p.sequence, dtype=np.float64)[sl]
            pfm = pfm + 1e-3
            pfm /= pfm.sum(axis=1, keepdims=True)
            found.append(DiscoveredPattern("", sign, pfm, cwm[sl], len(p.seqlets)))
        out.extend(sorted(found, key=lambda d: -d.n_seqlets))
    for k, p in enumerate(out):
        p.name = f"pattern {k + 1}"
    return out


# --------------------------------------------------------------------------------------------- discovery


def load_collection(collection: str = "vertebrates", motifs_file: str | PathLike | None = None):
    """(targets, release): a bundled JASPAR CORE collection (``motif_db.COLLECTIONS``) or a user motif file."""
    from biodeep_gui.core.sequences.interpret.matching import load_targets

    return load_targets(motifs_file, collection)


def iter_discover_patterns(attr, *, collection: str = "vertebrates", motifs_file: str | PathLike | None = None,
                           cache_dir: str | PathLike | None = None, settings: dict | None = None, top: int = 3,
                           which: str = "", should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
    """MoDISco + matching on computed ``attributions.Attributions`` (generator; returns ``DiscoveryResult``)."""
    from biodeep_gui.core.sequences.interpret import matching as MT
    from biodeep_gui.core.sequences.interpret.attributions import _onehot

    t0 = time.perf_counter()
    targets, release = load_collection(collection, motifs_file)
    check_stop(should_stop, "motif discovery")
    yield Progress("discovery", 0, 1, f"TF-MoDISco over the attributions of {len(attr)} sequences (the first run "
                                      "compiles its kernels: up to a minute)")
    onehot = _onehot(attr.codes).numpy().transpose(0, 2, 1)
    patterns = run_modisco(onehot, attr.hypothetical, settings)
    check_stop(should_stop, "motif discovery")
    yield Progress("discovery", 1, 1, f"TF-MoDISco found {len(patterns)} pattern(s)")
    notes = []
    if not patterns:
        notes.append("TF-MoDISco found no pattern: too few seqlets (it needs at least "
                     f"{(settings or {}).get('min_metacluster_size', SETTINGS['min_metacluster_size'])} of one sign); "
                     "use more sequences (e.g. all sequences instead of the test split) or a better-trained run")
    n_targets = len(targets)
    if patterns:
        res = yield from MT.iter_match_filters([p.pfm for p in patterns], targets, release=release,
                                               cache_dir=cache_dir, top=top, should_stop=should_stop)
        for p, m in zip(patterns, res.per_filter):
            p.matches = m
        notes.extend(res.notes)
    return DiscoveryResult(patterns, which or f"{len(attr)} sequences", len(attr), attr.method, attr.exact,
                           attr.note, release, n_targets, {**SETTINGS, **(settings or {})},
                           time.perf_counter() - t0, notes, targets)


def iter_discover(run, data=None, *, split: str = "test", output: int = 0, method: str = "deeplift_shap",
                  n_references: int = 10, max_sequences: int = 5000, collection: str = "vertebrates",
                  motifs_file: str | PathLike | None = None, cache_dir: str | PathLike | None = None,
                  settings: dict | None = None, seed: int = 0, device: str = "cpu",
                  should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
    """Attributions of the test positives -> TF-MoDISco -> JASPAR matches (generator; returns ``DiscoveryResult``).

    Parameters
    ----------
    run : a deep sequence run (``run.load_run``)
    data : the run's ``SequenceSet`` (default: read again from its data files)
    split : 'test' (the run's test split) or 'all'
    output : the network output explained (and whose positives are used)
    method, n_references, seed, device : see ``attributions.iter_attributions``
    max_sequences : at most this many sequences
    collection : bundled JASPAR CORE group to match against (``motif_db.COLLECTIONS``)
    motifs_file : a MEME/JASPAR/TRANSFAC file to match against instead
    cache_dir : Tomtom result cache
    settings : TF-MoDISco keyword arguments overriding ``SETTINGS``
    """
    from biodeep_gui.core.sequences.interpret.attributions import iter_attributions

    t0 = time.perf_counter()
    codes, ids, which = select_sequences(run, data, split=split, output=output, max_sequences=max_sequences)
    attr = yield from iter_attributions(run.model(), codes, ids=ids, method=method, output=output,
                                        n_references=n_references, seed=seed, device=device, batch_size=32,
                                        should_stop=should_stop)
    result = yield from iter_discover_patterns(attr, collection=collection, motifs_file=motifs_file,
                                               cache_dir=cache_dir, settings=settings, which=which,
                                               should_stop=should_stop)
    result.elapsed_s = time.perf_counter() - t0
    if attr.note:
        result.notes.insert(0, attr.note)
    return result


def discover(run, data=None, *, progress: Callable[[Progress], None] | None = None, **kwargs) -> DiscoveryResult:
    """``iter_discover`` run to the end; ``progress`` receives each ``Progress``."""
    from biodeep_gui.core.sequences.interpret.progress import drain

    return drain(iter_discover(run, data, **kwargs), progress)


# ------------------------------------------------------------------------------------------------ export


def pattern_motifs(result: DiscoveryResult) -> list:
    """The patterns as ``motif_db.Motif`` (id ``pattern_1``, name its best match or 'pos'/'neg')."""
    from biodeep_gui.core.sequences.motif_db import Motif

    out = []
    for k, p in enumerate(result.patterns):
        name = (p.best.name if p.best is not None else "") or ("pos" if p.sign > 0 else "neg")
        out.append(Motif(f"pattern_{k + 1}", name, p.pfm, nsites=p.n_seqlets, source="TF-MoDISco"))
    return out


def write_patterns_meme(result: DiscoveryResult, path: str | PathLike) -> Path:
    """The patterns' PFMs as a MEME file (``nsites`` = seqlet count), atomically."""
    from biodeep_gui.core.sequences.motif_db import write_meme

    return write_meme(pattern_motifs(result), path)


def patterns_tsv(result: DiscoveryResult) -> str:
    """One row per pattern: pattern, sign, seqlets, width, consensus, best match id / name / p / q."""
    lines = ["pattern\tsign\tseqlets\twidth\tconsensus\tjaspar_id\tname\tp_value\tq_value\tstrand\n"]
    for p in result.patterns:
        b = p.best
        match = (f"{b.motif_id}\t{b.name}\t{b.p_value:.3g}\t{b.q_value:.3g}\t{b.strand}" if b is not None
                 else "\t\t\t\t")
        lines.append(f"{p.name.replace(' ', '_')}\t{'+' if p.sign > 0 else '-'}\t{p.n_seqlets}\t{len(p.pfm)}\t"
                     f"{p.consensus}\t{match}\n")
    return "".join(lines)


def summary_dict(result: DiscoveryResult) -> dict:
    """Plain-data summary (for summary.json)."""
    return {"sequences": result.which, "n_sequences": result.n_sequences, "method": result.method,
            "exact": result.exact, "method_note": result.method_note, "release": result.release,
            "n_targets": result.n_targets, "settings": result.settings, "elapsed_s": round(result.elapsed_s, 2),
            "notes": result.notes,
            "patterns": [{"name": p.name, "sign": p.sign, "seqlets": p.n_seqlets, "consensus": p.consensus,
                          "matches": [{"jaspar_id": m.motif_id, "name": m.name, "p_value": m.p_value,
                                       "q_value": m.q_value, "strand": m.strand, "offset": m.offset}
                                      for m in p.matches]} for p in result.patterns]}


def ids_of(patterns: Sequence[DiscoveredPattern]) -> list[str]:
    """Best-match base ids of the patterns that have one (e.g. ['MA0139', 'MA0080'])."""
    return [p.best.motif_id.split(".")[0] for p in patterns if p.best is not None]
