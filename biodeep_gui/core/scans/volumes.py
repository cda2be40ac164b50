"""Volume operations: 4-D summaries, resampling to a grid, brain masks and normalisation."""
from __future__ import annotations

import math
import os
from typing import Iterable, Sequence

import numpy as np

from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.scans.nifti import Grid, read_image_data


# ---------------------------------------------------------------------------------------------------------------
# 4-D summaries, resampling, masks, normalisation
# ---------------------------------------------------------------------------------------------------------------
def summarise(data: np.ndarray, kind: str, tr: float | None = None,
              band: Sequence[float] = (0.01, 0.08)) -> np.ndarray:
    """Reduce a 4-D series to one 3-D map.

    Parameters
    ----------
    data : (X, Y, Z, T) float32
    kind : 'mean'; 'std' (temporal standard deviation); 'alff' (mean spectral amplitude of the linearly detrended
        series within ``band`` Hz, Zang et al. 2007)
    tr : repetition time in seconds (needed for 'alff')

    Returns
    -------
    (X, Y, Z) float32
    """
    if kind == "mean":
        return data.mean(axis=3, dtype=np.float64).astype(np.float32)
    if kind == "std":
        return data.std(axis=3, dtype=np.float64).astype(np.float32)
    if kind != "alff":
        raise ValueError(f"unknown summary {kind!r}")
    from scipy.signal import detrend

    t = data.shape[3]
    if not tr:
        raise ValueError("ALFF needs the repetition time")
    freqs = np.fft.rfftfreq(t, d=tr)
    sel = (freqs >= band[0]) & (freqs <= band[1])
    if not sel.any():
        raise ValueError(f"{t} time points at TR {tr:g} s resolve no frequency in {band[0]:g}-{band[1]:g} Hz "
                         f"(frequency step {1 / (t * tr):.3g} Hz, highest {freqs[-1]:.3g} Hz)")
    out = np.empty(data.shape[:3], np.float32)
    for x in range(data.shape[0]):  # one slab at a time keeps the FFT's memory small
        ts = detrend(data[x].reshape(-1, t).astype(np.float64), axis=1, type="linear")
        amp = np.abs(np.fft.rfft(ts, axis=1)[:, sel]) * (2.0 / t)
        out[x] = amp.mean(axis=1).reshape(data.shape[1:3])
    return out


def resample_volume(data: np.ndarray, affine: np.ndarray, grid: Grid, order: int = 1) -> np.ndarray:
    """Resample a 3-D (or 4-D, frame by frame) array onto ``grid`` through the affines (scipy.ndimage).

    When the target voxels are coarser, the data are first smoothed with a Gaussian (sigma = (factor - 1) / 2
    voxels per axis) so that down-sampling does not alias. Outside the source field of view is 0.

    Returns
    -------
    (X', Y', Z'[, T]) float32 on ``grid``
    """
    import nibabel as nib
    from nibabel.processing import resample_from_to
    from scipy.ndimage import gaussian_filter

    src = Grid(tuple(data.shape[:3]), affine)  # type: ignore[arg-type]
    if src.same_as(grid):
        return np.ascontiguousarray(data, np.float32)
    factor = np.asarray(grid.voxel_size) / np.asarray(src.voxel_size)
    # the source axis aligned with each target axis is unknown in general: use the largest factor on all axes
    sigma = max(0.0, (float(factor.max()) - 1) / 2) if order > 0 else 0.0

    def one(vol: np.ndarray) -> np.ndarray:
        if sigma > 0:
            vol = gaussian_filter(vol, sigma)
        img = nib.Nifti1Image(np.asarray(vol, np.float32), affine)
        return np.asarray(resample_from_to(img, (grid.shape, grid.affine), order=order, cval=0.0).dataobj,
                          np.float32)

    if data.ndim == 3:
        return one(data)
    return np.stack([one(data[..., t]) for t in range(data.shape[3])], axis=-1)


