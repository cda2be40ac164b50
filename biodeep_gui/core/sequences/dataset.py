"""The in-memory sequence set: uint8 base codes, labels and the bookkeeping that encodes records into it."""
from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.sequences.encoding import BYTE_TO_CODE, INVALID, PAD_CODE, fit_length


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


_CODE_TABLE = BYTE_TO_CODE.tobytes()  # for bytes.translate
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
    if (lens > length).any():  # not crop.any(): one base too many crops at the right only (crop 0)
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
        if size > self._buf.size and self._rows and size > _codes_budget():
            n = size // max(self.length, 1)
            raise self.origins.error(max(0, min(n, len(self.origins.ids)) - 1),
                                     f"{n:,} sequences of {self.length:,} bp need {size / 2**30:,.1f} GiB, more "
                                     f"than the {_codes_budget() / 2**30:,.1f} GiB allowed for the encoded data",
                                     expected="a shorter sequence length (--length)")
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
            if n * size > _codes_budget():  # one huge record among short ones: refuse before padding to it
                self._buf = buf
                longest = int(np.argmax(lengths))
                typical = int(np.median(lengths))
                raise self.origins.error(
                    longest, f"this record is {size:,} bp, the longest; padding all {n:,} sequences to its length "
                             f"would need {n * size / 2**30:,.1f} GiB, more than the {_codes_budget() / 2**30:,.1f} "
                             f"GiB allowed", expected=f"a sequence length to fit them to (--length, e.g. {typical} "
                                                      f"= the median length), or leave the long record out")
            if n and not (lengths == size).all():
                buf.resize(n * size, refcheck=False)
                _spread_in_place(buf, lengths, size)
        buf.resize(n * size, refcheck=False)  # drop the slack (shrinking realloc, no copy)
        return buf.reshape(n, size), lengths


def _codes_budget() -> int:
    """Bytes the (N, L) uint8 code array may take (a quarter of the RAM, at least 2 GiB; see ``memory_budget``)."""
    from biodeep_gui.core.common.fileio import memory_budget

    return memory_budget()


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


# ---- argument checks -------------------------------------------------------------------------------------------

def _check_args(length: int, length_policy: str, task: str = "auto") -> None:
    if not isinstance(length, (int, np.integer)) or length < 0:
        raise ConfigError(f"length must be a whole number >= 0 (0: the longest sequence), got {length!r}")
    if length_policy not in LENGTH_POLICIES:
        raise ConfigError(f"length_policy = {length_policy!r} is not one of: {', '.join(LENGTH_POLICIES)}")
    if task not in _TASKS:
        raise ConfigError(f"task = {task!r} is not one of: {', '.join(_TASKS)}")


