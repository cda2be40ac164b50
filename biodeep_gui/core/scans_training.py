"""Brain-scan training: autoencoder -> codes -> classifiers, evaluated by cross-validation that cannot leak.

``train_scans(cfg, out_dir, should_stop)`` is the one generator the CLI and the GUI worker iterate. It yields the
same report types as the sequence side (``experiment.StageReport``, ``training.BatchReport``/``EpochReport``)
plus ``CohortReport``, ``FoldReport``, ``ReconstructionPreview`` and ``FoldResult``, and ends with a
``ScansSummary``. Per fold, every fitted step sees the fold's training subjects only:

1. ``fit_mask``: brain mask from the training subjects (unless the user gave a mask file);
2. per-subject intensity normalisation inside that mask (each subject's own mean/std);
3. ``fit_autoencoder``: the autoencoder (``training.fit``, MSE inside the mask, monitored by the voxelwise
   correlation on an inner validation split of the training subjects);
4. codes of every subject from the fold's encoder; ``fit_code_classifiers``: standardisation, an MLP head
   (``training.fit``) and a logistic-regression baseline, fitted on the training codes;
5. ``fit_cnn``: the direct 3-D CNN comparison arm on the same split.

Test subjects are only ever encoded, reconstructed and classified. The permutation test reuses each fold's codes
(the autoencoders never see labels, so they are the same under any relabelling) and refits the classifiers on
permuted labels. The connectivity route is the same with Fisher-z correlation vectors (standardised per fold) and
a fully-connected denoising autoencoder.

``load_scans_run`` reads a run folder back: fold and final autoencoders, reconstructions of subjects or new files.
"""
from __future__ import annotations

import json
import math
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from biodeep_gui.core.errors import ConfigError, InputFileError, RunFolderError
from biodeep_gui.core.experiment import StageReport, history_row
from biodeep_gui.core.fileio import atomic_write
from biodeep_gui.core.runs import json_safe, provenance
from biodeep_gui.core.scans import Cohort, Grid, Preprocessor, build_cohort, compute_mask, load_mask, subject_stats
from biodeep_gui.core.scans_config import SCANS_SCHEMA_VERSION, ScansConfig

RUN_FILE = "run.json"
MODEL_FILE = "model.safetensors"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
RESULTS_FILE = "results.json"
PREDICTIONS_FILE = "predictions.safetensors"
FOLDS_DIR = "folds"
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "auroc", "sensitivity", "specificity")
#: volumes held in memory (on the training device) when a fold's items take at most this many bytes
PRELOAD_BYTES = 512 * 2 ** 20


# ---------------------------------------------------------------------------------------------------------------
# reports (plain data: they cross from the worker thread to the GUI)
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class CohortReport:
    n_subjects: int
    classes: list[str]  # [negative, positive]
    class_counts: dict[str, int]
    sites: dict[str, int]
    route: str
    grid: str  # description of the common grid ('' for tables)
    n_items: int  # training samples (subjects, or frames)
    n_features: int  # voxels in a volume or connectivity features
    warnings: list[str] = field(default_factory=list)


@dataclass
class FoldReport:
    """A new phase begins: the GUI resets its live curves. fold 0 = the final fit on every subject."""

    fold: int
    n_folds: int
    phase: str  # 'autoencoder' | 'classifier' | 'cnn' | 'final'
    n_train: int
    n_test: int
    message: str


@dataclass
class ReconstructionPreview:
    """A held-out subject and its current reconstruction, both normalised, on the model grid (RAS).

    original, reconstruction : (X, Y, Z) float32; mask : (X, Y, Z) bool; voxel_size : (3,) mm
    """

    fold: int
    epoch: int
    subject: str
    original: np.ndarray
    reconstruction: np.ndarray
    mask: np.ndarray
    voxel_size: tuple[float, float, float]
    correlation: float


@dataclass
class FoldResult:
    fold: int
    n_folds: int
    test_subjects: list[str]
    metrics: dict[str, dict[str, float]]  # arm -> metric -> value
    reconstruction: dict[str, tuple[float, float]]  # held-out subject -> (correlation, mse)
    site_balanced_accuracy: float = math.nan


@dataclass
class ScansSummary:
    """The end of ``train_scans``.

    metrics : arm -> metric -> (mean, sd) over folds; arms: 'mlp' and 'logistic' on the codes, 'cnn' (volumes) or
        'logistic_features' (connectivity) as the comparison arm
    permutation : arm -> {'accuracy', 'chance', 'p_value', 'n'}
    site_predictability : {'balanced_accuracy', 'chance', 'n_sites'} (empty without a site column)
    reconstruction : {'correlation_mean', 'correlation_sd', 'mse_mean'} of held-out subjects
    """

    run_dir: str
    route: str
    metrics: dict[str, dict[str, tuple[float, float]]]
    permutation: dict[str, dict[str, float]]
    site_predictability: dict[str, float]
    reconstruction: dict[str, float]
    n_folds: int
    cancelled: bool
    elapsed_s: float
    device: str
    n_parameters: int
    warnings: list[str] = field(default_factory=list)
    roc: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # arm -> fpr, tpr (pooled out-of-fold)
    confusion: dict[str, list[list[int]]] = field(default_factory=dict)  # arm -> [[TN, FP], [FN, TP]]
    classes: list[str] = field(default_factory=list)  # [negative, positive]


# ---------------------------------------------------------------------------------------------------------------
# batch sources
# ---------------------------------------------------------------------------------------------------------------
class VolumeBatches:
    """Mini-batches of normalised, masked volumes for ``training.fit`` (the batch-source protocol).

    Parameters
    ----------
    volumes : one array-like per subject, (X, Y, Z) or (T, X, Y, Z) frames (e.g. ``np.memmap`` from the cache)
    mask : (X, Y, Z) bool; voxels outside are 0
    stats : (S, 2) per-subject mean and std used for normalisation (``None``: values used as they are)
    items : (M, 2) int (subject index, frame index; -1 for a 3-D volume); default one item per 3-D volume
    targets : (M,) or (M, K) float32 per item; ``None``: reconstruction, the target is the input itself
    preload : hold the normalised items in one tensor (on the device after ``to``); ``None``: when they take at most
        ``PRELOAD_BYTES``; ``False``: read each batch from ``volumes`` (streams cohorts larger than RAM)
    max_batch : chunks never exceed this many items (bounds memory when ``fit`` predicts with a large batch)

    ``batches`` yields x (B, 1, X, Y, Z) float32 and y (x itself, or the targets) on the source's device.
    """

    def __init__(self, volumes: Sequence[Any], mask: np.ndarray, stats: np.ndarray | None = None,
                 items: np.ndarray | None = None, targets: np.ndarray | None = None, preload: bool | None = None,
                 max_batch: int = 16, device=None):
        import torch

        self.volumes = volumes
        self.mask = np.asarray(mask, bool)
        self.stats = None if stats is None else np.asarray(stats, np.float32)
        self.items = (np.stack([np.arange(len(volumes)), -np.ones(len(volumes), int)], 1) if items is None
                      else np.asarray(items, np.int64).reshape(-1, 2))
        self.targets = None if targets is None else torch.as_tensor(np.asarray(targets, np.float32))
        if self.targets is not None and len(self.targets) != len(self.items):
            raise ValueError(f"{len(self.items)} volumes but {len(self.targets)} targets")
        self.max_batch = max_batch
        self.device = torch.device(device or "cpu")
        nbytes = len(self.items) * int(self.mask.size) * 4
        self.preloaded = (nbytes <= PRELOAD_BYTES) if preload is None else bool(preload)
        self._data = None
        if self.preloaded:  # filled in place: the cohort is never held twice
            data = np.empty((len(self.items), 1, *self.mask.shape), np.float32)
            for k in range(len(self.items)):
                data[k, 0] = self.item(k)
            self._data = torch.from_numpy(data)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.mask.shape)  # type: ignore[return-value]

    def item(self, k: int) -> np.ndarray:
        """Item ``k`` normalised and masked: (X, Y, Z) float32."""
        s, f = (int(v) for v in self.items[k])
        vol = np.asarray(self.volumes[s][f] if f >= 0 else self.volumes[s], np.float32)
        if self.stats is not None:
            vol = (vol - self.stats[s, 0]) / self.stats[s, 1]
        return (vol * self.mask).astype(np.float32, copy=False)

    def to(self, device) -> "VolumeBatches":
        import copy

        import torch

        device = torch.device(device)
        if device == self.device:
            return self
        other = copy.copy(self)
        other.device = device
        if self._data is not None:
            other._data = self._data.to(device)
        if self.targets is not None:
            other.targets = self.targets.to(device)
        return other

    def batches(self, batch_size: int, shuffle: bool = False, generator=None, augment: bool = False):
        """Yield (x, y) on the device; ``augment`` is ignored (no anatomy-preserving augmentation is assumed)."""
        import torch

        n = len(self)
        bs = max(1, min(batch_size, self.max_batch))
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        pin = self.device.type == "cuda"
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            if self._data is not None:
                x = self._data[idx.to(self._data.device)]
            else:
                x = torch.from_numpy(np.stack([self.item(int(k)) for k in idx])[:, None])
                x = (x.pin_memory() if pin else x).to(self.device, non_blocking=pin)
            y = x if self.targets is None else self.targets[idx.to(self.targets.device)]
            yield x, y


