"""What kind of file a path holds, and the column names of a table, without reading the sequences.

Used by the Sequences tab's form (which fields a dropped file fills, which columns a table offers) and by the
Predict tab's file picker. Only a table's header line is ever read here.
"""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

from biodeep_gui.core.common.fileio import check_readable_file

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas", ".ffn", ".fq", ".fastq", ".seq")
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
BED_SUFFIXES = (".bed", ".narrowpeak", ".broadpeak")
COMPRESSED_SUFFIXES = (".gz", ".bgz", ".bz2")
FASTA_FILTER = "FASTA or FASTQ (*.fa *.fasta *.fna *.fas *.fq *.fastq *.gz *.bgz);;All files (*)"
TABLE_FILTER = "Tables (*.csv *.tsv *.tab *.txt *.gz);;All files (*)"
BED_FILTER = "BED peaks (*.bed *.narrowPeak *.broadPeak *.gz);;All files (*)"
TEST_FILTER = "Sequences (*.fa *.fasta *.fna *.fq *.fastq *.csv *.tsv *.txt *.gz);;All files (*)"
#: Words in a file name that mark the background half of a dropped FASTA pair.
BACKGROUND_WORDS = ("background", "backgr", "bg", "neg", "negative", "negatives", "shuffled", "shuffle",
                    "control", "ctrl", "unbound", "random", "decoy")


def file_kind(path: str | Path) -> str | None:
    """'fasta', 'table' or 'bed' from a file name (compression suffixes ignored); None when not recognised."""
    name = Path(path).name.lower()
    for comp in COMPRESSED_SUFFIXES:
        if name.endswith(comp):
            name = name[: -len(comp)]
    suffix = Path(name).suffix
    if suffix in FASTA_SUFFIXES:
        return "fasta"
    if suffix in TABLE_SUFFIXES:
        return "table"
    if suffix in BED_SUFFIXES:
        return "bed"
    return None


def looks_like_background(path: str | Path) -> bool:
    """True when a file name says it holds background / negative sequences (e.g. ``ctcf_background.fa``)."""
    stem = Path(path).name.lower()
    words = [w for w in "".join(ch if ch.isalnum() else " " for ch in stem).split() if w]
    return any(w in BACKGROUND_WORDS for w in words)


def read_table_header(path: str | Path) -> list[str]:
    """Column names from the first non-comment line of a CSV/TSV file (gzip allowed).

    Tab-separated when the name ends in .tsv/.tab or the line holds a tab and no comma; comma-separated otherwise.

    Raises
    ------
    OSError, UnicodeDecodeError when the file cannot be read; ValueError when it has no header line;
    InputFileError for a named pipe, a device or a folder (refused before opening: it could block the window).
    """
    path = check_readable_file(path, "a CSV/TSV table")
    opener = gzip.open if path.name.lower().endswith((".gz", ".bgz")) else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        for _ in range(1000):  # skip comment / blank lines, but never scan a whole file
            line = fh.readline()
            if not line:
                break
            if line.strip() and not line.lstrip().startswith("#"):
                name = path.name.lower().removesuffix(".gz").removesuffix(".bgz")
                tab = name.endswith((".tsv", ".tab")) or ("\t" in line and "," not in line)
                row = next(csv.reader(io.StringIO(line), delimiter="\t" if tab else ","))
                cols = [c.strip() for c in row]
                if any(cols):
                    return cols
    raise ValueError(f"{path}: no header row found (expected column names on the first line)")


def guess_columns(cols: list[str]) -> tuple[str, list[str], str]:
    """Likely sequence, label and id columns from their names."""
    low = [c.lower() for c in cols]
    seq = next((c for c, lc in zip(cols, low) if lc in ("sequence", "seq", "dna", "sequences")), "")
    seq = seq or next((c for c, lc in zip(cols, low) if "seq" in lc), "")
    ident = next((c for c, lc in zip(cols, low) if lc in ("id", "name", "ids", "seq_id", "sequence_id", "peak",
                                                           "record", "identifier")), "")
    labels = [c for c, lc in zip(cols, low) if lc in ("label", "labels", "class", "target", "y", "bound")]
    if not labels:
        labels = [c for c in cols if c not in (seq, ident)][:1]
    return seq, labels, ident


def local_files(mime) -> list[str]:
    """The local file paths a drag or drop carries (none for web links or text)."""
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]
