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

import csv
import hashlib
import json
import math
import os
import re
import sys
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from biodeep_gui.core.errors import ConfigError, InputFileError
from biodeep_gui.core.scans_config import ScansDataConfig

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
        shape = tuple(max(1, int(math.ceil(s * o / voxel_size - 1e-6))) for s, o in zip(self.shape, old))
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

    p = Path(path)
    if not p.exists():
        raise InputFileError(path, "file not found")
    if p.is_dir():
        raise InputFileError(path, "is a folder, not a NIfTI file")
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


# ---------------------------------------------------------------------------------------------------------------
# label tables and file matching
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class TableRow:
    line: int  # 1-based line in the file
    subject: str
    label: str
    file_id: str = ""
    site: str = ""


def _delimiter(path: Path, first_line: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab"):
        return "\t"
    if suffix == ".csv":
        return ","
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)  # type: ignore[arg-type]
    return best if counts[best] else ","


def table_columns(path: str | os.PathLike) -> list[str]:
    """Column names of a CSV/TSV label table (its first line)."""
    p = Path(path)
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except FileNotFoundError:
        raise InputFileError(path, "label table not found") from None
    except UnicodeDecodeError:
        raise InputFileError(path, "is not a text table", expected="a CSV or TSV file (UTF-8)") from None
    if not first.strip():
        raise InputFileError(path, "the label table is empty", expected="a header line with column names")
    return [c.strip() for c in next(csv.reader([first], delimiter=_delimiter(p, first)))]


def read_label_table(path: str | os.PathLike, subject_column: str, label_column: str, *, file_column: str = "",
                     site_column: str = "", allow_missing: bool = False,
                     warnings: list[str] | None = None) -> list[TableRow]:
    """Read the subject -> label table.

    Rows whose label is missing (empty, NA, -9999, ...) are an error, or, with ``allow_missing``, left out with a
    message appended to ``warnings``. Duplicate subject identifiers are always an error.

    Raises
    ------
    InputFileError : missing/unreadable table, unknown column (the message lists the columns), empty subject
        identifier, duplicate subject, missing label
    """
    p = Path(path)
    columns = table_columns(p)
    for role, name in (("subject", subject_column), ("label", label_column), ("file", file_column),
                       ("site", site_column)):
        if name and name not in columns:
            raise InputFileError(path, f"no {role} column named {name!r}", line=1,
                                 expected=f"one of the columns: {', '.join(columns)}")
    with open(p, encoding="utf-8-sig", newline="") as fh:
        text = fh.read()
    delim = _delimiter(p, text.split("\n", 1)[0])
    rows: list[TableRow] = []
    seen: dict[str, int] = {}
    reader = csv.DictReader(text.splitlines(), delimiter=delim)
    reader.fieldnames = [c.strip() for c in (reader.fieldnames or [])]
    for i, rec in enumerate(reader, start=2):
        if not any((v or "").strip() for v in rec.values()):
            continue  # blank line
        subject = (rec.get(subject_column) or "").strip()
        if not subject:
            raise InputFileError(path, f"empty subject identifier in column {subject_column!r}", line=i)
        if subject in seen:
            raise InputFileError(path, f"subject {subject!r} appears twice (first on line {seen[subject]})", line=i,
                                 expected="one row per subject")
        seen[subject] = i
        label = (rec.get(label_column) or "").strip()
        if label.lower() in MISSING_VALUES:
            if allow_missing:
                if warnings is not None:
                    warnings.append(f"{path}: line {i}: subject {subject!r} has no label; left out")
                continue
            raise InputFileError(path, f"subject {subject!r} has no label in column {label_column!r}", line=i,
                                 expected="a label value (or allow missing subjects to be left out)")
        rows.append(TableRow(i, subject, _canonical_label(label), (rec.get(file_column) or "").strip()
                             if file_column else "", (rec.get(site_column) or "").strip() if site_column else ""))
    if not rows:
        raise InputFileError(path, "the label table has no labelled rows", expected="one row per subject")
    return rows


