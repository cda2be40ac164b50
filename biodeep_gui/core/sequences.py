"""Reading sequences and labels (FASTA/FASTQ/CSV/TSV/BED + genome) into a compact ``SequenceSet``.

Every loader streams its input: records are parsed with Biopython, checked, and encoded in batches of about
a quarter megabase straight into one growing uint8 buffer (see ``biodeep_gui.core.encoding``), so a file costs
about one byte of RAM per stored base plus its ids. Plain, gzip, bzip2 and xz files are recognised by their
magic bytes, never by their extension.

Bad input raises ``InputFileError`` naming the file, the record (number and id) or line, and what was
expected; nothing here prints or asks.

Public API
----------
read_records(path) -> list[(title, sequence)]
load_fasta_pair(positive, background, *, length=0, length_policy="fit") -> SequenceSet
load_labelled_fasta(path, *, length=0, length_policy="fit", task="auto") -> SequenceSet
load_table(path, sequence_column="sequence", label_columns=("label",), *, id_column="", task="auto",
           length=0, length_policy="fit") -> SequenceSet
load_bed(bed, genome, *, width=200, background_method="shuffle", seed=0) -> SequenceSet
load_unlabelled(path, *, length, sequence_column="sequence", id_column="") -> SequenceSet
load_sequences(cfg, *, seed=0) -> SequenceSet
load_test_set(cfg, reference) -> SequenceSet
dinucleotide_shuffle(codes, rng) -> codes
"""
from __future__ import annotations

import bisect
import bz2
import codecs
import csv
import gzip
import hashlib
import io
import lzma
import math
import os
import random
import tempfile
import zlib
from array import array
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from biodeep_gui.core.encoding import BYTE_TO_CODE, INVALID, PAD_CODE, fit_length
from biodeep_gui.core.errors import ConfigError, InputFileError


@dataclass
class SequenceSet:
    """Sequences stored once as uint8 codes, with their labels.

    Attributes
    ----------
    ids : (N,) record identifiers, unique
    codes : (N, L) uint8, see ``biodeep_gui.core.encoding``
    labels : (N, T) float32. binary: 0/1 per task column; multiclass: (N, 1) class index; regression: values.
             Unlabelled sets (for prediction) have T = 0.
    task : 'binary' | 'multiclass' | 'regression' | 'none'
    label_names : (T,) names of the label columns (task names)
    class_names : names of the classes, by index (classification only)
    lengths : (N,) int32 original lengths before centre-crop / padding
    groups : (N,) chromosome of each window (BED input) for chromosome hold-out splits, else None
    sources : files the set was read from
    """

    ids: list[str]
    codes: np.ndarray
    labels: np.ndarray
    task: str
    label_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    lengths: np.ndarray | None = None
    groups: np.ndarray | None = None
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def length(self) -> int:
        return int(self.codes.shape[1])

    @property
    def n_outputs(self) -> int:
        """Number of network outputs the task needs."""
        if self.task == "multiclass":
            return len(self.class_names)
        return int(self.labels.shape[1])

    def subset(self, index: np.ndarray) -> "SequenceSet":
        return SequenceSet(
            ids=[self.ids[i] for i in index], codes=self.codes[index], labels=self.labels[index], task=self.task,
            label_names=list(self.label_names), class_names=list(self.class_names),
            lengths=None if self.lengths is None else self.lengths[index],
            groups=None if self.groups is None else self.groups[index], sources=list(self.sources))

    def pair_keys(self) -> np.ndarray | None:
        """(N,) object array: records sharing a key must land in the same split, or ``None`` when all are free.

        A BED background window is derived from one peak (a shuffle of it, or its flank), and its id is the
        peak's id + ``BACKGROUND_TAG`` + how it was made; training on one and testing on the other would leak.
        Only BED-derived sets (``groups`` set) are paired, so user ids that happen to contain the tag are safe.
        """
        if self.groups is None:
            return None
        return np.array([i.split(BACKGROUND_TAG, 1)[0] for i in self.ids], dtype=object)

    def class_counts(self) -> dict[str, int]:
        """Records per class (classification tasks; binary multi-task counts the first column)."""
        if self.task not in ("binary", "multiclass") or self.labels.shape[1] == 0:
            return {}
        idx = self.labels[:, 0].astype(np.int64)
        counts = np.bincount(idx, minlength=len(self.class_names) or 2)
        names = self.class_names or [str(i) for i in range(len(counts))]
        return {names[i]: int(c) for i, c in enumerate(counts)}


#: Joins a BED peak's id and the way its background window was made ("chr1:100-300/bg:shuffled").
BACKGROUND_TAG = "/bg:"

LENGTH_POLICIES = ("fit", "strict")
_TASKS = ("auto", "binary", "multiclass", "regression")
_MAX_INT_CLASSES = 20  # task="auto": at most this many distinct integers read as classes, more as regression
_CHUNK_BASES = 1 << 18  # encode in batches of ~0.25 Mb: big enough for numpy, small enough to stay in cache
_SNIFF_BYTES = 1 << 16
_EXPECT_BASES = "A, C, G, T/U, N or another IUPAC code (RYSWKMBDHV)"
_EXPECT_LABEL = "a label in the header, as '>id label=1' or '>id|1'"
# Two-class text labels: a name below is class 0 whatever the alphabet says ("bound" vs "unbound").
_NEGATIVE_NAMES = {"0", "no", "n", "neg", "negative", "false", "f", "background", "bg", "unbound", "nonbinding",
                   "non-binding", "not_bound", "control", "ctrl", "absent", "inactive", "off", "none", "decoy"}


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
_CODE_TABLE = BYTE_TO_CODE.tobytes()  # for bytes.translate


def _open_binary(path: str | os.PathLike):
    """Open ``path`` for reading bytes, decompressing gzip/bzip2/xz recognised by their magic bytes."""
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
        with _open_binary(path) as f:
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


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _q(value, n: int = 60) -> str:
    """A value from the user's file, quoted and clipped: a megabyte-long cell must not become the message."""
    return repr(_clip(str(value), n))


# ---- record bookkeeping and encoding ---------------------------------------------------------------------------

class _Origins:
    """Maps a record's position in the set back to its file, record number and line, for error messages."""

    def __init__(self, ids: list[str]):
        self.ids = ids
        self.starts: list[int] = []
        self.paths: list[str] = []
        self.lines: list[array | None] = []

    def begin(self, path, lines: array | None = None) -> None:
        """Records added from now on come from ``path`` (``lines``: their 1-based line numbers, for tables)."""
        self.starts.append(len(self.ids))
        self.paths.append(str(path))
        self.lines.append(lines)

    def locate(self, index: int) -> tuple[str, int, str | None, int | None]:
        k = bisect.bisect_right(self.starts, index) - 1
        record = index - self.starts[k] + 1
        lines = self.lines[k]
        line = lines[record - 1] if lines is not None and record - 1 < len(lines) else None
        rid = self.ids[index] if index < len(self.ids) else None
        return self.paths[k], record, rid, line

    def error(self, index: int, problem: str, expected: str | None = None) -> InputFileError:
        path, record, rid, line = self.locate(index)
        return InputFileError(path, problem, record=record, record_id=rid, line=line, expected=expected)