class FeatureBatches:
    """Mini-batches of feature vectors (codes, connectivity features) with targets (or themselves).

    x : (N, F) float32; y : (N, K) float32 targets, or ``None`` for reconstruction
    """

    def __init__(self, x: np.ndarray, y: np.ndarray | None = None, device=None):
        import torch

        self.x = torch.as_tensor(np.asarray(x, np.float32))
        self.y = None if y is None else torch.as_tensor(np.asarray(y, np.float32))
        self.device = torch.device(device or "cpu")

    def __len__(self) -> int:
        return len(self.x)

    def to(self, device) -> "FeatureBatches":
        import torch

        device = torch.device(device)
        if device == self.device:
            return self
        out = FeatureBatches.__new__(FeatureBatches)
        out.x, out.device = self.x.to(device), device
        out.y = None if self.y is None else self.y.to(device)
        return out

    def batches(self, batch_size: int, shuffle: bool = False, generator=None, augment: bool = False):
        import torch

        n = len(self)
        order = torch.randperm(n, generator=generator).to(self.device) if shuffle else None
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size] if shuffle else slice(start, start + batch_size)
            x = self.x[idx]
            yield x, (x if self.y is None else self.y[idx])


# ---------------------------------------------------------------------------------------------------------------
# reconstruction objective and metrics
# ---------------------------------------------------------------------------------------------------------------
def _masked_rows(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(N, V) float32 rows of ``a`` and ``b`` restricted to ``mask`` (all values when ``mask`` is None)."""
    a = np.asarray(a, np.float32).reshape(len(a), -1)
    b = np.asarray(b, np.float32).reshape(len(b), -1)
    if mask is not None:
        idx = np.flatnonzero(np.asarray(mask, bool).ravel())
        a, b = a.take(idx, axis=1), b.take(idx, axis=1)
    return a, b


def _row_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # float32 values, float64 sums: 9x faster than float64 arrays (this runs every epoch on the GPU path) and
    # equal to 1e-9
    a = a - a.mean(axis=1, dtype=np.float64, keepdims=True).astype(np.float32)
    b = b - b.mean(axis=1, dtype=np.float64, keepdims=True).astype(np.float32)
    ab = np.einsum("ij,ij->i", a, b, dtype=np.float64)
    den = np.sqrt(np.einsum("ij,ij->i", a, a, dtype=np.float64) * np.einsum("ij,ij->i", b, b, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, ab / np.where(den > 0, den, 1), np.nan)


def masked_correlation(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Pearson correlation per sample between ``a`` and ``b`` inside ``mask``.

    Parameters
    ----------
    a, b : (N, ...) with the same shape; mask : bool of shape a.shape[-3:] (volumes) or ``None`` (all values)

    Returns
    -------
    (N,) float64 (nan for a constant sample)
    """
    return _row_correlation(*_masked_rows(a, b, mask))


class ReconstructionObjective:
    """The reconstruction objective for ``training.fit`` (the ``Objective`` interface: ``prepare``, ``loss``,
    ``transform``, ``metrics``): mean squared error inside the mask (over all values for feature vectors), outputs
    used as they are, metrics = voxelwise correlation and MSE inside the mask.

    mask : (X, Y, Z) bool, or ``None`` for feature vectors
    """

    task = "reconstruction"

    def __init__(self, mask: np.ndarray | None):
        self.mask = None if mask is None else np.asarray(mask, bool)
        self._m = None
        self._n = 1.0

    def prepare(self, device) -> None:
        import torch

        self._idx = None
        if self.mask is not None:
            self._m = torch.as_tensor(self.mask, dtype=torch.float32, device=device)[None, None]
            self._n = float(self.mask.sum())
            self._idx = torch.as_tensor(np.flatnonzero(self.mask.ravel()), device=device)

    def evaluate(self, model, source, batch_size: int) -> dict[str, float]:
        """Loss, mean per-sample correlation and MSE inside the mask of ``model`` on ``source``, computed on the
        source's device (as ``reconstruction_metrics``): no volume is copied to the host, one sync at the end.
        ``training.fit`` uses this instead of ``predict_outputs`` + ``metrics``."""
        import torch

        model.eval()
        dev = source.device
        loss = torch.zeros((), dtype=torch.float64, device=dev)
        sq = torch.zeros((), dtype=torch.float64, device=dev)
        corr = torch.zeros((), dtype=torch.float64, device=dev)
        n_corr = torch.zeros((), dtype=torch.float64, device=dev)
        n = n_values = 0
        with torch.inference_mode():
            for x, y in source.batches(batch_size):
                out = model(x).float()
                loss += self.loss(out, y).double() * len(x)
                a, b = y.reshape(len(y), -1), out.reshape(len(out), -1)
                if self._idx is not None:
                    a, b = a.index_select(1, self._idx), b.index_select(1, self._idx)
                sq += ((a - b).double() ** 2).sum()
                a = a - a.double().mean(1, keepdim=True).float()
                b = b - b.double().mean(1, keepdim=True).float()
                den = torch.sqrt((a.double() ** 2).sum(1) * (b.double() ** 2).sum(1))
                ok = den > 0
                corr += torch.where(ok, (a.double() * b.double()).sum(1) / torch.where(ok, den, 1), 0).sum()
                n_corr += ok.sum()
                n, n_values = n + len(x), n_values + a.numel()
        if not n:
            return {"correlation": math.nan, "mse": math.nan, "loss": math.nan}
        loss, sq, corr, n_corr = (float(v) for v in torch.stack([loss, sq, corr, n_corr]).cpu())
        return {"correlation": corr / n_corr if n_corr else math.nan, "mse": sq / n_values, "loss": loss / n}

    def loss(self, output, target):
        d = (output.float() - target) ** 2
        if self._m is None:
            return d.mean()
        return (d * self._m).sum() / (self._n * len(d))

    def transform(self, output: np.ndarray) -> np.ndarray:
        return output

    def metrics(self, y_true: np.ndarray, transformed: np.ndarray) -> dict[str, float]:
        return reconstruction_metrics(y_true, transformed, self.mask)


def reconstruction_metrics(y_true: np.ndarray, pred: np.ndarray, mask: np.ndarray | None) -> dict[str, float]:
    """Mean per-sample correlation and mean squared error inside the mask."""
    a, b = _masked_rows(y_true, pred, mask)
    if not a.size:
        return {"correlation": math.nan, "mse": math.nan}
    d = a - b
    return {"correlation": float(np.nanmean(_row_correlation(a, b))), "mse": float(np.einsum("ij,ij->", d, d, dtype=np.float64) / d.size)}


def classification_metrics(y_true: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, balanced accuracy, AUROC, sensitivity (positive recall) and specificity (negative recall).

    y_true : (N,) 0/1; prob : (N,) probability of the positive class
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true).reshape(-1).astype(int)
    p = np.asarray(prob, float).reshape(-1)
    pred = (p >= threshold).astype(int)
    pos, neg = y == 1, y == 0
    sens = float((pred[pos] == 1).mean()) if pos.any() else math.nan
    spec = float((pred[neg] == 0).mean()) if neg.any() else math.nan
    return {"accuracy": float((pred == y).mean()) if len(y) else math.nan,
            "balanced_accuracy": float(np.nanmean([sens, spec])) if pos.any() or neg.any() else math.nan,
            "auroc": float(roc_auc_score(y, p)) if pos.any() and neg.any() else math.nan,
            "sensitivity": sens, "specificity": spec}


# ---------------------------------------------------------------------------------------------------------------
# folds
# ---------------------------------------------------------------------------------------------------------------
def make_folds(y: np.ndarray, sites: Sequence[str] | None, k: int, *, leave_site_out: bool = False,
               seed: int = 0) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Cross-validation splits of subjects.

    Stratified k-fold by label and, when sites are given, by label x site (falling back to label only when a
    label x site group has fewer than k subjects); or one fold per site (``leave_site_out``).

    Returns
    -------
    folds : [(train indices, test indices)]
    how : a sentence describing the scheme (shown to the user)
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    n = len(y)
    if leave_site_out:
        if not sites:
            raise ConfigError("leave-site-out needs a site column in the labels table")
        names = sorted(set(sites))
        if len(names) < 2:
            raise ConfigError(f"leave-site-out needs at least 2 sites; the table has one ({names[0]})")
        s = np.asarray(sites)
        folds = []
        for name in names:
            test = np.flatnonzero(s == name)
            train = np.flatnonzero(s != name)
            if len(set(y[train])) < 2:
                raise ConfigError(f"leaving out site {name} leaves one class only in training")
            folds.append((train, test))
        return folds, f"leave-one-site-out over {len(names)} sites"
    counts = np.bincount(y.astype(int), minlength=2)
    if counts.min() < k:
        raise ConfigError(f"only {counts.min()} subjects in the smaller class: use at most {counts.min()} folds")
    strata, how = y.astype(str), f"stratified {k}-fold by label"
    if sites:
        joint = np.array([f"{a}|{b}" for a, b in zip(y, sites)])
        if min(np.unique(joint, return_counts=True)[1]) >= k:
            strata, how = joint, f"stratified {k}-fold by label and site"
        else:
            how += " (some label x site groups are smaller than the number of folds, so not by site)"
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(np.sort(tr), np.sort(te)) for tr, te in skf.split(np.zeros(n), strata)], how