def _canonical_label(value: str) -> str:
    """'1', '1.0' and ' 1 ' are the same class."""
    try:
        f = float(value)
    except ValueError:
        return value
    return str(int(f)) if f.is_integer() else repr(f)


def find_files(folder: str | os.PathLike, suffixes: Sequence[str] = NIFTI_SUFFIXES,
               exclude: Iterable[str] = ()) -> list[Path]:
    """Files under ``folder`` (recursively, hidden ones skipped) whose name ends with one of ``suffixes``."""
    root = Path(folder)
    if not root.is_dir():
        raise InputFileError(folder, "images folder not found" if not root.exists() else "is not a folder")
    skip = {Path(e).resolve() for e in exclude if e}
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel) or not p.is_file():
            continue
        if p.name.lower().endswith(tuple(suffixes)) and p.resolve() not in skip:
            out.append(p)
    if not out:
        raise InputFileError(folder, f"no {' / '.join(suffixes)} files in this folder or below")
    return out


def file_stem(path: str | os.PathLike) -> str:
    name = Path(path).name
    for suffix in (".nii.gz", ".nii") + TIMESERIES_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


class _FileIndex:
    """Lookup of files by stem, BIDS ``sub-`` label, name token and numeric token (strongest match first)."""

    def __init__(self, files: Sequence[Path], root: Path):
        self.files, self.root = list(files), root
        self.by_stem: dict[str, list[int]] = {}
        self.by_bids: dict[str, list[int]] = {}
        self.by_token: dict[str, list[int]] = {}
        self.by_number: dict[int, list[int]] = {}
        for i, f in enumerate(self.files):
            stem = file_stem(f)
            self.by_stem.setdefault(stem, []).append(i)
            for m in re.finditer(r"(?:^|[_/])sub-([A-Za-z0-9]+)", str(f.relative_to(root)).replace(os.sep, "/")):
                for key in {m.group(1), *_numeric_key(m.group(1))}:
                    _add(self.by_bids, key, i)
            tokens = {t for t in re.split(r"[_\-.\s]+", stem) if t}
            for t in tokens:
                _add(self.by_token, t, i)
                if t.isdigit():
                    _add(self.by_number, int(t), i)

    def match(self, subject: str, file_id: str) -> list[int]:
        if file_id:
            direct = (self.root / file_id)
            if file_id.lower().endswith(NIFTI_SUFFIXES + TIMESERIES_SUFFIXES) or "/" in file_id:
                return [i for i, f in enumerate(self.files) if f.resolve() == direct.resolve()]
            exact = self.by_stem.get(file_id, [])
            if exact:
                return exact
            return [i for i, f in enumerate(self.files) if re.match(re.escape(file_id) + r"[_\-.]", file_stem(f))]
        for hits in (self.by_stem.get(subject), self.by_bids.get(subject),
                     self.by_bids.get(_numeric_key(subject)[0]) if _numeric_key(subject) else None,
                     self.by_token.get(subject),
                     self.by_number.get(int(subject)) if subject.isdigit() else None):
            if hits:
                return sorted(set(hits))
        return []


def _numeric_key(s: str) -> list[Any]:
    return [int(s)] if s.isdigit() else []


def _add(index: dict, key: Any, i: int) -> None:
    lst = index.setdefault(key, [])
    if i not in lst:
        lst.append(i)


# ---------------------------------------------------------------------------------------------------------------
# the cohort and its audit
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Subject:
    """One subject: table row, matched file, header (NIfTI inputs) and any problem with its file."""

    id: str
    label: str
    path: str
    site: str = ""
    line: int = 0
    header: ScanHeader | None = None
    error: str = ""
    error_exc: InputFileError | None = field(default=None, repr=False, compare=False)

    @property
    def status(self) -> str:
        return f"error: {self.error}" if self.error else "ok"


@dataclass
class AuditFlag:
    """One finding of the cohort audit.

    severity : 'info' (worth knowing), 'warning' (check it), 'error' (training refuses to start)
    fix : a one-click remedy the GUI offers ('canonicalise', 'resample') or ''
    handled : the current settings already deal with it (e.g. mixed orientations with canonicalisation on)
    """

    kind: str
    severity: str
    message: str
    files: list[str] = field(default_factory=list)
    fix: str = ""
    handled: bool = False
    exc: InputFileError | None = field(default=None, repr=False, compare=False)