def _fit_rows(flat: np.ndarray, lens: np.ndarray, length: int, out: np.ndarray) -> None:
    """Centre-crop / pad concatenated sequences into rows, exactly as ``encoding.fit_length`` does.

    Parameters
    ----------
    flat : (sum(lens),) uint8 codes of k sequences, back to back
    lens : (k,) their lengths
    length : row length L
    out : (k, L) uint8, C-contiguous, overwritten (padding included)
    """
    k = len(lens)
    lens = lens.astype(np.int64, copy=False)
    ends = np.cumsum(lens)
    starts = ends - lens
    if k <= 8:  # a few (possibly huge) records: plain slicing, no masks as long as the sequences
        for i in range(k):
            out[i] = fit_length(flat[starts[i]:ends[i]], length)
        return
    # Kept bases keep their order, so two masks do it: which bases of `flat` survive the crop, and which cells
    # of `out` they fill after the left padding (a few bytes of traffic per base, no index arrays).
    take = np.minimum(lens, length)
    crop = np.maximum(lens - length, 0) // 2
    pad = np.maximum(length - lens, 0) // 2
    if crop.any():
        marks = np.zeros(flat.size + 1, np.int8)
        some = take > 0  # skip empty records: then begins (and ends) are strictly increasing, so fancy += is exact
        first = (starts + crop)[some]
        marks[first] += 1
        marks[first + take[some]] -= 1
        kept = flat[np.cumsum(marks[:-1], dtype=np.int8).view(bool)]
    else:
        kept = flat
    if (take < length).any():
        col = np.arange(length, dtype=np.int32)
        fill = (col >= pad[:, None]) & (col < (pad + take)[:, None])
        out.fill(PAD_CODE)
        out[fill] = kept
    else:
        out.reshape(-1)[:] = kept


