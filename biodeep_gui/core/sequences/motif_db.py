"""Transcription-factor motifs as position frequency matrices: reading, writing and the bundled JASPAR set.

A ``Motif`` holds a (W, 4) probability matrix over A, C, G, T (rows = positions, each row sums to 1).
``load_motifs`` reads the three formats biologists get motifs in:

- MEME minimal motif format (also the ``meme.txt`` the MEME program writes, and JASPAR's ``.meme`` export);
- JASPAR ``.jaspar`` files (``>ID name`` + four ``A [ ... ]`` rows) and raw ``.pfm`` count matrices;
- TRANSFAC matrices (``P0  A C G T`` blocks ended by ``//``).

JASPAR and TRANSFAC go through Biopython's ``Bio.motifs`` parsers. MEME files are read here because
Biopython's minimal-MEME reader rounds each probability to ``prob * nsites`` counts (steps of 0.05 for the
default ``nsites= 20``) and drops the motif's alternate name, which is the TF name users look for.

``bundled_jaspar()`` returns the JASPAR 2026 CORE vertebrate collection shipped in ``resources/motifs``
(CC BY 4.0, see the README there); ``write_meme`` writes any motif list as a file that Biopython, MEME suite
tools and memelite/Tomtom all read.
"""
from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.common.fileio import atomic_write, check_readable_file

BUNDLED_JASPAR_RELEASE = "JASPAR2026"
BUNDLED_JASPAR_FILE = "JASPAR2026_CORE_vertebrates.meme"
BASES = "ACGT"

#: MEME's convention for a matrix whose number of sites is unknown.
DEFAULT_NSITES = 20

_MEME_EXTS = {".meme", ".minimal"}
_JASPAR_EXTS = {".jaspar", ".pfm"}
_TRANSFAC_EXTS = {".transfac", ".tf", ".dat"}
_EXPECTED = "a motif file in MEME, JASPAR (.jaspar / .pfm) or TRANSFAC format"


@dataclass(frozen=True, eq=False, repr=False)
class Motif:
    """One position frequency matrix.

    Attributes
    ----------
    id : identifier, e.g. ``"MA0139.2"`` (no whitespace)
    name : TF name, e.g. ``"CTCF"`` (the id again when the file gives none)
    pfm : (W, 4) float64, probabilities of A, C, G, T at each of the W positions; every row sums to 1.
          Stored read-only, because bundled motifs are shared between callers.
    nsites : number of binding sites the matrix was built from (``DEFAULT_NSITES`` when unknown)
    source : where the motif came from (a file path, or ``"JASPAR2026 CORE vertebrates"``)
    """

    id: str
    name: str
    pfm: np.ndarray
    nsites: int = DEFAULT_NSITES
    source: str = ""

    def __post_init__(self):
        pfm = np.array(self.pfm, dtype=np.float64)  # always a private copy
        if pfm.ndim != 2 or pfm.shape[1] != 4 or pfm.shape[0] == 0:
            raise ValueError(f"motif {self.id}: pfm must have shape (W, 4) with W >= 1, got {pfm.shape}")
        if not np.all(np.isfinite(pfm)) or np.any(pfm < 0):
            raise ValueError(f"motif {self.id}: pfm has negative or non-finite values")
        sums = pfm.sum(axis=1, keepdims=True)
        if np.any(sums <= 0):
            raise ValueError(f"motif {self.id}: pfm has an all-zero position")
        pfm /= sums
        pfm.setflags(write=False)
        object.__setattr__(self, "pfm", pfm)
        object.__setattr__(self, "nsites", max(1, int(round(self.nsites))))
        if not self.name:
            object.__setattr__(self, "name", self.id)

    def __repr__(self) -> str:
        return f"Motif({self.id!r}, {self.name!r}, width={self.width}, nsites={self.nsites})"

    @property
    def width(self) -> int:
        return int(self.pfm.shape[0])

    @property
    def base_id(self) -> str:
        """The stable JASPAR id without its version (``"MA0139.2"`` -> ``"MA0139"``)."""
        return self.id.split(".", 1)[0]

    @property
    def consensus(self) -> str:
        """Most probable base at each position."""
        return "".join(BASES[i] for i in self.pfm.argmax(axis=1))

    def information_content(self) -> np.ndarray:
        """(W,) bits per position against a uniform background (0 to 2)."""
        p = self.pfm
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1)
        return 2.0 - h

    def log_odds(self, background: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
                 pseudocount: float = 0.01) -> np.ndarray:
        """(W, 4) log2-odds scores against ``background`` (A, C, G, T).

        ``pseudocount`` (a fraction of the background, added to every cell before renormalising) keeps a
        base never seen in the sites from scoring minus infinity.
        """
        bg = np.asarray(background, dtype=np.float64)
        bg = bg / bg.sum()
        p = (self.pfm + pseudocount * bg) / (1.0 + pseudocount)
        return np.log2(p / bg)

    def reverse_complement(self) -> "Motif":
        """The same motif read on the other strand."""
        return Motif(self.id, self.name, self.pfm[::-1, ::-1], self.nsites, self.source)


