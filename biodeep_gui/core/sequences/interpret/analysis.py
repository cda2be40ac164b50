"""The filters analysis in one call: PFMs, influence and JASPAR matches of a run's first-layer filters."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.sequences.interpret.filters import MIN_SITES
from biodeep_gui.core.sequences.interpret.progress import ACTIVATION_THRESHOLD, InterpretError, Progress

#: A filter's best match names it when its q-value is below this (and the filter has ``min_sites`` sites).
NAME_Q = 0.1


def filter_status(n_sites: int, best, min_sites: int = MIN_SITES, q: float = NAME_Q) -> str:
    """What may be said of one filter: 'never fires', 'too few sites', 'named', 'weak match' or 'no match'.

    n_sites : the filter's site count; best : its best ``MotifMatch`` or None
    A filter is 'named' only with at least ``min_sites`` sites and a best match at q < ``q``.
    """
    if n_sites == 0:
        return "never fires"
    if n_sites < min_sites:
        return "too few sites"
    if best is None:
        return "no match"
    return "named" if best.q_value < q else "weak match"


@dataclass
class FiltersAnalysis:
    """Everything the Filters tab and ``biodeep motifs`` show about one run's first-layer filters.

    motifs : ``filters.FilterMotifs`` (activation PFMs, weights)
    influence : ``influence.FilterInfluence`` or None when it was not computed (no labelled data)
    matches : ``matching.MatchResult`` or None when matching was not asked for; filters with fewer than
              ``min_sites`` sites were not compared with anything (no matches)
    notes : plain-language remarks (e.g. which data the activations came from)
    min_sites : fewest sites a filter needed to be matched and named
    background_source : where ``motifs.background`` came from, in words
    """

    motifs: Any
    influence: Any = None
    matches: Any = None
    notes: list[str] = field(default_factory=list)
    min_sites: int = MIN_SITES
    background_source: str = ""

    def status(self, f: int) -> str:
        """``filter_status`` of filter ``f`` (0-based)."""
        best = self.matches.best(f) if self.matches is not None else None
        return filter_status(int(self.motifs.n_sites[f]), best, self.min_sites)

    def named(self, f: int):
        """Filter ``f``'s best match when it names the filter (status 'named'), else None."""
        return self.matches.best(f) if self.status(f) == "named" else None

    def n_named(self) -> int:
        return sum(self.status(f) == "named" for f in range(self.motifs.n_filters))

    def n_too_few(self) -> int:
        """Filters that fire, but on fewer than ``min_sites`` windows (never matched, never named)."""
        n = self.motifs.n_sites
        return int(((n > 0) & (n < self.min_sites)).sum())

    def order(self, by: str = "importance") -> np.ndarray:
        """(F,) filter indices, best first: by ``'importance'`` (validation-loss increase without the filter, see
        ``influence``) or ``'match'`` (best p-value; filters with too few sites have none)."""
        n = self.motifs.n_filters
        if by == "match" and self.matches is not None:
            best = np.array([m[0].p_value if m else 1.0 for m in self.matches.per_filter])
            return np.lexsort((np.arange(n), best))
        if by in ("importance", "match") and self.influence is not None:
            return self.influence.order()
        return np.arange(n)


