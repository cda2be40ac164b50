"""BED peaks cut from an indexed genome FASTA, with a matched background (dinucleotide shuffle or flanks).

``read_peaks`` parses a BED file into compact arrays (``PeakTable``); ``BedWindows`` makes the windows and their
background a chunk of peaks at a time. ``load_bed`` gathers the chunks in RAM, the encoded cache
(``biodeep_gui.core.sequences.cache``) writes them to memory-mapped files: one implementation, one set per seed.
"""
from __future__ import annotations

import hashlib
import os
import random
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.common.fileio import check_readable_file
from biodeep_gui.core.sequences.dataset import _EXPECT_BASES, BACKGROUND_TAG, SequenceSet, _clip, _q
from biodeep_gui.core.sequences.encoding import BYTE_TO_CODE, INVALID
from biodeep_gui.core.sequences.readers import _READ_ERRORS, _open_text, _sniff

# ---- BED + genome ----------------------------------------------------------------------------------------------

def _index_cache_dir() -> Path:
    """Where .fai indexes go when the genome's own folder is read-only: the per-user cache folder."""
    from biodeep_gui.core.common import paths

    return paths.cache_dir() / "genome-index"


def open_genome(genome: str | os.PathLike):
    """Open an indexed genome FASTA with pyfaidx, building the .fai in the user's cache folder if the genome's folder
    is read-only."""
    import pyfaidx

    genome = str(genome)
    check_readable_file(genome, "a genome FASTA file")
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
            # genome version (path, size, mtime) in the user's cache folder instead.
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


@dataclass
class PeakTable:
    """BED peaks as compact arrays (about 20 bytes per peak, no Python object per peak).

    Attributes
    ----------
    names : (C,) chromosome names of the genome, in its order
    sizes : (C,) int64 chromosome lengths (bp)
    chrom : (P,) int32 index into ``names`` of each peak, in BED order
    start : (P,) int64 start of each peak's window (0-based; the window is ``[start, start + width)``)
    line : (P,) int64 1-based BED line of each peak (for messages)
    width : window width (bp)
    """

    names: list[str]
    sizes: np.ndarray
    chrom: np.ndarray
    start: np.ndarray
    line: np.ndarray
    width: int

    def __len__(self) -> int:
        return len(self.chrom)

    def ids(self, a: int, b: int) -> list[str]:
        """Ids ('chrom:start-end') of peaks ``a``..``b - 1``."""
        names, w = self.names, self.width
        return [f"{names[c]}:{s}-{s + w}" for c, s in zip(self.chrom[a:b].tolist(), self.start[a:b].tolist())]