# --------------------------------------------------------------------------------------------- reading


def load_motifs(path: str | PathLike) -> list[Motif]:
    """Read every motif in a MEME, JASPAR or TRANSFAC file.

    The format is recognised from the content (``MEME version`` line, ``P0`` matrix header, ``>`` headers
    or bare count rows); the extension only sharpens the error message when the content matches none.
    Positions that do not sum exactly to 1 (rounded probabilities, counts) are normalised.

    Returns
    -------
    list of Motif, in file order; ``source`` is the file path.

    Raises
    ------
    InputFileError
        missing, empty, binary or unreadable files; matrices with no motifs, ragged rows, negative values
        or a position whose counts are all zero. The message names the file and the motif.
    """
    path = Path(path)
    text = _read_text(path)
    fmt = _sniff(text)
    if fmt is None:
        ext = path.suffix.lower()
        hint = ("no 'MEME version' line" if ext in _MEME_EXTS else
                "no '>ID name' header followed by four rows of counts" if ext in _JASPAR_EXTS else
                "no 'P0  A C G T' matrix" if ext in _TRANSFAC_EXTS else
                "not a recognised motif format")
        raise InputFileError(path, hint, expected=_EXPECTED)
    if fmt == "meme":
        raw = _parse_meme(path, text)
    elif fmt == "jaspar":
        raw = _parse_jaspar(path, text)
    else:
        raw = _parse_transfac(path, text)
    if not raw:
        raise InputFileError(path, "the file holds no motifs", expected=_EXPECTED)
    return [_make_motif(path, i, *r) for i, r in enumerate(raw, start=1)]


_MAX_MOTIF_BYTES = 256 << 20  # every JASPAR collection together is a few tens of megabytes


def _read_text(path: Path) -> str:
    check_readable_file(path, _EXPECTED, max_bytes=_MAX_MOTIF_BYTES)  # no FIFO, device or huge file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if b"\0" in data[:4096]:
        raise InputFileError(path, "is a binary file, not a text motif file", expected=_EXPECTED)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # motif files are ASCII; a stray accent in a comment is no reason to fail
    if not text.strip():
        raise InputFileError(path, "the file is empty", expected=_EXPECTED)
    return text.replace("\r\n", "\n").replace("\r", "\n")


_NUMBER_ROW = re.compile(r"^\s*(?:[ACGTU]\s*)?\[?\s*[-+0-9.eE\s]+\]?\s*$")


def _sniff(text: str) -> str | None:
    if re.search(r"^MEME version", text, re.M):
        return "meme"
    if re.search(r"^\s*P[O0]\s+A\s+C\s+G\s+T", text, re.M):
        return "transfac"
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if lines and all(ln.lstrip().startswith(">") or _NUMBER_ROW.match(ln) for ln in lines):
        return "jaspar"
    return None


def _make_motif(path: Path, record: int, motif_id: str, name: str, rows: np.ndarray, nsites: float,
                line: int | None) -> Motif:
    """Validate one parsed (W, 4) matrix and build the Motif; problems become InputFileError."""
    where = dict(record=record, record_id=motif_id or None, line=line)
    if rows.ndim != 2 or rows.shape[0] == 0:
        raise InputFileError(path, "the motif has no positions", **where)
    if not np.all(np.isfinite(rows)):
        raise InputFileError(path, "the matrix holds a value that is not a number", **where)
    if np.any(rows < 0):
        raise InputFileError(path, "the matrix holds a negative value", expected="counts or probabilities >= 0",
                             **where)
    zero = np.flatnonzero(rows.sum(axis=1) <= 0)
    if zero.size:
        raise InputFileError(path, f"position {int(zero[0]) + 1} has no counts (all four values are 0)",
                             expected="at least one base with a count above 0 at every position", **where)
    motif_id = re.sub(r"\s+", "_", motif_id.strip()) or f"{path.stem}_{record}"
    return Motif(motif_id, (name or motif_id).strip(), rows, nsites, str(path))


