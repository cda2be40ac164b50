"""Connectivity features: ROI time series (tables, or 4-D images through nilearn), cleaned, and their Fisher-z
correlations.

From 4-D images (``RoiAtlas``, ``extract_roi_timeseries``, ``clean_timeseries``): the mean series of each atlas
region (``NiftiLabelsMasker`` for a labels image, ``NiftiSpheresMasker`` for coordinates, e.g. the Power 2011,
Dosenbach 2010 and Seitzman 2018 atlases nilearn ships), cleaned with ``nilearn.signal.clean`` (detrend, optional
confound regression, Butterworth band-pass with the TR of the header, z-score), then ``connectivity_features``:
the upper triangle of the Pearson correlation matrix, Fisher z-transformed. The images must already be preprocessed
and registered to the atlas's space (MNI152 for the built-in atlases); nothing here corrects motion or registers.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.common.fileio import check_readable_file
from biodeep_gui.core.scans.nifti import Grid, read_image_data
from biodeep_gui.core.scans.volumes import resample_volume


# ---------------------------------------------------------------------------------------------------------------
# connectivity features
# ---------------------------------------------------------------------------------------------------------------
def read_roi_timeseries(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Read one subject's ROI time series (ABIDE ``.1D``: whitespace-separated, ``#`` header; or CSV/TSV).

    Returns
    -------
    series : (T, R) float64, one column per region
    names : R region names (from the header line, or '1'..'R')

    Raises
    ------
    InputFileError : unreadable, ragged rows, non-numeric or NaN values (with the line), fewer than 3 time points
        or 2 regions
    """
    p = check_readable_file(path, "ROI time series as text (.1D, CSV, TSV)", max_bytes=512 << 20)
    try:
        lines = p.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except UnicodeDecodeError:
        raise InputFileError(path, "is not a text table", expected="ROI time series as text (.1D, CSV, TSV)") from None
    suffix = p.suffix.lower()
    delim = {".csv": ",", ".tsv": "\t"}.get(suffix)
    names: list[str] = []
    rows: list[list[float]] = []
    for i, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if not rows and not names:
                names = line.lstrip("#").split()
            continue
        cells = [c.strip() for c in (line.split(delim) if delim else line.split())]
        try:
            vals = [float(c) for c in cells]
        except ValueError:
            if not rows and not names:  # a header row of region names
                names = cells
                continue
            raise InputFileError(path, "non-numeric value", line=i, expected="one number per region") from None
        if rows and len(vals) != len(rows[0]):
            raise InputFileError(path, f"{len(vals)} values but {len(rows[0])} on the first row", line=i,
                                 expected="the same regions on every row")
        if not all(math.isfinite(v) for v in vals):
            raise InputFileError(path, "NaN or infinite value", line=i, expected="finite values")
        rows.append(vals)
    if len(rows) < 3 or len(rows[0]) < 2:
        raise InputFileError(path, f"{len(rows)} time points × {len(rows[0]) if rows else 0} regions",
                             expected="at least 3 time points (rows) of at least 2 regions (columns)")
    series = np.asarray(rows, np.float64)
    if len(names) != series.shape[1]:
        names = [str(r + 1) for r in range(series.shape[1])]
    return series, names


def connectivity_features(series: np.ndarray) -> tuple[np.ndarray, int]:
    """Upper triangle of the Pearson correlation matrix between regions, Fisher z-transformed.

    Parameters
    ----------
    series : (T, R) time series

    Returns
    -------
    features : (R (R - 1) / 2,) float32, row-major upper triangle without the diagonal
    n_constant : regions with a constant series (their correlations are set to 0)
    """
    x = np.asarray(series, np.float64)
    x = x - x.mean(axis=0)
    norm = np.sqrt((x ** 2).sum(axis=0))
    constant = norm < 1e-12
    x = x / np.where(constant, 1.0, norm)
    r = x.T @ x
    r[constant, :] = 0
    r[:, constant] = 0
    iu = np.triu_indices(r.shape[0], k=1)
    z = np.arctanh(np.clip(r[iu], -0.999999, 0.999999))
    return z.astype(np.float32), int(constant.sum())


