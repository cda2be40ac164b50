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
   thus streamed one subject at a time. The connectivity route caches per-subject Fisher-z correlation vectors.
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
from biodeep_gui.core.scans.cohort import Cohort, Subject, build_cohort
from biodeep_gui.core.scans.config import ScansDataConfig
from biodeep_gui.core.scans.connectivity import atlas_timeseries, connectivity_features, read_atlas, read_roi_timeseries
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
        self.mode = "connectivity" if cfg.route == "connectivity" else "volumes"
        self.grid: Grid | None = None
        self.reference = ""
        self._atlas: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
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
            self._atlas = read_atlas(cfg.atlas, cfg.canonicalise)
            self.region_labels = [str(v) for v in self._atlas[2]]

    # -- keys and paths ------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        c = self.cfg
        s: dict[str, Any] = {"mode": self.mode, "v": 1}
        if self.mode == "volumes":
            s.update(canonicalise=c.canonicalise, summary=c.summary, band=list(c.band_hz),
                     max_frames=c.max_frames if c.summary == "frames" else 0, resample=c.resample,
                     grid=self.grid.to_dict() if c.resample and self.grid else None)
        elif self._atlas is not None:
            s.update(canonicalise=c.canonicalise, atlas=_file_key(c.atlas))
        return s

    def cache_path(self, i: int) -> Path:
        subject = self.cohort.subjects[i]
        key = json.dumps({"file": _file_key(subject.path), **self.settings()}, sort_keys=True)
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
        arr = np.ascontiguousarray(self._compute(s), np.float32)
        atomic_save_npy(path, arr)  # readers never see a half-written cache entry
        return np.load(path, mmap_mode="r")

    def display_volume(self, i: int) -> np.ndarray:
        """(X, Y, Z) float32 to show for subject ``i`` (frames averaged)."""
        a = np.asarray(self.load(i))
        return a.mean(axis=0) if a.ndim == 4 else a

    def _compute(self, s: Subject) -> np.ndarray:
        c = self.cfg
        if self.cohort.kind == "timeseries":
            series, _ = read_roi_timeseries(s.path)
            feats, n_const = connectivity_features(series)
            if n_const:
                self.notes.append(f"{s.path}: {n_const} region(s) with a constant series; their correlations are 0")
            return feats
        if self.mode == "connectivity":
            data, affine, header = read_image_data(s.path, c.canonicalise)
            if data.ndim != 4:
                raise InputFileError(s.path, "is not a 4-D time series", expected="4-D fMRI for atlas time series")
            atlas, atlas_affine, labels = self._atlas  # type: ignore[misc]
            feats, n_const = connectivity_features(atlas_timeseries(data, affine, atlas, atlas_affine, labels))
            if n_const:
                self.notes.append(f"{s.path}: {n_const} atlas region(s) empty or constant; their correlations are 0")
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


def _file_key(path: str) -> dict[str, Any]:
    p = Path(path).resolve()
    st = p.stat()
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def scan_cohort(cfg: ScansDataConfig, cache_dir: str | os.PathLike | None = None, *,
                should_stop: Callable[[], bool] = lambda: False) -> Iterator[Cohort | SubjectStatus]:
    """The GUI's "Load cohort": yield the audited ``Cohort`` at once, then one ``SubjectStatus`` per subject as it is
    preprocessed into the cache (bad files are reported and skipped, not raised), so training later starts from
    the cache."""
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
