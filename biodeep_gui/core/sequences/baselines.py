"""Baselines trained on the same split as the deep models: linear models on one-hot or k-mer features.

Biologists need to see whether a deep model is worth it; sometimes a k-mer model wins. For the comparison to be
fair the baselines get what the deep models get: their regularisation strength C is chosen on the same
validation set (a log grid, the run's monitored metric; the deep models choose their epoch there) and the
classes are weighted when the run says ``train.class_weighting``. k-mer features are canonical (a k-mer and its
reverse complement are one feature) and length-normalised (frequencies per k-mer position). The fitted
coefficients are kept as plain arrays (saved with safetensors, no pickled scikit-learn objects), and prediction
is a dot product.

At genome scale (millions of sequences) the features of every training sequence would not fit in memory (one-hot
is 4L float32 per sequence: 6.4 GB for 2 M x 200 bp), so a baseline is fitted on at most ``BASELINE_MAX_TRAIN``
training sequences and its C scored on at most ``BASELINE_MAX_VAL`` validation sequences: seeded random subsets
drawn without replacement (``subset_rows``; not stratified, so class proportions hold in expectation). Only those
rows are gathered; raw outputs of a whole split are computed chunk by chunk from row indices (``raw_output(rows=)``),
so a split memory-mapped from the encoded cache is never copied whole. The run records what was used
(``describe_fit``). Sets below the caps are fitted exactly as before.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy import sparse

from biodeep_gui.core.sequences.encoding import COMPLEMENT_CODES


def onehot_features(codes: np.ndarray) -> np.ndarray:
    """(N, L) codes -> (N, 4L) float32 flattened one-hot (same layout as the MLP input)."""
    from biodeep_gui.core.sequences.encoding import ONE_HOT_TABLE

    return ONE_HOT_TABLE[codes].transpose(0, 2, 1).reshape(len(codes), -1)


def _kmer_index(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, P) index (base-4 number) of the k-mer at each of the P = L - k + 1 positions, and whether it is valid
    (no ambiguous base or padding inside it)."""
    n, length = codes.shape
    idx = np.zeros((n, length - k + 1), dtype=np.int64)
    valid = np.ones_like(idx, dtype=bool)
    for j in range(k):
        col = codes[:, j:length - k + 1 + j].astype(np.int64)
        valid &= col < 4
        idx = idx * 4 + np.minimum(col, 3)
    return idx, valid


def canonical_kmers(k: int) -> tuple[np.ndarray, np.ndarray]:
    """The canonical k-mers: (4**k,) column of each k-mer (it and its reverse complement share one) and (F,) the
    canonical k-mer (the smaller base-4 number of the pair) of each column, F = (4**k + 4**(k//2) [k even]) / 2."""
    all_k = np.arange(4 ** k, dtype=np.int64)
    rc = np.zeros_like(all_k)
    x = all_k.copy()
    for _ in range(k):  # reverse complement: read digits from the end, complement each (A<->T, C<->G: 3 - d)
        rc = rc * 4 + (3 - x % 4)
        x //= 4
    canon = np.minimum(all_k, rc)
    kept, column = np.unique(canon, return_inverse=True)
    return column.ravel(), kept


def kmer_counts(codes: np.ndarray, k: int, *, canonical: bool = True) -> sparse.csr_matrix:
    """k-mer frequencies per sequence.

    ``canonical`` (default): a k-mer and its reverse complement are one feature (counted once per position of
    the given strand, so a sequence and its reverse complement get identical features), divided by the number
    of valid k-mer positions of the sequence, so sequences with padding or N are on the same scale.
    ``canonical=False``: the BioDeep 0.1 features (raw counts over both strands, one column per k-mer), kept so
    baselines saved then predict as they did.

    k-mers that overlap an ambiguous base or padding are skipped.

    Returns
    -------
    (N, F) float32 sparse: F canonical k-mers (see ``canonical_kmers``), or 4**k raw columns
    """
    n, length = codes.shape
    if not canonical:
        return _legacy_kmer_counts(codes, k)
    column, kept = canonical_kmers(k)
    if length < k:
        return sparse.csr_matrix((n, kept.size), dtype=np.float32)
    idx, valid = _kmer_index(codes, k)
    positions = valid.sum(axis=1).astype(np.float32)
    rows = np.broadcast_to(np.arange(n)[:, None], idx.shape)[valid]
    weight = (1.0 / np.maximum(positions, 1))[rows]
    return sparse.csr_matrix((weight.astype(np.float32), (rows, column[idx[valid]])), shape=(n, kept.size))


