"""What a loaded ``SequenceSet`` looks like (counts, lengths, GC content, ambiguous bases, label balance), and
where each saved run stands against the others (``compare_runs``).

Pure numpy (no Qt, no torch): the GUI's Sequences and Compare tabs show these figures; nothing here changes data.
Per-base statistics of very large sets are profiled on an evenly spaced subset of records
(``max_profiled``; counts and label balance always use every record): a million 200-bp sequences are
summarised in about 0.9 s on one busy laptop-class core, and the summary says how many records were profiled.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from biodeep_gui.core.sequences.dataset import SequenceSet
from biodeep_gui.core.sequences.encoding import CODE_LETTERS, PAD_CODE, decode

#: (16,) per-code indicator tables; padding (15) is in none of them.
_IS_GC = np.zeros(16, np.uint8)
_IS_GC[[CODE_LETTERS.index("C"), CODE_LETTERS.index("G")]] = 1
_IS_ACGT = np.zeros(16, np.uint8)
_IS_ACGT[:4] = 1
_IS_AMBIGUOUS = np.zeros(16, np.uint8)
_IS_AMBIGUOUS[4:PAD_CODE] = 1  # N and the other IUPAC codes

#: Rows per chunk when counting, so temporaries stay ~ a few MB whatever the set size.
_CHUNK_BYTES = 1 << 22


@dataclass
class ClassCount:
    """One bar of the class balance: a class (multiclass) or one side of a binary label column."""

    name: str
    count: int
    fraction: float


@dataclass
class LabelStats:
    """Distribution of one regression target column."""

    name: str
    mean: float
    std: float
    minimum: float
    maximum: float
    n_missing: int


@dataclass
class SequenceSummary:
    """Figures describing a sequence set, for display.

    Attributes
    ----------
    n_records : number of records (N)
    length : encoded length L of every record (after centre-crop / padding)
    lengths : (N,) int original lengths before fitting (``codes.shape[1]`` for each when unknown)
    length_min, length_median, length_max : of ``lengths``
    n_cropped, n_padded : records longer / shorter than ``length`` in the original files
    profiled : (P,) int indices of the records whose bases were profiled (all records when N <= max_profiled)
    gc : (P,) float GC fraction (0-1) of each profiled record among its unambiguous bases (nan: none)
    ambiguous : (P,) float fraction of each profiled record's bases that are N or other IUPAC codes
    ambiguous_fraction : ambiguous bases / all bases over the profiled records (padding excluded)
    n_with_ambiguous : profiled records holding at least one ambiguous base
    task : 'binary' | 'multiclass' | 'regression' | 'none'
    classes : per label column (binary) or one list (multiclass): the counts of each class
    regression : per target column (regression): mean, spread, range
    """

    n_records: int
    length: int
    lengths: np.ndarray
    length_min: int
    length_median: float
    length_max: int
    n_cropped: int
    n_padded: int
    profiled: np.ndarray
    gc: np.ndarray
    ambiguous: np.ndarray
    ambiguous_fraction: float
    n_with_ambiguous: int
    task: str
    classes: dict[str, list[ClassCount]] = field(default_factory=dict)
    regression: list[LabelStats] = field(default_factory=list)

    @property
    def n_profiled(self) -> int:
        return int(self.profiled.size)

    @property
    def mean_gc(self) -> float:
        """Mean GC fraction of the profiled records (nan when none has an unambiguous base)."""
        ok = self.gc[np.isfinite(self.gc)]
        return float(ok.mean()) if ok.size else math.nan


def base_counts(codes: np.ndarray, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-record counts of G/C, unambiguous (A/C/G/T) and ambiguous bases; padding is not counted.

    Parameters
    ----------
    codes : (N, L) uint8 codes (see ``biodeep_gui.core.encoding``): an array, a memmap or the encoded cache's
        ``Rows``; read chunk by chunk, so a memory-mapped set is never copied whole
    rows : (R,) int indices of the records to count; None = all N

    Returns
    -------
    dict with 'gc', 'acgt', 'ambiguous', 'bases' (all non-padding positions), each (R,) (or (N,)) int64
    """
    if not hasattr(codes, "shape"):  # a list of rows; arrays, memmaps and cached Rows are sliced as they are
        codes = np.asarray(codes)
    if len(codes.shape) != 2:
        raise ValueError(f"codes must be a 2-D (N, L) array, got shape {codes.shape}")
    length = codes.shape[1]
    n = codes.shape[0] if rows is None else len(rows)
    out = {k: np.zeros(n, np.int64) for k in ("gc", "acgt", "ambiguous", "bases")}
    step = max(1, _CHUNK_BYTES // max(length, 1))
    for start in range(0, n, step):
        block = np.asarray(codes[start:start + step] if rows is None else codes[rows[start:start + step]])
        out["gc"][start:start + step] = _IS_GC[block].sum(axis=1, dtype=np.int64)
        out["acgt"][start:start + step] = _IS_ACGT[block].sum(axis=1, dtype=np.int64)
        out["ambiguous"][start:start + step] = _IS_AMBIGUOUS[block].sum(axis=1, dtype=np.int64)
        out["bases"][start:start + step] = (block != PAD_CODE).sum(axis=1, dtype=np.int64)
    return out


def gc_content(codes: np.ndarray) -> np.ndarray:
    """GC fraction of each record among its unambiguous bases.

    Parameters
    ----------
    codes : (N, L) uint8 codes

    Returns
    -------
    (N,) float64 in [0, 1]; nan for a record with no A/C/G/T at all (all N or all padding)
    """
    c = base_counts(codes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c["acgt"] > 0, c["gc"] / np.maximum(c["acgt"], 1), np.nan)


def class_balance(ss: SequenceSet) -> dict[str, list[ClassCount]]:
    """Counts of each class.

    Returns
    -------
    binary: {label column: [ClassCount('0', n0, f0), ClassCount('1', n1, f1)]} (class names used when set);
    multiclass: {'class': [one ClassCount per class name, in index order]}; otherwise {}.
    Missing labels (nan) are left out of the counts and fractions.
    """
    y = np.asarray(ss.labels)
    if ss.task == "multiclass" and y.size:
        v = y.reshape(-1)
        v = v[np.isfinite(v)].astype(np.int64)
        n_cls = max(len(ss.class_names), int(v.max()) + 1 if v.size else 0)
        counts = np.bincount(v, minlength=n_cls)
        names = list(ss.class_names) + [str(i) for i in range(len(ss.class_names), n_cls)]
        return {"class": [ClassCount(names[i], int(c), float(c) / max(v.size, 1)) for i, c in enumerate(counts)]}
    if ss.task == "binary" and y.size:
        names = ss.class_names if len(ss.class_names) == 2 else ["0", "1"]
        out = {}
        for t in range(y.shape[1]):
            col = y[:, t]
            col = col[np.isfinite(col)]
            pos = int((col > 0.5).sum())
            total = max(col.size, 1)
            label = ss.label_names[t] if t < len(ss.label_names) else f"task {t + 1}"
            out[label] = [ClassCount(names[0], col.size - pos, (col.size - pos) / total),
                          ClassCount(names[1], pos, pos / total)]
        return out
    return {}


def regression_stats(ss: SequenceSet) -> list[LabelStats]:
    """Mean, standard deviation and range of each regression target column (nan values ignored)."""
    if ss.task != "regression" or not ss.labels.size:
        return []
    out = []
    for t in range(ss.labels.shape[1]):
        col = np.asarray(ss.labels[:, t], np.float64)
        ok = col[np.isfinite(col)]
        name = ss.label_names[t] if t < len(ss.label_names) else f"target {t + 1}"
        if ok.size:
            out.append(LabelStats(name, float(ok.mean()), float(ok.std()), float(ok.min()), float(ok.max()),
                                  int(col.size - ok.size)))
        else:
            out.append(LabelStats(name, math.nan, math.nan, math.nan, math.nan, int(col.size)))
    return out


def profiled_indices(n: int, max_profiled: int | None) -> np.ndarray:
    """Evenly spaced record indices (deterministic), all of them when ``n <= max_profiled`` or no cap."""
    if max_profiled is None or n <= max_profiled:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_profiled).round().astype(np.int64))