def inner_split(train: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a fold's training subjects into fitting and inner-validation subjects (stratified when possible)."""
    from sklearn.model_selection import train_test_split

    train = np.asarray(train)
    n_val = max(1, int(round(fraction * len(train))))
    if len(train) - n_val < 1:
        raise ConfigError(f"{len(train)} training subjects are too few to hold out an inner validation set")
    labels = np.asarray(y)[train]
    strat = labels if n_val >= len(set(labels)) and min(np.bincount(labels)) >= 2 else None
    fit_idx, val_idx = train_test_split(train, test_size=n_val, random_state=seed, stratify=strat)
    return np.sort(fit_idx), np.sort(val_idx)


# ---------------------------------------------------------------------------------------------------------------
# fitted steps (module-level so tests can record exactly which subjects each one is given)
# ---------------------------------------------------------------------------------------------------------------
def fit_mask(prep: Preprocessor, subjects: np.ndarray, cfg: ScansConfig) -> np.ndarray:
    """The brain mask for a fold: the user's mask file, or computed from ``subjects`` (training subjects only)."""
    assert prep.grid is not None
    if cfg.data.mask:
        return load_mask(cfg.data.mask, prep.grid, canonicalise=cfg.data.canonicalise, resample=cfg.data.resample)
    return compute_mask((prep.load(int(i)) for i in subjects), cfg.data.mask_coverage)


def normalisation_stats(prep: Preprocessor, subjects: Sequence[int], mask: np.ndarray, kind: str) -> np.ndarray:
    """(S, 2) mean and std of each listed subject inside ``mask`` (rows of other subjects stay (0, 1)).

    Each subject is normalised with its own statistics; the fold only provides the mask.
    """
    stats = np.tile(np.array([0.0, 1.0], np.float32), (len(prep.cohort), 1))
    if kind == "zscore":
        for i in subjects:
            stats[int(i)] = subject_stats(prep.load(int(i)), mask)
    return stats


def volume_items(prep: Preprocessor, subjects: Sequence[int]) -> np.ndarray:
    """(M, 2) (subject, frame) items of the listed subjects: one per 3-D volume, one per kept frame otherwise."""
    rows = []
    for i in subjects:
        a = prep.load(int(i))
        if prep.cfg.summary == "frames":
            rows += [(int(i), f) for f in range(a.shape[0])]
        else:
            rows.append((int(i), -1))
    return np.asarray(rows, np.int64).reshape(-1, 2)


def fit_autoencoder(model, prep: Preprocessor | None, fit_subjects: np.ndarray, val_subjects: np.ndarray, *,
                    cfg: ScansConfig, device, mask: np.ndarray | None, stats: np.ndarray | None,
                    features: np.ndarray | None = None, should_stop: Callable[[], bool] = lambda: False,
                    on_epoch: Callable[[Any], Any] | None = None) -> Iterator:
    """Train an autoencoder on ``fit_subjects`` (model selection on ``val_subjects``) with ``training.fit``.

    Volumes route: ``prep`` + ``mask`` + ``stats``; connectivity route: ``features`` (N, F) already standardised.
    Yields fit's BatchReport/EpochReport (and whatever ``on_epoch(report)`` returns, if not None); the generator's
    return value is fit's ``FitResult`` (the model holds the best weights).
    """
    from biodeep_gui.core.training import EpochReport, FitResult, fit

    tcfg = cfg.train.for_autoencoder()
    if features is None:
        assert prep is not None and mask is not None
        train_src = VolumeBatches(_volumes(prep), mask, stats, volume_items(prep, fit_subjects))
        val_src = VolumeBatches(_volumes(prep), mask, stats, volume_items(prep, val_subjects))
    else:
        train_src, val_src = FeatureBatches(features[fit_subjects]), FeatureBatches(features[val_subjects])
    objective = ReconstructionObjective(mask if features is None else None)
    result = None
    # validation metrics come from objective.evaluate, on the device (no val_targets needed)
    for item in fit(model, train_src, val_src, objective, tcfg, device=device, val_targets=None,
                    should_stop=should_stop):
        if isinstance(item, FitResult):
            result = item
            continue
        yield item
        if isinstance(item, EpochReport) and on_epoch is not None:
            extra = on_epoch(item)
            if extra is not None:
                yield extra
    return result


class _Volumes:
    """Lazy ``prep.load(i)`` list: VolumeBatches indexes subjects, the cache serves memory-mapped arrays."""

    def __init__(self, prep: Preprocessor):
        self.prep = prep

    def __len__(self) -> int:
        return len(self.prep.cohort)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.prep.load(int(i))


def _volumes(prep: Preprocessor) -> _Volumes:
    return _Volumes(prep)


def encode(model, source, batch_size: int = 16) -> np.ndarray:
    """Codes of every item of a batch source: (M, code_size) float32 (eval mode, no noise)."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for x, _ in source.batches(batch_size):
            out.append(model.encode(x).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, model.code_size), np.float32)


def per_subject_mean(values: np.ndarray, items: np.ndarray, subjects: Sequence[int]) -> np.ndarray:
    """Average item rows (frames) per subject, in the order of ``subjects``: (len(subjects), ...)."""
    return np.stack([values[items[:, 0] == int(s)].mean(axis=0) for s in subjects])


def reconstruction_scores(model, source, mask: np.ndarray | None, batch_size: int = 8
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Per item correlation and mean squared error inside the mask, streamed batch by batch: two (M,) arrays."""
    import torch

    model.eval()
    corr, mse = [], []
    m = None if mask is None else np.asarray(mask, bool)
    with torch.inference_mode():
        for x, _ in source.batches(batch_size):
            a = x.float().cpu().numpy()
            b = model(x).float().cpu().numpy()
            corr.append(masked_correlation(a, b, m))
            a2, b2 = a.reshape(len(a), -1), b.reshape(len(b), -1)
            if m is not None:
                a2, b2 = a2[:, m.ravel()], b2[:, m.ravel()]
            mse.append(((a2 - b2) ** 2).mean(axis=1))
    return np.concatenate(corr), np.concatenate(mse)


#: Inverse regularisation strengths tried for the logistic regression on the codes (scikit-learn's default grid).
LOGISTIC_CS = tuple(float(c) for c in np.logspace(-4, 4, 10))


def fit_code_classifiers(z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, *, cfg: ScansConfig,
                         device, seed: int, arms: Sequence[str] = ("mlp", "logistic"),
                         should_stop: Callable[[], bool] = lambda: False) -> dict[str, np.ndarray]:
    """Fit the classifiers on training codes only and return each arm's positive-class probability on ``z_test``.

    Codes are standardised with the training codes' mean and sd. 'logistic': scikit-learn logistic regression
    (balanced class weights) with ``cfg.cv.logistic_c``, or, when that is 0, the C of ``LOGISTIC_CS`` with the best
    accuracy in an inner stratified k-fold of the training codes (nested: the test codes play no part); 'mlp':
    ``CodeClassifier`` trained with ``training.fit`` (fixed epochs, AdamW weight decay, class-weighted loss).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    out: dict[str, np.ndarray] = {}
    # one BLAS thread: these matrices are tiny, and on a busy machine threads spinning at their barriers made each
    # fit 20x slower (measured on 2 shared cores)
    with threadpool_limits(1, user_api="blas"):
        scaler = StandardScaler().fit(z_train)
        a, b = scaler.transform(z_train), scaler.transform(z_test)
        if "logistic" in arms:
            def logistic(c: float):
                return LogisticRegression(C=c, max_iter=5000, class_weight="balanced")

            c = cfg.cv.logistic_c
            k = int(min(4, np.bincount(y_train.astype(int), minlength=2).min()))
            # codes of a few dozen subjects are separable: a large C need not converge, and says so at every fit
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                if c <= 0 and k >= 2:
                    # on the 40-subject demo (2 grids x 2 seeds, same codes) this beat C = 1 every time: mean
                    # accuracy over folds 0.74 vs 0.68
                    scores = [cross_val_score(logistic(cand), a, y_train, cv=StratifiedKFold(k)).mean()
                              for cand in LOGISTIC_CS]
                    c = LOGISTIC_CS[int(np.argmax(scores))]
                out["logistic"] = logistic(c if c > 0 else 1.0).fit(a, y_train).predict_proba(b)[:, 1]
    if "mlp" in arms:
        out["mlp"] = _fit_mlp_head(a, y_train, b, cfg=cfg, device=device, seed=seed, should_stop=should_stop)
    return out


def _fit_mlp_head(a: np.ndarray, y: np.ndarray, b: np.ndarray, *, cfg: ScansConfig, device, seed: int,
                  should_stop: Callable[[], bool]) -> np.ndarray:
    """Train ``CodeClassifier`` on standardised codes ``a`` (N, C) with labels ``y``; probabilities for ``b``."""
    import torch

    from biodeep_gui.core.models import build_scans_model
    from biodeep_gui.core.training import FitResult, Objective, fit, predict_outputs

    torch.manual_seed(seed)
    head = build_scans_model("mlp-head", a.shape[1], cfg.model.head)
    ya = y.astype(np.float32)[:, None]
    objective = Objective.for_labels("binary", ya, 1, cfg.train.class_weighting)
    tcfg = cfg.train.for_head()
    tcfg.seed = seed
    # fixed epochs (see ScansTrainConfig.for_head): the "validation" pass only reports the training loss, and no
    # per-epoch scikit-learn metrics are computed (they cost more than the epoch itself)
    for item in fit(head, FeatureBatches(a, ya), FeatureBatches(a, ya), objective, tcfg, device=device,
                    val_targets=ya, should_stop=should_stop, report_interval=1e9, metric_fn=lambda _y, _p: {}):
        if isinstance(item, FitResult):
            break
    raw, _loss = predict_outputs(head, FeatureBatches(b).to(device), 256)
    return objective.transform(raw)[:, 0]


def fit_cnn(prep: Preprocessor, fit_subjects: np.ndarray, val_subjects: np.ndarray, *, cfg: ScansConfig, device,
            mask: np.ndarray, stats: np.ndarray, y: np.ndarray,
            should_stop: Callable[[], bool] = lambda: False) -> Iterator:
    """Train the direct 3-D CNN on ``fit_subjects`` (best epoch by loss on ``val_subjects``); yields fit's reports,
    returns (model, objective, FitResult)."""
    import torch

    from biodeep_gui.core.models import build_scans_model
    from biodeep_gui.core.training import FitResult, Objective, fit

    assert prep.grid is not None
    torch.manual_seed(cfg.train.seed)
    model = build_scans_model("cnn3d", prep.grid.shape, cfg.model.cnn)
    it_fit, it_val = volume_items(prep, fit_subjects), volume_items(prep, val_subjects)
    yf = y[it_fit[:, 0]].astype(np.float32)[:, None]
    yv = y[it_val[:, 0]].astype(np.float32)[:, None]
    objective = Objective.for_labels("binary", yf, 1, cfg.train.class_weighting)
    result = None
    for item in fit(model, VolumeBatches(_volumes(prep), mask, stats, it_fit, yf),
                    VolumeBatches(_volumes(prep), mask, stats, it_val, yv), objective, cfg.train.for_cnn(),
                    device=device, val_targets=yv, should_stop=should_stop):
        if isinstance(item, FitResult):
            result = item
            continue
        yield item
    return model, objective, result


def site_predictability(z_train: np.ndarray, s_train: Sequence[str], z_test: np.ndarray,
                        s_test: Sequence[str]) -> float:
    """Balanced accuracy of predicting the site from the codes (a warning sign of site effects).

    Fitted on the training codes; scored on the test codes when every test site occurs in training, otherwise
    (leave-site-out) by 3-fold cross-validation inside the training codes.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from threadpoolctl import threadpool_limits

    s_train, s_test = np.asarray(s_train), np.asarray(s_test)
    if len(set(s_train)) < 2:
        return math.nan
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, class_weight="balanced"))
    with threadpool_limits(1, user_api="blas"):
        if set(s_test) <= set(s_train):
            return float(balanced_accuracy_score(s_test, clf.fit(z_train, s_train).predict(z_test)))
        k = min(3, int(min(np.unique(s_train, return_counts=True)[1])))
        if k < 2:
            return math.nan
        pred = cross_val_predict(clf, z_train, s_train, cv=StratifiedKFold(k, shuffle=True, random_state=0))
        return float(balanced_accuracy_score(s_train, pred))


