"""BED peaks cut from an indexed genome FASTA, with a matched background (dinucleotide shuffle or flanks)."""
from __future__ import annotations

import bisect
import hashlib
import os
import random
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.common.fileio import check_readable_file
from biodeep_gui.core.sequences.dataset import _EXPECT_BASES, BACKGROUND_TAG, SequenceSet, _clip, _Origins, _q
from biodeep_gui.core.sequences.encoding import BYTE_TO_CODE, INVALID
from biodeep_gui.core.sequences.readers import _READ_ERRORS, _open_text, _sniff

# ---- BED + genome ----------------------------------------------------------------------------------------------

@dataclass
class _Peak:
    chrom: str
    start: int  # window, 0-based half-open
    end: int
    line: int


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
    check_readable_file(bed, "a BED file")  # before the genome is indexed
    fa = open_genome(genome)
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




# ---- split units ---------------------------------------------------------------------------------------------

def window_units(ids: list[str]) -> np.ndarray | None:
    """(N,) split unit of each record of a BED-derived set: overlapping windows share one, and so does each
    window's background.

    A peak window's id is 'chrom:start-end'; its background's id is the peak's id + ``BACKGROUND_TAG`` +
    'shuffled' or 'flank:chrom:start-end'. Windows (peaks and flanks) on one chromosome that overlap by at least
    one base are merged (a sweep over the windows sorted by start, union-find over records), so no stretch of
    genome is seen in training and again in validation or test. Returns None when an id is not of that form.
    """
    n = len(ids)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    peak_of: dict[str, int] = {}
    windows: list[tuple[str, int, int, int]] = []  # chrom, start, end, record
    pending: list[tuple[int, str]] = []
    for i, rid in enumerate(ids):
        head, sep, how = rid.partition(BACKGROUND_TAG)
        if not sep:
            w = _parse_window(head)
            if w is None:
                return None
            peak_of[head] = i
            windows.append((*w, i))
        else:
            pending.append((i, head))
            if how.startswith("flank:"):
                w = _parse_window(how[len("flank:"):])
                if w is None:
                    return None
                windows.append((*w, i))
    for i, head in pending:
        if head not in peak_of:
            return None
        union(i, peak_of[head])
    windows.sort()
    chrom, reach, holder = None, -1, -1
    for c, start, end, i in windows:
        if c == chrom and start < reach:
            union(i, holder)
            reach = max(reach, end)
        else:
            chrom, reach, holder = c, end, i
    return np.array([find(i) for i in range(n)], np.int64)


def _parse_window(text: str) -> tuple[str, int, int] | None:
    chrom, sep, span = text.rpartition(":")
    start, dash, end = span.partition("-")
    if not sep or not dash or not start.isdigit() or not end.isdigit():
        return None
    return chrom, int(start), int(end)
