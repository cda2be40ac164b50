"""One versioned configuration for a brain-scan run (GUI, CLI and saved run folders).

A ``ScansConfig`` is plain data (dataclasses of str/int/float/bool/list/dict) saved as JSON in every scans run
folder and readable from TOML or JSON files (``biodeep scans train --config scans.toml``). ``SCANS_SCHEMA_VERSION``
grows whenever a field changes meaning and ``migrate_scans`` brings older dicts up to date, so old run folders keep
loading. The sequence side's ``RunConfig`` (``core/sequences/config.py``) is separate: the two share only
``TrainConfig``, which the scans trainer builds from ``ScansTrainConfig`` for each network it fits, and the one
config IO (``core/common/configio.py``) that reads, builds, checks, migrates and writes both.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from biodeep_gui.core.common import configio
from biodeep_gui.core.common.configio import choice, number
from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.training.config import MAX_BATCH_SIZE, MAX_EPOCHS, SEED_MAX, TrainConfig

SCANS_SCHEMA_VERSION = 1

ROUTES = ("volumes", "connectivity")
#: per-subject reduction of a 4-D (fMRI) file: mean, temporal standard deviation, ALFF-style low-frequency
#: amplitude, or every time frame as an autoencoder training sample
SUMMARIES = ("mean", "std", "alff", "frames")
NORMALISATIONS = ("zscore", "none")
#: Most voxels a demo or resampled grid may hold: 512**3 float32 voxels are 512 MiB per volume already.
MAX_GRID_VOXELS = 512**3
#: Smallest resampling voxel size (mm); finer grids would exceed ``MAX_GRID_VOXELS`` for a whole head.
MIN_VOXEL_SIZE = 0.1
#: within-fold harmonisation of the codes by site (fitted on each fold's training subjects only)
HARMONISATIONS = ("none", "site-centre")


@dataclass
class ScansDataConfig:
    """Where the cohort comes from and how each scan is prepared.

    route
        ``volumes``: one NIfTI per subject in ``images`` (3-D, or 4-D reduced by ``summary``) -> 3-D autoencoder.
        ``connectivity``: ROI time series -> correlation matrix -> Fisher z -> denoising autoencoder; the series come
        from per-subject tables in ``timeseries`` (``.1D``/CSV/TSV) or from 4-D images in ``images`` averaged inside
        each region of the ``atlas`` labels image.
    labels
        CSV/TSV table with one row per subject: ``subject_column`` (e.g. ABIDE's ``SUB_ID``), ``label_column``
        (``DX_GROUP``), optionally ``file_column`` (``FILE_ID``: the file name without extension, or its start) and
        ``site_column`` (``SITE_ID``). Without a file column, a file matches a subject when the subject identifier is
        one of the underscore/dash-separated tokens of its name (numerically: ``0050002`` matches ``50002``).
    positive_label
        The label value counted as "positive" (sensitivity, AUROC); empty: ``1`` for 0/1 labels, otherwise the first
        value in sorted order (ABIDE: ``DX_GROUP`` 1 = autism).
    allow_missing
        Leave out (with a warning) table rows without a file and files without a row, instead of stopping.
    mask
        A brain mask NIfTI (non-zero = brain); empty: computed inside each cross-validation fold from the training
        subjects only.
    resample, voxel_size
        Resample every scan to one grid: the first subject's grid, or with ``voxel_size`` > 0 the same field of view
        at that isotropic voxel size (mm). Without resampling, scans on different grids are refused.
    cache_dir
        Where preprocessed arrays are cached (``.npy``, memory-mapped when read); empty: the user cache folder.
    """

    route: str = choice("volumes", ROUTES)
    images: str = ""
    labels: str = ""
    timeseries: str = ""
    atlas: str = ""
    subject_column: str = "SUB_ID"
    label_column: str = "DX_GROUP"
    file_column: str = ""
    site_column: str = ""
    positive_label: str = ""
    allow_missing: bool = False
    summary: str = choice("mean", SUMMARIES)
    # summary 'frames': at most this many evenly spaced frames per subject; 0 = all
    max_frames: int = number(20, ge=0, le=100_000, note="0 = all")
    band_hz: list[float] = field(default_factory=lambda: [0.01, 0.08])  # ALFF frequency band
    mask: str = ""
    # computed mask: voxels that are brain in at least this fraction of subjects
    mask_coverage: float = number(0.5, gt=0, le=1)
    normalise: str = choice("zscore", NORMALISATIONS)  # per subject, inside the mask
    canonicalise: bool = True  # reorient to RAS+ with nibabel.as_closest_canonical
    resample: bool = False
    voxel_size: float = number(0.0, ge=0, le=100, note="mm; 0 = keep the first subject's grid")
    cache_dir: str = ""

    def input_files(self) -> list[str]:
        """The table, mask and atlas files this configuration reads (the scans are listed per subject)."""
        return [p for p in (self.labels, self.mask, self.atlas) if p]


#: What each classifier arm of a scans run's results is, in words (CLI and GUI).
ARM_NAMES = {"mlp": "MLP on codes", "logistic": "Logistic on codes", "cnn": "3-D CNN (no autoencoder)",
             "logistic_features": "Logistic on connectivity", "site_only": "Site only (baseline)"}


@dataclass
class ScansModelConfig:
    """Hyper-parameters of each network (see ``models.autoencoder3d.SCANS_ARCHITECTURES``); missing = defaults.

    autoencoder : ``autoencoder3d`` parameters (volumes route) or ``connectivity-dae`` (connectivity route)
    head : ``mlp-head`` parameters of the classifier on the codes
    cnn : ``cnn3d`` parameters of the direct 3-D CNN comparison arm (run when ``cnn_arm`` is on)
    """

    autoencoder: dict[str, Any] = field(default_factory=dict)
    head: dict[str, Any] = field(default_factory=dict)
    cnn: dict[str, Any] = field(default_factory=dict)
    cnn_arm: bool = True


@dataclass
class ScansTrainConfig:
    """Optimisation settings. The autoencoder uses ``epochs``/``batch_size``/``lr`` (best epoch by the voxelwise
    correlation on an inner validation split of each fold's training subjects); the code classifier ``head_*``;
    the 3-D CNN arm ``cnn_epochs`` with the autoencoder's batch size and learning rate."""

    epochs: int = number(30, ge=1, le=MAX_EPOCHS)
    batch_size: int = number(4, ge=1, le=MAX_BATCH_SIZE)
    lr: float = number(1e-3, gt=0)
    weight_decay: float = number(0.0, ge=0)
    # autoencoder early stopping on the inner-validation correlation; 0 = off
    patience: int = number(0, ge=0, le=MAX_EPOCHS, note="0 = off")
    head_epochs: int = number(100, ge=1, le=MAX_EPOCHS)
    head_lr: float = number(3e-3, gt=0)
    # AdamW; the head trains a fixed number of epochs (see for_head)
    head_weight_decay: float = number(0.01, ge=0)
    cnn_epochs: int = number(20, ge=1, le=MAX_EPOCHS)
    # of each fold's training subjects, for model selection only
    inner_val_fraction: float = number(0.15, gt=0, lt=0.5)
    # epochs between two live reconstruction previews; 0 = none
    preview_every: int = number(5, ge=0, le=MAX_EPOCHS, note="0 = none")
    class_weighting: bool = True
    seed: int = number(0, ge=0, le=SEED_MAX)
    device: str = "auto"
    amp: bool = False

    def for_autoencoder(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                           patience=self.patience, monitor="correlation", seed=self.seed, device=self.device,
                           amp=self.amp)

    def for_head(self) -> TrainConfig:
        # A fixed number of full-batch epochs with weight decay: an inner validation split of a fold's few dozen
        # subjects is too noisy to pick an epoch by (the MLP then often stopped at a chance-level epoch).
        return TrainConfig(epochs=self.head_epochs, batch_size=256, lr=self.head_lr, optimizer="adamw",
                           weight_decay=self.head_weight_decay, patience=0, monitor="loss", seed=self.seed,
                           device=self.device)

    def for_cnn(self) -> TrainConfig:
        return TrainConfig(epochs=self.cnn_epochs, batch_size=self.batch_size, lr=self.lr,
                           weight_decay=self.weight_decay, patience=0, monitor="loss", seed=self.seed,
                           device=self.device, amp=self.amp)


@dataclass
class ScansCVConfig:
    """Cross-validation: every fitted step (mask, normalisation, autoencoder, classifiers) is fitted per fold.

    folds : k of stratified k-fold (by label, and by site when the table has a site column)
    leave_site_out : one fold per site instead (needs a site column with at least 2 sites)
    permutations : label permutations for the accuracy's chance level and p-value (0 = none), for the logistic
        regression on the codes, and also for the MLP head when ``permute_mlp`` (each MLP refit costs ~1 s on a CPU)
    final_fit : after cross-validation, fit the autoencoder on every subject (the model ``scans reconstruct`` uses)
    logistic_c : inverse regularisation of the logistic regression on the codes; 0 = chosen per fold by an inner
        cross-validation of the training codes
    harmonise : 'none', or 'site-centre': each fold's codes minus the mean training code of their site (fitted on
        the fold's training subjects only) before the classifiers and the site check

    With a site column, the permutation test shuffles labels among subjects of the same site only (exchangeability
    blocks), and a site-only classifier (the diagnosis predicted from the site alone, same folds) is reported as a
    baseline beside the classifiers.
    """

    folds: int = number(5, ge=2, le=10_000)
    leave_site_out: bool = False
    permutations: int = number(100, ge=0, le=1_000_000, note="0 = none")
    permute_mlp: bool = False
    final_fit: bool = True
    logistic_c: float = number(0.0, ge=0, note="0 = chosen by inner cross-validation")
    harmonise: str = choice("none", HARMONISATIONS)


@dataclass
class ScansConfig(configio.ConfigDocument):
    """The settings of a scans run; ``from_dict``, ``load``, ``save``, ``to_dict`` come from ``ConfigDocument``."""

    data: ScansDataConfig = field(default_factory=ScansDataConfig)
    model: ScansModelConfig = field(default_factory=ScansModelConfig)
    train: ScansTrainConfig = field(default_factory=ScansTrainConfig)
    cv: ScansCVConfig = field(default_factory=ScansCVConfig)
    name: str = ""
    schema_version: int = number(SCANS_SCHEMA_VERSION, ge=1, le=SCANS_SCHEMA_VERSION)

    @classmethod
    def migrate_dict(cls, raw: dict[str, Any]) -> dict[str, Any]:
        return migrate_scans(raw)

    @classmethod
    def unwrap(cls, raw: dict[str, Any]) -> dict[str, Any]:
        if raw.get("kind") == "scans" and isinstance(raw.get("config"), dict):  # a run folder's run.json
            raw = raw["config"]
        return raw

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first invalid setting (types, ranges, choices, then combinations)."""
        super().validate()
        d = self.data
        lo, hi = d.band_hz if len(d.band_hz) == 2 else (None, None)
        if lo is None or not 0 <= lo < hi:
            raise ConfigError(f"data.band_hz = {configio.short(d.band_hz)} is not [low, high] in Hz with "
                              f"0 <= low < high")
        if 0 < d.voxel_size < MIN_VOXEL_SIZE:
            raise ConfigError(f"data.voxel_size = {d.voxel_size:g} is finer than {MIN_VOXEL_SIZE:g} mm; a whole "
                              f"head on that grid would exceed {MAX_GRID_VOXELS:,} voxels")
        """Raise ``ConfigError`` naming the first invalid setting."""
        d, t, c = self.data, self.train, self.cv
        _choice("data.route", d.route, ROUTES)
        _choice("data.summary", d.summary, SUMMARIES)
        _choice("data.normalise", d.normalise, NORMALISATIONS)
        _choice("cv.harmonise", c.harmonise, HARMONISATIONS)
        if not (isinstance(d.band_hz, list) and len(d.band_hz) == 2 and 0 <= d.band_hz[0] < d.band_hz[1]):
            raise ConfigError("data.band_hz must be [low, high] in Hz with 0 <= low < high")
        if d.voxel_size < 0 or d.max_frames < 0 or not 0 < d.mask_coverage <= 1:
            raise ConfigError("data.voxel_size and data.max_frames must be >= 0, data.mask_coverage in (0, 1]")
        if not d.subject_column or not d.label_column:
            raise ConfigError("data.subject_column and data.label_column must name columns of the labels table")

    def autoencoder_arch(self) -> str:
        return "autoencoder3d" if self.data.route == "volumes" else "connectivity-dae"


def migrate_scans(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a scans configuration dict of any earlier schema version up to ``SCANS_SCHEMA_VERSION``."""
    raw = configio.migrate(raw, SCANS_SCHEMA_VERSION, what="scans configuration")
    raw.pop("kind", None)
    return raw
