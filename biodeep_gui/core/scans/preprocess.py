"""Brain-scan cohorts: NIfTI files + a label table -> audited subjects -> preprocessed, cached arrays.

A cohort is a folder of NIfTI files (``.nii``/``.nii.gz``, NIfTI-1 or NIfTI-2, any on-disk dtype and byte order,
read with nibabel) and a CSV/TSV table mapping subjects to labels (ABIDE style: ``SUB_ID``, ``FILE_ID``,
``DX_GROUP``, ``SITE_ID``). The steps, each usable on its own:

1. ``build_cohort``: read the table, match files to rows, read every header (no voxel data) and audit the cohort
   (shape, voxel size, TR, qform/sform codes, axis codes; pseudo-4-D files, mixed orientations, mismatched grids).
   Problems are collected, not raised, so a user sees all of them at once; ``Cohort.check`` raises the first.
2. ``Preprocessor``: per subject, on demand: load -> reorient to RAS+ (``nibabel.as_closest_canonical``) ->
   reduce 4-D to a 3-D summary (mean, temporal std, ALFF) or keep frames -> resample to the common grid (through
   the affines, never by array shape) -> cache as ``.npy`` read back memory-mapped. A cohort larger than RAM is
   thus streamed one subject at a time. The connectivity route caches per-subject Fisher-z correlation vectors;
   from 4-D images, the ROI series come through nilearn and are cleaned first (``core.scans.connectivity``).
   ``resolved_config`` decides the ``auto`` route from the files (4-D fMRI -> connectivity, 3-D -> volumes).
3. ``compute_mask``/``load_mask`` and ``subject_stats``/``normalise``: a brain mask and per-subject intensity
   normalisation inside it; the training code fits these inside each cross-validation fold.

Every problem with an input file is an ``InputFileError`` naming the file (and the table line where relevant).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.common.fileio import atomic_save_npy
from biodeep_gui.core.scans.cohort import NIFTI_SUFFIXES, Cohort, Subject, build_cohort, find_files
from biodeep_gui.core.scans.config import DEFAULT_ATLAS, ScansConfig, ScansDataConfig
from biodeep_gui.core.scans.connectivity import (
    RoiAtlas,
    clean_timeseries,
    connectivity_features,
    extract_roi_timeseries,
    find_confounds_file,
    load_roi_atlas,
    read_confounds,
    read_roi_timeseries,
)
from biodeep_gui.core.scans.nifti import Grid, read_image_data
from biodeep_gui.core.scans.volumes import resample_volume, summarise


# ---------------------------------------------------------------------------------------------------------------
# preprocessing with a cache
# ---------------------------------------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """``<user cache folder>/scans`` (``biodeep_gui.paths``: XDG / LOCALAPPDATA / Library/Caches)."""
    from biodeep_gui.core.common import paths

    return paths.cache_dir() / "scans"


@dataclass
class SubjectStatus:
    """Progress of the preprocessing pass: subject ``index`` (0-based) of ``total`` done, or failed."""

    index: int
    total: int
    subject: str
    status: str  # 'ok' | 'error'
    message: str = ""
    shape: tuple[int, ...] = ()


class Preprocessor:
    """Per-subject preprocessing into a cache of ``.npy`` arrays read back memory-mapped.

    Volumes route: (X, Y, Z) float32 (or (T', X, Y, Z) with summary 'frames') on the common ``grid``, in RAS
    orientation when canonicalising, not yet masked or normalised (those are fitted per fold). Connectivity route:
    (F,) float32 Fisher-z correlations.

    The cache key covers the file's path, size and modification time and every setting that changes the array,
    so editing a file or a setting never serves a stale array.

    Parameters
    ----------
    cohort : from ``build_cohort``
    cfg : the data settings
    cache_dir : where the arrays go (created); ``None``: ``cfg.cache_dir`` or the user cache folder
    """

    def __init__(self, cohort: Cohort, cfg: ScansDataConfig, cache_dir: str | os.PathLike | None = None):
        self.cohort, self.cfg = cohort, cfg
        self.cache_dir = Path(cache_dir or cfg.cache_dir or default_cache_dir())
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.mode = resolve_route(cfg, cohort)
        self.grid: Grid | None = None
        self.reference = ""
        self._atlas: RoiAtlas | None = None
        self._confounds_of: dict[str, str] | None = None
        self.atlas_description = ""  # connectivity from images: which atlas, in words
        self.region_labels: list[str] = []
        self.notes: list[str] = []
        if cohort.kind == "nifti" and self.mode == "volumes":
            ok = [s for s in cohort.subjects if s.header is not None]
            if not ok:
                raise InputFileError(cohort.folder, "no readable NIfTI file in the cohort")
            first = ok[0].header
            grid = first.grid(cfg.canonicalise or cfg.resample)
            if cfg.resample and cfg.voxel_size > 0:
                grid = grid.rescaled(cfg.voxel_size)
            self.grid, self.reference = grid, ok[0].path
        if self.mode == "connectivity" and cohort.kind == "nifti":
            self._atlas = load_roi_atlas(cfg.atlas or DEFAULT_ATLAS, cfg.sphere_radius, cfg.canonicalise)
            self.region_labels = list(self._atlas.names)
            self.atlas_description = self._atlas.description
            if cfg.confounds_column:
                self._confounds_of = _table_column(cfg.labels, cfg.subject_column, cfg.confounds_column)

    # -- keys and paths ------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        c = self.cfg
        s: dict[str, Any] = {"mode": self.mode, "v": 1}
        if self.mode == "volumes":
            s.update(canonicalise=c.canonicalise, summary=c.summary, band=list(c.band_hz),
                     max_frames=c.max_frames if c.summary == "frames" else 0, resample=c.resample,
                     grid=self.grid.to_dict() if c.resample and self.grid else None)
        elif self._atlas is not None:
            s.update(v=2, canonicalise=c.canonicalise,
                     atlas=c.builtin_atlas() or _file_key(c.atlas), radius=c.sphere_radius, detrend=c.detrend,
                     band=[c.high_pass, c.low_pass], standardize=c.standardize, tr=c.tr, confounds=list(c.confounds))
        return s

    def confounds_file(self, i: int) -> Path | None:
        """Subject ``i``'s confounds table (labels-table column or file-name pattern), or None without one.

        Raises ``InputFileError`` when the table names a file that does not exist or nothing matches the pattern."""
        c, s = self.cfg, self.cohort.subjects[i]
        if self._confounds_of is not None:
            value = self._confounds_of.get(s.id, "").strip()
            if not value:
                raise InputFileError(c.labels, f"subject {s.id!r} has no confounds table in column "
                                               f"{c.confounds_column!r}", line=s.line or None,
                                     expected="a CSV/TSV file name (relative to the table's folder)")
            p = Path(value)
            p = p if p.is_absolute() else Path(c.labels).parent / p
            if not p.is_file():
                raise InputFileError(c.labels, f"confounds table {value!r} of subject {s.id!r} not found",
                                     line=s.line or None)
            return p
        if c.confounds_pattern:
            p = find_confounds_file(s.path, c.confounds_pattern)
            if p is None:
                raise InputFileError(s.path, f"no confounds table matching {c.confounds_pattern!r} beside it",
                                     expected="e.g. fMRIPrep's *_desc-confounds_timeseries.tsv in the same folder")
            return p
        return None

    def cache_path(self, i: int) -> Path:
        subject = self.cohort.subjects[i]
        extra = {}
        if self._atlas is not None:
            conf = self.confounds_file(i)
            extra = {"confounds_file": _file_key(str(conf)) if conf else None}
        key = json.dumps({"file": _file_key(subject.path), **self.settings(), **extra}, sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", subject.id)[:40]
        return self.cache_dir / f"{safe}-{digest}.npy"

    # -- data ----------------------------------------------------------------------------------------------
    def load(self, i: int) -> np.ndarray:
        """Subject ``i``'s preprocessed array (memory-mapped from the cache; computed and cached on first use).

        Raises
        ------
        InputFileError : the subject's file cannot be used (named in the message)
        """
        s = self.cohort.subjects[i]
        if s.error_exc is not None:
            raise s.error_exc
        path = self.cache_path(i)
        if path.exists():
            try:
                return np.load(path, mmap_mode="r")
            except (ValueError, OSError):
                path.unlink(missing_ok=True)  # a damaged cache entry is recomputed
        arr = np.ascontiguousarray(self._compute(s, i), np.float32)
        atomic_save_npy(path, arr)  # readers never see a half-written cache entry
        return np.load(path, mmap_mode="r")

    def display_volume(self, i: int) -> np.ndarray:
        """(X, Y, Z) float32 to show for subject ``i`` (frames averaged)."""
        a = np.asarray(self.load(i))
        return a.mean(axis=0) if a.ndim == 4 else a

    def _compute(self, s: Subject, i: int) -> np.ndarray:
        c = self.cfg
        if self.cohort.kind == "timeseries":
            series, _ = read_roi_timeseries(s.path)
            feats, n_const = connectivity_features(series)
            if n_const:
                self.notes.append(f"{s.path}: {n_const} region(s) with a constant series; their correlations are 0")
            return feats
        if self.mode == "connectivity":
            series, present = self.roi_timeseries(i)
            feats, n_const = connectivity_features(series)
            n_out = int((~present).sum())
            if n_out:
                self.notes.append(f"{s.path}: {n_out} atlas region(s) outside the field of view; their correlations "
                                  f"are 0")
            elif n_const:
                self.notes.append(f"{s.path}: {n_const} atlas region(s) with a constant series; their correlations "
                                  f"are 0")
            return feats
        data, affine, header = read_image_data(s.path, c.canonicalise)
        if data.ndim == 4:
            if c.summary == "frames":
                t = data.shape[3]
                keep = (np.unique(np.linspace(0, t - 1, c.max_frames).round().astype(int))
                        if c.max_frames and t > c.max_frames else np.arange(t))
                data = data[..., keep]
            else:
                try:
                    data = summarise(data, c.summary, header.tr, c.band_hz)
                except ValueError as exc:
                    raise InputFileError(s.path, f"cannot compute the {c.summary} summary: {exc}") from None
        grid = Grid(tuple(data.shape[:3]), affine)  # type: ignore[arg-type]
        assert self.grid is not None
        if not grid.same_as(self.grid):
            if not c.resample:
                raise InputFileError(s.path, f"is on a different grid ({grid.describe()}) from "
                                             f"{Path(self.reference).name} ({self.grid.describe()})",
                                     expected="one grid for every scan; turn on resampling")
            data = resample_volume(data, affine, self.grid, order=1)
        if c.summary == "frames":
            data = np.moveaxis(data, -1, 0) if data.ndim == 4 else data[None]
        return data

    def roi_timeseries(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Subject ``i``'s cleaned ROI series from its 4-D image: (T, R) float64 and the (R,) regions in its field of
        view (the others stay 0). Cleaning: ``clean_timeseries`` with the data settings, the header's TR (or
        ``data.tr``) and the subject's confounds table, if any.

        Raises
        ------
        InputFileError : not 4-D, no TR, too few frames for the band-pass, a bad confounds table (each named)
        """
        import nibabel as nib

        c, s = self.cfg, self.cohort.subjects[i]
        assert self._atlas is not None
        data, affine, header = read_image_data(s.path, c.canonicalise)
        if data.ndim != 4 or data.shape[3] < 2:
            raise InputFileError(s.path, "is not a 4-D time series", expected="4-D fMRI (x, y, z, t) for ROI series")
        tr = c.tr or (header.tr or 0.0)
        if tr <= 0 and (c.high_pass or c.low_pass):
            raise InputFileError(s.path, "has no repetition time (TR) in its header",
                                 expected="pixdim[4] > 0, or set data.tr (--tr) in seconds")
        raw, present = extract_roi_timeseries(nib.Nifti1Image(data, affine), self._atlas)
        conf_path = self.confounds_file(i)
        confounds = read_confounds(conf_path, c.confounds) if conf_path else None
        if confounds is not None and len(confounds) != len(raw):
            raise InputFileError(conf_path, f"{len(confounds)} rows but {Path(s.path).name} has {len(raw)} frames",
                                 expected="one confounds row per frame of the image")
        out = np.zeros_like(raw)
        if present.any():
            out[:, present] = clean_timeseries(raw[:, present], tr or 1.0, detrend=c.detrend, high_pass=c.high_pass,
                                               low_pass=c.low_pass, standardize=c.standardize, confounds=confounds,
                                               source=s.path)
        return out, present

    def iter_prepare(self, should_stop: Callable[[], bool] = lambda: False,
                     raise_errors: bool = True) -> Iterator[SubjectStatus]:
        """Preprocess (or find in the cache) every subject, yielding one ``SubjectStatus`` each.

        raise_errors : stop at the first bad file (training); False: report it and go on (the GUI's cohort view)
        """
        n = len(self.cohort)
        for i, s in enumerate(self.cohort.subjects):
            if should_stop():
                return
            try:
                arr = self.load(i)
            except InputFileError as exc:
                if raise_errors:
                    raise
                s.error, s.error_exc = exc.problem, exc
                yield SubjectStatus(i, n, s.id, "error", str(exc))
                continue
            yield SubjectStatus(i, n, s.id, "ok", "", tuple(arr.shape))


def resolve_route(cfg: ScansDataConfig, cohort: Cohort | None = None) -> str:
    """The route ``cfg.route`` stands for: itself, or for ``auto``: ``connectivity`` for ROI time-series tables or
    4-D images (more than one frame; every image), ``volumes`` for 3-D images or a mix. The images are judged from the cohort's headers,
    or without a cohort from the first NIfTI file of ``cfg.images`` (its header only); an unreadable folder gives
    ``volumes`` and the cohort reader then names the problem."""
    if cfg.route != "auto":
        return cfg.route
    if cfg.timeseries or (cohort is not None and cohort.kind == "timeseries"):
        return "connectivity"
    if cohort is not None:
        frames = [s.header.n_frames for s in cohort.subjects if s.header is not None]
        return "connectivity" if frames and min(frames) > 1 else "volumes"  # mixed 3-D / 4-D: volumes
    try:
        import nibabel as nib

        first = find_files(cfg.images, NIFTI_SUFFIXES, exclude=(cfg.mask, cfg.labels) + (
            () if cfg.builtin_atlas() else (cfg.atlas,)))[0]
        shape = nib.load(str(first)).shape
    except Exception:  # noqa: BLE001 - any problem is reported, with the file, when the cohort is read
        return "volumes"
    return "connectivity" if len(shape) == 4 and shape[3] > 1 else "volumes"


def resolved_config(cfg: ScansConfig, cohort: Cohort | None = None) -> ScansConfig:
    """A copy of ``cfg`` with the route decided (``resolve_route``) and, for connectivity from images, the atlas
    ('' = ``power2011``) written in, so the run folder records what was done. Autoencoder settings the resolved
    network does not have (e.g. the 3-D net's depth from a form made for volumes) are dropped."""
    from biodeep_gui.core.scans.models import SCANS_ARCHITECTURES

    out = ScansConfig.from_dict(cfg.to_dict())
    d = out.data
    d.route = resolve_route(cfg.data, cohort)
    if d.route == "connectivity" and not d.timeseries and not d.atlas.strip():
        d.atlas = DEFAULT_ATLAS
    if cfg.data.route == "auto":
        known = {p.name for p in SCANS_ARCHITECTURES[out.autoencoder_arch()].params}
        out.model.autoencoder = {k: v for k, v in out.model.autoencoder.items() if k in known}
    return out


def _table_column(path: str, subject_column: str, column: str) -> dict[str, str]:
    """subject -> value of ``column`` in the labels table (CSV/TSV). Raises ``InputFileError`` for an unknown
    column, listing the columns."""
    import csv

    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    delim = "\t" if lines and "\t" in lines[0] else ","
    rows = [r for r in csv.reader(lines, delimiter=delim) if any(c.strip() for c in r)]
    header = [h.strip() for h in rows[0]] if rows else []
    if column not in header or subject_column not in header:
        missing = column if column not in header else subject_column
        raise InputFileError(path, f"no column {missing!r}", line=1, expected=f"one of {', '.join(header)}")
    i, j = header.index(subject_column), header.index(column)
    return {r[i].strip(): (r[j] if j < len(r) else "") for r in rows[1:] if i < len(r)}


def _file_key(path: str) -> dict[str, Any]:
    p = Path(path).resolve()
    st = p.stat()
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def scan_cohort(cfg: ScansDataConfig, cache_dir: str | os.PathLike | None = None, *,
                should_stop: Callable[[], bool] = lambda: False) -> Iterator[Cohort | SubjectStatus]:
    """The GUI's "Load cohort": yield the audited ``Cohort`` at once, then one ``SubjectStatus`` per subject as it is
    preprocessed into the cache (bad files are reported and skipped, not raised), so training later starts from
    the cache."""
    whole = ScansConfig()
    whole.data = cfg
    cfg = resolved_config(whole).data  # the route of 'auto' and the default atlas, as a run would use them
    cohort = build_cohort(cfg)
    yield cohort
    try:
        prep = Preprocessor(cohort, cfg, cache_dir)
    except InputFileError:
        return
    grid_errors = [f for f in cohort.errors() if f.kind == "grid"]
    if grid_errors:
        return  # every file would fail on the grid check; the audit already says what to do
    yield from prep.iter_prepare(should_stop, raise_errors=False)