# ---------------------------------------------------------------------------------------------------------------
# the whole run
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class _FoldState:
    """What the permutation test and the run folder need from a finished fold."""

    train: np.ndarray
    test: np.ndarray
    z_train: np.ndarray
    z_test: np.ndarray


def train_scans(cfg: ScansConfig, out_dir: str | Path, *, should_stop: Callable[[], bool] = lambda: False,
                cohort: Cohort | None = None, cache_dir: str | Path | None = None,
                report_interval: float = 0.1) -> Iterator:
    """Cross-validate the autoencoder -> classifier pipeline, fit the final autoencoder, and save a run folder.

    Yields StageReport, CohortReport, FoldReport, BatchReport, EpochReport, ReconstructionPreview, FoldResult and
    finally a ``ScansSummary``. Cancelling (``should_stop``) stops within one batch; completed folds are saved
    with status 'cancelled'.

    Raises
    ------
    InputFileError : a bad input file (named); ConfigError : an impossible setting
    TrainingError : training diverged or ran out of memory
    """
    import torch

    from biodeep_gui.core.models import count_parameters
    from biodeep_gui.core.models import build_scans_model
    from biodeep_gui.core.training import resolve_device

    cfg.validate()
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    d = cfg.data
    volumes_route = d.route == "volumes"
    seed = cfg.train.seed
    torch.manual_seed(seed)
    np.random.seed(seed)  # sklearn estimators below get explicit seeds; this covers library defaults

    yield StageReport("load", "Reading the labels table and image headers")
    cohort = cohort or build_cohort(d)
    cohort.check()
    prep = Preprocessor(cohort, d, cache_dir)
    n = len(cohort)
    y = cohort.y
    sites = cohort.sites
    yield StageReport("load", f"Preparing {n} subjects (cached in {prep.cache_dir})")
    for status in prep.iter_prepare(should_stop, raise_errors=True):
        if status.index % 5 == 4 or status.index == n - 1:
            yield StageReport("load", f"Prepared {status.index + 1} of {n} subjects")
    if should_stop():
        yield _empty_summary(cfg, out_dir, t0, cancelled=True)
        return
    features = None
    if volumes_route:
        items_all = volume_items(prep, range(n))
        n_features = int(np.prod(prep.grid.shape))  # type: ignore[union-attr]
    else:
        features = np.stack([np.asarray(prep.load(i)) for i in range(n)]).astype(np.float32)
        items_all = np.stack([np.arange(n), -np.ones(n, int)], 1)
        n_features = features.shape[1]
    device = resolve_device(cfg.train.device)
    folds, how = make_folds(y, sites, cfg.cv.folds, leave_site_out=cfg.cv.leave_site_out, seed=seed)
    warnings = [f.message for f in cohort.flags if f.severity != "info"] + cohort.notes + prep.notes
    site_counts = dict(sorted(Counter(sites).items())) if sites else {}
    yield CohortReport(n, cohort.classes, cohort.class_counts(), site_counts, d.route,
                       prep.grid.describe() if prep.grid else "", len(items_all), n_features, warnings)
    yield StageReport("split", f"Cross-validation: {how}; device {device}")

    arms = ["mlp", "logistic"] + (["cnn"] if volumes_route and cfg.model.cnn_arm else [])
    if not volumes_route:
        arms.append("logistic_features")
    probs = {a: np.full(n, np.nan) for a in arms}
    fold_of = np.zeros(n, np.int64)
    fold_results: list[FoldResult] = []
    fold_states: list[_FoldState] = []
    recon = {"correlation": np.full(n, np.nan), "mse": np.full(n, np.nan)}
    history: list[dict[str, Any]] = []
    fold_docs: list[dict[str, Any]] = []
    n_parameters = 0
    cancelled = False
    arch = cfg.autoencoder_arch()
    info = {"arch": arch, "params": _resolved(arch, cfg.model.autoencoder),
            "grid": prep.grid.to_dict() if prep.grid else None, "n_features": n_features,
            "frames": d.summary == "frames" and volumes_route, "region_labels": prep.region_labels}

    for k, (train, test) in enumerate(folds, start=1):
        if should_stop():
            cancelled = True
            break
        fold_seed = seed + k
        fit_idx, val_idx = inner_split(train, y, cfg.train.inner_val_fraction, fold_seed)
        yield FoldReport(k, len(folds), "autoencoder", len(train), len(test),
                         f"Fold {k} of {len(folds)}: autoencoder on {len(fit_idx)} subjects "
                         f"({len(val_idx)} for model selection), {len(test)} held out")
        torch.manual_seed(fold_seed)
        if volumes_route:
            assert prep.grid is not None
            mask = fit_mask(prep, train, cfg)
            stats = normalisation_stats(prep, range(n), mask, d.normalise)
            model = build_scans_model(arch, prep.grid.shape, cfg.model.autoencoder)
            fold_features = None
        else:
            mask = stats = None
            mu, sd = features[train].mean(axis=0), features[train].std(axis=0)  # fitted on training subjects
            fold_features = (features - mu) / np.where(sd > 0, sd, 1.0)
            model = build_scans_model(arch, n_features, cfg.model.autoencoder)
        n_parameters = count_parameters(model)
        preview_k = int(test[0])
        on_epoch = (_previewer(model, prep, mask, stats, preview_k, k, cfg, device)
                    if volumes_route and cfg.train.preview_every else None)
        result = yield from _relay(fit_autoencoder(model, prep, fit_idx, val_idx, cfg=cfg, device=device, mask=mask,
                                                   stats=stats, features=fold_features, should_stop=should_stop,
                                                   on_epoch=on_epoch), history, k, "autoencoder")
        if result is None or result.cancelled:  # a half-trained fold is not evaluated
            cancelled = True
            break
        # codes and held-out reconstructions
        model.to(device)
        if volumes_route:
            src = VolumeBatches(_volumes(prep), mask, stats, items_all, preload=False).to(device)
            z_items = encode(model, src)
            z = per_subject_mean(z_items, items_all, range(n))
            test_items = items_all[np.isin(items_all[:, 0], test)]
            corr, mse = reconstruction_scores(model, VolumeBatches(_volumes(prep), mask, stats, test_items,
                                                                   preload=False).to(device), mask)
            corr_s = per_subject_mean(corr, test_items, test)
            mse_s = per_subject_mean(mse, test_items, test)
        else:
            z = encode(model, FeatureBatches(fold_features).to(device))
            corr, mse = reconstruction_scores(model, FeatureBatches(fold_features[test]).to(device), None)
            corr_s, mse_s = corr, mse
        yield FoldReport(k, len(folds), "classifier", len(train), len(test),
                         f"Fold {k}: classifiers on the codes (held-out reconstruction r = {np.nanmean(corr_s):.3f})")
        p = fit_code_classifiers(z[train], y[train], z[test], cfg=cfg, device=device, seed=fold_seed,
                                 should_stop=should_stop)
        if not volumes_route:
            p["logistic_features"] = fit_code_classifiers(fold_features[train], y[train], fold_features[test],
                                                          cfg=cfg, device=device, seed=fold_seed,
                                                          arms=("logistic",))["logistic"]
        if should_stop():  # classifiers stopped half-way: the fold is not recorded
            cancelled = True
            break
        if "cnn" in arms and not should_stop():
            yield FoldReport(k, len(folds), "cnn", len(train), len(test), f"Fold {k}: direct 3-D CNN classifier")
            cnn, cnn_obj, cnn_res = yield from _relay(
                fit_cnn(prep, fit_idx, val_idx, cfg=cfg, device=device, mask=mask, stats=stats, y=y,
                        should_stop=should_stop), history, k, "cnn")
            if cnn_res is not None and cnn_res.history and not cnn_res.cancelled:
                from biodeep_gui.core.training import predict_outputs

                raw, _ = predict_outputs(cnn, VolumeBatches(_volumes(prep), mask, stats, test_items,
                                                            preload=False).to(device), cfg.train.batch_size)
                p["cnn"] = per_subject_mean(cnn_obj.transform(raw)[:, 0], test_items, test)
        for arm, v in p.items():
            probs[arm][test] = v
        recon["correlation"][test], recon["mse"][test] = corr_s, mse_s
        fold_of[test] = k
        site_acc = (site_predictability(z[train], [sites[i] for i in train], z[test], [sites[i] for i in test])
                    if sites else math.nan)
        fr = FoldResult(k, len(folds), [cohort.ids[i] for i in test],
                        {a: classification_metrics(y[test], probs[a][test]) for a in arms
                         if not np.isnan(probs[a][test]).any()},
                        {cohort.ids[i]: (float(c), float(m)) for i, c, m in zip(test, corr_s, mse_s)}, site_acc)
        fold_results.append(fr)
        fold_states.append(_FoldState(train, test, z[train], z[test]))
        fold_docs.append(_save_fold(out_dir, k, model, mask, cohort, test))
        yield fr
        _write_run(out_dir, cfg, cohort, info, fold_of, fold_docs, history, fold_results, probs, recon, arms,
                   status="training", n_parameters=n_parameters, device=str(device))
        if cancelled:
            break

    if not fold_results:
        yield _empty_summary(cfg, out_dir, t0, cancelled=True)
        return
    permutation: dict[str, dict[str, float]] = {}
    if cfg.cv.permutations and not cancelled and len(fold_states) == len(folds):
        permutation = yield from _permutation_test(fold_states, y, cfg, device, should_stop)
    final_doc = None
    if cfg.cv.final_fit and not cancelled and not should_stop():
        final_doc = yield from _final_fit(prep, features, cfg, device, history, should_stop, n)
    status = "cancelled" if cancelled or should_stop() else "complete"
    summary_metrics = _summarise_folds(fold_results, arms)
    roc, confusion = pooled_curves(cohort.y, probs)
    site = {}
    if sites:
        vals = [f.site_balanced_accuracy for f in fold_results if not math.isnan(f.site_balanced_accuracy)]
        site = {"balanced_accuracy": float(np.mean(vals)) if vals else math.nan, "chance": 1 / len(set(sites)),
                "n_sites": float(len(set(sites)))}
    done = ~np.isnan(recon["correlation"])
    recon_summary = {"correlation_mean": float(np.mean(recon["correlation"][done])) if done.any() else math.nan,
                     "correlation_sd": (float(np.std(recon["correlation"][done], ddof=1)) if done.sum() > 1
                                        else math.nan),
                     "mse_mean": float(np.mean(recon["mse"][done])) if done.any() else math.nan}
    if site and site["balanced_accuracy"] > site["chance"] + 0.2:
        warnings.append(f"site can be predicted from the codes (balanced accuracy {site['balanced_accuracy']:.2f}, "
                        f"chance {site['chance']:.2f}): the codes carry scanner/site effects")
    _write_run(out_dir, cfg, cohort, info, fold_of, fold_docs, history, fold_results, probs, recon, arms,
               status=status, n_parameters=n_parameters, device=str(device), permutation=permutation,
               site=site, recon_summary=recon_summary, summary_metrics=summary_metrics, final=final_doc,
               how=how, warnings=warnings, elapsed=time.perf_counter() - t0, roc=roc, confusion=confusion)
    yield ScansSummary(str(out_dir), d.route, summary_metrics, permutation, site, recon_summary, len(folds),
                       status == "cancelled", time.perf_counter() - t0, str(device), n_parameters, warnings, roc,
                       confusion, list(cohort.classes))