def analyse_filters(run, data=None, *, threshold: float = ACTIVATION_THRESHOLD, motifs_file: str | None = None,
                    collection: str = "vertebrates", cache_dir: str | None = None, match: bool = True, influence: bool = True,
                    max_sequences: int = 20000, device: str = "cpu", top: int = 5, min_sites: int = MIN_SITES,
                    should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
    """The whole filter analysis of a run, as one generator (returns a ``FiltersAnalysis``).

    Parameters
    ----------
    run : ``biodeep_gui.core.sequences.run.Run`` of a deep model with a ``first_conv`` layer
    data : ``SequenceSet`` for the activations and the influence; None reads the run's own data files
    threshold : site threshold as a fraction of each filter's maximum activation (see ``filters``)
    motifs_file : MEME/JASPAR/TRANSFAC file to match against; None: the bundled JASPAR collection
    collection : which bundled JASPAR 2026 CORE collection (``motif_db.COLLECTIONS``: vertebrates, plants, insects,
                 nematodes, fungi, urochordates) when no ``motifs_file`` is given
    cache_dir : folder for the Tomtom result cache (None: no cache)
    match, influence : compute the JASPAR matches / the filter influence
    max_sequences : at most this many sequences (a seeded random subset) are scanned for activations
    top : matches kept per filter
    min_sites : a filter with fewer sites is not compared with the known motifs at all, so it is never named
                (listed as 'too few sites'); Basset's 10 by default

    The background (pseudocounts, information content, MEME header) is the base composition of the run's
    training split when it can be drawn again, else of all given sequences.
    """
    from biodeep_gui.core.sequences.interpret import filters as F
    from biodeep_gui.core.sequences.interpret import influence as I
    from biodeep_gui.core.sequences.interpret import matching as MT

    if int(min_sites) < 1:
        raise InterpretError(f"the minimum number of sites must be at least 1, got {min_sites}")
    min_sites = int(min_sites)
    notes: list[str] = []
    if data is None:
        yield Progress("load", 0, 1, "Reading the run's sequences")
        data = load_run_data(run)
    model = run.model()
    n = len(data.codes)
    if n > max_sequences:
        pick = np.sort(np.random.default_rng(0).permutation(n)[:max_sequences])
        notes.append(f"activations from a random subset of {max_sequences:,} of {n:,} sequences")
    else:
        pick = np.arange(n)
        notes.append(f"activations from all {n:,} sequences")
    # picked before fitting the length: of a cached set only these rows are read, into a writable copy
    scan = fit_codes(_rows(data.codes, pick), run.info.length)
    prep = prepared_splits(run, data) if len(getattr(data, "labels", ())) else None
    bg_codes, bg_where = training_codes(run, data, prep)
    background = F.base_composition(bg_codes)
    bg_source = f"{bg_where} ({len(bg_codes):,} sequences)"
    notes.append("background " + " ".join(f"{b} {p:.3f}" for b, p in zip(F.BASES, background)) + f" from {bg_source}")
    fm = yield from F.iter_filter_motifs(model, scan, threshold=threshold, device=device, background=background,
                                         should_stop=should_stop)
    result = FiltersAnalysis(fm, notes=notes, min_sites=min_sites, background_source=bg_source)
    if influence and data.task in ("binary", "multiclass", "regression") and len(data.labels):
        val_codes, val_labels, where = validation_data(run, data, prep)
        notes.append(f"influence measured on {where} ({len(val_codes):,} sequences)")
        result.influence = yield from I.iter_filter_influence(model, fit_codes(val_codes, run.info.length),
                                                              val_labels, run.objective(), device=device,
                                                              monitor=run.config.train.monitor,
                                                              should_stop=should_stop)
    if match:
        targets, release = MT.load_targets(motifs_file, collection)
        result.matches = yield from iter_match_filter_motifs(fm, targets, release=release, min_sites=min_sites,
                                                             cache_dir=cache_dir, top=top, should_stop=should_stop)
        few = result.n_too_few()
        if few:
            notes.append(f"{few} filter(s) fire on fewer than {min_sites} windows: not matched, never named")
    return result


def iter_match_filter_motifs(fm, targets=None, *, release: str | None = None, min_sites: int = MIN_SITES,
                             cache_dir: str | None = None, top: int = 5,
                             should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
    """Tomtom the filters of ``fm`` (a ``FilterMotifs``) that have at least ``min_sites`` sites (generator; returns
    ``matching.MatchResult``).

    The queries are the PFMs with pseudocounts; the informative-column test uses the small-sample-corrected
    information against the data's background; filters below ``min_sites`` are not compared with anything
    (no matches, not counted in the q-values). ``targets`` None: the bundled JASPAR collection.
    """
    from biodeep_gui.core.sequences.interpret import matching as MT

    return (yield from MT.iter_match_filters(fm.to_motifs(), targets, release=release, cache_dir=cache_dir, top=top,
                                             should_stop=should_stop, skip=fm.n_sites < int(min_sites),
                                             query_ic=list(fm.information_content())))


def load_run_data(run):
    """The ``SequenceSet`` a run was trained on, read again from its configuration's data files."""
    from biodeep_gui.core.sequences.io import load_sequences

    try:
        return load_sequences(run.config.data, seed=run.config.train.seed)
    except FileNotFoundError as exc:
        raise InterpretError(f"the run's data file {exc.filename} is gone; choose the sequences to use "
                             f"(--data in the command line)") from None


def prepared_splits(run, data):
    """The run's train / validation / test split of ``data`` (as the run's seed and fractions drew it), or None
    when it cannot be drawn again (e.g. unlabelled sequences given with ``--data``)."""
    from biodeep_gui.core.sequences.pipeline import prepare_data, split_method_of

    try:
        return prepare_data(run.config, data, split_method_of(run.doc))
    except BioDeepError:
        return None


def validation_data(run, data, prep=None) -> tuple[np.ndarray, np.ndarray, str]:
    """The run's validation split of ``data``, else all of ``data``.

    prep : ``prepared_splits(run, data)`` when already drawn

    Returns
    -------
    codes : (N, L) uint8; a row view (``cache.Rows``) when the codes are memory-mapped from the encoded cache
    labels : (N, T) float32
    where : 'the validation split' or 'all given sequences'
    """
    prep = prepared_splits(run, data) if prep is None else prep
    if prep is None or len(prep.val) == 0:
        return data.codes, data.labels, "all given sequences"
    return _rows(data.codes, prep.val), data.labels[prep.val], "the validation split"


def training_codes(run, data, prep=None) -> tuple[np.ndarray, str]:
    """The codes of the run's training split of ``data``, else all of ``data``; with a phrase saying which."""
    prep = prepared_splits(run, data) if prep is None else prep
    if prep is None or len(prep.train) == 0:
        return data.codes, "all given sequences"
    return _rows(data.codes, prep.train), "the training split"


def _rows(codes, index: np.ndarray):
    """``codes[index]``, as a row view (``cache.Rows``) when the codes are memory-mapped from the encoded cache:
    indexing a memmap would copy the rows (most of the set for a training split) into memory."""
    from biodeep_gui.core.sequences.cache import Rows

    if isinstance(codes, Rows):
        return Rows(codes.base, codes.rows[index])
    if isinstance(codes, np.memmap):
        return Rows(codes, index)
    return codes[index]


def fit_codes(codes: np.ndarray, length: int) -> np.ndarray:
    """(N, L) uint8 codes centre-cropped or padded to the model's input ``length`` -> (N, length).

    A row view of the encoded cache (``cache.Rows``) that already has that length is returned as it is, so that
    a consumer reading it in batches (the filter influence) never holds a whole split in memory (``np.asarray``
    would gather every row).
    """
    from biodeep_gui.core.sequences.cache import Rows
    from biodeep_gui.core.sequences.encoding import fit_length

    if isinstance(codes, Rows) and codes.shape[1] == length:
        return codes
    codes = np.asarray(codes, dtype=np.uint8)
    if codes.ndim != 2:
        raise InterpretError(f"expected an (N, L) array of sequence codes, got shape {codes.shape}")
    if codes.shape[1] == length:
        return codes
    return np.stack([fit_length(row, length) for row in codes]) if len(codes) else np.zeros((0, length), np.uint8)