def read_atlas(path: str | os.PathLike, canonicalise: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A labels image: (X, Y, Z) int32 labels (0 = background), its affine and the sorted region labels."""
    data, affine, header = read_image_data(path, canonicalise)
    if data.ndim != 3:
        raise InputFileError(path, "the atlas is 4-D", expected="a 3-D labels image (one integer per region)")
    if not np.allclose(data, np.round(data)):
        raise InputFileError(path, "the atlas holds non-integer values", expected="integer region labels")
    labels = np.unique(data.astype(np.int32))
    labels = labels[labels != 0]
    if len(labels) < 2:
        raise InputFileError(path, f"the atlas has {len(labels)} region(s)", expected="at least 2 labelled regions")
    return data.astype(np.int32), affine, labels


def atlas_timeseries(data: np.ndarray, affine: np.ndarray, atlas: np.ndarray, atlas_affine: np.ndarray,
                     labels: np.ndarray) -> np.ndarray:
    """Mean time series of each atlas region.

    Parameters
    ----------
    data : (X, Y, Z, T) fMRI series; affine : its (4, 4) affine
    atlas : labels image, resampled here to the data's grid with nearest-neighbour interpolation
    labels : (R,) region labels to extract (regions absent from this scan's field of view give a constant 0)

    Returns
    -------
    (T, R) float64
    """
    grid = Grid(tuple(data.shape[:3]), affine)  # type: ignore[arg-type]
    lab = resample_volume(atlas.astype(np.float32), atlas_affine, grid, order=0).astype(np.int64)
    t = data.shape[3]
    flat = data.reshape(-1, t)
    lut = np.full(int(max(labels.max(), lab.max())) + 1, -1, np.int64)
    lut[labels] = np.arange(len(labels))
    idx = lut[lab.ravel()]
    keep = idx >= 0
    sums = np.zeros((len(labels), t))
    np.add.at(sums, idx[keep], flat[keep])
    counts = np.bincount(idx[keep], minlength=len(labels))
    return (sums / np.maximum(counts, 1)[:, None]).T




# ---------------------------------------------------------------------------------------------------------------
# ROI time series from 4-D images through nilearn (imported lazily: ``import nilearn`` takes seconds)
# ---------------------------------------------------------------------------------------------------------------
#: nilearn's Butterworth filter order (``nilearn.signal.butterworth``), which sets the frames a filter needs
BUTTERWORTH_ORDER = 5


@dataclass
class RoiAtlas:
    """The regions whose mean series are correlated: a labels image, or sphere centres (mm, the images' space).

    kind : 'labels' (``NiftiLabelsMasker``) or 'spheres' (``NiftiSpheresMasker``)
    names : R region names; description : where the regions come from (shown to the user)
    labels_img, labels : the labels image and its R non-zero labels ('labels')
    coords, radius : (R, 3) centres in mm and the sphere radius in mm ('spheres')
    """

    kind: str
    names: list[str]
    description: str
    labels_img: Any = None
    labels: np.ndarray | None = None
    coords: np.ndarray | None = None
    radius: float = 5.0


def load_roi_atlas(atlas: str, radius: float = 5.0, canonicalise: bool = True) -> RoiAtlas:
    """The atlas ``data.atlas`` names: a built-in coordinate atlas (``power2011``, ``dosenbach2010``,
    ``seitzman2018``; '' = ``power2011``), a coordinates table (CSV/TSV with x, y, z columns) or a labels image.

    The coordinate atlases are CSV files inside the nilearn package: nothing is downloaded.

    Raises
    ------
    InputFileError : an unreadable atlas file (named) ; ConfigError : an unknown atlas name
    """
    from biodeep_gui.core.scans.config import COORD_ATLASES, DEFAULT_ATLAS

    name = atlas.strip().lower() or DEFAULT_ATLAS
    if name in COORD_ATLASES:
        coords = _builtin_coords(name)
        return RoiAtlas("spheres", [f"{name}:{i + 1}" for i in range(len(coords))],
                        f"{COORD_ATLASES[name]} (MNI152 coordinates, {radius:g}-mm spheres)", coords=coords,
                        radius=radius)
    if name.endswith((".csv", ".tsv", ".txt")):
        coords, names = read_coords_table(atlas)
        return RoiAtlas("spheres", names, f"{Path(atlas).name}: {len(coords)} coordinates ({radius:g}-mm spheres)",
                        coords=coords, radius=radius)
    import nibabel as nib

    data, affine, _ = read_atlas(atlas, canonicalise)
    labels = np.unique(data)
    labels = labels[labels != 0]
    img = nib.Nifti1Image(data.astype(np.int32), affine)
    return RoiAtlas("labels", [str(v) for v in labels], f"{Path(atlas).name}: {len(labels)} labelled regions",
                    labels_img=img, labels=labels)


def _builtin_coords(name: str) -> np.ndarray:
    import warnings

    from nilearn import datasets

    fetch = {"power2011": datasets.fetch_coords_power_2011, "dosenbach2010": datasets.fetch_coords_dosenbach_2010,
             "seitzman2018": datasets.fetch_coords_seitzman_2018}[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nilearn's notes about legacy output formats
        rois = fetch().rois
    return np.asarray(rois[["x", "y", "z"]], np.float64)


def read_coords_table(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Sphere centres from a CSV/TSV with ``x``, ``y``, ``z`` columns (mm) and optionally ``name``/``roi``/``label``.

    Returns (R, 3) float64 and R names. Raises ``InputFileError`` naming the file (and line) for a missing column,
    a non-numeric value or fewer than 2 rows."""
    import csv

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except UnicodeDecodeError:
        raise InputFileError(path, "is not a text table", expected="CSV/TSV with x, y, z columns") from None
    lines = text.splitlines()
    delim = "\t" if lines and "\t" in lines[0] else ","
    rows = list(csv.reader(lines, delimiter=delim))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if not {"x", "y", "z"} <= set(header):
        raise InputFileError(path, f"columns {', '.join(header) or '(none)'}", line=1,
                             expected="a header with x, y and z columns (sphere centres in mm)")
    ix = [header.index(c) for c in ("x", "y", "z")]
    iname = next((header.index(c) for c in ("name", "roi", "label") if c in header), None)
    coords, names = [], []
    for i, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        try:
            xyz = [float(row[j]) for j in ix]
        except (ValueError, IndexError):
            raise InputFileError(path, "missing or non-numeric coordinate", line=i, expected="numbers in x, y, z") \
                from None
        if not all(math.isfinite(v) for v in xyz):
            raise InputFileError(path, "NaN or infinite coordinate", line=i, expected="finite x, y, z")
        coords.append(xyz)
        names.append(row[iname].strip() if iname is not None and iname < len(row) else str(len(coords)))
    if len(coords) < 2:
        raise InputFileError(path, f"{len(coords)} coordinate row(s)", expected="at least 2 regions")
    return np.asarray(coords, np.float64), names


def extract_roi_timeseries(img, atlas: RoiAtlas) -> tuple[np.ndarray, np.ndarray]:
    """Mean series of each region of ``atlas`` in the 4-D image ``img`` (a nibabel image), not yet cleaned.

    Labels are resampled to the image's grid (nearest neighbour) by ``NiftiLabelsMasker``; spheres are averaged by
    ``NiftiSpheresMasker``. Regions outside the image's field of view get a constant 0 series.

    Returns
    -------
    series : (T, R) float64
    present : (R,) bool, the regions found in the image
    """
    import warnings

    t = img.shape[3]
    out = np.zeros((t, len(atlas.names)))
    present = np.zeros(len(atlas.names), bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "labels removed after resampling": reported through ``present``
        if atlas.kind == "labels":
            from nilearn.maskers import NiftiLabelsMasker

            masker = NiftiLabelsMasker(atlas.labels_img)
            ts = masker.fit_transform(img)
            ids = getattr(masker, "region_ids_", None)
            # region_ids_: {column index: label, 'background': 0}
            found = ([v for k, v in sorted((k, v) for k, v in ids.items() if not isinstance(k, str))] if ids else
                     list(atlas.labels[: ts.shape[1]]))  # type: ignore[index]
            col = {int(v): j for j, v in enumerate(atlas.labels)}  # type: ignore[union-attr]
            for k, v in enumerate(found):
                out[:, col[int(v)]] = ts[:, k]
                present[col[int(v)]] = True
        else:
            from nilearn.maskers import NiftiSpheresMasker

            inside = _inside_fov(atlas.coords, img)  # type: ignore[arg-type]
            if inside.any():
                masker = NiftiSpheresMasker([tuple(c) for c in atlas.coords[inside]],  # type: ignore[index]
                                            radius=atlas.radius, allow_overlap=True)
                out[:, inside] = masker.fit_transform(img)
                present = inside
    return out, present


def _inside_fov(coords: np.ndarray, img) -> np.ndarray:
    """(R,) bool: the centres whose nearest voxel lies inside the image's grid."""
    ijk = np.round(np.linalg.solve(img.affine, np.c_[coords, np.ones(len(coords))].T)[:3].T)
    return ((ijk >= 0) & (ijk < np.asarray(img.shape[:3]))).all(axis=1)


def min_frames(high_pass: float, low_pass: float, tr: float) -> int:
    """Fewest frames the band-pass needs: more than nilearn's Butterworth padding (3 x the filter's coefficients),
    and, with a high-pass, one full period of its frequency (a 0.01 Hz high-pass is meaningless on 40 s)."""
    n = 0
    sides = (high_pass > 0) + (low_pass > 0)
    if sides:
        n = 3 * (BUTTERWORTH_ORDER * sides + 1) + 1
    if high_pass > 0 and tr > 0:
        n = max(n, int(math.ceil(1.0 / (high_pass * tr) - 1e-9)))
    return n


def clean_timeseries(series: np.ndarray, tr: float, *, detrend: bool = True, high_pass: float = 0.01,
                     low_pass: float = 0.1, standardize: bool = True, confounds: np.ndarray | None = None,
                     source: str | os.PathLike = "") -> np.ndarray:
    """``nilearn.signal.clean`` of (T, R) ROI series: detrend, confound regression, Butterworth band-pass, z-score.

    Parameters
    ----------
    series : (T, R); tr : repetition time in s; high_pass / low_pass : Hz, 0 = that side off
    confounds : (T, C) nuisance series regressed out (orthogonally to the filter, as nilearn does), or None
    source : the file the series come from, named in errors

    Raises
    ------
    InputFileError : too few frames for the filter, a low-pass at or above the Nyquist frequency, or confounds with
        another number of rows
    """
    from nilearn import signal

    t = series.shape[0]
    need = min_frames(high_pass, low_pass, tr)
    if t < need:
        band = " and ".join(x for x in (f"high-pass {high_pass:g} Hz" if high_pass else "",
                                        f"low-pass {low_pass:g} Hz" if low_pass else "") if x)
        raise InputFileError(source or "time series", f"has {t} frames; the {band} at TR {tr:g} s needs at "
                                                       f"least {need}",
                             expected="a longer series, or a lower high-pass (data.high_pass / --high-pass, 0 = off)")
    if low_pass and low_pass >= 0.5 / tr:
        raise InputFileError(source or "time series", f"low-pass {low_pass:g} Hz is at or above the Nyquist "
                                                      f"frequency {0.5 / tr:.3g} Hz of TR {tr:g} s",
                             expected="a lower low-pass (data.low_pass / --low-pass, 0 = off)")
    if confounds is not None and len(confounds) != t:
        raise InputFileError(source or "time series", f"{t} frames but {len(confounds)} rows of confounds",
                             expected="one confounds row per frame")
    kw: dict[str, Any] = {"standardize": "zscore_sample" if standardize else None}
    return np.asarray(signal.clean(np.asarray(series, np.float64), detrend=detrend, confounds=confounds,
                                   low_pass=low_pass or None, high_pass=high_pass or None, t_r=tr,
                                   standardize_confounds=True, **kw), np.float64)


def read_confounds(path: str | os.PathLike, columns: Sequence[str]) -> np.ndarray:
    """The ``columns`` of a confounds table (CSV/TSV with a header, one row per frame; fMRIPrep's
    ``*_desc-confounds_timeseries.tsv``): (T, C) float64. Empty cells and 'n/a' (fMRIPrep's first-frame derivatives)
    take the column's mean.

    Raises ``InputFileError`` naming the file for a missing column (listing a few that exist) or a bad value."""
    import csv

    # the same read guard as the time series: a pipe or device given as a confounds table must not hang the run
    p = check_readable_file(path, "a CSV/TSV confounds table", max_bytes=512 << 20)
    try:
        lines = p.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise InputFileError(path, "confounds table not found") from None
    except UnicodeDecodeError:
        raise InputFileError(path, "is not a text table", expected="a CSV/TSV confounds table") from None
    delim = "\t" if lines and "\t" in lines[0] else ","
    rows = [r for r in csv.reader(lines, delimiter=delim) if any(c.strip() for c in r)]
    header = [h.strip() for h in rows[0]] if rows else []
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputFileError(path, f"no column {', '.join(missing)}", line=1,
                             expected=f"the confounds columns chosen (data.confounds); this table has "
                                      f"{', '.join(header[:8])}{' ...' if len(header) > 8 else ''}")
    idx = [header.index(c) for c in columns]
    out = np.full((len(rows) - 1, len(idx)), np.nan)
    for i, row in enumerate(rows[1:]):
        for k, j in enumerate(idx):
            cell = row[j].strip() if j < len(row) else ""
            if cell.lower() in ("", "n/a", "na", "nan"):
                continue
            try:
                out[i, k] = float(cell)
            except ValueError:
                raise InputFileError(path, f"non-numeric value {cell!r} in column {columns[k]}", line=i + 2,
                                     expected="numbers") from None
    if len(out) < 2:
        raise InputFileError(path, f"{len(out)} row(s) of confounds", expected="one row per frame")
    ok = np.isfinite(out)
    means = np.where(ok, out, 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1)  # an all-empty column becomes 0
    return np.where(np.isfinite(out), out, means)


def find_confounds_file(image: str | os.PathLike, pattern: str) -> Path | None:
    """The confounds table of ``image``: a file matching the glob ``pattern`` in the image's folder; with several,
    the one sharing the longest name prefix with the image (fMRIPrep writes ``sub-01_task-rest_desc-confounds_
    timeseries.tsv`` beside ``sub-01_task-rest_space-..._desc-preproc_bold.nii.gz``). None when nothing matches.

    Raises ``InputFileError`` when two candidates tie."""
    img = Path(image)
    hits = sorted(p for p in img.parent.glob(pattern) if p.is_file() and p != img)
    if len(hits) <= 1:
        return hits[0] if hits else None
    scores = [len(os.path.commonprefix([p.name, img.name])) for p in hits]
    best = max(scores)
    top = [p for p, s in zip(hits, scores) if s == best]
    if len(top) > 1:
        raise InputFileError(image, f"{len(top)} confounds tables match {pattern!r} equally well: "
                                    f"{', '.join(p.name for p in top[:3])}",
                             expected="one confounds table per image (name it in a confounds column)")
    return top[0]