def summarize(ss: SequenceSet, max_profiled: int | None = 200_000) -> SequenceSummary:
    """Summarise a sequence set.

    Parameters
    ----------
    ss : the set; ``ss.codes`` (N, L) uint8, ``ss.lengths`` (N,) original lengths when known
    max_profiled : profile bases (GC, ambiguous) of at most this many evenly spaced records; None = all

    Returns
    -------
    SequenceSummary
    """
    n = len(ss)
    length = int(ss.codes.shape[1]) if len(ss.codes.shape) == 2 else 0
    lengths = (np.asarray(ss.lengths, np.int64) if ss.lengths is not None
               else np.full(n, length, np.int64))
    idx = profiled_indices(n, max_profiled)
    counts = base_counts(ss.codes, idx if idx.size < n else None)
    with np.errstate(invalid="ignore", divide="ignore"):
        gc = np.where(counts["acgt"] > 0, counts["gc"] / np.maximum(counts["acgt"], 1), np.nan)
        amb = np.where(counts["bases"] > 0, counts["ambiguous"] / np.maximum(counts["bases"], 1), 0.0)
    total_bases = int(counts["bases"].sum())
    return SequenceSummary(
        n_records=n, length=length, lengths=lengths,
        length_min=int(lengths.min()) if n else 0, length_median=float(np.median(lengths)) if n else math.nan,
        length_max=int(lengths.max()) if n else 0,
        n_cropped=int((lengths > length).sum()), n_padded=int((lengths < length).sum()),
        profiled=idx, gc=gc, ambiguous=amb,
        ambiguous_fraction=float(counts["ambiguous"].sum()) / total_bases if total_bases else 0.0,
        n_with_ambiguous=int((counts["ambiguous"] > 0).sum()),
        task=ss.task, classes=class_balance(ss), regression=regression_stats(ss))