@dataclass
class Cohort:
    """Subjects with labels and (for NIfTI inputs) headers, plus the audit's findings.

    classes : [negative, positive] label values; ``y`` is 1 for the positive class
    """

    subjects: list[Subject]
    classes: list[str]
    table: str
    folder: str
    kind: str  # 'nifti' | 'timeseries'
    flags: list[AuditFlag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.subjects)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.subjects]

    @property
    def positive_label(self) -> str:
        return self.classes[-1] if self.classes else ""

    @property
    def y(self) -> np.ndarray:
        """(N,) int64: 1 for the positive class."""
        return np.array([int(s.label == self.positive_label) for s in self.subjects], np.int64)

    @property
    def sites(self) -> list[str] | None:
        sites = [s.site for s in self.subjects]
        return sites if any(sites) else None

    def errors(self) -> list[AuditFlag]:
        return [f for f in self.flags if f.severity == "error" and not f.handled]

    def check(self) -> None:
        """Raise the first unhandled error of the audit (an ``InputFileError`` naming the file or table line)."""
        for f in self.errors():
            raise f.exc or InputFileError(f.files[0] if f.files else self.table, f.message)

    def class_counts(self) -> dict[str, int]:
        c = Counter(s.label for s in self.subjects)
        return {k: c.get(k, 0) for k in self.classes}


def build_cohort(cfg: ScansDataConfig) -> Cohort:
    """Match the label table to the files, read every header and audit the cohort (no voxel data read).

    File problems are recorded on the subject and as audit flags rather than raised, so that every problem is
    listed at once; call ``Cohort.check()`` to stop at the first one.

    Raises
    ------
    ConfigError : no images/time-series folder or labels table given
    InputFileError : the table cannot be read or lacks a named column; the folder is missing or empty
    """
    if not cfg.labels:
        raise ConfigError("choose the labels table (CSV/TSV with one row per subject)")
    timeseries = cfg.route == "connectivity" and bool(cfg.timeseries)
    folder = cfg.timeseries if timeseries else cfg.images
    if not folder:
        raise ConfigError("choose the folder of ROI time-series tables" if cfg.route == "connectivity" and not
                          cfg.atlas else "choose the folder of NIfTI images")
    if cfg.route == "connectivity" and not timeseries and not cfg.atlas:
        raise ConfigError("the connectivity route needs ROI time-series tables, or 4-D images with an atlas")
    notes: list[str] = []
    rows = read_label_table(cfg.labels, cfg.subject_column, cfg.label_column, file_column=cfg.file_column,
                            site_column=cfg.site_column, allow_missing=cfg.allow_missing, warnings=notes)
    root = Path(folder)
    files = find_files(root, TIMESERIES_SUFFIXES if timeseries else NIFTI_SUFFIXES,
                       exclude=(cfg.mask, cfg.atlas, cfg.labels))
    index = _FileIndex(files, root)
    flags: list[AuditFlag] = []
    subjects: list[Subject] = []
    used: dict[int, TableRow] = {}
    for row in rows:
        hits = index.match(row.subject, row.file_id)
        if len(hits) > 1:
            names = ", ".join(files[i].name for i in hits[:4]) + (" ..." if len(hits) > 4 else "")
            exc = InputFileError(cfg.labels, f"{len(hits)} files match subject {row.subject!r}: {names}",
                                 line=row.line, expected="one file per subject; name each file in a file column")
            flags.append(AuditFlag("ambiguous-file", "error", str(exc), [cfg.labels], exc=exc))
            continue
        if not hits:
            exc = InputFileError(cfg.labels, f"subject {row.subject!r} has no file in {folder}", line=row.line,
                                 expected=f"a file named after {row.file_id or row.subject!r}")
            if cfg.allow_missing:
                notes.append(f"{exc}; left out")
            else:
                flags.append(AuditFlag("missing-file", "error", str(exc), [cfg.labels], exc=exc))
            continue
        i = hits[0]
        if i in used:
            exc = InputFileError(cfg.labels, f"subjects {used[i].subject!r} (line {used[i].line}) and "
                                             f"{row.subject!r} both match {files[i].name}", line=row.line,
                                 expected="one file per subject; name each file in a file column")
            flags.append(AuditFlag("ambiguous-file", "error", str(exc), [cfg.labels], exc=exc))
            continue
        used[i] = row
        subjects.append(Subject(row.subject, row.label, str(files[i]), row.site, row.line))
    for i, f in enumerate(files):
        if i not in used:
            exc = InputFileError(f, f"no row of the labels table {Path(cfg.labels).name} matches this file",
                                 expected=f"a row whose {cfg.file_column or cfg.subject_column} names it")
            if cfg.allow_missing:
                notes.append(f"{exc}; left out")
            else:
                flags.append(AuditFlag("unlabelled-file", "error", str(exc), [str(f)], exc=exc))
    if not timeseries:
        for s in subjects:
            try:
                s.header = read_header(s.path)
            except InputFileError as exc:
                s.error, s.error_exc = exc.problem, exc
                flags.append(AuditFlag("file-error", "error", str(exc), [s.path], exc=exc))
    classes = _classes(subjects, cfg, flags)
    cohort = Cohort(subjects, classes, str(cfg.labels), str(folder), "timeseries" if timeseries else "nifti",
                    flags, notes)
    if not timeseries:
        flags.extend(audit_headers([s.header for s in subjects if s.header is not None], cfg))
    return cohort