def _legacy_kmer_counts(codes: np.ndarray, k: int) -> sparse.csr_matrix:
    n, length = codes.shape
    if length < k:
        return sparse.csr_matrix((n, 4 ** k), dtype=np.float32)
    mats = []
    for strand in (codes, COMPLEMENT_CODES[codes][:, ::-1]):
        idx, valid = _kmer_index(strand, k)
        rows = np.broadcast_to(np.arange(n)[:, None], idx.shape)[valid]
        mats.append(sparse.csr_matrix((np.ones(rows.size, np.float32), (rows, idx[valid])), shape=(n, 4 ** k)))
    return (mats[0] + mats[1]).tocsr()


#: Values of C tried on the validation set (log grid) when the run's C is 0.
C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)

#: At most this many training sequences are fitted on (100,000 x 200 bp: 320 MB of one-hot features); above it, a
#: seeded random subset. The same rule holds for the validation sequences C is chosen on (``BASELINE_MAX_VAL``).
BASELINE_MAX_TRAIN = 100_000
BASELINE_MAX_VAL = 100_000
#: Sequences whose features are built at once when computing raw outputs.
RAW_OUTPUT_CHUNK = 4096


def subset_rows(n: int, cap: int, seed: int) -> np.ndarray:
    """(min(n, cap),) sorted positions: all of ``range(n)`` when ``n <= cap``, else a seeded random subset drawn
    without replacement (sorted, so reading them from a memory-mapped file goes forward through it)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=int(cap), replace=False))


def fit_phrase(n_train: int, n_fitted: int, seed: int) -> str:
    """'all 500 training sequences' or '100,000 of 1,600,000 training sequences (random subset, seed 0)'."""
    if n_fitted >= n_train:
        return f"all {n_train:,} training sequences"
    return f"{n_fitted:,} of {n_train:,} training sequences (random subset, seed {seed})"


def describe_fit(info: dict) -> str:
    """What a run's ``baseline`` info says about the sequences it was fitted on (and the validation sequences C
    was scored on, when those were subsampled too); '' for runs saved before this was recorded."""
    n, used = info.get("n_train"), info.get("n_fitted")
    if not isinstance(n, int) or not isinstance(used, int):
        return ""
    text = "fitted on " + fit_phrase(n, used, info.get("subset_seed", 0))
    n_val, val_used = info.get("n_val"), info.get("n_val_scored")
    if isinstance(n_val, int) and isinstance(val_used, int) and 0 < val_used < n_val:
        text += f"; C scored on {val_used:,} of {n_val:,} validation sequences (random subset, same seed)"
    return text


#: Feature version saved with a baseline: 1 = raw counts over both strands (BioDeep 0.1), 2 = canonical frequencies.
FEATURE_VERSION = 2


@dataclass
class BaselineModel:
    """A fitted linear baseline: raw output = (features * scale) @ coef.T + intercept.

    Attributes
    ----------
    kind : 'linear' (one-hot) or 'kmer'
    k : k-mer length (kmer only)
    coef : (K, F) float32
    intercept : (K,) float32
    scale : (F,) float32 feature scaling fitted on the training set
    feature_version : 2 (canonical, length-normalised k-mers) or 1 (BioDeep 0.1 runs: raw two-strand counts)
    C : the inverse regularisation strength used
    tuning : (C, validation score) of every C tried (empty when C was fixed)
    n_train : training sequences given to ``fit_baseline``; n_fitted : how many of them it was fitted on
    """

    kind: str
    k: int
    coef: np.ndarray
    intercept: np.ndarray
    scale: np.ndarray
    feature_version: int = FEATURE_VERSION
    C: float = 1.0
    tuning: list[tuple[float, float]] = field(default_factory=list)
    n_train: int = 0
    n_fitted: int = 0

    def features(self, codes: np.ndarray):
        if self.kind == "kmer":
            return kmer_counts(codes, self.k, canonical=self.feature_version >= 2)
        return onehot_features(codes)

    def raw_output(self, codes, chunk: int | None = None, *, rows: np.ndarray | None = None) -> np.ndarray:
        """Raw outputs (logits or standardised values), ``chunk`` sequences at a time to bound memory.

        Parameters
        ----------
        codes : (N, L) uint8: an array, a memmap or a cached ``Rows`` view
        chunk : sequences per step (default ``RAW_OUTPUT_CHUNK``)
        rows : (M,) row indices into ``codes`` to score; only each chunk's rows are gathered (None: all rows)

        Returns
        -------
        (M, K) float32 (M = N without ``rows``)
        """
        chunk = int(chunk or RAW_OUTPUT_CHUNK)
        n = len(codes) if rows is None else len(rows)
        out = []
        for s in range(0, n, chunk):
            x = self.features(np.asarray(codes[s:s + chunk] if rows is None else codes[rows[s:s + chunk]]))
            x = x.multiply(self.scale).tocsr() if sparse.issparse(x) else x * self.scale
            out.append(np.asarray(x @ self.coef.T) + self.intercept)
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, len(self.intercept)), np.float32)

    def to_tensors(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "intercept": self.intercept, "scale": self.scale,
                "feature_version": np.array([self.feature_version], np.int32)}

    @classmethod
    def from_tensors(cls, kind: str, k: int, t: dict[str, np.ndarray]) -> "BaselineModel":
        version = int(np.asarray(t["feature_version"]).ravel()[0]) if "feature_version" in t else 1
        return cls(kind, k, np.asarray(t["coef"], np.float32), np.asarray(t["intercept"], np.float32),
                   np.asarray(t["scale"], np.float32), version)


def fit_baseline(kind: str, codes: np.ndarray, y: np.ndarray, task: str, *, k: int = 5, C: float = 1.0,
                 seed: int = 0, class_weighting: bool = False,
                 score: Callable[["BaselineModel"], float] | None = None,
                 grid: Sequence[float] = C_GRID, max_train: int | None = None) -> BaselineModel:
    """Fit a linear baseline on the training set; with ``C = 0``, choose C on the validation set.

    Parameters
    ----------
    kind : 'linear' | 'kmer'
    codes : (N, L) uint8 training sequences (an array, a memmap or a cached ``Rows`` view)
    y : network-scale targets: (N, T) 0/1 (binary), (N,) class index (multiclass), (N, T) standardised values
    task : 'binary' | 'multiclass' | 'regression'
    C : inverse regularisation strength (ridge alpha = 1 / C); 0 = try every value of ``grid`` and keep the one
        whose model ``score`` rates highest (ties: the smaller C, i.e. the stronger regularisation)
    class_weighting : weight classes inversely to their frequency (``class_weight='balanced'``), as the deep
                      models do with ``train.class_weighting``; ignored for regression
    score : model -> validation score, higher is better (the run's monitored validation metric); required
            when C = 0
    max_train : fit on at most this many sequences, a random subset (``subset_rows`` with ``seed``) when there are
                more; only those rows are read (default ``BASELINE_MAX_TRAIN``)

    Returns
    -------
    BaselineModel with ``C`` the value used, ``tuning`` the (C, score) pairs tried, ``n_train`` = N and
    ``n_fitted`` the sequences it was fitted on
    """
    n_train = len(codes)
    pick = subset_rows(n_train, BASELINE_MAX_TRAIN if max_train is None else int(max_train), seed)
    if len(pick) < n_train:
        codes, y = codes[pick], np.asarray(y)[pick]
    codes = np.asarray(codes)
    model = _fit_all(kind, codes, y, task, k=k, C=C, seed=seed, class_weighting=class_weighting, score=score,
                     grid=grid)
    model.n_train, model.n_fitted = n_train, len(codes)
    return model


def _fit_all(kind: str, codes: np.ndarray, y: np.ndarray, task: str, *, k: int, C: float, seed: int,
             class_weighting: bool, score, grid: Sequence[float]) -> BaselineModel:
    """``fit_baseline`` on (N, L) in-memory codes, every row of them."""
    from biodeep_gui.core.common.errors import ConfigError

    x = _training_features(kind, codes, k)
    if sparse.issparse(x):  # scale counts to unit variance without densifying
        sq = np.asarray(x.multiply(x).mean(axis=0)).ravel() - np.asarray(x.mean(axis=0)).ravel() ** 2
        std = np.sqrt(np.clip(sq, 0, None))
        scale = np.where(std > 0, 1.0 / np.where(std > 0, std, 1), 0.0).astype(np.float32)
        xs = x.multiply(scale).tocsr()
    else:
        scale = np.ones(x.shape[1], np.float32)
        xs = x
    if C > 0:
        model = _fit(kind, k, xs, scale, y, task, C, seed, class_weighting)
        model.C = float(C)
        return model
    if score is None:
        raise ConfigError("C = 0 (choose C on the validation set) needs a validation set")
    best, best_score, tried = None, -np.inf, []
    for c in sorted(grid):
        m = _fit(kind, k, xs, scale, y, task, c, seed, class_weighting)
        s = float(score(m))
        tried.append((float(c), s))
        if best is None or (np.isfinite(s) and s > best_score):
            best, best_score = m, s if np.isfinite(s) else best_score
            best.C = float(c)
    assert best is not None
    best.tuning = tried
    return best


def _training_features(kind: str, codes: np.ndarray, k: int):
    """(N, F) features of every row, built ``RAW_OUTPUT_CHUNK`` rows at a time: k-mer counting needs 8-byte
    indices per position and one-hot an (N, L, 4) copy before its transpose, so building the whole set at once
    would take several times the size of the features themselves."""
    chunk = RAW_OUTPUT_CHUNK
    if kind == "kmer":
        if len(codes) <= chunk:
            return kmer_counts(codes, k)
        return sparse.vstack([kmer_counts(codes[s:s + chunk], k) for s in range(0, len(codes), chunk)],
                             format="csr")
    x = np.empty((len(codes), 4 * codes.shape[1]), np.float32)
    for s in range(0, len(codes), chunk):
        x[s:s + chunk] = onehot_features(codes[s:s + chunk])
    return x


def _fit(kind: str, k: int, xs, scale: np.ndarray, y: np.ndarray, task: str, C: float, seed: int,
         class_weighting: bool) -> BaselineModel:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge

    cw = "balanced" if class_weighting else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the weakest C of the grid may stop at max_iter
        if task == "regression":
            m = Ridge(alpha=1.0 / C).fit(xs, y)
            coef, intercept = np.atleast_2d(m.coef_), np.atleast_1d(m.intercept_)
        elif task == "multiclass":
            m = LogisticRegression(C=C, max_iter=2000, random_state=seed, class_weight=cw).fit(
                xs, np.asarray(y).reshape(-1))
            coef, intercept = m.coef_, m.intercept_
            if coef.shape[0] == 1:  # two classes: sklearn keeps one logit z; softmax([-z/2, z/2]) == sigmoid(z)
                coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        else:
            coefs, icpts = [], []
            for t in range(y.shape[1]):
                m = LogisticRegression(C=C, max_iter=2000, random_state=seed, class_weight=cw).fit(
                    xs, y[:, t].astype(int))
                coefs.append(m.coef_[0])
                icpts.append(m.intercept_[0])
            coef, intercept = np.stack(coefs), np.array(icpts)
    return BaselineModel(kind, k, coef.astype(np.float32), intercept.astype(np.float32), scale, FEATURE_VERSION, C)
