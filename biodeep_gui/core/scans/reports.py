"""Plain-data reports of a scans run: they cross from the worker thread to the GUI."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


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
    template_correlation: float = math.nan  # the fold's template vs the original (the baseline)
    residual_correlation: float = math.nan  # (reconstruction - template) vs (original - template)


@dataclass
class FoldResult:
    """A finished fold. ``deviation``: held-out subject -> (template r, residual r): the correlation of the fold's
    template (training subjects' mean image) with the original, and of (reconstruction - template) with
    (original - template), inside the mask. ``metrics`` includes 'site_only' (diagnosis from the site alone) when
    the cohort has at least two sites."""

    fold: int
    n_folds: int
    test_subjects: list[str]
    metrics: dict[str, dict[str, float]]  # arm -> metric -> value
    reconstruction: dict[str, tuple[float, float]]  # held-out subject -> (correlation, mse)
    site_balanced_accuracy: float = math.nan
    deviation: dict[str, tuple[float, float]] = field(default_factory=dict)  # subject -> (template r, residual r)


@dataclass
class ScansSummary:
    """The end of ``train_scans``.

    metrics : arm -> metric -> (mean, sd) over folds; arms: 'mlp' and 'logistic' on the codes, 'cnn' (volumes) or
        'logistic_features' (connectivity) as the comparison arm, and 'site_only' (the diagnosis predicted from the
        site alone, same folds: the baseline a classifier must beat when diagnosis and site are confounded)
    permutation : arm -> {'accuracy', 'chance', 'null_sd', 'p_value', 'n', 'floor' (= 1 / (n + 1), the smallest p
        possible), 'within_site' (1: labels permuted within sites)}
    site_predictability : {'balanced_accuracy', 'chance', 'n_sites'} (empty without a site column)
    reconstruction : of held-out subjects: 'correlation_mean'/'_sd', 'mse_mean', 'template_correlation_mean'/'_sd'
        (the fold's mean training image as the reconstruction: the baseline), 'template_mse_mean',
        'residual_correlation_mean'/'_sd' (deviation from the template explained)
    chance : {'majority_accuracy', 'balanced_accuracy', 'auroc'} of a constant guess
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
    chance: dict[str, float] = field(default_factory=dict)




# ---------------------------------------------------------------------------------------------------------------
# reading a finished run's history and results back for display
# ---------------------------------------------------------------------------------------------------------------
#: What each phase of a scans run's ``history.csv`` is called on screen.
PHASE_NAMES = {"autoencoder": "autoencoder", "cnn": "3-D CNN", "final": "final fit"}
#: The validation metric each phase's curve shows, first one present wins.
PHASE_MONITORS = ("correlation", "auroc", "accuracy")


@dataclass
class PhaseCurves:
    """The epochs of one fold's phase (or of the final fit), as ``history.csv`` holds them.

    label : what a chooser shows, e.g. 'fold 2: 3-D CNN' or 'final fit'
    fold : the fold (0 = the final fit on every subject)
    phase : 'autoencoder', 'cnn' or 'final'
    monitor : the validation metric to draw ('correlation', 'auroc', ...; '' when the rows hold none)
    best_epoch : the epoch whose weights were kept (0 when unknown)
    rows : the history rows, in epoch order (keys 'epoch', 'train_loss', 'val_loss', 'val_<metric>', ...)
    """

    label: str
    fold: int
    phase: str
    monitor: str
    best_epoch: int
    rows: list[dict]


def phase_curves(history: list[dict]) -> list[PhaseCurves]:
    """Split a scans run's ``history.csv`` rows (``core.training.runs.read_history``) by fold and phase.

    Returns
    -------
    one ``PhaseCurves`` per (fold, phase), in the order the run trained them; [] for a history without 'fold'
    and 'phase' columns (a sequence run's).
    """
    groups: dict[tuple[int, str], list[dict]] = {}
    for row in history:
        fold, phase = row.get("fold"), row.get("phase")
        if not isinstance(fold, float) or not math.isfinite(fold) or not isinstance(phase, str):
            continue
        groups.setdefault((int(fold), phase), []).append(row)
    out = []
    for (fold, phase), rows in groups.items():
        name = PHASE_NAMES.get(phase, phase)
        monitor = next((m for m in PHASE_MONITORS
                        if any(math.isfinite(r.get(f"val_{m}", math.nan)) for r in rows
                               if isinstance(r.get(f"val_{m}"), float))), "")
        # the last epoch marked best is the one kept (is_best marks every improvement)
        best = [int(r["epoch"]) for r in rows if r.get("is_best") == 1.0 and isinstance(r.get("epoch"), float)]
        out.append(PhaseCurves(name if phase == "final" else f"fold {fold}: {name}", fold, phase, monitor,
                               best[-1] if best else 0, rows))
    return out


def permutation_p_text(p_value: float, n: int) -> str:
    """A permutation p-value with its floor stated, e.g. 'p = 0.048, the smallest possible with 20 permutations'.

    With n label shuffles the p-value (1 + shuffles at least as good) / (n + 1) can never fall below 1 / (n + 1):
    a reader must know whether a small p is the floor (more permutations could make it smaller) or not.
    """
    floor = 1.0 / (n + 1)
    if math.isfinite(p_value) and p_value <= floor * (1 + 1e-9):
        return f"p = {p_value:.3g}, the smallest possible with {n} permutations"
    return f"p = {p_value:.3g} (the smallest possible with {n} permutations is {floor:.3g})"
