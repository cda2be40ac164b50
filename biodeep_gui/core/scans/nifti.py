"""NIfTI reading: grids, headers and voxel data (nibabel), with errors naming the file."""
from __future__ import annotations

import math
import os
import sys
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.common.fileio import check_readable_file, memory_budget
from biodeep_gui.core.scans.config import MAX_GRID_VOXELS

NIFTI_SUFFIXES = (".nii", ".nii.gz")
TIMESERIES_SUFFIXES = (".1d", ".csv", ".tsv", ".txt")
#: label cells read as "no label" (ABIDE writes -9999 for missing values)
MISSING_VALUES = {"", "na", "n/a", "nan", "none", "null", "-9999", "?"}
#: a 4-D TR larger than this many seconds is implausible for fMRI and is read as milliseconds
MAX_TR_S = 100.0


# ---------------------------------------------------------------------------------------------------------------
# grids and headers
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Grid:
    """A voxel grid: (X, Y, Z) shape and the 4x4 voxel-to-world (mm) affine."""

    shape: tuple[int, int, int]
    affine: np.ndarray

    @property
    def voxel_size(self) -> tuple[float, float, float]:
        return tuple(float(v) for v in np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0)))  # type: ignore[return-value]

    @property
    def axcodes(self) -> str:
        import nibabel as nib

        return "".join(str(c) for c in nib.aff2axcodes(self.affine))

    def same_as(self, other: "Grid", tol: float = 1e-3) -> bool:
        """Same shape and an affine equal to within ``tol`` voxel."""
        if tuple(self.shape) != tuple(other.shape):
            return False
        scale = max(min(self.voxel_size), 1e-6)
        return bool(np.allclose(self.affine, other.affine, atol=tol * scale, rtol=0))

    def describe(self) -> str:
        vs = "×".join(f"{v:.3g}" for v in self.voxel_size)
        return f"{'×'.join(str(s) for s in self.shape)} voxels of {vs} mm ({self.axcodes})"

    def rescaled(self, voxel_size: float) -> "Grid":
        """The same field of view with isotropic voxels of ``voxel_size`` mm (same axis directions)."""
        old = np.asarray(self.voxel_size)
        factor = voxel_size / old
        directions = self.affine[:3, :3] / old
        if not (math.isfinite(voxel_size) and voxel_size > 0):
            raise ConfigError(f"data.voxel_size = {voxel_size!r} is not a finite number > 0")
        shape = tuple(max(1, int(math.ceil(s * o / voxel_size - 1e-6))) for s, o in zip(self.shape, old))
        if math.prod(shape) > MAX_GRID_VOXELS:
            raise ConfigError(f"data.voxel_size = {voxel_size:g} mm would resample {self.describe()} to "
                              f"{'x'.join(map(str, shape))} = {math.prod(shape):,} voxels, more than the "
                              f"{MAX_GRID_VOXELS:,} (512³) a scan may hold in memory; choose a larger voxel size")
        affine = np.eye(4)
        affine[:3, :3] = directions * voxel_size
        # voxel centres placed so that the new grid's first voxel covers the old grid's first corner
        affine[:3, 3] = self.affine[:3, 3] + self.affine[:3, :3] @ ((factor - 1) / 2)
        return Grid(shape, affine)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "affine": np.asarray(self.affine, float).tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Grid":
        return cls(tuple(int(s) for s in d["shape"]), np.asarray(d["affine"], float))  # type: ignore[arg-type]


