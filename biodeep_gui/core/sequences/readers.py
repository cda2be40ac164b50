"""Opening sequence files: compression found by content, other formats named, a first look at the head."""
from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import os
import zlib
from dataclasses import dataclass
from itertools import islice
from typing import Iterator

from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.common.fileio import check_readable_file
from biodeep_gui.core.sequences.dataset import _SNIFF_BYTES, _clip

# ---- opening files ---------------------------------------------------------------------------------------------

def _latin1_fallback(exc: UnicodeError):
    # A header saved as latin-1/cp1252 (an accent in a gene or sample name) reads as those characters
    # instead of failing the whole file; valid UTF-8 is unaffected.
    if isinstance(exc, UnicodeDecodeError):
        return exc.object[exc.start:exc.end].decode("latin-1"), exc.end
    raise exc


_DECODE_ERRORS = "biodeep-latin1-fallback"
codecs.register_error(_DECODE_ERRORS, _latin1_fallback)

_MAGIC = [(b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz")]
_FOREIGN = [(b"PK\x03\x04", "a ZIP archive (an Excel .xlsx file is one): export or unzip it as plain text"),
            (b"%PDF", "a PDF document"), (b"BAM\x01", "a BAM alignment file"),
            (b"\x89HDF", "an HDF5 file"), (b"\xff\xfe", "UTF-16 text: save it as UTF-8 or ASCII text"),
            (b"\xfe\xff", "UTF-16 text: save it as UTF-8 or ASCII text")]
_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


def _open_binary(path: str | os.PathLike, what: str = "a sequence file"):
    """Open ``path`` for reading bytes, decompressing gzip/bzip2/xz recognised by their magic bytes.

    Anything but a regular file (a named pipe, a device, a folder) is refused before it is opened.
    """
    check_readable_file(path, what)
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except IsADirectoryError:
        raise InputFileError(path, "is a folder, not a file") from None
    except PermissionError:
        raise InputFileError(path, "cannot be read (permission denied)") from None
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    for sig, kind in _MAGIC:
        if magic.startswith(sig):
            return {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}[kind](path, "rb")
    return open(path, "rb")


def _open_text(path: str | os.PathLike) -> io.TextIOWrapper:
    # utf-8-sig drops the byte-order mark Excel and Notepad write; newline=None reads \r\n and \r endings.
    return io.TextIOWrapper(_open_binary(path), encoding="utf-8-sig", errors=_DECODE_ERRORS, newline=None)


@dataclass
class _Head:
    first_line: str  # first non-blank line, stripped ('' when the file is blank)
    line_no: int  # its 1-based line number


def _sniff(path: str | os.PathLike, what: str) -> _Head:
    """Read the start of a file: refuse empty and binary files, return its first non-blank line.

    ``what`` names the expected format for messages ("FASTA/FASTQ", "CSV/TSV table", "BED").
    """
    try:
        with _open_binary(path, f"a {what} file") as f:
            head = f.read(_SNIFF_BYTES)
    except _READ_ERRORS as exc:
        raise InputFileError(path, f"damaged or truncated compressed file ({exc})") from None
    for sig, name in _FOREIGN:
        if head.startswith(sig):
            raise InputFileError(path, f"binary file, not {what}: this is {name}", expected=f"a plain-text {what} file")
    if not head.strip():
        noun = "sequences" if "FAST" in what else ("intervals" if what == "BED" else "rows")
        raise InputFileError(path, f"contains no {noun} (the file is empty)", expected=f"a {what} file")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise InputFileError(path, f"binary file, not {what} (NUL byte at offset {nul})",
                             line=head.count(b"\n", 0, nul) + 1, expected=f"a plain-text {what} file")
    text = head[:-4].decode("utf-8", "replace") if len(head) == _SNIFF_BYTES else head.decode("utf-8", "replace")
    odd = sum(1 for c in text if c == "\ufffd" or (c < " " and c not in "\t\n\r\f\v"))
    if odd > 0.3 * max(len(text), 1):
        raise InputFileError(path, f"binary file, not {what} ({odd} of its first {len(text)} bytes are not text)",
                             expected=f"a plain-text {what} file")
    text = text.lstrip("\ufeff")
    for no, line in enumerate(text.splitlines(), 1):
        if line.strip():
            return _Head(line.strip(), no)
    return _Head("", 0)


def _fasta_format(path, head: _Head) -> str:
    if head.first_line.startswith(">"):
        return "fasta"
    if head.first_line.startswith("@"):
        return "fastq"
    hint = ""
    if "," in head.first_line or "\t" in head.first_line or ";" in head.first_line:
        hint = "; it looks like a table (CSV/TSV): load it as a table instead"
    raise InputFileError(path, f"not a FASTA/FASTQ file: line {head.line_no} starts with "
                               f"{_clip(head.first_line)!r}{hint}", line=head.line_no,
                         expected="a header line starting with '>' (FASTA) or '@' (FASTQ)")


def _fasta_batches(path: str | os.PathLike, size: int = 256) -> Iterator[tuple[tuple[str, ...], ...]]:
    """Yield (titles, sequences) of up to ``size`` FASTA/FASTQ records at a time.

    Raises ``InputFileError`` for an empty, binary or non-FASTA/FASTQ file, a broken FASTQ record (numbered) or
    a damaged compressed file. Batches keep the per-record Python work to the parser itself.
    """
    from Bio.SeqIO.FastaIO import SimpleFastaParser
    from Bio.SeqIO.QualityIO import FastqGeneralIterator

    fmt = _fasta_format(path, _sniff(path, "FASTA/FASTQ"))
    n = 0
    counted = [0]  # FASTQ errors name their record, so FASTQ records are counted as they are parsed
    with _open_text(path) as handle:
        if fmt == "fasta":
            records: Iterator = SimpleFastaParser(handle)
        else:
            def fastq():
                for t, q, _qual in FastqGeneralIterator(handle):
                    counted[0] += 1
                    yield t, q
            records = fastq()
        try:
            while True:
                batch = list(islice(records, size))
                if not batch:
                    break
                n += len(batch)
                titles, seqs = zip(*batch)
                del batch
                yield titles, seqs
        except ValueError as exc:  # Biopython's FASTQ structure errors
            raise InputFileError(path, f"not valid {fmt.upper()}: {exc}",
                                 record=(counted[0] if fmt == "fastq" else n) + 1) from None
        except _READ_ERRORS as exc:
            raise InputFileError(path, f"damaged or truncated compressed file after record {n} ({exc})") from None
    if n == 0:
        raise InputFileError(path, "contains no sequences", expected="at least one '>' header with a sequence")


