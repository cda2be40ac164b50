"""Connectivity features: ROI time series and their Fisher-z correlations."""
from __future__ import annotations

import math
import os

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