def histogram(values: np.ndarray, bins: int = 30, value_range: tuple[float, float] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the finite values, with integer-friendly bins for integer data (e.g. lengths).

    Returns
    -------
    counts : (B,) int64
    edges : (B + 1,) float64
    """
    v = np.asarray(values, np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if not v.size:
        return np.zeros(0, np.int64), np.zeros(1, np.float64)
    lo, hi = value_range if value_range is not None else (float(v.min()), float(v.max()))
    if np.all(v == np.round(v)) and value_range is None:
        # Integer data: bins of whole units so a bar never straddles two lengths unevenly.
        width = max(1, int(math.ceil((hi - lo + 1) / bins)))
        edges = np.arange(lo - 0.5, hi + width + 0.5, width, dtype=np.float64)
        edges = edges[: int(math.ceil((hi - lo + 1) / width)) + 1]
    else:
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
    counts, edges = np.histogram(v, bins=edges)
    return counts.astype(np.int64), edges


def label_text(ss: SequenceSet, i: int) -> str:
    """The label(s) of record ``i`` as a person reads them: class name, 0/1 per column, or the value(s)."""
    if ss.task == "none" or not ss.labels.size:
        return ""
    row = ss.labels[i]
    if ss.task == "multiclass":
        v = row[0]
        if not np.isfinite(v):
            return "?"
        k = int(v)
        return ss.class_names[k] if k < len(ss.class_names) else str(k)
    if ss.task == "binary":
        names = ss.class_names if len(ss.class_names) == 2 else None
        parts = []
        for v in row:
            if not np.isfinite(v):
                parts.append("?")
            else:
                parts.append(names[int(v > 0.5)] if names and len(row) == 1 else str(int(v > 0.5)))
        return ", ".join(parts)
    return ", ".join("?" if not np.isfinite(v) else f"{v:.4g}" for v in row)


def record_preview(ss: SequenceSet, i: int, n_bases: int = 60) -> str:
    """The first ``n_bases`` bases of record ``i`` (padding dropped), with an ellipsis when longer."""
    seq = decode(ss.codes[i])
    return seq[:n_bases] + ("…" if len(seq) > n_bases else "")


# ---- comparing runs ------------------------------------------------------------------------------------------

#: The metric runs are compared on, per task (higher is better): chosen on validation, reported on test.
MAIN_METRIC = {"binary": "auroc", "multiclass": "auroc", "regression": "pearson"}


@dataclass
class RunComparison:
    """Where one run stands among the runs on the same test sequences.

    Runs are *chosen* by their validation score (choosing by the test score would make the winner's test
    score optimistic: the test set must be looked at once, after the choice); the test score of the chosen
    runs is then reported with its 95 % bootstrap interval, and the chosen deep model is compared with the
    chosen baseline by a paired bootstrap on the same test sequences.

    Attributes
    ----------
    run : the ``core.runs.Run`` compared
    baseline : True for the linear / k-mer baselines (scikit-learn), False for deep models
    group : identifies the test set: runs compare only within one group
    main_metric : metric name compared on ('auroc' for classification, 'pearson' for regression)
    main_value : the run's test value of it (nan when missing)
    val_value : the run's validation value of it (nan when missing): what the choice is made on
    best_in_group : the highest ``val_value`` of its group (ties: every tied run): the run one would pick
    vs_best_baseline : ``main_value`` minus the test value of the chosen baseline (nan without a baseline)
    best_baseline : name of that baseline ('' without one)
    intervals : test metric -> (low, high) 95 % bootstrap interval (empty when the run has no predictions)
    paired : on the chosen deep model's row, the paired bootstrap of (its test metric - the chosen baseline's):
             ``metrics.paired_bootstrap``'s dict (difference, low, high, p_value, n_boot, n); else None
    """

    run: object
    baseline: bool
    group: str
    main_metric: str
    main_value: float
    val_value: float = math.nan
    best_in_group: bool = False
    vs_best_baseline: float = math.nan
    best_baseline: str = ""
    intervals: dict = field(default_factory=dict)
    paired: dict | None = None

    @property
    def interval(self) -> tuple[float, float]:
        """95 % interval of the main test metric ((nan, nan) when unknown)."""
        return tuple(self.intervals.get(self.main_metric, (math.nan, math.nan)))


def data_group(run) -> str:
    """Key of the test set a run was evaluated on.

    The digest of the test ids saved by ``train_run`` when present (same data, same split seed -> same key);
    otherwise the data settings, task and input length.
    """
    digest = run.doc.get("test_ids_sha") if isinstance(run.doc, dict) else None
    if digest:
        return f"test:{digest}"
    import json

    return "config:" + json.dumps({"data": run.config.data.__dict__, "task": run.info.task,
                                   "length": run.info.length}, sort_keys=True, default=str)


def _number(v) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


def _predictions(run):
    try:
        p = run.predictions()
    except Exception:  # a damaged predictions file: compare without intervals rather than fail
        return None
    if not p or "y_true" not in p or "y_pred" not in p or len(p["y_true"]) != len(p["y_pred"]):
        return None
    return p


def test_intervals(run) -> dict[str, tuple[float, float]]:
    """95 % bootstrap intervals of a run's test metrics: saved with the run (``run.json`` ``test_intervals``),
    else computed from its saved test predictions (runs saved before BioDeep stored them); {} without either."""
    from biodeep_gui.core.common import metrics as M

    saved = run.doc.get("test_intervals") if isinstance(run.doc, dict) else None
    if isinstance(saved, dict) and saved:
        out = {}
        for k, v in saved.items():
            if isinstance(v, (list, tuple)) and len(v) == 2:
                out[str(k)] = (_number(v[0]), _number(v[1]))
        return out
    p = _predictions(run)
    if p is None or len(p["y_true"]) < 2:
        return {}
    seed = run.config.train.seed if hasattr(run.config, "train") else 0
    try:
        return M.bootstrap_intervals(run.info.task, p["y_true"], p["y_pred"], seed=seed)
    except (ValueError, IndexError):
        return {}


def paired_comparison(a, b, metric: str) -> dict | None:
    """Paired bootstrap of ``metric(a) - metric(b)`` on the test sequences both runs were tested on (same
    group), from their saved test predictions; None when either has none or the targets differ."""
    from biodeep_gui.core.common import metrics as M

    pa, pb = _predictions(a), _predictions(b)
    if pa is None or pb is None or pa["y_true"].shape != pb["y_true"].shape:
        return None
    if not np.array_equal(np.nan_to_num(pa["y_true"]), np.nan_to_num(pb["y_true"])):
        return None
    seed = a.config.train.seed if hasattr(a.config, "train") else 0
    try:
        return M.paired_bootstrap(a.info.task, pa["y_true"], pa["y_pred"], pb["y_pred"], metric, seed=seed)
    except (ValueError, IndexError):
        return None


def compare_runs(runs: list) -> list[RunComparison]:
    """Choose runs by their validation score within each test set, and measure deep models against baselines
    on the test set, with uncertainty.

    Parameters
    ----------
    runs : ``core.runs.Run`` objects, in display order

    Returns
    -------
    one ``RunComparison`` per run, in the same order. In each group the run(s) with the best validation score
    are ``best_in_group``; ``vs_best_baseline`` is the test difference to the baseline with the best
    validation score; the deep model with the best validation score carries ``paired``, the paired bootstrap
    against that baseline.
    """
    from biodeep_gui.core.common.metrics import HIGHER_IS_BETTER
    from biodeep_gui.core.sequences.models import ARCHITECTURES

    out = []
    for run in runs:
        metric = MAIN_METRIC.get(run.info.task, "loss")
        spec = ARCHITECTURES.get(run.info.arch)
        out.append(RunComparison(run, bool(spec and spec.kind == "sklearn"), data_group(run), metric,
                                 _number(run.metrics.get(f"test_{metric}", math.nan)),
                                 _number(run.metrics.get(f"val_{metric}", math.nan)), intervals=test_intervals(run)))
    for group in {c.group for c in out}:
        members = [c for c in out if c.group == group]
        sign = 1.0 if HIGHER_IS_BETTER.get(members[0].main_metric, True) else -1.0
        finite = [sign * c.val_value for c in members if math.isfinite(c.val_value)]
        best = max(finite) if finite else math.nan
        baselines = [c for c in members if c.baseline and math.isfinite(c.val_value)]
        deep = [c for c in members if not c.baseline and math.isfinite(c.val_value)]
        top_base = max(baselines, key=lambda c: sign * c.val_value) if baselines else None
        top_deep = max(deep, key=lambda c: sign * c.val_value) if deep else None
        for c in members:
            c.best_in_group = math.isfinite(c.val_value) and sign * c.val_value == best
            if top_base is not None and math.isfinite(c.main_value) and math.isfinite(top_base.main_value):
                c.vs_best_baseline = c.main_value - top_base.main_value
                c.best_baseline = top_base.run.name
        if top_base is not None and top_deep is not None:
            top_deep.paired = paired_comparison(top_deep.run, top_base.run, top_deep.main_metric)
    return out