@dataclass
class ScanHeader:
    """What the audit reads from one NIfTI header (no voxel data is read).

    shape : as stored, trailing singleton dimensions past the 4th dropped
    voxel_size : (3,) mm, from the affine
    tr : repetition time in seconds (4-D files), ``None`` when the header has none
    n_frames : time points (1 for 3-D and pseudo-4-D files)
    axcodes : e.g. 'RAS', 'LAS' (where each voxel axis points)
    notes : header oddities worth telling the user (e.g. a TR read as milliseconds)
    """

    path: str
    format: str
    shape: tuple[int, ...]
    dtype: str
    byte_order: str
    voxel_size: tuple[float, float, float]
    tr: float | None
    n_frames: int
    qform_code: int
    sform_code: int
    axcodes: str
    affine: np.ndarray
    pseudo_4d: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.shape[:3])  # type: ignore[return-value]

    @property
    def is_4d(self) -> bool:
        return self.n_frames > 1

    def grid(self, canonical: bool) -> Grid:
        """The file's grid, or the grid it has after ``as_closest_canonical`` (computed from the affine alone)."""
        if not canonical:
            return Grid(self.spatial_shape, np.asarray(self.affine, float))
        import nibabel as nib

        ornt = nib.io_orientation(self.affine)
        affine = np.asarray(self.affine, float) @ nib.orientations.inv_ornt_aff(ornt, self.spatial_shape)
        shape = tuple(int(self.spatial_shape[int(a)]) for a in ornt[:, 0])
        return Grid(shape, affine)  # type: ignore[arg-type]


def read_header(path: str | os.PathLike) -> ScanHeader:
    """Read and check one NIfTI header.

    Raises
    ------
    InputFileError : missing file, not NIfTI (or unreadable / damaged header), 2-D or single-slice image, more than
        4 non-singleton dimensions, degenerate affine, complex or RGB voxel values
    """
    img = _load_image(path)
    hdr = img.header
    shape = tuple(int(s) for s in img.shape)
    while len(shape) > 4 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) == 5 and shape[3] == 1:  # NIfTI's (x, y, z, 1, n) vector layout: n values per voxel
        shape = shape[:3] + (shape[4],)
    dims = "×".join(str(s) for s in shape)
    if len(shape) < 3 or min(shape[:3]) < 2:
        raise InputFileError(path, f"is a 2-D image ({dims}); a brain scan needs three spatial dimensions",
                             expected="a 3-D volume or a 4-D time series")
    if len(shape) > 4:
        raise InputFileError(path, f"has {len(shape)} dimensions ({dims})", expected="a 3-D volume or 4-D time series")
    _check_voxel_budget(path, shape)
    affine = np.asarray(img.affine, float)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise InputFileError(path, "has a degenerate voxel-to-world affine (zero voxel size or NaN)",
                             expected="a valid qform or sform")
    import nibabel as nib

    dt = hdr.get_data_dtype()
    if dt.fields is not None or dt.kind not in "biuf":  # nibabel would drop an imaginary part with only a warning
        kind = "complex" if dt.kind == "c" else "RGB (several values per voxel)" if dt.fields else dt.name
        raise InputFileError(path, f"stores {kind} voxel values; a brain scan needs one real number per voxel",
                             expected="integer or floating-point voxels (e.g. int16, float32)")
    order = {">": "big", "<": "little", "=": sys.byteorder, "|": "n/a"}[dt.byteorder]
    n_frames = shape[3] if len(shape) == 4 else 1
    notes: list[str] = []
    tr = None
    if len(shape) == 4:
        tr, note = _header_tr(hdr)
        if note:
            notes.append(note)
    return ScanHeader(
        path=str(path), format="NIfTI-2" if isinstance(img, nib.Nifti2Image) else "NIfTI-1", shape=shape,
        dtype=str(dt.newbyteorder("=").name), byte_order=order,
        voxel_size=tuple(float(v) for v in np.sqrt((affine[:3, :3] ** 2).sum(axis=0))),  # type: ignore[arg-type]
        tr=tr, n_frames=n_frames, qform_code=int(hdr["qform_code"]), sform_code=int(hdr["sform_code"]),
        axcodes="".join(str(c) for c in nib.aff2axcodes(affine)), affine=affine,
        pseudo_4d=len(shape) == 4 and shape[3] == 1, notes=notes)


