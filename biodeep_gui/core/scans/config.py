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

#: 'auto': connectivity for ROI time-series tables and 4-D (fMRI) images, volumes for 3-D images (decided from the
#: files when a run starts; the run folder records the route taken)
ROUTES = ("auto", "volumes", "connectivity")
#: per-subject reduction of a 4-D (fMRI) file on the volumes route: mean (anatomy / scanner: a temporal mean image
#: carries no functional signal), temporal standard deviation, ALFF-style low-frequency amplitude, or every time frame
#: as an autoencoder training sample
SUMMARIES = ("mean", "std", "alff", "frames")
#: Coordinate atlases nilearn ships inside its package (read offline; MNI152 coordinates in mm), used with spheres.
COORD_ATLASES = {"power2011": "Power et al. 2011, 264 regions", "dosenbach2010": "Dosenbach et al. 2010, 160 regions",
                 "seitzman2018": "Seitzman et al. 2018, 300 regions"}
DEFAULT_ATLAS = "power2011"
#: fMRIPrep's names for the six head-motion parameters and the mean CSF and white-matter signals
DEFAULT_CONFOUNDS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z", "csf", "white_matter")
#: connectivity networks: today's one-layer denoising autoencoder, or the Heinsfeld-style stack (+ fine-tuning)
CONNECTIVITY_NETWORKS = ("connectivity-dae", "heinsfeld-sdae")
#: how each route / summary is called in the CLI help and the GUI
ROUTE_LABELS = {"auto": "automatic: connectivity for 4-D fMRI and ROI tables, volumes for 3-D images",
                "volumes": "volumes: 3-D autoencoder", "connectivity": "connectivity: correlations between regions"}
SUMMARY_LABELS = {"mean": "anatomy / scanner (mean image)", "std": "temporal standard deviation",
                  "alff": "ALFF (low-frequency amplitude)", "frames": "every frame as a sample"}
NORMALISATIONS = ("zscore", "none")
#: Most voxels a demo or resampled grid may hold: 512**3 float32 voxels are 512 MiB per volume already.
MAX_GRID_VOXELS = 512**3
#: file endings ``data.atlas`` may have when it is not a built-in atlas name
ATLAS_SUFFIXES = (".nii", ".nii.gz", ".csv", ".tsv", ".txt")
#: Smallest resampling voxel size (mm); finer grids would exceed ``MAX_GRID_VOXELS`` for a whole head.
MIN_VOXEL_SIZE = 0.1
#: within-fold harmonisation of the codes by site (fitted on each fold's training subjects only)
HARMONISATIONS = ("none", "site-centre")


