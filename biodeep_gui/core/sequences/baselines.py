"""Baselines trained on the same split as the deep models: linear models on one-hot or k-mer features.

Biologists need to see whether a deep model is worth it; sometimes a k-mer model wins. For the comparison to be
fair the baselines get what the deep models get: their regularisation strength C is chosen on the same
validation set (a log grid, the run's monitored metric; the deep models choose their epoch there) and the
classes are weighted when the run says ``train.class_weighting``. k-mer features are canonical (a k-mer and its
reverse complement are one feature) and length-normalised (frequencies per k-mer position). The fitted
coefficients are kept as plain arrays (saved with safetensors, no pickled scikit-learn objects), and prediction
is a dot product.
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
    """

    kind: str
    k: int
    coef: np.ndarray
    intercept: np.ndarray
    scale: np.ndarray
    feature_version: int = FEATURE_VERSION
    C: float = 1.0
    tuning: list[tuple[float, float]] = field(default_factory=list)

    def features(self, codes: np.ndarray):
        if self.kind == "kmer":
            return kmer_counts(codes, self.k, canonical=self.feature_version >= 2)
        return onehot_features(codes)

    def raw_output(self, codes: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """(N, L) codes -> (N, K) raw outputs (logits or standardised values), in chunks to bound memory."""
        out = []
        for s in range(0, len(codes), chunk):
            x = self.features(codes[s:s + chunk])
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
                 grid: Sequence[float] = C_GRID) -> BaselineModel:
    """Fit a linear baseline on the training set; with ``C = 0``, choose C on the validation set.

    Parameters
    ----------
    kind : 'linear' | 'kmer'
    codes : (N, L) uint8 training sequences
    y : network-scale targets: (N, T) 0/1 (binary), (N,) class index (multiclass), (N, T) standardised values
    task : 'binary' | 'multiclass' | 'regression'
    C : inverse regularisation strength (ridge alpha = 1 / C); 0 = try every value of ``grid`` and keep the one
        whose model ``score`` rates highest (ties: the smaller C, i.e. the stronger regularisation)
    class_weighting : weight classes inversely to their frequency (``class_weight='balanced'``), as the deep
                      models do with ``train.class_weighting``; ignored for regression
    score : model -> validation score, higher is better (the run's monitored validation metric); required
            when C = 0

    Returns
    -------
    BaselineModel with ``C`` the value used and ``tuning`` the (C, score) pairs tried
    """
    from biodeep_gui.core.common.errors import ConfigError

    x = kmer_counts(codes, k) if kind == "kmer" else onehot_features(codes)
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