def _nsites_from_counts(rows: np.ndarray) -> float:
    """Sites behind a count matrix: the largest column total (gapped sites lower some columns).

    A matrix of frequencies (totals ~1) carries no site count; MEME's default is used then.
    """
    total = float(rows.sum(axis=1).max()) if rows.size else 0.0
    return DEFAULT_NSITES if total <= 1.0 + 1e-6 else total


def _parse_meme(path: Path, text: str) -> list[tuple]:
    """MEME minimal format and MEME's own text output: every ``MOTIF`` with its letter-probability matrix."""
    lines = text.split("\n")
    for lineno, line in enumerate(lines, start=1):
        if line.startswith("ALPHABET"):
            letters = line.split("=", 1)[1].strip().upper() if "=" in line else line
            if letters not in ("ACGT", "ACGU") and "DNA" not in letters.upper() and "RNA" not in letters.upper():
                raise InputFileError(path, f"alphabet {letters!r} is not DNA", line=lineno,
                                     expected="ALPHABET= ACGT")
            break
    out: list[tuple] = []
    i = 0
    current: tuple[str, str, int] | None = None  # id, name, line of the MOTIF record without its matrix yet
    while i < len(lines):
        line = lines[i]
        if line.startswith("MOTIF"):
            if current is not None:
                raise InputFileError(path, "this motif has no letter-probability matrix", record=len(out) + 1,
                                     record_id=current[0], line=current[2])
            words = line.split()
            if len(words) < 2:
                raise InputFileError(path, "MOTIF line without an identifier", line=i + 1,
                                     expected="MOTIF <id> [<name>]")
            current = (words[1], words[2] if len(words) > 2 else words[1], i + 1)
        elif line.startswith("letter-probability matrix") and current is not None:
            keys = dict(re.findall(r"(\w+)\s*=\s*(\S+)", line.split(":", 1)[-1]))
            where = dict(record=len(out) + 1, record_id=current[0])
            try:
                width = int(keys["w"]) if "w" in keys else None
                nsites = float(keys["nsites"]) if "nsites" in keys else DEFAULT_NSITES
                alength = int(keys.get("alength", 4))
            except ValueError:
                raise InputFileError(path, "unreadable 'alength=', 'w=' or 'nsites=' value", line=i + 1,
                                     **where) from None
            if alength != 4:
                raise InputFileError(path, f"alength= {alength}", line=i + 1, expected="alength= 4 (DNA)", **where)
            rows = []
            j = i + 1
            while j < len(lines) and (width is None or len(rows) < width):
                words = lines[j].split()
                if not words:
                    if width is None and rows:
                        break  # without w= the matrix ends at the first blank line
                    j += 1
                    continue
                try:
                    values = [float(v) for v in words]
                except ValueError:
                    if width is None and rows:
                        break
                    raise InputFileError(path, f"matrix row {len(rows) + 1} is not four numbers: {lines[j].strip()!r}",
                                         line=j + 1, **where) from None
                if len(values) != 4:
                    raise InputFileError(path, f"matrix row {len(rows) + 1} has {len(values)} values", line=j + 1,
                                         expected="4 (A, C, G, T)", **where)
                rows.append(values)
                j += 1
            if width is not None and len(rows) < width:
                raise InputFileError(path, f"the matrix stops after {len(rows)} of its w= {width} rows", line=j,
                                     **where)
            out.append((current[0], current[1], np.array(rows, dtype=np.float64).reshape(-1, 4), nsites,
                        current[2]))
            current = None
            i = j
            continue
        i += 1
    if current is not None:
        raise InputFileError(path, "this motif has no letter-probability matrix", record=len(out) + 1,
                             record_id=current[0], line=current[2])
    return out


