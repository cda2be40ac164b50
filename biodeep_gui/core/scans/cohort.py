"""A cohort: the label table, its match to the image files, and the audit of their headers."""
from __future__ import annotations

import csv
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.common.fileio import check_readable_file
from biodeep_gui.core.scans.config import ScansDataConfig
from biodeep_gui.core.scans.nifti import MISSING_VALUES, NIFTI_SUFFIXES, TIMESERIES_SUFFIXES, ScanHeader, read_header


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


_MAX_TABLE_BYTES = 256 << 20  # one row per subject: a label table of more is not one


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
    p = check_readable_file(path, "a CSV or TSV label table", max_bytes=_MAX_TABLE_BYTES)
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            first = fh.readline(1 << 20)
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
    p = check_readable_file(p, "a CSV or TSV label table", max_bytes=_MAX_TABLE_BYTES)
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # a spreadsheet's Latin-1 export: an accent in a site name is no reason to fail
        text = raw.decode("latin-1")
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