class _CodesBuilder:
    """Streams sequences into one (N, L) uint8 array, checking each batch as it goes.

    With a known length (``length > 0``, or ``strict`` where the first record sets it) each batch is fitted and
    written as rows at once. With ``length=0`` under ``fit`` the codes are kept back to back and spread out to
    rows of the longest length in place at the end, walking backwards so no second copy is ever needed.
    """

    def __init__(self, length: int, policy: str, origins: _Origins):
        self.length = int(length)
        self.policy = policy
        self.origins = origins
        self._rows = self.length > 0 or policy == "strict"
        self._buf = np.zeros(0, np.uint8)
        self._used = 0
        self._lengths = array("i")
        self._seqs: list[str] = []
        self._pending = 0
        self._n = 0  # records already encoded
        self._first: int | None = None  # under 'strict' with length 0: the record that set the length

    def add(self, seq: str) -> None:
        self._seqs.append(seq)
        self._pending += len(seq)
        if self._pending >= _CHUNK_BASES:
            self._flush()

    def add_batch(self, seqs: Sequence[str]) -> None:
        self._seqs.extend(seqs)
        self._pending += sum(map(len, seqs))
        if self._pending >= _CHUNK_BASES:
            self._flush()

    def _reserve(self, size: int) -> None:
        if size > self._buf.size:
            # ndarray.resize reallocs (mremap for big blocks: no copy, no double peak); grow by ~1/16 so the
            # zero-filled slack stays small. Nothing holds a view of _buf between calls.
            self._buf.resize(max(size, self._buf.size + max(self._buf.size // 16, 8 << 20)), refcheck=False)

    def _flush(self) -> None:
        seqs, k = self._seqs, len(self._seqs)
        if not k:
            return
        self._seqs, self._pending = [], 0
        # one character -> one byte (unencodable characters become '?'), so positions stay exact;
        # bytes.translate maps bytes to codes several times faster than a numpy table lookup
        codes = np.frombuffer("".join(seqs).encode("latin-1", "replace").translate(_CODE_TABLE), np.uint8)
        lens = np.array(list(map(len, seqs)), np.int64)
        if codes.size and codes.max() == INVALID:
            pos = int(np.argmax(codes == INVALID))
            ends = np.cumsum(lens)
            r = int(np.searchsorted(ends, pos, side="right"))
            offset = pos - int(ends[r] - lens[r])
            char = seqs[r][offset]
            why = " (digits: is this a GenBank-style file with position numbers?)" if char.isdigit() else ""
            raise self.origins.error(self._n + r, f"character {char!r} at position {offset + 1} is not a "
                                                  f"nucleotide code{why}", expected=_EXPECT_BASES)
        if self.policy == "strict":
            if self.length == 0:
                self.length = int(lens[0])
                self._first = self._n
            bad = np.flatnonzero(lens != self.length)
            if bad.size:
                r = int(bad[0])
                like = "" if self._first is None else f" like the first record ({_q(self.origins.ids[self._first])})"
                raise self.origins.error(self._n + r, f"sequence is {int(lens[r])} bp long, not {self.length} bp"
                                                      f"{like}; length_policy 'strict' refuses other lengths",
                                         expected=f"{self.length} bp, or length_policy 'fit' to centre-crop/pad")
        self._lengths.frombytes(lens.astype(np.int32).tobytes())
        if self._rows:
            size = self.length
            self._reserve((self._n + k) * size)
            rows = self._buf[self._n * size:(self._n + k) * size].reshape(k, size)
            if (lens == size).all():
                rows[...] = codes.reshape(k, size)
            else:
                _fit_rows(codes, lens, size, rows)
            del rows
            self._used = (self._n + k) * size
        else:
            self._reserve(self._used + codes.size)
            self._buf[self._used:self._used + codes.size] = codes
            self._used += codes.size
        self._n += k

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Returns codes (N, L) uint8 and lengths (N,) int32 (original lengths)."""
        self._flush()
        n = self._n
        lengths = np.array(self._lengths, dtype=np.int32)
        buf = self._buf
        self._buf = np.zeros(0, np.uint8)
        if self._rows:
            size = self.length
        else:
            size = int(lengths.max()) if n else 0
            if n and not (lengths == size).all():
                buf.resize(n * size, refcheck=False)
                _spread_in_place(buf, lengths, size)
        buf.resize(n * size, refcheck=False)  # drop the slack (shrinking realloc, no copy)
        return buf.reshape(n, size), lengths


def _spread_in_place(buf: np.ndarray, lens: np.ndarray, length: int) -> None:
    """Turn back-to-back codes at the start of ``buf`` (size N * L) into padded rows of ``length`` L >= max(lens).

    Works from the last block of records to the first: a block's rows start at or after its own codes, and
    every earlier record ends before that, so nothing not yet moved is overwritten.
    """
    n = len(lens)
    ends = np.cumsum(lens, dtype=np.int64)
    starts = ends - lens
    per_block = max(1, _CHUNK_BASES // max(length, 1))
    b = n
    while b > 0:
        a = max(0, b - per_block)
        src = buf[starts[a]:ends[b - 1]].copy()
        _fit_rows(src, lens[a:b], length, buf[a * length:b * length].reshape(b - a, length))
        b = a


def _first_word(title: str) -> str:
    parts = title.split(None, 1)
    return parts[0] if parts else ""


def _check_unique(ids: list[str], origins: _Origins) -> None:
    """Raise ``InputFileError`` for the first repeated id, naming both records."""
    n = len(ids)
    if n < 2:
        return
    # Sort 8-byte hashes rather than build a 1M-entry dict: same answer, a fraction of the memory. Sorted in
    # place first: with no equal hashes (the usual case) nothing else is allocated. (str hashes are cached.)
    h = np.fromiter(map(hash, ids), np.int64, count=n)
    h.sort()
    if not (h[1:] == h[:-1]).any():
        return
    h = np.fromiter(map(hash, ids), np.int64, count=n)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    same = np.flatnonzero(hs[1:] == hs[:-1])
    best: tuple[int, int] | None = None
    if same.size:
        # runs of equal hashes; compare the actual strings within each run
        run_starts = same[np.r_[True, np.diff(same) > 1]]
        for s in run_starts:
            e = s + 1
            while e < n and hs[e] == hs[s]:
                e += 1
            seen: dict[str, int] = {}
            for j in order[s:e]:
                j = int(j)
                if ids[j] in seen:
                    if best is None or j < best[1]:
                        best = (seen[ids[j]], j)
                else:
                    seen[ids[j]] = j
    if best is not None:
        first, second = best
        path1, rec1, _, line1 = origins.locate(first)
        path2, rec2, _, _ = origins.locate(second)
        where = f"record {rec1}" + (f" (line {line1})" if line1 else "")
        if path1 != path2:
            where += f" of {path1}"
        raise origins.error(second, f"duplicated id {_q(ids[second])}: already used by {where}",
                            expected="unique ids")


# ---- labels ----------------------------------------------------------------------------------------------------

class _LabelColumn:
    """Label values of one column as they stream in: numbers as float64, text as an index into distinct tokens."""

    def __init__(self, name: str):
        self.name = name
        self.values = array("d")
        self.token_of = array("i")  # -1: numeric
        self.tokens: dict[str, int] = {}
        self.first_numeric: tuple[int, str] | None = None

    def add(self, raw: str) -> None:
        try:
            v = float(raw)
            numeric = math.isfinite(v)
        except ValueError:
            numeric = False
        if numeric:
            self.values.append(v)
            self.token_of.append(-1)
            if self.first_numeric is None:
                self.first_numeric = (len(self.values) - 1, raw)
        else:
            self.values.append(math.nan)
            self.token_of.append(self.tokens.setdefault(raw, len(self.tokens)))


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _single_class_error(origins: _Origins, n: int, name: str, column: str | None) -> InputFileError:
    col = f" (label column {_q(column)})" if column else ""
    return InputFileError(origins.paths[0] if len(origins.paths) == 1 else ", ".join(origins.paths),
                          f"all {n} records have label {name}; training needs at least two classes{col}",
                          expected="records of at least two classes")


def _resolve_labels(columns: list[_LabelColumn], task: str, origins: _Origins, *,
                    known_classes: Sequence[str] | None = None, require_two: bool = True,
                    what: str = "column") -> tuple[np.ndarray, str, list[str]]:
    """Turn streamed label columns into (labels (N, T) float32, task, class_names).

    ``task='auto'`` infers: all values in {0, 1} -> binary; text, or at most 20 distinct integers ->
    multiclass (text with exactly two classes -> binary); otherwise regression. An explicit task is checked.
    ``known_classes`` maps labels onto an existing model's classes (test files) instead of inferring them.
    """
    n = len(columns[0].values)
    if len(columns) > 1:
        return _resolve_multitask(columns, task, origins, require_two)
    col = columns[0]
    label = f"{what} {_q(col.name)}" if what == "column" else "label"
    values = np.frombuffer(col.values, np.float64) if n else np.zeros(0)
    token_of = np.frombuffer(col.token_of, np.int32) if n else np.zeros(0, np.int32)
    is_text = token_of >= 0
    n_text = int(is_text.sum())
    tokens = list(col.tokens)

    if 0 < n_text < n:  # numbers and words mixed in one column
        if task == "regression" or n_text <= n - n_text:  # report the minority kind as the odd one out
            i = int(np.argmax(is_text))
            raise origins.error(i, f"{label} has {_q(tokens[token_of[i]])}, not a number, while the other labels "
                                   f"are numbers", expected="a number")
        i, raw = col.first_numeric
        raise origins.error(i, f"{label} has the number {_q(raw)} while the other labels are text classes",
                            expected="one of the text classes")

    if n_text:  # text classes
        if task == "regression":
            raise origins.error(0, f"{label} has {_q(tokens[token_of[0]])}, not a number (task 'regression')",
                                expected="a number")
        if known_classes is not None:
            index = {c: i for i, c in enumerate(known_classes)}
            for t in tokens:
                if t not in index:
                    i = int(np.argmax(token_of == col.tokens[t]))
                    raise origins.error(i, f"class {_q(t)} is not one of the model's classes "
                                           f"({_clip(', '.join(known_classes), 200)})", expected="a known class")
            remap = np.array([index[t] for t in tokens], np.float32)
            out_task = task if task != "auto" else ("binary" if len(known_classes) == 2 else "multiclass")
            return remap[token_of][:, None], out_task, list(known_classes)
        if len(tokens) == 1 and require_two:
            raise _single_class_error(origins, n, _q(tokens[0]), col.name if what == "column" else None)
        if task == "binary" and len(tokens) != 2:
            raise InputFileError(origins.paths[0], f"task 'binary' needs exactly two classes but {label} has "
                                                   f"{len(tokens)}: {', '.join(_clip(t, 30) for t in sorted(tokens)[:10])}",
                                 expected="two classes, or task 'multiclass'")
        names = sorted(tokens)
        if len(names) == 2 and task != "multiclass":
            neg = [t for t in names if t.strip().lower() in _NEGATIVE_NAMES]
            if len(neg) == 1:
                names = [neg[0], names[1 - names.index(neg[0])]]
            out_task = "binary"
        else:
            out_task = "multiclass"
        remap = np.array([names.index(t) for t in tokens], np.float32)
        return remap[token_of][:, None], out_task, names

    # all numeric
    distinct = np.unique(values)
    is01 = bool(np.isin(distinct, (0.0, 1.0)).all())
    is_int = bool((distinct == np.round(distinct)).all())
    if task == "auto":
        if known_classes is not None:
            task = "binary" if len(known_classes) == 2 and is01 else "multiclass"
        else:
            task = "binary" if is01 else ("multiclass" if is_int and len(distinct) <= _MAX_INT_CLASSES
                                          else "regression")
    if task == "binary":
        if not is01:
            i = int(np.argmax(~np.isin(values, (0.0, 1.0))))
            raise origins.error(i, f"{label} has {_fmt(values[i])}, but binary labels are 0 or 1",
                                expected="0 or 1, or task 'regression' for measured values")
        if require_two and len(distinct) < 2:
            raise _single_class_error(origins, n, _fmt(distinct[0]), col.name if what == "column" else None)
        names = list(known_classes) if known_classes is not None and len(known_classes) == 2 else ["0", "1"]
        return values.astype(np.float32)[:, None], "binary", names
    if task == "multiclass":
        if not is_int:
            i = int(np.argmax(values != np.round(values)))
            raise origins.error(i, f"{label} has {_fmt(values[i])}, but multiclass labels are whole numbers or "
                                   f"words", expected="a class (integer or word), or task 'regression'")
        if known_classes is not None:
            index = {c: i for i, c in enumerate(known_classes)}
            names_here = [_fmt(v) for v in distinct]
            for v, name in zip(distinct, names_here):
                if name not in index:
                    i = int(np.argmax(values == v))
                    raise origins.error(i, f"class {_q(name)} is not one of the model's classes "
                                           f"({_clip(', '.join(known_classes), 200)})", expected="a known class")
            lookup = np.array([index[nm] for nm in names_here], np.float32)
            return lookup[np.searchsorted(distinct, values)][:, None], "multiclass", list(known_classes)
        if require_two and len(distinct) < 2:
            raise _single_class_error(origins, n, _fmt(distinct[0]), col.name if what == "column" else None)
        return (np.searchsorted(distinct, values).astype(np.float32)[:, None], "multiclass",
                [_fmt(v) for v in distinct])
    return values.astype(np.float32)[:, None], "regression", []


def _resolve_multitask(columns: list[_LabelColumn], task: str, origins: _Origins,
                       require_two: bool) -> tuple[np.ndarray, str, list[str]]:
    n = len(columns[0].values)
    for col in columns:
        token_of = np.frombuffer(col.token_of, np.int32)
        if (token_of >= 0).any():
            i = int(np.argmax(token_of >= 0))
            raise origins.error(i, f"column {_q(col.name)} has {_q(list(col.tokens)[token_of[i]])}, not a number; "
                                   f"several label columns must all hold numbers", expected="a number")
    if task == "multiclass":
        raise InputFileError(origins.paths[0], f"task 'multiclass' takes one label column, got {len(columns)}: "
                                               f"{', '.join(c.name for c in columns)}",
                             expected="one label column, or task 'binary'/'regression' for several")
    labels = np.empty((n, len(columns)), np.float32)
    all01 = True
    for j, col in enumerate(columns):
        labels[:, j] = np.frombuffer(col.values, np.float64)
        all01 = all01 and bool(np.isin(labels[:, j], (0.0, 1.0)).all())
    if task == "auto":
        task = "binary" if all01 else "regression"
    if task == "binary":
        for j, col in enumerate(columns):
            bad = np.flatnonzero(~np.isin(labels[:, j], (0.0, 1.0)))
            if bad.size:
                i = int(bad[0])
                raise origins.error(i, f"column {_q(col.name)} has {_fmt(labels[i, j])}, but binary labels are 0 or 1",
                                    expected="0 or 1, or task 'regression'")
            if require_two and np.unique(labels[:, j]).size < 2:
                raise _single_class_error(origins, n, _fmt(labels[0, j]), col.name)
        return labels, "binary", ["0", "1"]
    return labels, "regression", []


# ---- argument checks -------------------------------------------------------------------------------------------

def _check_args(length: int, length_policy: str, task: str = "auto") -> None:
    if not isinstance(length, (int, np.integer)) or length < 0:
        raise ConfigError(f"length must be a whole number >= 0 (0: the longest sequence), got {length!r}")
    if length_policy not in LENGTH_POLICIES:
        raise ConfigError(f"length_policy = {length_policy!r} is not one of: {', '.join(LENGTH_POLICIES)}")
    if task not in _TASKS:
        raise ConfigError(f"task = {task!r} is not one of: {', '.join(_TASKS)}")


# ---- FASTA / FASTQ ---------------------------------------------------------------------------------------------

def read_records(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read every record of a FASTA or FASTQ file (plain or compressed) and check it.

    Meant for small files and previews; the ``load_*`` functions stream big files instead.

    Parameters
    ----------
    path : FASTA or FASTQ file; the format is taken from the first non-blank character ('>' or '@')

    Returns
    -------
    records : list of (title, sequence); title is the header line without '>'/'@' (id and description),
              sequence is upper-case with U read as T (N and other IUPAC codes kept)

    Raises
    ------
    InputFileError
        empty or binary file, not FASTA/FASTQ, a record without id or sequence, a character that is not a
        nucleotide code (named, with its position), or an id (first word of the title) used twice.
    """
    ids: list[str] = []
    origins = _Origins(ids)
    origins.begin(path)
    out: list[tuple[str, str]] = []
    for titles, seqs in _fasta_batches(path):
        for title, seq in zip(titles, seqs):
            ids.append(_first_word(title))
            _check_record(origins, len(ids) - 1, seq)
            codes = BYTE_TO_CODE[np.frombuffer(seq.encode("latin-1", "replace"), np.uint8)]
            bad = np.flatnonzero(codes == INVALID)
            if bad.size:
                p = int(bad[0])
                raise origins.error(len(ids) - 1, f"character {seq[p]!r} at position {p + 1} is not a nucleotide "
                                                  f"code", expected=_EXPECT_BASES)
            out.append((title, seq.upper().replace("U", "T")))
    _check_unique(ids, origins)
    return out


def _check_record(origins: _Origins, index: int, seq: str) -> None:
    if not origins.ids[index]:
        raise origins.error(index, "header has no identifier", expected="a name right after '>' or '@'")
    if not seq:
        raise origins.error(index, "record has an empty sequence", expected="sequence lines after the header")


def _read_fasta_into(path, ids: list[str], builder: _CodesBuilder, origins: _Origins,
                     labels: _LabelColumn | None = None) -> int:
    """Stream one FASTA/FASTQ file into ``ids``/``builder``; with ``labels``, read a label from each header."""
    origins.begin(path)
    n0 = len(ids)
    for titles, seqs in _fasta_batches(path):
        first = len(ids)
        if labels is None:
            # SimpleFastaParser right-strips titles, so a non-empty title has a first word
            ids.extend([t.split(None, 1)[0] if t else "" for t in titles])
        else:
            for t in titles:
                rid, token = _header_label(t)
                ids.append(rid)
                if not token:
                    raise origins.error(len(ids) - 1, "no label in the header", expected=_EXPECT_LABEL)
                labels.add(token)
        if not all(seqs) or "" in ids[first:]:
            for i, seq in enumerate(seqs):
                _check_record(origins, first + i, seq)
        builder.add_batch(seqs)
    return len(ids) - n0


def _header_label(title: str) -> tuple[str, str]:
    """'id label=1 desc' -> ('id', '1'); 'id|strong' -> ('id', 'strong'); no label -> (id, '')."""
    parts = title.split()
    if not parts:
        return "", ""
    for p in parts[1:]:
        if p[:6].lower() == "label=":
            return parts[0], p[6:]
    base, sep, token = parts[0].rpartition("|")
    if sep and base:
        return base, token
    return parts[0], ""


def load_fasta_pair(positive: str | os.PathLike, background: str | os.PathLike, *, length: int = 0,
                    length_policy: str = "fit") -> SequenceSet:
    """Bound sequences in one FASTA/FASTQ file, unbound ones in another, as a binary set.

    Parameters
    ----------
    positive, background : FASTA/FASTQ files (plain or compressed); records get label 1 and 0
    length : row length L; 0 = the longest sequence (or, under 'strict', the first record's length)
    length_policy : 'fit' centre-crops longer and pads shorter sequences; 'strict' refuses any other length

    Returns
    -------
    SequenceSet with codes (N, L), labels (N, 1) (positives first), task 'binary', label_names ['bound'],
    class_names ['background', 'bound'], lengths (N,) original lengths.

    Raises
    ------
    InputFileError
        see ``read_records``; an id used in both files is an error too.
    """
    _check_args(length, length_policy)
    ids: list[str] = []
    origins = _Origins(ids)
    builder = _CodesBuilder(length, length_policy, origins)
    n_pos = _read_fasta_into(positive, ids, builder, origins)
    _read_fasta_into(background, ids, builder, origins)
    codes, lengths = builder.finish()
    _check_unique(ids, origins)
    labels = np.zeros((len(ids), 1), np.float32)
    labels[:n_pos] = 1.0
    return SequenceSet(ids=ids, codes=codes, labels=labels, task="binary", label_names=["bound"],
                       class_names=["background", "bound"], lengths=lengths,
                       sources=[str(positive), str(background)])


def load_labelled_fasta(path: str | os.PathLike, *, length: int = 0, length_policy: str = "fit",
                        task: str = "auto", known_classes: Sequence[str] | None = None) -> SequenceSet:
    """One FASTA/FASTQ file with a label in every header: ``>id label=1`` or ``>id|1``.

    Labels: 0/1 -> binary; several integers or words (``label=strong``) -> multiclass, class_names sorted
    (two words -> binary, a word like 'unbound'/'negative'/'control' being class 0); other numbers ->
    regression. ``task`` may force one of these and is then checked.

    Parameters
    ----------
    path : FASTA/FASTQ file (plain or compressed)
    length, length_policy : see ``load_fasta_pair``
    task : 'auto' | 'binary' | 'multiclass' | 'regression'
    known_classes : map labels onto these class names (a test file for a trained model); a single class is
                    then allowed

    Returns
    -------
    SequenceSet with codes (N, L), labels (N, 1) (0/1, class index or value), label_names ['label'].

    Raises
    ------
    InputFileError
        as ``read_records``, plus: a record without a label (named), a label that does not fit the task, a
        single class for a classification task.
    """
    _check_args(length, length_policy, task)
    ids: list[str] = []
    origins = _Origins(ids)
    builder = _CodesBuilder(length, length_policy, origins)
    col = _LabelColumn("label")
    _read_fasta_into(path, ids, builder, origins, labels=col)
    codes, lengths = builder.finish()
    _check_unique(ids, origins)
    labels, task, class_names = _resolve_labels([col], task, origins, known_classes=known_classes,
                                                require_two=known_classes is None, what="header")
    return SequenceSet(ids=ids, codes=codes, labels=labels, task=task, label_names=["label"],
                       class_names=class_names, lengths=lengths, sources=[str(path)])


# ---- tables ----------------------------------------------------------------------------------------------------

def _table_rows(path, head: _Head):
    """Open a CSV/TSV file; return (handle, csv reader, header, delimiter)."""
    if head.first_line.startswith(">") or head.first_line.startswith("@"):
        raise InputFileError(path, f"this looks like a FASTA/FASTQ file (line {head.line_no} starts with "
                                   f"{head.first_line[:1]!r}), not a table", line=head.line_no,
                             expected="a CSV/TSV table with a header row, or load it as FASTA")
    first = head.first_line
    if "\t" in first:
        delimiter = "\t"
    elif ";" in first and first.count(";") > first.count(","):  # European spreadsheets export with ';'
        delimiter = ";"
    else:
        delimiter = ","
    csv.field_size_limit(2**31 - 1)  # a sequence cell can be megabases long
    handle = _open_text(path)
    reader = csv.reader(handle, delimiter=delimiter)
    header: list[str] | None = None
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                header = [cell.strip() for cell in row]
                break
    except (csv.Error, *_READ_ERRORS) as exc:
        handle.close()
        raise InputFileError(path, f"cannot read the table: {exc}", line=reader.line_num) from None
    if header is None:
        handle.close()
        raise InputFileError(path, "contains no rows", expected="a header row and data rows")
    return handle, reader, header, delimiter


def _column_index(path, header: list[str], name: str, role: str, line: int) -> int:
    if name in header:
        if header.count(name) > 1:
            raise InputFileError(path, f"{role} column {_q(name)} appears {header.count(name)} times in the header",
                                 line=line, expected="unique column names")
        return header.index(name)
    lower = [h.lower() for h in header]
    if lower.count(name.lower()) == 1:  # 'Sequence' for 'sequence': accept, headers are typed by hand
        return lower.index(name.lower())
    shown = ", ".join(_q(h, 40) for h in header[:30]) + (" ..." if len(header) > 30 else "")
    hint = ""
    if header and all(c in "ACGTUNacgtun" for c in header[0]) and len(header[0]) >= 8:
        hint = "; the first row looks like data: the table needs a header row"
    raise InputFileError(path, f"no {role} column {_q(name)}; the columns are: {shown}{hint}", line=line,
                         expected=f"a header row naming the {role} column")


def _read_table_into(path, ids: list[str], builder: _CodesBuilder, origins: _Origins, sequence_column: str,
                     label_columns: Sequence[str], id_column: str) -> list[_LabelColumn]:
    head = _sniff(path, "CSV/TSV table")
    handle, reader, header, _ = _table_rows(path, head)
    lines = array("i")
    origins.begin(path, lines)
    with handle:
        header_line = reader.line_num
        si = _column_index(path, header, sequence_column, "sequence", header_line)
        ii = _column_index(path, header, id_column, "id", header_line) if id_column else -1
        label_idx = [_column_index(path, header, c, "label", header_line) for c in label_columns]
        columns = [_LabelColumn(header[j]) for j in label_idx]
        width = len(header)
        n = 0
        try:
            for row in reader:
                if len(row) != width or not row[si].strip():
                    if not any(cell.strip() for cell in row):
                        continue  # blank line
                if len(row) != width:
                    raise InputFileError(path, f"row has {len(row)} fields but the header has {width}",
                                         record=n + 1, line=reader.line_num,
                                         expected=f"{width} fields separated like the header")
                n += 1
                lines.append(reader.line_num)
                ids.append(row[ii].strip() if ii >= 0 else f"row{n}")
                seq = row[si].strip()
                if not seq:
                    raise origins.error(len(ids) - 1, f"empty cell in sequence column {_q(header[si])}",
                                        expected="a DNA sequence")
                if not ids[-1]:
                    raise origins.error(len(ids) - 1, f"empty cell in id column {_q(header[ii])}",
                                        expected="an id")
                for col, j in zip(columns, label_idx):
                    raw = row[j].strip()
                    if not raw:
                        raise origins.error(len(ids) - 1, f"empty cell in label column {_q(header[j])}",
                                            expected="a label value")
                    col.add(raw)
                builder.add(seq)
        except (csv.Error, *_READ_ERRORS) as exc:
            raise InputFileError(path, f"cannot read the table: {exc}", line=reader.line_num) from None
    if n == 0:
        raise InputFileError(path, "contains a header row but no data rows", line=header_line,
                             expected="at least one data row")
    return columns


def load_table(path: str | os.PathLike, sequence_column: str = "sequence",
               label_columns: Sequence[str] | str = ("label",), *, id_column: str = "", task: str = "auto",
               length: int = 0, length_policy: str = "fit",
               known_classes: Sequence[str] | None = None) -> SequenceSet:
    """A CSV or TSV table (delimiter sniffed: tab, comma or semicolon) with a header row.

    Parameters
    ----------
    path : table file (plain or compressed)
    sequence_column : column holding the DNA sequence
    label_columns : one or more label columns; several make a multi-task set (binary when all are 0/1,
                    else regression)
    id_column : column of record ids; '' names records 'row1', 'row2', ... (data rows, 1-based)
    task : 'auto' infers: all values in {0, 1} -> binary; text, or at most 20 distinct integers -> multiclass
           (exactly two text classes -> binary); otherwise regression. An explicit task is checked.
    length, length_policy : see ``load_fasta_pair``
    known_classes : map labels onto these classes (test file of a trained model); a single class is allowed

    Returns
    -------
    SequenceSet with codes (N, L), labels (N, T), label_names = the label column names.

    Raises
    ------
    InputFileError
        missing column (lists the columns there are), empty cell, a value not fitting the task (row, line
        and value named), a row with the wrong number of fields, a single class, and sequence errors as in
        ``read_records``.
    """
    _check_args(length, length_policy, task)
    label_columns = [label_columns] if isinstance(label_columns, str) else list(label_columns)
    if not label_columns:
        raise ConfigError("load_table needs at least one label column (load_unlabelled reads tables without)")
    ids: list[str] = []
    origins = _Origins(ids)
    builder = _CodesBuilder(length, length_policy, origins)
    columns = _read_table_into(path, ids, builder, origins, sequence_column, label_columns, id_column)
    codes, lengths = builder.finish()
    _check_unique(ids, origins)
    labels, task, class_names = _resolve_labels(columns, task, origins, known_classes=known_classes,
                                                require_two=known_classes is None)
    return SequenceSet(ids=ids, codes=codes, labels=labels, task=task, label_names=[c.name for c in columns],
                       class_names=class_names, lengths=lengths, sources=[str(path)])


def load_unlabelled(path: str | os.PathLike, *, length: int, sequence_column: str = "sequence",
                    id_column: str = "") -> SequenceSet:
    """Sequences to predict on: FASTA/FASTQ, or a CSV/TSV table, fitted (centre-crop/pad) to ``length``.

    Parameters
    ----------
    path : FASTA/FASTQ (first character '>' or '@') or a table with a header row (plain or compressed)
    length : the model's input length L (0 = the longest sequence)
    sequence_column, id_column : table columns (ids default to 'row1', 'row2', ...)

    Returns
    -------
    SequenceSet with codes (N, L), labels (N, 0), task 'none', lengths (N,) original lengths.
    """
    _check_args(length, "fit")
    head = _sniff(path, "FASTA/FASTQ or CSV/TSV")
    ids: list[str] = []
    origins = _Origins(ids)
    builder = _CodesBuilder(length, "fit", origins)
    if head.first_line[:1] in (">", "@"):
        _read_fasta_into(path, ids, builder, origins)
    else:
        _read_table_into(path, ids, builder, origins, sequence_column, [], id_column)
    codes, lengths = builder.finish()
    _check_unique(ids, origins)
    return SequenceSet(ids=ids, codes=codes, labels=np.zeros((len(ids), 0), np.float32), task="none",
                       lengths=lengths, sources=[str(path)])


# ---- BED + genome ----------------------------------------------------------------------------------------------

@dataclass
class _Peak:
    chrom: str
    start: int  # window, 0-based half-open
    end: int
    line: int


def _index_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / "biodeep-genome-index"


def _open_genome(genome: str | os.PathLike):
    """Open an indexed genome FASTA with pyfaidx, building the .fai in a temp folder if the genome's folder is
    read-only."""
    import pyfaidx

    genome = str(genome)
    try:
        with open(genome, "rb") as f:
            head = f.read(18)
    except FileNotFoundError:
        raise InputFileError(genome, "genome file not found") from None
    except OSError as exc:
        raise InputFileError(genome, f"genome cannot be read ({exc.strerror or exc})") from None
    if not head.strip():
        raise InputFileError(genome, "genome file is empty", expected="a FASTA file of chromosomes")
    gz = head.startswith(b"\x1f\x8b")
    if gz and head[12:14] != b"BC":  # BGZF marks its gzip extra field with 'BC'
        raise InputFileError(genome, "genome is gzip-compressed; random access needs it uncompressed or "
                                     "bgzip-compressed", expected="gunzip it, or recompress it with bgzip")
    if gz and not genome.lower().endswith((".gz", ".bgz")):
        raise InputFileError(genome, "genome is bgzip-compressed but its name does not end in .gz",
                             expected="the name to end in .gz or .bgz")
    if not gz and not head.lstrip().startswith(b">"):
        raise InputFileError(genome, "genome is not a FASTA file (it does not start with '>')", line=1,
                             expected="a FASTA file of chromosomes")
    kwargs = dict(as_raw=True, sequence_always_upper=False)
    try:
        try:
            return pyfaidx.Fasta(genome, **kwargs)
        except pyfaidx.FastaNotFoundError:
            raise
        except OSError:
            # The index next to the genome cannot be written (read-only folder or disk): keep one per
            # genome version (path, size, mtime) in the temp folder instead.
            st = os.stat(genome)
            key = hashlib.sha1(f"{os.path.abspath(genome)}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
            cache = _index_cache_dir()
            cache.mkdir(parents=True, exist_ok=True)
            stem = cache / f"{Path(genome).name}.{key[:16]}"
            if gz:
                kwargs["gzi_indexname"] = str(stem) + ".gzi"
            return pyfaidx.Fasta(genome, indexname=str(stem) + ".fai", **kwargs)
    except pyfaidx.FastaIndexingError as exc:
        raise InputFileError(genome, f"cannot index the genome: {exc}",
                             expected="a FASTA file with the same line length within each chromosome") from None
    except ValueError as exc:  # duplicated chromosome names and similar
        raise InputFileError(genome, f"cannot index the genome: {exc}") from None
    except OSError as exc:
        raise InputFileError(genome, f"cannot index the genome: neither next to it nor in "
                                     f"{_index_cache_dir()} could the .fai index be written ({exc})",
                             expected="a writable folder for genome.fa.fai") from None


def _read_bed(bed, sizes: dict[str, int], width: int, genome: str) -> list[_Peak]:
    _sniff(bed, "BED")
    peaks: list[_Peak] = []
    seen: dict[tuple[str, int], int] = {}
    with _open_text(bed) as handle:
        try:
            for no, raw in enumerate(handle, 1):
                line = raw.strip()
                if not line or line.startswith(("#", "track", "browser")):
                    continue
                fields = line.split("\t")
                if len(fields) < 3:
                    fields = line.split()
                if len(fields) < 3:
                    raise InputFileError(bed, f"has {len(fields)} column(s): {_clip(line)!r}", line=no,
                                         expected="at least 3 tab-separated columns: chrom, start, end")
                chrom = fields[0]
                try:
                    start, end = int(fields[1]), int(fields[2])
                except ValueError:
                    raise InputFileError(bed, f"start {_q(fields[1])} / end {_q(fields[2])} are not whole numbers",
                                         line=no, expected="integer coordinates (0-based start, end)") from None
                if start < 0 or start >= end:
                    raise InputFileError(bed, f"start {start} must be >= 0 and less than end {end}", line=no,
                                         expected="0 <= start < end")
                if chrom not in sizes:
                    alt = chrom[3:] if chrom.startswith("chr") else "chr" + chrom
                    hint = f" (the genome has {_q(alt)}: do the naming styles differ?)" if alt in sizes else ""
                    names = ", ".join(list(sizes)[:8]) + (" ..." if len(sizes) > 8 else "")
                    raise InputFileError(bed, f"chromosome {_q(chrom)} is not in the genome {genome}{hint}",
                                         line=no, expected=f"one of: {names}")
                size = sizes[chrom]
                if end > size:
                    raise InputFileError(bed, f"interval {chrom}:{start}-{end} is outside the genome: it ends at "
                                              f"{end} but {chrom} is {size} bp long", line=no,
                                         expected=f"end <= {size} (is the BED from another genome build?)")
                if size < width:
                    raise InputFileError(bed, f"chromosome {chrom} ({size} bp) is shorter than the window width "
                                              f"{width}", line=no, expected=f"a width <= {size}")
                centre = (start + end) // 2
                if len(fields) == 10:  # narrowPeak: column 10 is the summit offset (-1: none); BED12 has 12
                    try:
                        summit = int(fields[9])
                    except ValueError:
                        summit = -1
                    if 0 <= summit < end - start:
                        centre = start + summit
                ws = min(max(centre - width // 2, 0), size - width)  # shifted inside the chromosome at its ends
                if (chrom, ws) in seen:
                    raise InputFileError(bed, f"gives the same {width}-bp window {chrom}:{ws}-{ws + width} as line "
                                              f"{seen[chrom, ws]}", line=no,
                                         expected="distinct peaks (merge duplicates, e.g. bedtools merge)")
                seen[chrom, ws] = no
                peaks.append(_Peak(chrom, ws, ws + width, no))
        except _READ_ERRORS as exc:
            raise InputFileError(bed, f"damaged or truncated compressed file ({exc})") from None
    if not peaks:
        raise InputFileError(bed, "contains no intervals", expected="lines of chrom, start, end")
    return peaks


def dinucleotide_shuffle(codes: np.ndarray, rng: random.Random | int) -> np.ndarray:
    """Shuffle a sequence keeping every dinucleotide count exactly (Altschul & Erickson 1985).

    The sequence is a walk through a multigraph whose nodes are letters and whose edges are its dinucleotides;
    any Eulerian walk from the same first letter that ends on the same last letter uses each dinucleotide as
    often. A uniformly random such walk: draw a random arborescence of "last exit" edges rooted at the last
    letter (Wilson's loop-erased random walks), shuffle every other edge list, put each node's last-exit edge
    last, and follow the edges from the first letter (Kandel et al. 1996, uShuffle).

    Parameters
    ----------
    codes : (L,) uint8 codes (any alphabet: N and IUPAC codes are letters like the others)
    rng : ``random.Random`` or an int seed

    Returns
    -------
    (L,) uint8, same first and last letter and the same count of every ordered pair of neighbours.
    """
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    seq = np.asarray(codes, np.uint8).tolist()
    n = len(seq)
    if n <= 2:
        return np.array(seq, np.uint8)
    edges: dict[int, list[int]] = {}
    for a, b in zip(seq, seq[1:]):
        edges.setdefault(a, []).append(b)
    last = seq[-1]
    # Wilson's algorithm: every node with out-edges reaches `last`, so each random walk ends
    exit_of: dict[int, int] = {}
    in_tree = {last}
    for start in edges:
        u = start
        while u not in in_tree:
            out = edges[u]
            exit_of[u] = rng.randrange(len(out))
            u = out[exit_of[u]]
        u = start
        while u not in in_tree:
            in_tree.add(u)
            u = edges[u][exit_of[u]]
    for u, out in edges.items():
        if u in exit_of:
            k = exit_of[u]
            out[k], out[-1] = out[-1], out[k]
            head = out[:-1]
            rng.shuffle(head)
            out[:-1] = head
        else:  # the last letter: no exit edge, all its edges are free
            rng.shuffle(out)
    pos = dict.fromkeys(edges, 0)
    result = [seq[0]]
    u = seq[0]
    for _ in range(n - 1):
        v = edges[u][pos[u]]
        pos[u] += 1
        result.append(v)
        u = v
    return np.array(result, np.uint8)


def load_bed(bed: str | os.PathLike, genome: str | os.PathLike, *, width: int = 200,
             background_method: str = "shuffle", seed: int = 0) -> SequenceSet:
    """Peaks in a BED file, cut from a genome FASTA, against a matched background (binary).

    Each peak becomes a ``width``-bp window centred on its summit (column 10 of a 10-column narrowPeak line)
    or on its midpoint, shifted inside the chromosome where a peak sits at an end.

    Background (label 0), one window per peak:

    - ``'shuffle'``: the peak window shuffled with its dinucleotide counts kept exactly (Altschul-Erickson).
      Same length, base composition and CpG content as the peak, so the network must learn the motif's
      order rather than GC content. Recommended default.
    - ``'flank'``: genomic sequence ``3 * width`` bp upstream or downstream of the peak (a seeded choice among
      the sides inside the chromosome and not overlapping any peak window; windows more than half N are
      skipped). Real genomic background of the same region, but it can hold weaker sites of the same factor.
      A peak with no usable flank gets no background, so the set may have fewer background than peak windows.

    Parameters
    ----------
    bed : BED file (3+ columns; 'track', 'browser' and '#' lines skipped; plain or compressed)
    genome : FASTA, uncompressed or bgzip-compressed, read with random access through pyfaidx (its .fai index
             is built next to it, or in the temp folder when that folder is read-only)
    width : window width L in bp
    background_method : 'shuffle' | 'flank'
    seed : seeds the shuffles / flank sides (same seed, same set)

    Returns
    -------
    SequenceSet with codes (N, L), labels (N, 1) (peaks first, then backgrounds in peak order), task 'binary',
    label_names ['bound'], class_names ['background', 'bound'], groups (N,) chromosome of each window (a
    background shares its peak's chromosome, so chromosome hold-out never splits a pair). Ids are
    'chrom:start-end' (window, 0-based half-open); a background's id is its peak's id + '/bg:shuffled' or
    '/bg:flank:chrom:start-end' (see ``SequenceSet.pair_keys``).

    Raises
    ------
    InputFileError
        empty BED, fewer than 3 columns, non-integer coordinates, start >= end, a chromosome not in the genome,
        an interval past the chromosome's end (line, chrom, end and chromosome length named), duplicate
        windows, an unreadable genome.
    """
    if not isinstance(width, (int, np.integer)) or width <= 0:
        raise ConfigError(f"width must be a whole number > 0, got {width!r}")
    if background_method not in ("shuffle", "flank"):
        raise ConfigError(f"background_method = {background_method!r} is not one of: shuffle, flank")
    fa = _open_genome(genome)
    try:
        sizes = {name: len(fa[name]) for name in fa.keys()}
        peaks = _read_bed(bed, sizes, width, str(genome))
        rng = random.Random(seed)
        n = len(peaks)
        ids: list[str] = []
        origins = _Origins(ids)
        origins.begin(bed, array("i", [p.line for p in peaks]))
        codes = np.empty((2 * n, width), np.uint8)
        chroms: list[str] = []
        for i, p in enumerate(peaks):
            ids.append(f"{p.chrom}:{p.start}-{p.end}")
            chroms.append(p.chrom)
            row = BYTE_TO_CODE[np.frombuffer(_fetch(fa, p.chrom, p.start, p.end, genome).encode("latin-1",
                                                                                               "replace"), np.uint8)]
            if row.size != width:
                raise origins.error(i, f"the genome returned {row.size} bp for {p.chrom}:{p.start}-{p.end}",
                                    expected=f"{width} bp")
            bad = np.flatnonzero(row == INVALID)
            if bad.size:
                raise InputFileError(genome, f"{p.chrom}:{p.start + int(bad[0]) + 1} holds a character that is "
                                             f"not a nucleotide code", expected=_EXPECT_BASES)
            codes[i] = row
        n_bg = 0
        if background_method == "shuffle":
            for i in range(n):
                codes[n + i] = dinucleotide_shuffle(codes[i], rng)
                ids.append(ids[i] + BACKGROUND_TAG + "shuffled")
                chroms.append(peaks[i].chrom)
            n_bg = n
        else:
            by_chrom: dict[str, list[int]] = {}
            for p in peaks:
                by_chrom.setdefault(p.chrom, []).append(p.start)
            for v in by_chrom.values():
                v.sort()
            distance = 3 * width
            for i, p in enumerate(peaks):
                sides = [p.start - distance, p.start + distance]
                rng.shuffle(sides)
                for s in sides:
                    e = s + width
                    if s < 0 or e > sizes[p.chrom] or _overlaps(by_chrom[p.chrom], s, e, width):
                        continue
                    row = BYTE_TO_CODE[np.frombuffer(_fetch(fa, p.chrom, s, e, genome).encode("latin-1", "replace"),
                                                     np.uint8)]
                    if (row == INVALID).any() or (row == 4).sum() > width // 2:
                        continue
                    codes[n + n_bg] = row
                    ids.append(f"{ids[i]}{BACKGROUND_TAG}flank:{p.chrom}:{s}-{e}")
                    chroms.append(p.chrom)
                    n_bg += 1
                    break
            if n_bg == 0:
                raise InputFileError(bed, f"no flanking background window fits: every window {distance} bp up- "
                                          f"or downstream of a peak leaves its chromosome, overlaps a peak or is "
                                          f"mostly N", expected="background_method 'shuffle'")
    finally:
        fa.close()
    codes = codes[:n + n_bg] if n_bg == n else codes[:n + n_bg].copy()  # no view pinning unused rows
    labels = np.zeros((n + n_bg, 1), np.float32)
    labels[:n] = 1.0
    return SequenceSet(ids=ids, codes=codes, labels=labels, task="binary", label_names=["bound"],
                       class_names=["background", "bound"], lengths=np.full(n + n_bg, width, np.int32),
                       groups=np.array(chroms, dtype=str), sources=[str(bed), str(genome)])


def _fetch(fa, chrom: str, start: int, end: int, genome) -> str:
    try:
        return str(fa[chrom][start:end])
    except Exception as exc:  # pyfaidx raises several types for a damaged genome
        raise InputFileError(genome, f"cannot read {chrom}:{start}-{end} from the genome ({exc})") from None


def _overlaps(starts: list[int], start: int, end: int, width: int) -> bool:
    """Whether [start, end) overlaps a peak window; ``starts``: sorted starts of the ``width``-bp windows."""
    # a window [s, s + width) overlaps iff start - width < s < end
    return bisect.bisect_left(starts, end) > bisect.bisect_right(starts, start - width)


# ---- dispatch --------------------------------------------------------------------------------------------------

def load_sequences(cfg, *, seed: int = 0) -> SequenceSet:
    """Load the training set a ``DataConfig`` describes.

    ``kind='fasta'``: ``fasta`` + ``background`` -> ``load_fasta_pair``; ``fasta`` alone ->
    ``load_labelled_fasta``. ``kind='table'`` -> ``load_table``. ``kind='bed'`` -> ``load_bed`` (``seed`` seeds
    its background). ``length``, ``length_policy`` and ``task`` are honoured; the test file and the split
    settings are read by ``load_test_set`` and ``biodeep_gui.core.splits``.
    """
    kind = cfg.kind
    if kind == "fasta":
        if not cfg.fasta:
            raise ConfigError("data.fasta: choose a FASTA file")
        if cfg.background:
            if cfg.task not in ("auto", "binary"):
                raise ConfigError(f"data.task = {cfg.task!r}: a FASTA file with a background file makes a binary "
                                  f"task; use task 'auto' or 'binary'")
            return load_fasta_pair(cfg.fasta, cfg.background, length=cfg.length, length_policy=cfg.length_policy)
        return load_labelled_fasta(cfg.fasta, length=cfg.length, length_policy=cfg.length_policy, task=cfg.task)
    if kind == "table":
        if not cfg.table:
            raise ConfigError("data.table: choose a CSV/TSV file")
        return load_table(cfg.table, cfg.sequence_column, cfg.label_columns, id_column=cfg.id_column,
                          task=cfg.task, length=cfg.length, length_policy=cfg.length_policy)
    if kind == "bed":
        if not cfg.bed or not cfg.genome:
            raise ConfigError("data.bed and data.genome: choose a BED file and a genome FASTA")
        if cfg.task not in ("auto", "binary"):
            raise ConfigError(f"data.task = {cfg.task!r}: BED peaks against a background make a binary task")
        return load_bed(cfg.bed, cfg.genome, width=cfg.width, background_method=cfg.background_method, seed=seed)
    raise ConfigError(f"data.kind = {kind!r} is not one of: fasta, table, bed")


def load_test_set(cfg, reference: SequenceSet, *, seed: int = 0) -> SequenceSet:
    """Load ``cfg.test_file`` to match a training set: same length, task and classes.

    The test file is read like the training input: a labelled FASTA (``kind='fasta'``), a table with the same
    columns (``kind='table'``), or a BED of peaks on the same genome (``kind='bed'``). It may hold a single
    class; a class the training set does not have is an error.
    """
    if not cfg.test_file:
        raise ConfigError("data.test_file is empty")
    known = reference.class_names if reference.task in ("binary", "multiclass") else None
    if cfg.kind == "table":
        return load_table(cfg.test_file, cfg.sequence_column, cfg.label_columns, id_column=cfg.id_column,
                          task=reference.task, length=reference.length, length_policy="fit", known_classes=known)
    if cfg.kind == "bed":
        return load_bed(cfg.test_file, cfg.genome, width=reference.length,
                        background_method=cfg.background_method, seed=seed + 1)
    return load_labelled_fasta(cfg.test_file, length=reference.length, length_policy="fit", task=reference.task,
                               known_classes=known)