def _parse_jaspar(path: Path, text: str) -> list[tuple]:
    """JASPAR ``.jaspar`` (many motifs) or ``.pfm`` (one, possibly without a header) via Biopython."""
    from Bio.motifs import jaspar

    numbered = [(n, ln) for n, ln in enumerate(text.split("\n"), start=1) if ln.strip()]
    header_lines = [n for n, ln in numbered if ln.lstrip().startswith(">")]
    if not header_lines:
        # A bare .pfm matrix: give it a header so one parser handles both layouts.
        if len(numbered) != 4:
            raise InputFileError(path, f"a matrix without a '>' header needs exactly four rows (A, C, G, T), "
                                       f"found {len(numbered)}", expected=_EXPECTED)
        text = f">{path.stem} {path.stem}\n" + "\n".join(ln for _, ln in numbered) + "\n"
        header_lines = [None]
    else:
        # Count the rows under each header here: Biopython would silently glue a short matrix to the next one.
        if numbered[0][0] != header_lines[0]:
            raise InputFileError(path, "matrix rows before the first '>' header", line=numbered[0][0],
                                 expected="'>ID name' then four rows of counts")
        bounds = header_lines + [numbered[-1][0] + 1]
        for k, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:]), start=1):
            n_rows = sum(1 for n, _ in numbered if start < n < stop)
            if n_rows != 4:
                head = next(ln for n, ln in numbered if n == start).lstrip()[1:].split()
                raise InputFileError(path, f"the matrix has {n_rows} rows", record=k,
                                     record_id=head[0] if head else None, line=start,
                                     expected="four rows of counts, for A, C, G and T")
    try:
        record = jaspar.read(io.StringIO(text), "jaspar")
    except Exception as exc:  # noqa: BLE001 - Biopython raises bare Exception for ragged rows
        raise InputFileError(path, f"unreadable JASPAR matrix ({exc})", expected=_EXPECTED) from None
    if len(record) != len(header_lines):
        raise InputFileError(path, f"read {len(record)} matrices under {len(header_lines)} '>' headers",
                             expected=_EXPECTED)
    out = []
    for motif, line in zip(record, header_lines):
        rows = _counts_to_rows(path, motif, line)
        out.append((motif.matrix_id or "", motif.name or "", rows, _nsites_from_counts(rows), line))
    return out


def _parse_transfac(path: Path, text: str) -> list[tuple]:
    """TRANSFAC matrices via Biopython (lenient mode: real files rarely follow the column rules)."""
    from Bio.motifs import transfac

    if not re.search(r"^//\s*$", text.rstrip().split("\n")[-1]):
        text = text.rstrip("\n") + "\n//\n"  # Biopython only keeps a motif when its '//' is reached
    try:
        record = transfac.read(io.StringIO(text), strict=False)
    except Exception as exc:  # noqa: BLE001 - Biopython raises ValueError/KeyError/IndexError on bad blocks
        raise InputFileError(path, f"unreadable TRANSFAC matrix ({exc})", expected=_EXPECTED) from None
    out = []
    for k, motif in enumerate(record, start=1):
        motif_id = motif.get("AC") or motif.get("ID") or f"{path.stem}_{k}"
        name = motif.get("ID") or motif.get("NA") or motif_id
        if name == motif_id and motif.get("NA"):
            name = motif["NA"]
        rows = _counts_to_rows(path, motif, None, record=k, record_id=motif_id)
        out.append((motif_id, name, rows, _nsites_from_counts(rows), None))
    return out


def _counts_to_rows(path: Path, motif, line, record=None, record_id=None) -> np.ndarray:
    try:
        rows = np.array([list(motif.counts[b]) for b in BASES], dtype=np.float64).T
    except (KeyError, ValueError, TypeError) as exc:
        raise InputFileError(path, f"unreadable matrix ({exc})", record=record,
                             record_id=record_id or getattr(motif, "matrix_id", None), line=line) from None
    return rows.reshape(-1, 4)


# ---------------------------------------------------------------------------------------------- bundle


#: Taxonomic groups of the bundled JASPAR CORE collections (one MEME file each in resources/motifs).
COLLECTIONS = ("vertebrates", "plants", "insects", "nematodes", "fungi", "urochordates")


def collection_file(collection: str = "vertebrates") -> str:
    """File name of a bundled collection, e.g. ``JASPAR2026_CORE_plants.meme``; ``ValueError`` for an unknown one."""
    if collection not in COLLECTIONS:
        raise ValueError(f"unknown JASPAR collection {collection!r}; choose one of {', '.join(COLLECTIONS)}")
    return f"{BUNDLED_JASPAR_RELEASE}_CORE_{collection}.meme"


