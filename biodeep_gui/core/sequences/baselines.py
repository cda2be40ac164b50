"""Baselines trained on the same split as the deep models: linear models on one-hot or k-mer features.

Biologists need to see whether a deep model is worth it; sometimes a k-mer model wins. The fitted coefficients
are kept as plain arrays (saved with safetensors, no pickled scikit-learn objects), and prediction is a dot
product.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from biodeep_gui.core.sequences.encoding import COMPLEMENT_CODES


def onehot_features(codes: np.ndarray) -> np.ndarray:
    """(N, L) codes -> (N, 4L) float32 flattened one-hot (same layout as the MLP input)."""
    from biodeep_gui.core.sequences.encoding import ONE_HOT_TABLE

    return ONE_HOT_TABLE[codes].transpose(0, 2, 1).reshape(len(codes), -1)


def kmer_counts(codes: np.ndarray, k: int) -> sparse.csr_matrix:
    """Counts of every k-mer on both strands, per sequence.

    k-mers that overlap an ambiguous base or padding are skipped.

    Returns
    -------
    (N, 4**k) float32 sparse counts (forward + reverse complement)
    """
    n, length = codes.shape
    if length < k:
        return sparse.csr_matrix((n, 4 ** k), dtype=np.float32)
    mats = []
    for strand in (codes, COMPLEMENT_CODES[codes][:, ::-1]):
        idx = np.zeros((n, length - k + 1), dtype=np.int64)
        valid = np.ones_like(idx, dtype=bool)
        for j in range(k):
            col = strand[:, j:length - k + 1 + j].astype(np.int64)
            valid &= col < 4
            idx = idx * 4 + np.minimum(col, 3)
        rows = np.broadcast_to(np.arange(n)[:, None], idx.shape)[valid]
        mats.append(sparse.csr_matrix((np.ones(rows.size, np.float32), (rows, idx[valid])), shape=(n, 4 ** k)))
    return (mats[0] + mats[1]).tocsr()


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
    """

    kind: str
    k: int
    coef: np.ndarray
    intercept: np.ndarray
    scale: np.ndarray

    def features(self, codes: np.ndarray):
        if self.kind == "kmer":
            return kmer_counts(codes, self.k)
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
        return {"coef": self.coef, "intercept": self.intercept, "scale": self.scale}

    @classmethod
    def from_tensors(cls, kind: str, k: int, t: dict[str, np.ndarray]) -> "BaselineModel":
        return cls(kind, k, np.asarray(t["coef"], np.float32), np.asarray(t["intercept"], np.float32),
                   np.asarray(t["scale"], np.float32))


def fit_baseline(kind: str, codes: np.ndarray, y: np.ndarray, task: str, *, k: int = 5, C: float = 1.0,
                 seed: int = 0) -> BaselineModel:
    """Fit a linear baseline on the training set.

    Parameters
    ----------
    kind : 'linear' | 'kmer'
    codes : (N, L) uint8
    y : network-scale targets: (N, T) 0/1 (binary), (N,) class index (multiclass), (N, T) standardised values
    task : 'binary' | 'multiclass' | 'regression'
    C : inverse regularisation strength (ridge alpha = 1 / C)
    """
    from sklearn.linear_model import LogisticRegression, Ridge

    x = kmer_counts(codes, k) if kind == "kmer" else onehot_features(codes)
    if sparse.issparse(x):  # scale counts to unit variance without densifying
        sq = np.asarray(x.multiply(x).mean(axis=0)).ravel() - np.asarray(x.mean(axis=0)).ravel() ** 2
        std = np.sqrt(np.clip(sq, 0, None))
        scale = np.where(std > 0, 1.0 / np.where(std > 0, std, 1), 0.0).astype(np.float32)
        xs = x.multiply(scale).tocsr()
    else:
        scale = np.ones(x.shape[1], np.float32)
        xs = x
    if task == "regression":
        m = Ridge(alpha=1.0 / C).fit(xs, y)
        coef, intercept = np.atleast_2d(m.coef_), np.atleast_1d(m.intercept_)
    elif task == "multiclass":
        m = LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(xs, np.asarray(y).reshape(-1))
        coef, intercept = m.coef_, m.intercept_
        if coef.shape[0] == 1:  # two classes: sklearn keeps one logit z; softmax([-z/2, z/2]) == sigmoid(z)
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    else:
        coefs, icpts = [], []
        for t in range(y.shape[1]):
            m = LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(xs, y[:, t].astype(int))
            coefs.append(m.coef_[0])
            icpts.append(m.intercept_[0])
        coef, intercept = np.stack(coefs), np.array(icpts)
    return BaselineModel(kind, k, coef.astype(np.float32), intercept.astype(np.float32), scale)