def pooled_curves(y: np.ndarray, probs: dict[str, np.ndarray]
                  ) -> tuple[dict[str, dict[str, list[float]]], dict[str, list[list[int]]]]:
    """ROC curve and 2 x 2 confusion matrix (rows true, columns predicted; threshold 0.5) of each arm's pooled
    out-of-fold probabilities (subjects without a probability, e.g. from a cancelled fold, left out)."""
    from sklearn.metrics import confusion_matrix, roc_curve

    roc, conf = {}, {}
    for arm, p in probs.items():
        ok = ~np.isnan(p)
        if not ok.any():
            continue
        yy, pp = np.asarray(y)[ok], p[ok]
        conf[arm] = confusion_matrix(yy, (pp >= 0.5).astype(int), labels=[0, 1]).tolist()
        if len(set(yy)) == 2:
            fpr, tpr, _ = roc_curve(yy, pp)
            roc[arm] = {"fpr": fpr.tolist(), "tpr": tpr.tolist()}
    return roc, conf


def _resolved(arch: str, params: dict[str, Any]) -> dict[str, Any]:
    from biodeep_gui.core.models import SCANS_ARCHITECTURES

    return SCANS_ARCHITECTURES[arch].resolve(params)


def _relay(gen: Iterator, history: list[dict[str, Any]], fold: int, phase: str):
    """Yield what a fitting generator yields (recording each epoch in ``history``); return its return value."""
    from biodeep_gui.core.training import EpochReport

    while True:
        try:
            item = next(gen)
        except StopIteration as stop:
            return stop.value
        if isinstance(item, EpochReport):
            history.append({"fold": fold, "phase": phase, **history_row(item)})
        yield item