def collection_release(collection: str = "vertebrates") -> str:
    """The release name recorded with matches: ``JASPAR2026`` (vertebrates) or ``JASPAR2026 CORE plants``."""
    return BUNDLED_JASPAR_RELEASE if collection == "vertebrates" else f"{BUNDLED_JASPAR_RELEASE} CORE {collection}"


@functools.lru_cache(maxsize=len(COLLECTIONS))
def _bundled(collection: str = "vertebrates") -> tuple[Motif, ...]:
    from biodeep_gui.core.common.resources import resource_path

    path = resource_path("motifs", collection_file(collection))
    if not path.exists():
        raise InputFileError(path, "the bundled JASPAR motif file is missing; reinstall BioDeep")
    source = f"{BUNDLED_JASPAR_RELEASE} CORE {collection}"
    return tuple(Motif(m.id, m.name, m.pfm, m.nsites, source) for m in load_motifs(path))


def bundled_jaspar(collection: str = "vertebrates") -> list[Motif]:
    """The bundled JASPAR 2026 CORE motifs of one taxonomic group (``COLLECTIONS``; default vertebrates), latest
    version of each matrix, read once and cached.

    Returns a new list each call; the Motif objects themselves are shared and read-only.
    """
    return list(_bundled(collection))


def find_motif(key: str, motifs: Iterable[Motif] | None = None) -> Motif:
    """The motif with this full id (``MA0139.2``), else base id (``MA0139``), else TF name (``ctcf``, any case).

    Searches ``motifs`` or, by default, the bundled JASPAR set. With several matches for a base id or name,
    the highest version / first in order is returned. Raises ``KeyError`` when nothing matches.
    """
    pool = list(_bundled("vertebrates") if motifs is None else motifs)
    for m in pool:
        if m.id == key:
            return m
    same_base = [m for m in pool if m.base_id == key]
    if same_base:
        return max(same_base, key=lambda m: _version(m.id))
    for m in pool:
        if m.name.upper() == key.upper():
            return m
    raise KeyError(f"no motif with id or name {key!r}")


def _version(motif_id: str) -> int:
    tail = motif_id.rsplit(".", 1)[-1]
    return int(tail) if "." in motif_id and tail.isdigit() else 0


# --------------------------------------------------------------------------------------------- writing


def format_meme(motifs: Iterable[Motif], background: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
                background_source: str | None = None) -> str:
    """MEME minimal format (version 4) text for ``motifs``: ``MOTIF <id> <name>`` + letter-probability matrix.

    background : (4,) A, C, G, T frequencies for the "Background letter frequencies" line (normalised)
    background_source : said in that header line, as MEME does: ``(from <source>):``; None: a bare header
    """
    bg = np.asarray(background, dtype=np.float64)
    bg = bg / bg.sum()
    header = "Background letter frequencies" + (f" (from {background_source}):" if background_source else "")
    # Single spaces in the background line: Biopython's reader splits it on " ".
    parts = [f"MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n{header}\n",
             " ".join(f"{b} {p:.6f}" for b, p in zip(BASES, bg)) + "\n\n"]
    for m in motifs:
        motif_id = re.sub(r"\s+", "_", m.id)
        name = re.sub(r"\s+", "_", m.name)
        parts.append(f"MOTIF {motif_id} {name}\n" if name and name != motif_id else f"MOTIF {motif_id}\n")
        parts.append(f"letter-probability matrix: alength= 4 w= {m.width} nsites= {m.nsites} E= 0\n")
        parts.extend(" ".join(f"{v:.6f}" for v in row) + "\n" for row in m.pfm)
        parts.append("\n")
    return "".join(parts)


def write_meme(motifs: Iterable[Motif], path: str | PathLike,
               background: Sequence[float] = (0.25, 0.25, 0.25, 0.25), background_source: str | None = None) -> Path:
    """Write ``motifs`` as a MEME minimal motif file, atomically (temp file in the same folder + rename).

    Returns the path written. A failed write leaves any existing file at ``path`` untouched.
    """
    path = Path(path)
    atomic_write(path, format_meme(motifs, background, background_source))
    return path
