"""What a trained sequence network learned: filters as motifs, their influence, JASPAR matches, mutation maps.

Modules
-------
filters       first-layer filters -> activation-based PFMs (Basset / DanQ practice), PWMs, information content,
              raw weights, where each filter fires in one sequence
influence     how much each filter matters: drop of the validation metric when the filter is zeroed
matching      Tomtom (memelite, in-process) against the bundled JASPAR or a user motif file, with q-values and a
              result cache
mutagenesis   in-silico saturation mutagenesis of one sequence and a gradient x input saliency track
export        filters.meme, matches.tsv and mutation-map TSV writers (images are drawn by the GUI's logo view)

Long computations are generators that yield ``Progress`` and *return* their result (the GUI's ``TaskRunner``
relays them from a worker thread); ``drain`` runs one to the end for the CLI and tests. They poll
``should_stop`` between batches and raise ``Cancelled`` when it returns True.

This package imports neither torch nor Qt at import time; torch is imported inside the functions that need it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterator

import numpy as np

from biodeep_gui.core.common.errors import BioDeepError

#: Default fraction of a filter's maximum activation above which a window counts as a site (Basset, DanQ).
ACTIVATION_THRESHOLD = 0.5


class InterpretError(BioDeepError):
    """The model or the data cannot be interpreted as asked (no convolution layer, wrong length, ...)."""


class Cancelled(BioDeepError):
    """The user cancelled an interpretation task."""

    def __init__(self, what: str = "the computation"):
        super().__init__(f"{what} was cancelled")


@dataclass
class Progress:
    """One progress report of a long interpretation task.

    stage : 'activations' | 'influence' | 'matching' | 'mutagenesis' | ...
    done, total : units of work done so far, out of ``total`` (batches, filters, ...)
    message : one line for a status bar
    """

    stage: str
    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.done / self.total)


def drain(gen: Generator[Any, None, Any], progress: Callable[[Progress], None] | None = None) -> Any:
    """Run an interpretation generator to the end; pass each ``Progress`` to ``progress``; return its result."""
    while True:
        try:
            item = next(gen)
        except StopIteration as done:
            return done.value
        if progress is not None and isinstance(item, Progress):
            progress(item)


def check_stop(should_stop: Callable[[], bool] | None, what: str) -> None:
    """Raise ``Cancelled`` when ``should_stop()`` says so."""
    if should_stop is not None and should_stop():
        raise Cancelled(what)


@dataclass
class FiltersAnalysis:
    """Everything the Filters tab and ``biodeep motifs`` show about one run's first-layer filters.

    motifs : ``filters.FilterMotifs`` (activation PFMs, weights)
    influence : ``influence.FilterInfluence`` or None when it was not computed (no labelled data)
    matches : ``matching.MatchResult`` or None when matching was not asked for
    notes : plain-language remarks (e.g. which data the activations came from)
    """

    motifs: Any
    influence: Any = None
    matches: Any = None
    notes: list[str] = field(default_factory=list)

    def order(self, by: str = "importance") -> np.ndarray:
        """(F,) filter indices, best first: by ``'importance'`` (influence) or ``'match'`` (best p-value)."""
        n = self.motifs.n_filters
        if by == "match" and self.matches is not None:
            best = np.array([m[0].p_value if m else 1.0 for m in self.matches.per_filter])
            return np.lexsort((np.arange(n), best))
        if by in ("importance", "match") and self.influence is not None:
            return self.influence.order()
        return np.arange(n)


def analyse_filters(run, data=None, *, threshold: float = ACTIVATION_THRESHOLD, motifs_file: str | None = None,
                    cache_dir: str | None = None, match: bool = True, influence: bool = True,
                    max_sequences: int = 20000, device: str = "cpu", top: int = 5,
                    should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
    """The whole filter analysis of a run, as one generator (returns a ``FiltersAnalysis``).

    Parameters
    ----------
    run : ``biodeep_gui.core.sequences.run.Run`` of a deep model with a ``first_conv`` layer
    data : ``SequenceSet`` for the activations and the influence; None reads the run's own data files
    threshold : site threshold as a fraction of each filter's maximum activation (see ``filters``)
    motifs_file : MEME/JASPAR/TRANSFAC file to match against; None: the bundled JASPAR collection
    cache_dir : folder for the Tomtom result cache (None: no cache)
    match, influence : compute the JASPAR matches / the filter influence
    max_sequences : at most this many sequences (a seeded random subset) are scanned for activations
    top : matches kept per filter
    """
    from biodeep_gui.core.sequences.interpret import filters as F
    from biodeep_gui.core.sequences.interpret import influence as I
    from biodeep_gui.core.sequences.interpret import matching as MT

    from biodeep_gui.core.common.errors import BioDeepError
    from biodeep_gui.core.sequences.models import get_architecture

    if get_architecture(run.info.arch).kind != "torch":
        raise BioDeepError(f"a {run.info.arch} baseline has no convolution filters to read motifs from; "
                           f"use a CNN or CNN-LSTM run")
    notes: list[str] = []
    if data is None:
        yield Progress("load", 0, 1, "Reading the run's sequences")
        data = load_run_data(run)
    model = run.model()
    codes = fit_codes(data.codes, run.info.length)
    scan = codes
    if len(codes) > max_sequences:
        pick = np.sort(np.random.default_rng(0).permutation(len(codes))[:max_sequences])
        scan = codes[pick]
        notes.append(f"activations from a random subset of {max_sequences:,} of {len(codes):,} sequences")
    else:
        notes.append(f"activations from all {len(codes):,} sequences")
    fm = yield from F.iter_filter_motifs(model, scan, threshold=threshold, device=device, should_stop=should_stop)
    result = FiltersAnalysis(fm, notes=notes)
    if influence and data.task in ("binary", "multiclass", "regression") and len(data.labels):
        val_codes, val_labels, where = validation_data(run, data)
        notes.append(f"influence measured on {where} ({len(val_codes):,} sequences)")
        result.influence = yield from I.iter_filter_influence(model, fit_codes(val_codes, run.info.length),
                                                              val_labels, run.objective(), device=device,
                                                              monitor=run.config.train.monitor,
                                                              should_stop=should_stop)
    if match:
        targets, release = MT.load_targets(motifs_file)
        result.matches = yield from MT.iter_match_filters(fm.to_motifs(), targets, release=release,
                                                          cache_dir=cache_dir, top=top, should_stop=should_stop,
                                                          skip=fm.n_sites == 0)
    return result


def load_run_data(run):
    """The ``SequenceSet`` a run was trained on, read again from its configuration's data files."""
    from biodeep_gui.core.sequences.io import load_sequences

    try:
        return load_sequences(run.config.data, seed=run.config.train.seed)
    except FileNotFoundError as exc:
        raise InterpretError(f"the run's data file {exc.filename} is gone; choose the sequences to use "
                             f"(--data in the command line)") from None


def validation_data(run, data) -> tuple[np.ndarray, np.ndarray, str]:
    """The run's validation split of ``data`` (as the run's seed and fractions drew it), else all of ``data``.

    Returns
    -------
    codes : (N, L) uint8
    labels : (N, T) float32
    where : 'the validation split' or 'all given sequences'
    """
    from biodeep_gui.core.sequences.pipeline import prepare_data

    try:
        prep = prepare_data(run.config, data)
    except BioDeepError:
        return data.codes, data.labels, "all given sequences"
    if len(prep.val) == 0:
        return data.codes, data.labels, "all given sequences"
    return data.codes[prep.val], data.labels[prep.val], "the validation split"


def fit_codes(codes: np.ndarray, length: int) -> np.ndarray:
    """(N, L) uint8 codes centre-cropped or padded to the model's input ``length`` -> (N, length)."""
    from biodeep_gui.core.sequences.encoding import fit_length

    codes = np.asarray(codes, dtype=np.uint8)
    if codes.ndim != 2:
        raise InterpretError(f"expected an (N, L) array of sequence codes, got shape {codes.shape}")
    if codes.shape[1] == length:
        return codes
    return np.stack([fit_length(row, length) for row in codes]) if len(codes) else np.zeros((0, length), np.uint8)