def _previewer(model, prep, mask, stats, subject: int, fold: int, cfg: ScansConfig, device):
    """An ``on_epoch`` callback returning a ReconstructionPreview of a held-out subject every few epochs."""
    import torch

    every = cfg.train.preview_every
    src = VolumeBatches(_volumes(prep), mask, stats, volume_items(prep, [subject])[:1], preload=True)
    original = src.item(0)

    def on_epoch(report):
        if report.epoch % every and report.epoch != report.epochs:
            return None
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            x = torch.from_numpy(original[None, None]).to(device)
            rec = model(x)[0, 0].float().cpu().numpy()
        model.train(was_training)
        corr = float(masked_correlation(original[None], rec[None], mask)[0])
        return ReconstructionPreview(fold, report.epoch, prep.cohort.ids[subject], original, rec * mask, mask,
                                     prep.grid.voxel_size, corr)

    return on_epoch


def _permutation_test(states: list[_FoldState], y: np.ndarray, cfg: ScansConfig, device,
                      should_stop: Callable[[], bool]):
    """Chance level and p-value of the code classifiers' cross-validated accuracy.

    The folds and their codes are kept (the autoencoders never saw labels); only the labels are permuted and the
    classifiers refitted. p = (1 + #{permuted accuracy >= observed}) / (1 + permutations).
    """
    rng = np.random.default_rng(cfg.train.seed + 1000)
    n_perm = cfg.cv.permutations
    arms = ("logistic", "mlp") if cfg.cv.permute_mlp else ("logistic",)

    def cv_accuracy(labels: np.ndarray) -> dict[str, float]:
        accs: dict[str, list[float]] = {a: [] for a in arms}
        for j, st in enumerate(states):
            p = fit_code_classifiers(st.z_train, labels[st.train], st.z_test, cfg=cfg, device=device,
                                     seed=cfg.train.seed + j + 1, arms=arms)
            for a in arms:
                accs[a].append(float(((p[a] >= 0.5) == labels[st.test]).mean()))
        return {a: float(np.mean(v)) for a, v in accs.items()}

    observed = cv_accuracy(y)
    null: dict[str, list[float]] = {a: [] for a in arms}
    yield StageReport("permutation", f"Permutation test: {n_perm} relabellings of the "
                                     f"{' and '.join(arms)} classifier{'s' if len(arms) > 1 else ''} on the codes")
    last = time.perf_counter()
    for i in range(n_perm):
        if should_stop():
            break
        acc = cv_accuracy(rng.permutation(y))
        if should_stop():  # classifiers stopped half-way give no valid null sample
            break
        for a in arms:
            null[a].append(acc[a])
        if time.perf_counter() - last > 2 or i == n_perm - 1:
            last = time.perf_counter()
            yield StageReport("permutation", f"Permutation {i + 1} of {n_perm}")
    out = {}
    for a in arms:
        v = np.asarray(null[a])
        if len(v):
            out[a] = {"accuracy": observed[a], "chance": float(v.mean()), "null_sd": float(v.std()),
                      "p_value": float((1 + (v >= observed[a] - 1e-12).sum()) / (1 + len(v))), "n": float(len(v))}
    return out