def _classes(subjects: list[Subject], cfg: ScansDataConfig, flags: list[AuditFlag]) -> list[str]:
    values = sorted({s.label for s in subjects}, key=_natural)
    if len(values) < 2:
        what = f"only one class ({values[0]!r})" if values else "no labelled subject with a file"
        exc = InputFileError(cfg.labels, f"{what} in column {cfg.label_column!r}",
                             expected="two classes (e.g. patients and controls)")
        flags.append(AuditFlag("classes", "error", str(exc), [cfg.labels], exc=exc))
        return values
    if len(values) > 2:
        exc = InputFileError(cfg.labels, f"{len(values)} classes in column {cfg.label_column!r} "
                                         f"({', '.join(values[:6])})", expected="two classes")
        flags.append(AuditFlag("classes", "error", str(exc), [cfg.labels], exc=exc))
        return values
    if cfg.positive_label:
        pos = _canonical_label(cfg.positive_label)
        if pos not in values:
            raise ConfigError(f"positive label {cfg.positive_label!r} is not one of the labels: {', '.join(values)}")
    elif set(values) == {"0", "1"}:
        pos = "1"
    else:
        pos = values[0]
    return [v for v in values if v != pos] + [pos]


def _natural(v: str) -> tuple:
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def audit_headers(headers: Sequence[ScanHeader], cfg: ScansDataConfig) -> list[AuditFlag]:
    """Cohort-level findings: pseudo-4-D files, orientations, spatial codes, grids, dimensions, TRs."""
    flags: list[AuditFlag] = []
    if not headers:
        return flags
    n = len(headers)

    def paths(hs):
        return [h.path for h in hs]

    pseudo = [h for h in headers if h.pseudo_4d]
    if pseudo:
        flags.append(AuditFlag("pseudo-4d", "info", f"{len(pseudo)} file(s) are pseudo-4-D (x, y, z, 1): read as "
                                                    f"3-D volumes", paths(pseudo), handled=True))
    codes = Counter(h.axcodes for h in headers)
    if len(codes) > 1:
        desc = ", ".join(f"{c} × {k}" for k, c in codes.most_common())
        flags.append(AuditFlag("mixed-orientation", "warning" if cfg.canonicalise or cfg.resample else "error",
                               f"mixed orientations ({desc}); " + ("every scan is reoriented to RAS on load"
                                                                   if cfg.canonicalise else
                                                                   "reorient them to one orientation (canonicalise)"),
                               paths(h for h in headers if h.axcodes != codes.most_common(1)[0][0]),
                               fix="canonicalise", handled=cfg.canonicalise or cfg.resample))
    elif next(iter(codes)) != "RAS":
        flags.append(AuditFlag("orientation", "info", f"stored in {next(iter(codes))} orientation" +
                               ("; reoriented to RAS on load" if cfg.canonicalise else ""), [],
                               fix="canonicalise", handled=cfg.canonicalise))
    nocode = [h for h in headers if h.qform_code == 0 and h.sform_code == 0]
    if nocode:
        flags.append(AuditFlag("no-spatial-codes", "warning",
                               f"{len(nocode)} file(s) have qform_code = sform_code = 0: their orientation is not "
                               "known from the header (left/right may be flipped); check them", paths(nocode)))
    grids: dict[tuple, list[ScanHeader]] = {}
    for h in headers:
        g = h.grid(cfg.canonicalise)
        key = (g.shape, tuple(np.round(g.affine, 2).ravel()))
        grids.setdefault(key, []).append(h)
    if len(grids) > 1:
        groups = sorted(grids.values(), key=len, reverse=True)
        desc = "; ".join(f"{len(g)} × {g[0].grid(cfg.canonicalise).describe()}" for g in groups[:4])
        odd = [h for g in groups[1:] for h in g]
        first = groups[0][0]
        exc = None if cfg.resample else InputFileError(
            odd[0].path, f"is on a different grid ({odd[0].grid(cfg.canonicalise).describe()}) from "
                         f"{Path(first.path).name} ({first.grid(cfg.canonicalise).describe()})",
            expected="one grid for every scan; turn on resampling")
        flags.append(AuditFlag("grid", "error", f"{len(grids)} different grids: {desc}" +
                               ("; every scan is resampled to one grid" if cfg.resample else
                                "; turn on resampling to bring them onto one grid"), paths(odd), fix="resample",
                               handled=cfg.resample, exc=exc))
    n4 = sum(h.is_4d for h in headers)
    if 0 < n4 < n:
        flags.append(AuditFlag("dimensions", "warning", f"{n4} file(s) are 4-D and {n - n4} are 3-D",
                               paths(h for h in headers if not h.is_4d)))
    if n4:
        no_tr = [h for h in headers if h.is_4d and h.tr is None]
        if no_tr and (cfg.summary == "alff" or cfg.route == "connectivity"):
            exc = InputFileError(no_tr[0].path, "has no repetition time (TR) in its header",
                                 expected="pixdim[4] > 0 (needed for the ALFF frequency band)")
            flags.append(AuditFlag("tr", "error", f"{len(no_tr)} 4-D file(s) have no TR", paths(no_tr), exc=exc))
        trs = Counter(round(h.tr, 3) for h in headers if h.is_4d and h.tr)
        if len(trs) > 1:
            flags.append(AuditFlag("tr", "warning", "different repetition times: " +
                                   ", ".join(f"{c} × {k:g} s" for k, c in trs.most_common()), []))
        notes = [h for h in headers if h.notes]
        for h in notes[:5]:
            flags.append(AuditFlag("header", "info", f"{Path(h.path).name}: {'; '.join(h.notes)}", [h.path]))
    if cfg.route == "connectivity" and n4 < n:
        exc = InputFileError(next(h.path for h in headers if not h.is_4d), "is not a 4-D time series",
                             expected="4-D fMRI (x, y, z, t) to average inside the atlas regions")
        flags.append(AuditFlag("dimensions", "error", str(exc), paths(h for h in headers if not h.is_4d), exc=exc))
    return flags


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
    from nibabel.processing import resample_from_to
    from scipy.ndimage import gaussian_filter
    import nibabel as nib

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
    p = Path(path)
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
# preprocessing with a cache
# ---------------------------------------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """``<user cache folder>/scans`` (``biodeep_gui.paths``: XDG / LOCALAPPDATA / Library/Caches)."""
    from biodeep_gui import paths

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
        _atomic_save(path, arr)
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


def _atomic_save(path: Path, arr: np.ndarray) -> None:
    """np.save through a temporary file + rename: readers never see a half-written cache entry."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, arr)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