def _check_voxel_budget(path, shape: tuple[int, ...]) -> None:
    """Refuse, from the header alone, an image whose float32 voxels would not fit the memory budget."""
    voxels = math.prod(int(s) for s in shape)
    need = 4 * voxels  # read as float32
    budget = memory_budget()
    if need > budget:
        dims = "×".join(str(s) for s in shape)
        raise InputFileError(path, f"the header declares {dims} = {voxels:,} voxels, {need / 2**30:,.1f} GiB as "
                                   f"float32, more than the {budget / 2**30:,.1f} GiB this machine allows for one "
                                   f"image", expected="a brain scan of a sensible size (e.g. 61×73×61 voxels)")


def _header_tr(hdr) -> tuple[float | None, str]:
    """TR in seconds from pixdim[4] and the time unit; (None, note) when absent."""
    zooms = hdr.get_zooms()
    value = float(zooms[3]) if len(zooms) > 3 else 0.0
    if not value or not math.isfinite(value):
        return None, "no repetition time (TR) in the header"
    unit = hdr.get_xyzt_units()[1]
    scale = {"msec": 1e-3, "usec": 1e-6}.get(unit, 1.0)
    tr = value * scale
    if tr > MAX_TR_S:  # e.g. nibabel's example4d: 2000 with unit "sec"
        return value * 1e-3, f"TR stored as {value:g} {unit}: implausible for fMRI, read as {value * 1e-3:g} s"
    return tr, ""


def _load_image(path: str | os.PathLike):
    """nib.load with every failure turned into an InputFileError naming the file; NIfTI-1/2 only."""
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError

    p = check_readable_file(path, "a NIfTI-1 or NIfTI-2 file (.nii or .nii.gz)")  # no FIFO, device or folder
    try:
        img = nib.load(str(p))
    except ImageFileError as exc:
        raise InputFileError(path, f"not a NIfTI image ({_first_line(exc)})",
                             expected="a NIfTI-1 or NIfTI-2 file (.nii or .nii.gz)") from None
    except (EOFError, OSError, zlib.error, ValueError) as exc:
        raise InputFileError(path, f"the header could not be read: the file is damaged, truncated or not NIfTI "
                                   f"({_first_line(exc)})", expected="a NIfTI-1 or NIfTI-2 file") from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise InputFileError(path, f"is a {type(img).__name__}, not a single-file NIfTI image",
                             expected="a NIfTI-1 or NIfTI-2 file (.nii or .nii.gz)")
    return img


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_image_data(path: str | os.PathLike, canonicalise: bool = True) -> tuple[np.ndarray, np.ndarray, ScanHeader]:
    """Voxel data of one NIfTI file as float32 (scaling applied), with its affine.

    Parameters
    ----------
    canonicalise : reorient to RAS+ (``nibabel.as_closest_canonical``); the affine is changed to match

    Returns
    -------
    data : (X, Y, Z) or (X, Y, Z, T) float32 (pseudo-4-D files come back 3-D)
    affine : (4, 4)
    header : the audit record of the file

    Raises
    ------
    InputFileError : as ``read_header``; truncated or damaged data; NaN or infinite voxels; an all-constant image
    """
    import nibabel as nib

    header = read_header(path)
    img = _load_image(path)
    try:
        if canonicalise:
            img = nib.as_closest_canonical(img)
        data = img.get_fdata(dtype=np.float32)
    except (EOFError, OSError, zlib.error, ValueError) as exc:
        raise InputFileError(path, f"the image data could not be read: the file is truncated or damaged "
                                   f"({_first_line(exc)})", expected=f"{np.prod(header.shape):,} voxels") from None
    data = data.reshape(data.shape[:3] + ((header.n_frames,) if header.is_4d else ()))
    bad = data.size - int(np.count_nonzero(np.isfinite(data)))
    if bad:
        raise InputFileError(path, f"{bad:,} voxel values are NaN or infinite",
                             expected="finite intensities (replace them, e.g. by 0, before loading)")
    if float(data.max()) == float(data.min()):
        raise InputFileError(path, f"every voxel has the same value ({float(data.min()):g}): the image is empty")
    return np.ascontiguousarray(data), np.asarray(img.affine, float), header