def _final_fit(prep: Preprocessor, features: np.ndarray | None, cfg: ScansConfig, device, history, should_stop, n):
    """The autoencoder (and mask / feature scaling) fitted on every subject: the model ``scans reconstruct`` uses."""
    import torch

    from biodeep_gui.core.models import build_scans_model

    y = prep.cohort.y
    everyone = np.arange(n)
    fit_idx, val_idx = inner_split(everyone, y, cfg.train.inner_val_fraction, cfg.train.seed)
    yield FoldReport(0, 0, "final", n, 0, f"Final autoencoder on all {n} subjects")
    torch.manual_seed(cfg.train.seed)
    arch = cfg.autoencoder_arch()
    extra: dict[str, np.ndarray] = {}
    if features is None:
        mask = fit_mask(prep, everyone, cfg)
        stats = normalisation_stats(prep, everyone, mask, cfg.data.normalise)
        model = build_scans_model(arch, prep.grid.shape, cfg.model.autoencoder)
        feats = None
        extra["mask"] = mask.astype(np.uint8)
    else:
        mask = stats = None
        mu, sd = features.mean(axis=0), features.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        feats = (features - mu) / sd
        model = build_scans_model(arch, features.shape[1], cfg.model.autoencoder)
        extra.update(feature_mean=mu.astype(np.float32), feature_sd=sd.astype(np.float32))
    result = yield from _relay(fit_autoencoder(model, prep, fit_idx, val_idx, cfg=cfg, device=device, mask=mask,
                                               stats=stats, features=feats, should_stop=should_stop), history, 0,
                               "final")
    if result is None or result.cancelled:
        return None
    return {"tensors": {**{f"model.{k}": v.detach().cpu() for k, v in model.state_dict().items()}, **extra},
            "best_epoch": result.best_epoch}


def _summarise_folds(results: list[FoldResult], arms: Sequence[str]) -> dict[str, dict[str, tuple[float, float]]]:
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for a in arms:
        rows = [r.metrics[a] for r in results if a in r.metrics]
        if not rows:
            continue
        out[a] = {}
        for m in CLASSIFICATION_METRICS:
            v = np.array([r[m] for r in rows], float)
            v = v[~np.isnan(v)]
            out[a][m] = (float(v.mean()) if len(v) else math.nan, float(v.std(ddof=1)) if len(v) > 1 else math.nan)
    return out


def _empty_summary(cfg: ScansConfig, out_dir: Path, t0: float, cancelled: bool) -> ScansSummary:
    return ScansSummary("", cfg.data.route, {}, {}, {}, {}, 0, cancelled, time.perf_counter() - t0, "", 0)


# ---------------------------------------------------------------------------------------------------------------
# run folder
# ---------------------------------------------------------------------------------------------------------------
def _save_fold(out_dir: Path, k: int, model, mask: np.ndarray | None, cohort: Cohort, test: np.ndarray) -> dict:
    from safetensors.numpy import save as save_np

    tensors = {f"model.{name}": v.detach().cpu().numpy() for name, v in model.state_dict().items()}
    if mask is not None:
        tensors["mask"] = mask.astype(np.uint8)
    rel = f"{FOLDS_DIR}/fold{k}.safetensors"
    atomic_write(out_dir / rel, save_np({n: np.ascontiguousarray(v) for n, v in tensors.items()},
                                        metadata={"format": "biodeep-scans", "fold": str(k)}))
    return {"fold": k, "weights": rel, "test": [cohort.ids[i] for i in test]}