def clip_level(values: np.ndarray, fraction: float = 0.5) -> float:
    """Intensity separating head from background (AFNI ``3dClipLevel``'s iteration): start from ``fraction`` of the
    median of the positive values and repeat ``clip = fraction * median(values > clip)`` until it settles.

    Unlike a two-class (Otsu) split, this stays below grey matter when the image has three intensity classes.
    """
    v = np.asarray(values, np.float64).ravel()
    v = v[v > 0] if (v > 0).any() else v - v.min()
    clip = fraction * float(np.median(v))
    for _ in range(50):
        above = v[v > clip]
        if not len(above):
            break
        new = fraction * float(np.median(above))
        if abs(new - clip) <= 1e-4 * max(abs(clip), 1e-12):
            clip = new
            break
        clip = new
    return clip


def subject_brain(volume: np.ndarray) -> np.ndarray:
    """(X, Y, Z) bool: voxels above the clip level of one volume (a frames array is averaged first)."""
    v = np.asarray(volume, np.float32)
    if v.ndim == 4:
        v = v.mean(axis=0)
    return v > clip_level(v)


def compute_mask(volumes: Iterable[np.ndarray], coverage: float = 0.5) -> np.ndarray:
    """Brain mask from data: voxels above each volume's clip level in at least ``coverage`` of the volumes, then the
    largest connected component with its holes filled.

    Parameters
    ----------
    volumes : (X, Y, Z) arrays (or (T, X, Y, Z) frames), streamed one at a time

    Returns
    -------
    (X, Y, Z) bool
    """
    from scipy import ndimage

    count, n = None, 0
    for v in volumes:
        b = subject_brain(v)
        count = b.astype(np.int32) if count is None else count + b
        n += 1
    if count is None:
        raise ValueError("no volume to compute a mask from")
    mask = count >= max(1, math.ceil(coverage * n - 1e-9))
    labels, k = ndimage.label(mask)
    if k > 1:
        sizes = np.bincount(labels.ravel())[1:]
        mask = labels == (int(np.argmax(sizes)) + 1)
    return ndimage.binary_fill_holes(mask)


def load_mask(path: str | os.PathLike, grid: Grid, *, canonicalise: bool = True, resample: bool = False) -> np.ndarray:
    """A user's mask file (non-zero = brain) on ``grid``.

    Raises
    ------
    InputFileError : unreadable, 4-D, on another grid without resampling, or empty
    """
    data, affine, header = read_image_data(path, canonicalise)
    if data.ndim != 3:
        raise InputFileError(path, f"the mask is 4-D ({'×'.join(map(str, header.shape))})", expected="a 3-D mask")
    g = Grid(tuple(data.shape), affine)  # type: ignore[arg-type]
    if not g.same_as(grid):
        if not resample:
            raise InputFileError(path, f"the mask's grid ({g.describe()}) differs from the scans' ({grid.describe()})",
                                 expected="the scans' grid, or turn on resampling")
        data = resample_volume((data != 0).astype(np.float32), affine, grid, order=0)
    mask = data != 0
    if mask.sum() < 8:
        raise InputFileError(path, f"the mask has {int(mask.sum())} brain voxels on the scans' grid",
                             expected="a brain mask overlapping the scans")
    return mask


def subject_stats(volume: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of one subject inside the mask (over all frames of a frames array)."""
    v = np.asarray(volume)
    vals = v[:, mask] if v.ndim == 4 else v[mask]
    mean = float(vals.mean(dtype=np.float64))
    std = float(vals.std(dtype=np.float64))
    return mean, std if std > 0 else 1.0


def normalise(volume: np.ndarray, mask: np.ndarray, mean: float, std: float) -> np.ndarray:
    """(v - mean) / std inside the mask, 0 outside; float32, same shape as ``volume``."""
    out = (np.asarray(volume, np.float32) - np.float32(mean)) / np.float32(std)
    out *= mask  # broadcasts over a leading frame axis
    return out