def read_peaks(bed, names: list[str], sizes, width: int, genome: str) -> PeakTable:
    """Parse and check a BED file into a ``PeakTable`` of ``width``-bp windows on a genome of ``names``/``sizes``.

    Raises ``InputFileError`` naming the BED line (malformed line, bad coordinates, unknown chromosome, interval
    past a chromosome's end, chromosome shorter than the window, two peaks giving one window, no intervals).
    """
    _sniff(bed, "BED")
    index = {name: i for i, name in enumerate(names)}
    chroms, starts, lines = array("i"), array("q"), array("q")
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
                ci = index.get(chrom)
                if ci is None:
                    alt = chrom[3:] if chrom.startswith("chr") else "chr" + chrom
                    hint = f" (the genome has {_q(alt)}: do the naming styles differ?)" if alt in index else ""
                    shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
                    raise InputFileError(bed, f"chromosome {_q(chrom)} is not in the genome {genome}{hint}",
                                         line=no, expected=f"one of: {shown}")
                size = int(sizes[ci])
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
                chroms.append(ci)
                starts.append(min(max(centre - width // 2, 0), size - width))  # shifted inside at the ends
                lines.append(no)
        except _READ_ERRORS as exc:
            raise InputFileError(bed, f"damaged or truncated compressed file ({exc})") from None
    if not chroms:
        raise InputFileError(bed, "contains no intervals", expected="lines of chrom, start, end")
    table = PeakTable(list(names), np.asarray(sizes, np.int64), np.frombuffer(chroms, np.int32).copy(),
                      np.frombuffer(starts, np.int64).copy(), np.frombuffer(lines, np.int64).copy(), int(width))
    _check_distinct(table, bed)
    return table


def _check_distinct(t: PeakTable, bed) -> None:
    """Refuse two peaks giving one window, naming the first line (in file order) that repeats an earlier one.

    Sorting three arrays replaces a set of (chrom, start) tuples: a few bytes per peak instead of ~150."""
    order = np.lexsort((t.line, t.start, t.chrom))
    c, s = t.chrom[order], t.start[order]
    same = np.zeros(len(order), bool)
    same[1:] = (c[1:] == c[:-1]) & (s[1:] == s[:-1])
    if not same.any():
        return
    head = np.maximum.accumulate(np.where(same, 0, np.arange(len(order))))  # first row of each run of one window
    repeats = np.flatnonzero(same)
    k = int(repeats[np.argmin(t.line[order[repeats]])])
    i, first = int(order[k]), int(order[head[k]])
    chrom, ws, w = t.names[int(t.chrom[i])], int(t.start[i]), t.width
    raise InputFileError(bed, f"gives the same {w}-bp window {chrom}:{ws}-{ws + w} as line {int(t.line[first])}",
                         line=int(t.line[i]), expected="distinct peaks (merge duplicates, e.g. bedtools merge)")


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
    with BedWindows(bed, genome, width=width, background_method=background_method, seed=seed) as src:
        n, n_bg = src.n_peaks, src.n_background
        codes = np.empty((n + n_bg, width), np.uint8)
        for ch in src.chunks():
            codes[ch.start:ch.stop] = ch.peaks
            codes[n + ch.background_start:n + ch.background_start + len(ch.background)] = ch.background
        ids = src.peaks.ids(0, n) + src.background_ids(0, n)
        chrom = np.concatenate([src.peaks.chrom, src.peaks.chrom[src.background_peaks()]])
        used = np.unique(chrom)  # names of these chromosomes only: the str width is the longest one used
        groups = np.array([src.peaks.names[c] for c in used.tolist()], dtype=str)[np.searchsorted(used, chrom)]
    labels = np.zeros((n + n_bg, 1), np.float32)
    labels[:n] = 1.0
    return SequenceSet(ids=ids, codes=codes, labels=labels, task="binary", label_names=["bound"],
                       class_names=["background", "bound"], lengths=np.full(n + n_bg, width, np.int32),
                       groups=groups, sources=[str(bed), str(genome)])


#: Peaks per chunk: windows are fetched, encoded and shuffled this many at a time (a few MB at 1 kb windows).
CHUNK_PEAKS = 4096


@dataclass
class WindowChunk:
    """Peaks ``start``..``stop - 1`` of a ``BedWindows``: their windows and the backgrounds made from them.

    peaks : (stop - start, L) uint8 codes
    background : (m, L) uint8 codes, rows ``background_start``..``background_start + m - 1`` of the background
                 block (m = stop - start for shuffles; flanks: the peaks of the chunk that have one)
    """

    start: int
    stop: int
    peaks: np.ndarray
    background_start: int
    background: np.ndarray


class BedWindows:
    """The windows of BED peaks on a genome and their matched background, made chunk by chunk.

    The one implementation behind ``load_bed`` (which keeps the chunks in RAM) and the encoded cache (which
    writes them into memory-mapped files): both give the same codes and ids for the same seed. Per peak it
    holds only a ``PeakTable`` row and, for flanks, the chosen flank's start (8 bytes); windows exist a chunk
    at a time. The set is the peaks in BED order, then one background per peak in the same order (flanks: per
    peak that has one). Use as a context manager (the genome is closed at the end).

    Parameters are those of ``load_bed``; ``chunk`` is the number of peaks per ``WindowChunk`` (default
    ``CHUNK_PEAKS``).
    """

    def __init__(self, bed, genome, *, width: int = 200, background_method: str = "shuffle", seed: int = 0,
                 chunk: int | None = None):
        if not isinstance(width, (int, np.integer)) or width <= 0:
            raise ConfigError(f"width must be a whole number > 0, got {width!r}")
        if background_method not in ("shuffle", "flank"):
            raise ConfigError(f"background_method = {background_method!r} is not one of: shuffle, flank")
        check_readable_file(bed, "a BED file")  # before the genome is indexed
        self.bed, self.genome, self.width = bed, genome, int(width)
        self.method, self.seed, self.chunk = background_method, seed, max(1, int(chunk or CHUNK_PEAKS))
        self.fa = open_genome(genome)
        try:
            names = list(self.fa.keys())
            sizes = np.array([len(self.fa[name]) for name in names], np.int64)
            self.peaks = read_peaks(bed, names, sizes, self.width, str(genome))
            #: (P,) int64 start of each peak's flank window, -1 where none fits (flanks only)
            self.flank = self._plan_flanks() if background_method == "flank" else None
        except BaseException:
            self.fa.close()
            raise

    def __enter__(self) -> "BedWindows":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.fa.close()

    @property
    def n_peaks(self) -> int:
        return len(self.peaks)

    @property
    def n_background(self) -> int:
        return self.n_peaks if self.flank is None else int((self.flank >= 0).sum())

    def background_peaks(self) -> np.ndarray:
        """(n_background,) int64 index of the peak each background row was made from."""
        return np.arange(self.n_peaks) if self.flank is None else np.flatnonzero(self.flank >= 0)

    def background_ids(self, a: int, b: int) -> list[str]:
        """Ids of the backgrounds of peaks ``a``..``b - 1`` (the peak's id + ``BACKGROUND_TAG`` + how)."""
        ids = self.peaks.ids(a, b)
        if self.flank is None:
            return [i + BACKGROUND_TAG + "shuffled" for i in ids]
        names, w, chrom = self.peaks.names, self.width, self.peaks.chrom
        return [f"{ids[k]}{BACKGROUND_TAG}flank:{names[chrom[a + k]]}:{s}-{s + w}"
                for k, s in enumerate(self.flank[a:b].tolist()) if s >= 0]

    def chunks(self):
        """Yield ``WindowChunk``s in peak order; each call starts the seeded background draw afresh."""
        rng = random.Random(self.seed)
        n, w, t = self.n_peaks, self.width, self.peaks
        done_bg = 0
        for a in range(0, n, self.chunk):
            b = min(n, a + self.chunk)
            peaks = np.empty((b - a, w), np.uint8)
            for k in range(b - a):
                peaks[k] = self._window(a + k, int(t.start[a + k]))
            if self.flank is None:
                background = np.empty_like(peaks)
                for k in range(b - a):  # the rng is drawn in peak order, whatever the chunk size
                    background[k] = dinucleotide_shuffle(peaks[k], rng)
            else:
                chosen = [(a + k, s) for k, s in enumerate(self.flank[a:b].tolist()) if s >= 0]
                background = np.empty((len(chosen), w), np.uint8)
                for j, (i, s) in enumerate(chosen):
                    background[j] = self._codes(int(t.chrom[i]), s, s + w)
            yield WindowChunk(a, b, peaks, done_bg, background)
            done_bg += len(background)

    # ---- internals ----

    def _codes(self, chrom: int, start: int, end: int) -> np.ndarray:
        name = self.peaks.names[chrom]
        return BYTE_TO_CODE[np.frombuffer(_fetch(self.fa, name, start, end, self.genome).encode("latin-1", "replace"),
                                          np.uint8)]

    def _window(self, i: int, start: int) -> np.ndarray:
        """Peak ``i``'s window codes (L,), checked."""
        t, w = self.peaks, self.width
        name = t.names[int(t.chrom[i])]
        row = self._codes(int(t.chrom[i]), start, start + w)
        if row.size != w:
            raise InputFileError(self.bed, f"the genome returned {row.size} bp for {name}:{start}-{start + w}",
                                 record=i + 1, record_id=f"{name}:{start}-{start + w}", line=int(t.line[i]),
                                 expected=f"{w} bp")
        bad = np.flatnonzero(row == INVALID)
        if bad.size:
            raise InputFileError(self.genome, f"{name}:{start + int(bad[0]) + 1} holds a character that is not a "
                                              f"nucleotide code", expected=_EXPECT_BASES)
        return row

    def _plan_flanks(self) -> np.ndarray:
        """(P,) start of each peak's flank window or -1: a seeded side among those inside the chromosome, not
        overlapping any peak window and not more than half N (windows are read here and again when written)."""
        t, w = self.peaks, self.width
        rng = random.Random(self.seed)
        order = np.lexsort((t.start, t.chrom))
        sorted_starts, sorted_chrom = t.start[order], t.chrom[order]
        bounds = np.searchsorted(sorted_chrom, np.arange(len(t.names) + 1))  # chromosome c: bounds[c]..bounds[c+1]
        out = np.full(len(t), -1, np.int64)
        distance = 3 * w
        for i, (c, start) in enumerate(zip(t.chrom.tolist(), t.start.tolist())):
            starts = sorted_starts[bounds[c]:bounds[c + 1]]
            sides = [start - distance, start + distance]
            rng.shuffle(sides)
            for s in sides:
                e = s + w
                if s < 0 or e > t.sizes[c] or _overlaps(starts, s, e, w):
                    continue
                row = self._codes(c, s, e)
                if (row == INVALID).any() or (row == 4).sum() > w // 2:
                    continue
                out[i] = s
                break
        if not (out >= 0).any():
            raise InputFileError(self.bed, f"no flanking background window fits: every window {distance} bp up- "
                                           f"or downstream of a peak leaves its chromosome, overlaps a peak or is "
                                           f"mostly N", expected="background_method 'shuffle'")
        return out


def _fetch(fa, chrom: str, start: int, end: int, genome) -> str:
    try:
        return str(fa[chrom][start:end])
    except Exception as exc:  # pyfaidx raises several types for a damaged genome
        raise InputFileError(genome, f"cannot read {chrom}:{start}-{end} from the genome ({exc})") from None


def _overlaps(starts: np.ndarray, start: int, end: int, width: int) -> bool:
    """Whether [start, end) overlaps a peak window; ``starts``: sorted starts of the ``width``-bp windows."""
    # a window [s, s + width) overlaps iff start - width < s < end
    return int(np.searchsorted(starts, end, "left")) > int(np.searchsorted(starts, start - width, "right"))




# ---- split units ---------------------------------------------------------------------------------------------

def window_units(ids: Sequence[str]) -> np.ndarray | None:
    """(N,) split unit of each record of a BED-derived set: overlapping windows share one, and so does each
    window's background.

    A peak window's id is 'chrom:start-end'; its background's id is the peak's id + ``BACKGROUND_TAG`` +
    'shuffled' or 'flank:chrom:start-end'. Windows (peaks and flanks) on one chromosome that overlap by at least
    one base are merged (a sweep over the windows sorted by start, union-find over records), so no stretch of
    genome is seen in training and again in validation or test. A unit is named by its lowest record index.
    Returns None when an id is not of that form.

    The windows are kept as arrays (about 100 bytes a record at the peak) rather than a tuple and a dict entry
    per record (about 300 bytes): genome-scale sets are split with this.
    """
    n = len(ids)
    chrom_code: dict[str, int] = {}
    windows = (array("i"), array("q"), array("q"), array("q"))  # chromosome, start, end, record: peaks, flanks
    owners = (array("i"), array("q"), array("q"), array("q"))  # the same of the peak each background names
    is_peak = np.zeros(n, bool)

    def put(arrays, chrom: str, start: int, end: int, record: int) -> None:
        for a, v in zip(arrays, (chrom_code.setdefault(chrom, len(chrom_code)), start, end, record)):
            a.append(v)

    for i, rid in enumerate(ids):
        head, sep, how = rid.partition(BACKGROUND_TAG)
        w = _parse_window(head)
        if w is None:
            return None
        if not sep:
            is_peak[i] = True
            put(windows, *w, i)
            continue
        put(owners, *w, i)
        if how.startswith("flank:"):
            f = _parse_window(how[len("flank:"):])
            if f is None:
                return None
            put(windows, *f, i)
    dtypes = (np.int32, np.int64, np.int64, np.int64)
    wc, ws, we, wr = (np.frombuffer(a, dt) if len(a) else np.zeros(0, dt) for a, dt in zip(windows, dtypes))
    bc, bs, be, br = (np.frombuffer(a, dt) if len(a) else np.zeros(0, dt) for a, dt in zip(owners, dtypes))
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union_all(a: np.ndarray, b: np.ndarray) -> None:
        for x, y in zip(a.tolist(), b.tolist()):
            ra, rb = find(x), find(y)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

    # each background joins the peak its id names (matched by sorting, not by a dict of peak ids)
    peaks = np.flatnonzero(is_peak[wr])  # positions in the window arrays of the peak windows
    merged = np.concatenate([np.stack([wc[peaks], ws[peaks], we[peaks]], 1), np.stack([bc, bs, be], 1)])
    tag = np.concatenate([np.zeros(len(peaks), np.int8), np.ones(len(br), np.int8)])  # peaks sort first
    m_order = np.lexsort((tag, merged[:, 2], merged[:, 1], merged[:, 0]))
    last_peak = np.maximum.accumulate(np.where(tag[m_order] == 0, np.arange(len(m_order)), -1))
    bg_at = np.flatnonzero(tag[m_order] == 1)
    match = last_peak[bg_at]  # sorted position of the last peak at or before each background
    if (match < 0).any() or (merged[m_order[match]] != merged[m_order[bg_at]]).any():
        return None  # a background whose peak is not in the set
    union_all(br[m_order[bg_at] - len(peaks)], wr[peaks[m_order[match]]])
    del merged, tag, m_order, last_peak, bg_at, match
    # the sweep: a window starting before the reach of the windows before it on its chromosome joins them
    order = np.lexsort((wr, we, ws, wc))
    c, st, en = wc[order], ws[order], we[order]
    big = int(en.max(initial=0)) + 1
    reach = np.maximum.accumulate(en + c.astype(np.int64) * big)  # restarts per chromosome (chromosomes sorted)
    joins = np.zeros(len(order), bool)
    joins[1:] = (c[1:] == c[:-1]) & (st[1:] + c[1:].astype(np.int64) * big < reach[:-1])
    holder = np.maximum.accumulate(np.where(joins, 0, np.arange(len(order))))
    union_all(wr[order[joins]], wr[order[holder[joins]]])
    while True:  # every record to its root, all at once
        up = parent[parent]
        if np.array_equal(up, parent):
            return parent
        parent = up


def _parse_window(text: str) -> tuple[str, int, int] | None:
    chrom, sep, span = text.rpartition(":")
    start, dash, end = span.partition("-")
    if not sep or not dash or not start.isdigit() or not end.isdigit():
        return None
    return chrom, int(start), int(end)