def _write_run(out_dir: Path, cfg: ScansConfig, cohort: Cohort, info: dict, fold_of: np.ndarray, fold_docs: list,
               history: list, fold_results: list[FoldResult], probs: dict[str, np.ndarray], recon: dict, arms,
               *, status: str, n_parameters: int, device: str, permutation=None, site=None, recon_summary=None,
               summary_metrics=None, final=None, how: str = "", warnings: Sequence[str] = (),
               elapsed: float = math.nan, roc=None, confusion=None) -> None:
    """Write every file of the run folder atomically, ``run.json`` last."""
    from safetensors.numpy import save as save_np

    from biodeep_gui.core.runs import _history_csv

    out_dir.mkdir(parents=True, exist_ok=True)
    if final is not None:
        tensors = {k: (v.numpy() if hasattr(v, "numpy") else np.asarray(v)) for k, v in final["tensors"].items()}
        atomic_write(out_dir / MODEL_FILE, save_np({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                                                   metadata={"format": "biodeep-scans", "arch": info["arch"]}))
    atomic_write(out_dir / HISTORY_FILE, _history_csv(history))
    atomic_write(out_dir / PREDICTIONS_FILE, save_np({
        "y_true": cohort.y.astype(np.float32), "fold": fold_of.astype(np.float32),
        **{f"prob_{a}": probs[a].astype(np.float32) for a in arms},
        "recon_correlation": recon["correlation"].astype(np.float32), "recon_mse": recon["mse"].astype(np.float32)}))
    flat: dict[str, float] = {}
    for arm, ms in (summary_metrics or {}).items():
        for m, (mean, sd) in ms.items():
            flat[f"{arm}_{m}_mean"], flat[f"{arm}_{m}_sd"] = mean, sd
    for arm, p in (permutation or {}).items():
        flat[f"{arm}_permutation_p"], flat[f"{arm}_chance_accuracy"] = p["p_value"], p["chance"]
    if site:
        flat["site_balanced_accuracy"], flat["site_chance"] = site["balanced_accuracy"], site["chance"]
    if recon_summary:
        flat.update({f"reconstruction_{k}": v for k, v in recon_summary.items()})
    atomic_write(out_dir / METRICS_FILE, json.dumps(json_safe(flat), indent=2, sort_keys=True))
    results = {"folds": [{"fold": r.fold, "test_subjects": r.test_subjects, "metrics": r.metrics,
                          "site_balanced_accuracy": r.site_balanced_accuracy} for r in fold_results],
               "summary": {a: {m: list(v) for m, v in ms.items()} for a, ms in (summary_metrics or {}).items()},
               "permutation": permutation or {}, "site_predictability": site or {},
               "reconstruction": recon_summary or {}, "cv_scheme": how, "arms": list(arms), "roc": roc or {},
               "confusion": confusion or {}, "classes": list(cohort.classes)}
    atomic_write(out_dir / RESULTS_FILE, json.dumps(json_safe(results), indent=2, sort_keys=True))
    subjects = [{"id": s.id, "label": s.label, "path": s.path, "site": s.site, "fold": int(f)}
                for s, f in zip(cohort.subjects, fold_of)]
    doc = {"kind": "scans", "schema_version": SCANS_SCHEMA_VERSION, "config": cfg.to_dict(),
           "model": {**info, "n_parameters": n_parameters, "final_weights": MODEL_FILE if final else None,
                     "final_best_epoch": final["best_epoch"] if final else None},
           "cohort": {"classes": cohort.classes, "positive_label": cohort.positive_label, "table": cohort.table,
                      "folder": cohort.folder, "subjects": subjects},
           "folds": fold_docs, "status": status, "warnings": list(warnings), "elapsed_s": elapsed,
           "provenance": provenance(cfg, device)}
    atomic_write(out_dir / RUN_FILE, json.dumps(json_safe(doc), indent=2, sort_keys=True))


@dataclass
class SubjectReconstruction:
    """One subject on the model grid (RAS), normalised: original, reconstruction, their difference and the mask."""

    subject: str
    fold: int
    original: np.ndarray
    reconstruction: np.ndarray
    difference: np.ndarray
    mask: np.ndarray
    voxel_size: tuple[float, float, float]
    correlation: float
    mse: float


@dataclass
class ScansRun:
    """A scans run folder read back (weights are safetensors; nothing is unpickled)."""

    path: Path
    config: ScansConfig
    doc: dict[str, Any]
    metrics: dict[str, Any]
    results: dict[str, Any]

    @property
    def status(self) -> str:
        return self.doc.get("status", "")

    @property
    def subjects(self) -> list[dict[str, Any]]:
        return self.doc["cohort"]["subjects"]

    @property
    def grid(self) -> Grid | None:
        g = self.doc["model"].get("grid")
        return Grid.from_dict(g) if g else None

    def predictions(self) -> dict[str, np.ndarray]:
        from safetensors.numpy import load_file

        return load_file(str(self.path / PREDICTIONS_FILE))

    def _weights(self, rel: str) -> dict[str, np.ndarray]:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        p = self.path / rel
        try:
            return load_file(str(p))
        except (SafetensorError, OSError, ValueError) as exc:
            raise RunFolderError(f"{p}: not a readable safetensors weights file ({exc})") from None

    def autoencoder(self, fold: int = 0):
        """(model (CPU, eval), extra tensors such as 'mask') of fold ``fold``, or of the final fit (0)."""
        import torch

        from biodeep_gui.core.models import build_scans_model

        if fold == 0:
            rel = self.doc["model"].get("final_weights")
            if not rel:
                raise RunFolderError(f"{self.path}: this run has no final autoencoder (final fit was off or cancelled)")
        else:
            docs = {f["fold"]: f for f in self.doc.get("folds", [])}
            if fold not in docs:
                raise RunFolderError(f"{self.path}: no weights for fold {fold}")
            rel = docs[fold]["weights"]
        tensors = self._weights(rel)
        m = self.doc["model"]
        size = tuple(m["grid"]["shape"]) if m.get("grid") else int(m["n_features"])
        model = build_scans_model(m["arch"], size, m["params"])
        state = {k[len("model."):]: torch.from_numpy(v.copy()) for k, v in tensors.items() if k.startswith("model.")}
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise RunFolderError(f"{self.path / rel}: weights do not fit the saved architecture "
                                 f"({str(exc).splitlines()[0]})") from None
        return model.eval(), {k: v for k, v in tensors.items() if not k.startswith("model.")}

    def preprocessor(self, cache_dir: str | Path | None = None) -> Preprocessor:
        """A preprocessor for this run's cohort with its settings (re-reads headers; uses the cache)."""
        cohort = build_cohort(self.config.data)
        return Preprocessor(cohort, self.config.data, cache_dir)

    def reconstruct_subject(self, subject_id: str, prep: Preprocessor | None = None) -> SubjectReconstruction:
        """A subject reconstructed by the fold autoencoder that held it out (the final one if it had no fold)."""
        import torch

        subj = {s["id"]: s for s in self.subjects}
        if subject_id not in subj:
            raise RunFolderError(f"{self.path}: no subject {subject_id!r} in this run")
        if self.doc["model"].get("grid") is None:
            raise RunFolderError(f"{self.path}: a connectivity run has no volumes to reconstruct")
        fold = int(subj[subject_id]["fold"])
        model, extra = self.autoencoder(fold)
        mask = extra["mask"].astype(bool)
        prep = prep or self.preprocessor()
        i = prep.cohort.ids.index(subject_id)
        stats = normalisation_stats(prep, [i], mask, self.config.data.normalise)
        src = VolumeBatches(_volumes(prep), mask, stats, volume_items(prep, [i]), preload=False)
        with torch.inference_mode():
            x = np.stack([src.item(k) for k in range(len(src))])
            rec = model(torch.from_numpy(x[:, None]))[:, 0].numpy() * mask
        original, reconstruction = x.mean(axis=0), rec.mean(axis=0)
        corr = float(np.nanmean(masked_correlation(x, rec, mask)))
        mse = float(((x - rec)[:, mask] ** 2).mean())
        return SubjectReconstruction(subject_id, fold, original, reconstruction, (reconstruction - original) * mask,
                                     mask, prep.grid.voxel_size, corr, mse)

    def reconstruct_file(self, path: str | Path, out_path: str | Path) -> Path:
        """Reconstruct a new NIfTI file with the final autoencoder and write it with the input's affine and header.

        The input goes through the run's preprocessing (reorientation, 4-D summary or frames, resampling,
        normalisation inside the run's mask); the reconstruction is mapped back to intensities (the subject's own
        mean/std) and to the input's voxel grid through the affines. Outside the mask the output is 0. A 4-D input
        gives a 3-D output for summary runs (the header's dimensions follow) and a 4-D one for frames runs.

        Raises
        ------
        InputFileError : unreadable input, or a grid different from the model's when the run did not resample
        """
        import torch

        from biodeep_gui.core.scans import _load_image, read_image_data, resample_volume, summarise

        grid = self.grid
        if grid is None:
            raise RunFolderError(f"{self.path}: a connectivity run has no volumes to reconstruct")
        d = self.config.data
        model, extra = self.autoencoder(0)
        mask = extra["mask"].astype(bool)
        original = _load_image(path)
        data, affine, header = read_image_data(path, d.canonicalise)
        if data.ndim == 4 and d.summary != "frames":
            data = summarise(data, d.summary, header.tr, d.band_hz)
        frames = data[..., None] if data.ndim == 3 else data
        g = Grid(tuple(frames.shape[:3]), affine)  # type: ignore[arg-type]
        if not g.same_as(grid):
            if not d.resample:
                raise InputFileError(path, f"is on a different grid ({g.describe()}) from the model's "
                                           f"({grid.describe()})", expected="the training grid")
            frames = resample_volume(frames, affine, grid, order=1)
        vols = np.moveaxis(frames, -1, 0)  # (T, X, Y, Z)
        mean, std = subject_stats(vols, mask) if d.normalise == "zscore" else (0.0, 1.0)
        x = ((vols - mean) / std * mask).astype(np.float32)
        with torch.inference_mode():
            rec = np.concatenate([model(torch.from_numpy(x[i:i + 4, None]))[:, 0].numpy()
                                  for i in range(0, len(x), 4)])
        rec = (rec * std + mean) * mask
        target = Grid(header.spatial_shape, np.asarray(original.affine, float))
        back = resample_volume(np.moveaxis(rec, 0, -1), grid.affine, target, order=1)
        if back.shape[-1] == 1 or data.ndim == 3:
            back = back[..., 0] if back.ndim == 4 else back
        hdr = original.header.copy()
        hdr.set_data_dtype(np.float32)
        out_img = type(original)(back.astype(np.float32), original.affine, hdr)
        out_img.set_qform(original.get_qform(), int(original.header["qform_code"]))
        out_img.set_sform(original.get_sform(), int(original.header["sform_code"]))
        out_img.header.set_slope_inter(1.0, 0.0)
        raw = out_img.to_bytes()
        if str(out_path).lower().endswith(".gz"):
            import gzip

            raw = gzip.compress(raw, compresslevel=6)
        atomic_write(out_path, raw)
        return Path(out_path)


def load_scans_run(run_dir: str | Path) -> ScansRun:
    """Read a scans run folder; a clear ``RunFolderError`` for anything missing, damaged or not a scans run."""
    run_dir = Path(run_dir)
    rf = run_dir / RUN_FILE
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: not a folder; choose the folder of a saved scans run")
    if not rf.exists():
        raise RunFolderError(f"{run_dir}: no {RUN_FILE} here; this is not a BioDeep run folder")
    try:
        doc = json.loads(rf.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{rf}: damaged run description ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != "scans":
        raise RunFolderError(f"{rf}: not a brain-scans run (open it with the sequence tools instead)")
    if int(doc.get("schema_version", 1)) > SCANS_SCHEMA_VERSION:
        raise RunFolderError(f"{rf}: saved by a newer BioDeep (schema {doc['schema_version']}); please update")
    try:
        cfg = ScansConfig.from_dict(doc["config"])
    except (ConfigError, KeyError) as exc:
        raise RunFolderError(f"{rf}: invalid configuration ({exc})") from None

    def read(name: str) -> dict:
        p = run_dir / name
        if not p.exists():
            return {}
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunFolderError(f"{p}: damaged file ({exc})") from None

    return ScansRun(run_dir, cfg, doc, read(METRICS_FILE), read(RESULTS_FILE))