@dataclass
class ScansDataConfig:
    """Where the cohort comes from and how each scan is prepared.

    route
        ``auto`` (default): ``connectivity`` for ROI tables and 4-D (fMRI) images, ``volumes`` for 3-D images.
        ``volumes``: one NIfTI per subject in ``images`` (3-D, or 4-D reduced by ``summary``; for fMRI the mean image
        is anatomy / scanner, not function) -> 3-D autoencoder.
        ``connectivity``: ROI time series -> cleaning -> correlation matrix -> Fisher z (upper triangle) -> denoising
        autoencoder; the series come from per-subject tables in ``timeseries`` (``.1D``/CSV/TSV, used as given:
        ABIDE Preprocessed tables are already filtered) or from 4-D images in ``images`` through nilearn (see
        ``atlas``). The images must already be preprocessed and registered to MNI152 space (e.g. fMRIPrep, or the
        ABIDE Preprocessed outputs): nothing here corrects motion or registers scans.
    atlas
        Connectivity from 4-D images: a labels image (``.nii``/``.nii.gz``, integer regions, in the images' space;
        region means with nilearn's ``NiftiLabelsMasker``), a coordinates table (CSV/TSV with ``x``, ``y``, ``z``
        columns, mm) or a coordinate atlas shipped inside nilearn (``power2011``, ``dosenbach2010``,
        ``seitzman2018``; MNI152 coordinates), read with ``NiftiSpheresMasker`` (spheres of ``sphere_radius`` mm).
        Empty: ``power2011``. Spheres outside a scan's field of view give a constant series (correlations 0, noted).
    detrend, high_pass, low_pass, standardize, tr
        Signal cleaning of each ROI series with ``nilearn.signal.clean``: linear detrending, Butterworth band-pass
        ``high_pass``-``low_pass`` Hz (0.01-0.1 by default; 0 = that side off) with the TR from each header (``tr``
        > 0 overrides it, in s), z-scoring. A series must hold more frames than the filter needs (and at least one
        period of the high-pass frequency); shorter ones stop with the file named.
    confounds_column, confounds_pattern, confounds
        Optional nuisance regression: a per-subject confounds table (CSV/TSV, one row per frame), found by a column
        of the labels table naming it (relative paths from the table's folder) or by a file-name pattern searched
        in the folder of the subject's image (e.g. fMRIPrep's ``*_desc-confounds_timeseries.tsv``; with several
        matches, the one sharing the longest name prefix with the image). ``confounds``: the columns regressed out
        (default: fMRIPrep's six motion parameters, ``csf`` and ``white_matter``).
    labels
        CSV/TSV table with one row per subject: ``subject_column`` (e.g. ABIDE's ``SUB_ID``), ``label_column``
        (``DX_GROUP``), optionally ``file_column`` (``FILE_ID``: the file name without extension, or its start) and
        ``site_column`` (``SITE_ID``). Without a file column, a file matches a subject when the subject identifier is
        one of the underscore/dash-separated tokens of its name (numerically: ``0050002`` matches ``50002``).
    positive_label
        The label value counted as "positive" (sensitivity, AUROC); empty: ``1`` for 0/1 labels, otherwise the first
        value in sorted order (ABIDE: ``DX_GROUP`` 1 = autism).
    class_names
        What each label value is called on screen and in printed results, e.g. ``{"1": "autism", "2": "control"}``
        (ABIDE's ``DX_GROUP`` codes); values without a name are shown as they are in the table. Display only: the
        labels, folds and results do not depend on it.
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

    route: str = choice("auto", ROUTES)
    images: str = ""
    labels: str = ""
    timeseries: str = ""
    atlas: str = DEFAULT_ATLAS
    subject_column: str = "SUB_ID"
    label_column: str = "DX_GROUP"
    file_column: str = ""
    site_column: str = ""
    positive_label: str = ""
    class_names: dict[str, str] = field(default_factory=dict)
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
    # connectivity from 4-D images (see the class docstring)
    sphere_radius: float = number(5.0, gt=0, le=50, note="mm")
    detrend: bool = True
    high_pass: float = number(0.01, ge=0, le=100, note="Hz; 0 = off")
    low_pass: float = number(0.1, ge=0, le=100, note="Hz; 0 = off")
    standardize: bool = True
    tr: float = number(0.0, ge=0, le=100, note="s; 0 = from each header")
    confounds_column: str = ""
    confounds_pattern: str = ""
    confounds: list[str] = field(default_factory=lambda: list(DEFAULT_CONFOUNDS))

    def class_label(self, value: str) -> str:
        """What label value ``value`` (as in the table, e.g. '1') is called: its name, else the value itself."""
        name = str(self.class_names.get(str(value), "")).strip()
        return name or str(value)

    def input_files(self) -> list[str]:
        """The table, mask and atlas files this configuration reads (the scans are listed per subject)."""
        atlas = "" if self.builtin_atlas() else self.atlas
        return [p for p in (self.labels, self.mask, atlas) if p]

    def builtin_atlas(self) -> str:
        """The name of the coordinate atlas shipped with nilearn that ``atlas`` names ('' for a file)."""
        name = self.atlas.strip().lower() or DEFAULT_ATLAS
        return name if name in COORD_ATLASES else ""


#: What each classifier arm of a scans run's results is, in words (CLI and GUI).
ARM_NAMES = {"mlp": "MLP on codes", "logistic": "Logistic on codes", "cnn": "3-D CNN (no autoencoder)",
             "logistic_features": "Logistic on connectivity", "site_only": "Site only (baseline)",
             "sdae": "Stacked denoising AE, fine-tuned (Heinsfeld-style)"}


@dataclass
class ScansModelConfig:
    """Hyper-parameters of each network (see ``models.autoencoder3d.SCANS_ARCHITECTURES``); missing = defaults.

    autoencoder : ``autoencoder3d`` parameters (volumes route) or those of ``connectivity_network``
    connectivity_network : ``connectivity-dae`` (one denoising layer; default) or ``heinsfeld-sdae`` (stacked
        denoising autoencoders pretrained layer by layer, then fine-tuned with a softmax head on each fold's
        training labels: the "Stacked denoising AE, fine-tuned" arm). Heinsfeld et al. 2018 reported ~70 % on ABIDE
        with such a network; that figure is theirs, on their data, and says nothing about what other data will give.
    head : ``mlp-head`` parameters of the classifier on the codes
    cnn : ``cnn3d`` parameters of the direct 3-D CNN comparison arm (run when ``cnn_arm`` is on)
    """

    autoencoder: dict[str, Any] = field(default_factory=dict)
    head: dict[str, Any] = field(default_factory=dict)
    cnn: dict[str, Any] = field(default_factory=dict)
    cnn_arm: bool = True
    connectivity_network: str = choice("connectivity-dae", CONNECTIVITY_NETWORKS)


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
        named = [v for v in d.class_names.values() if isinstance(v, str) and v.strip()]
        if len(named) != len(d.class_names) or any(not str(k).strip() for k in d.class_names):
            raise ConfigError(f"data.class_names = {configio.short(d.class_names)} is not a table of label value "
                              f"-> name (text), e.g. {{\"1\" = \"autism\", \"2\" = \"control\"}}")
        if len({v.strip().lower() for v in named}) != len(named):
            raise ConfigError(f"data.class_names = {configio.short(d.class_names)} gives two classes the same name")
        if 0 < d.voxel_size < MIN_VOXEL_SIZE:
            raise ConfigError(f"data.voxel_size = {d.voxel_size:g} is finer than {MIN_VOXEL_SIZE:g} mm; a whole "
                              f"head on that grid would exceed {MAX_GRID_VOXELS:,} voxels")
        if not d.subject_column or not d.label_column:
            raise ConfigError("data.subject_column and data.label_column must name columns of the labels table")
        atlas = d.atlas.strip()
        if atlas and not d.builtin_atlas() and not atlas.lower().endswith(ATLAS_SUFFIXES):
            raise ConfigError(f"data.atlas = {configio.short(d.atlas)} is neither a coordinate atlas shipped with "
                              f"nilearn ({', '.join(COORD_ATLASES)}) nor a labels image (.nii, .nii.gz) or a "
                              f"coordinates table (.csv, .tsv)")
        if 0 < d.low_pass <= d.high_pass:
            raise ConfigError(f"data.low_pass = {d.low_pass:g} Hz is not above data.high_pass = {d.high_pass:g} Hz; "
                              f"a band-pass keeps high_pass < f < low_pass (0 turns a side off)")
        if d.confounds_column and d.confounds_pattern:
            raise ConfigError("data.confounds_column and data.confounds_pattern are both set; choose one way to "
                              "find each subject's confounds table")
        if (d.confounds_column or d.confounds_pattern) and not d.confounds:
            raise ConfigError("data.confounds = [] names no column to regress out of the confounds tables")
        if self.cv.harmonise != "none" and not d.site_column:
            raise ConfigError(f"cv.harmonise = {self.cv.harmonise!r} needs data.site_column: harmonisation is by "
                              f"site")
        bad = [c for c in d.confounds if not isinstance(c, str) or not c.strip()]
        if bad:
            raise ConfigError(f"data.confounds = {configio.short(d.confounds)} holds an empty column name")

    def autoencoder_arch(self) -> str:
        """The autoencoder of the (resolved) route: ``autoencoder3d`` for volumes, else the connectivity network."""
        return "autoencoder3d" if self.data.route == "volumes" else self.model.connectivity_network


def migrate_scans(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a scans configuration dict of any earlier schema version up to ``SCANS_SCHEMA_VERSION``."""
    raw = configio.migrate(raw, SCANS_SCHEMA_VERSION, what="scans configuration")
    raw.pop("kind", None)
    return raw


def parse_class_names(text: str, setting: str = "Class names") -> dict[str, str]:
    """Class names as a person types them, ``"1=autism, 2=control"`` -> ``{"1": "autism", "2": "control"}``.

    Raises
    ------
    ConfigError : an entry is not VALUE=NAME, or a value is named twice
    """
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        value, sep, name = part.partition("=")
        if not sep or not value.strip() or not name.strip():
            raise ConfigError(f"{setting}: {part!r} is not VALUE=NAME (e.g. 1=autism, 2=control)")
        if value.strip() in out:
            raise ConfigError(f"{setting}: label value {value.strip()!r} is named twice")
        out[value.strip()] = name.strip()
    return out


def format_class_names(names: dict[str, str]) -> str:
    """The text ``parse_class_names`` reads back: ``"1=autism, 2=control"``."""
    return ", ".join(f"{k}={v}" for k, v in names.items())
