"""The disk-backed encoded cache: sequences encoded once, memory-mapped by every later run.

A cache folder (one per input files + encoding settings, under ``paths.cache_dir() / "encoded"``) holds

* ``codes.npy``   (N, L) uint8 codes (``biodeep_gui.core.sequences.encoding``), opened as a read-only memmap;
* ``labels.npy``  (N, T) float32 labels, ``lengths.npy`` (N,) int32 original lengths (memory-mapped too);
* ``ids.npy``     every id's UTF-8 bytes packed in one uint8 buffer, ``offsets.npy`` (N + 1,) int64 into it;
* ``chroms.npy``  (BED + genome only) (N,) int32 chromosome of each window, an index into the manifest's
  ``group_names`` (decoded on demand by ``Groups``: no N strings in RAM);
* ``manifest.json`` written last: format version, the encoding settings, the SHA-256 of every input file, the
  shape, task, label and class names. A folder is used only when its manifest matches the inputs and settings
  of the run; otherwise (an input changed, a build was interrupted) it is rebuilt in place.

On disk this is 1 byte per base + ids + 16 bytes per record (offsets, length, one label), i.e. about 1.1 bytes
per base for 200-bp records with short ids.

``data.cache`` chooses when it is used: ``auto`` (the default) for FASTA/table inputs larger than
``AUTO_BYTES`` (256 MiB) in total, where holding everything in RAM starts to hurt and the one-off encoding pays
for itself on the second run; ``on`` always; ``off`` never. For BED + genome, ``auto`` looks at the BED file
alone, over ``AUTO_BED_BYTES`` (4 MiB, about 50,000 narrowPeak or 150,000 three-column lines): the genome is
read window by window with random access, never held, so its size (always gigabytes) says nothing about the
memory a run needs, while the number of peaks does (two windows per peak plus their ids, ~0.6 kB per peak at
200 bp in RAM) and so does the time the cache saves later runs (the dinucleotide shuffle costs ~0.1 ms a peak
in Python: over 5 s from about 50,000 peaks). A compressed BED counts by its compressed size.

A bound + background FASTA pair is streamed into the cache in two passes (count, then encode straight into the
memory-mapped file), so building needs no more memory than a batch of records. BED + genome likewise: the peaks
are parsed into compact arrays (``bed.PeakTable``, ~20 bytes a peak), a pass over the ids alone sizes the files,
then ``bed.BedWindows`` (the one implementation ``load_bed`` uses too, so both give the same set for a seed)
fetches, encodes and makes the background of ``bed.CHUNK_PEAKS`` peaks at a time straight into the memmaps. Its
key holds the BED and genome paths, ``width``, ``background_method`` and the seed the background is drawn
with; the manifest holds both files' SHA-256 (the genome is hashed once per run, seconds for 3 GB). Other
inputs (a labelled FASTA, a table) are read with the in-memory loaders once and then written; later runs map
them.

A run on cached data keeps the codes on disk: ``SequenceBatches`` gathers each batch's rows from the memmap and
shuffles chunk by chunk (``training.loop.batch_indices(chunk=...)``), subsets are row views (``Rows``) and ids
are decoded on demand (``Ids``), so resident anonymous memory grows only by the per-record index and label
arrays (about 20 bytes per record), not with the bases.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from biodeep_gui.core.common.errors import ConfigError, InputFileError
from biodeep_gui.core.common.fileio import (
    atomic_path,
    atomic_save_npy,
    atomic_write,
    check_readable_file,
    sha256_file,
)
from biodeep_gui.core.sequences.dataset import SequenceSet
from biodeep_gui.core.sequences.encoding import BYTE_TO_CODE, INVALID, fit_length

CACHE_VERSION = 1
CACHE_MODES = ("auto", "on", "off")
#: ``data.cache = "auto"`` caches FASTA/table inputs larger than this in total.
AUTO_BYTES = 256 << 20
#: ``data.cache = "auto"`` caches BED + genome inputs whose BED file is larger than this (see the module notes).
AUTO_BED_BYTES = 4 << 20
MANIFEST = "manifest.json"
_FILES = ("codes.npy", "labels.npy", "lengths.npy", "ids.npy", "offsets.npy")
_TRANSLATE = BYTE_TO_CODE.tobytes()
_ID_BLOCK = 4096  # ids decoded per read of the packed buffer when iterating
_WHAT = {"fasta": "a FASTA/FASTQ file", "background": "a FASTA/FASTQ file", "table": "a CSV/TSV file",
         "bed": "a BED file", "genome": "a genome FASTA file"}


def default_root() -> Path:
    """``<user cache folder>/encoded``."""
    from biodeep_gui.core.common.paths import cache_dir

    return cache_dir() / "encoded"


# ---- views that keep the data on disk ----------------------------------------------------------------------------

class Rows:
    """Rows ``rows`` of a memory-mapped (N, L) code array, without copying them.

    Behaves enough like an array for the places a subset's codes go: ``shape``, ``len``, ``rows[i]`` /
    ``rows[a:b]`` / ``rows[index]`` (copies just those rows) and ``np.asarray`` (copies all, for small sets).
    ``batches.source_for`` turns it into a streaming batch source.
    """

    def __init__(self, base: np.ndarray, rows: np.ndarray):
        self.base, self.rows = base, np.asarray(rows, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.rows), int(self.base.shape[1]))

    dtype = np.dtype(np.uint8)
    ndim = 2

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        sel = self.rows[index]
        return np.asarray(self.base[sel]) if np.ndim(sel) else np.asarray(self.base[int(sel)])

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self.base[self.rows])
        return out if dtype is None else out.astype(dtype)


class Ids(Sequence[str]):
    """Record ids decoded on demand from the packed byte buffer (``ids.npy`` + ``offsets.npy``).

    ``index`` and ``in`` compare bytes in the buffer instead of decoding every id (which takes seconds for
    millions of records, too long for a lookup made on the GUI thread).
    """

    #: Records whose offsets are compared at once by ``index`` (8 MiB of offsets per step).
    SEARCH_CHUNK = 1 << 20

    def __init__(self, buffer: np.ndarray, offsets: np.ndarray, rows: np.ndarray | None = None):
        self.buffer, self.offsets, self.rows = buffer, offsets, rows

    def __len__(self) -> int:
        return len(self.offsets) - 1 if self.rows is None else len(self.rows)

    def index(self, name, start: int = 0, stop: int | None = None) -> int:
        """Position of the first record (in this view, from ``start`` up to ``stop``) whose id is ``name``.

        Only records whose id has as many bytes as ``name`` are candidates; their bytes are compared one byte
        position at a time, vectorised over the candidates, ``SEARCH_CHUNK`` records per step, so memory stays
        bounded and no id is decoded.

        Raises
        ------
        ValueError when no record has that id (as ``list.index``)
        """
        n = len(self)
        lo, hi, _ = slice(start, stop).indices(n)
        if isinstance(name, str):
            key = np.frombuffer(name.encode("utf-8"), np.uint8)
            for s in range(lo, hi, self.SEARCH_CHUNK):
                e = min(s + self.SEARCH_CHUNK, hi)
                if self.rows is None:  # consecutive records: a slice of the offsets, no gather
                    bounds = np.asarray(self.offsets[s:e + 1], np.int64)
                    begin, end = bounds[:-1], bounds[1:]
                else:
                    r = np.asarray(self.rows[s:e], np.int64)
                    begin, end = np.asarray(self.offsets[r], np.int64), np.asarray(self.offsets[r + 1], np.int64)
                cand = np.flatnonzero(end - begin == key.size)
                for j, byte in enumerate(key):  # keep the candidates whose j-th byte matches
                    cand = cand[np.asarray(self.buffer[begin[cand] + j]) == byte]
                if cand.size:
                    return s + int(cand[0])
        raise ValueError(f"{name!r} is not an id of this set")

    def __contains__(self, name) -> bool:
        try:
            self.index(name)
        except ValueError:
            return False
        return True

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        r = i if self.rows is None else int(self.rows[i])
        return bytes(self.buffer[self.offsets[r]:self.offsets[r + 1]]).decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        if self.rows is not None:
            for i in range(len(self)):
                yield self[i]
            return
        step = _ID_BLOCK  # one read of the buffer per block: slicing a memmap per id costs ~40 us, this ~0.5 us
        for a in range(0, len(self), step):
            offs = np.asarray(self.offsets[a:min(len(self), a + step) + 1])
            blob = bytes(self.buffer[offs[0]:offs[-1]])
            offs = (offs - offs[0]).tolist()
            for lo, hi in zip(offs, offs[1:]):
                yield blob[lo:hi].decode("utf-8")


class Groups:
    """Group names of rows (a BED set's chromosomes), decoded on demand from (N,) int32 codes into ``names`` (C,).

    ``groups[index]`` and ``np.asarray(groups)`` give str arrays of just the rows asked for: a cached set holds
    no N strings (chromosome hold-out reads the group of one record per split unit).
    """

    ndim = 1

    def __init__(self, codes: np.ndarray, names: Sequence[str], rows: np.ndarray | None = None):
        self.codes, self.rows = codes, rows
        self.names = np.asarray(list(names), dtype=str)

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)

    def __len__(self) -> int:
        return len(self.codes) if self.rows is None else len(self.rows)

    def __getitem__(self, index):
        sel = index if self.rows is None else self.rows[index]
        return self.names[np.asarray(self.codes[sel])]

    def __array__(self, dtype=None, copy=None):
        out = self.names[np.asarray(self.codes if self.rows is None else self.codes[self.rows])]
        return out if dtype is None else out.astype(dtype)

    def tolist(self) -> list[str]:
        return np.asarray(self).tolist()


class CachedSequenceSet(SequenceSet):
    """A ``SequenceSet`` whose codes, labels and ids stay in the memory-mapped cache folder."""

    cache_dir: Path | None = None
    #: input path -> SHA-256, as ``load_cached`` computed them (the run's provenance reuses them: a genome is
    #: hashed once per run, not twice)
    input_sha256: dict[str, str] | None = None

    def subset(self, index: np.ndarray) -> "CachedSequenceSet":
        index = np.asarray(index, dtype=np.int64)
        base = self.codes.base if isinstance(self.codes, Rows) else self.codes
        rows = self.codes.rows[index] if isinstance(self.codes, Rows) else index
        ids, groups = self.ids, self.groups
        id_rows = rows if isinstance(ids, Ids) else None
        if isinstance(groups, Groups):
            groups = Groups(groups.codes, groups.names, rows)
        elif groups is not None:
            groups = groups[index]
        out = CachedSequenceSet(
            ids=Ids(ids.buffer, ids.offsets, id_rows) if isinstance(ids, Ids) else [ids[i] for i in index],
            codes=Rows(base, rows), labels=np.asarray(self.labels[index]), task=self.task,
            label_names=list(self.label_names), class_names=list(self.class_names),
            lengths=None if self.lengths is None else np.asarray(self.lengths[index]),
            groups=groups, sources=list(self.sources))
        out.cache_dir, out.input_sha256 = self.cache_dir, self.input_sha256
        return out


# ---- when and where ------------------------------------------------------------------------------------------------

def _inputs(cfg) -> dict[str, str]:
    """Role -> path of the files the encoded set is made from."""
    if cfg.kind == "fasta":
        return {k: v for k, v in (("fasta", cfg.fasta), ("background", cfg.background)) if v}
    if cfg.kind == "table":
        return {"table": cfg.table} if cfg.table else {}
    if cfg.kind == "bed":
        return {"bed": cfg.bed, "genome": cfg.genome} if cfg.bed and cfg.genome else {}
    return {}


def wants_cache(cfg) -> bool:
    """Whether ``load_sequences`` should go through the cache for this ``DataConfig`` (see the module notes)."""
    mode = getattr(cfg, "cache", "off")
    if mode == "off" or not _inputs(cfg):
        return False
    if mode == "on":
        return True
    try:
        if cfg.kind == "bed":
            return os.path.getsize(cfg.bed) > AUTO_BED_BYTES
        return sum(os.path.getsize(p) for p in _inputs(cfg).values()) > AUTO_BYTES
    except OSError:
        return False  # the loader then names the missing file


def settings_of(cfg, seed: int = 0) -> dict:
    """The encoding settings a cache folder depends on (besides the input files' content and paths).

    ``seed`` seeds a BED set's background (``load_sequences``' seed, the run's ``train.seed``); other kinds
    do not depend on it.
    """
    if cfg.kind == "bed":
        return {"version": CACHE_VERSION, "kind": "bed", "width": int(cfg.width),
                "background_method": cfg.background_method, "seed": int(seed), "task": cfg.task}
    s = {"version": CACHE_VERSION, "kind": cfg.kind, "length": int(cfg.length), "length_policy": cfg.length_policy,
         "task": cfg.task}
    if cfg.kind == "table":
        s.update(sequence_column=cfg.sequence_column, label_columns=list(cfg.label_columns), id_column=cfg.id_column)
    return s


def folder_for(cfg, root: str | os.PathLike | None = None, *, seed: int = 0) -> Path:
    """The cache folder of these inputs (by absolute path) and settings; its manifest says what it holds."""
    key = {"inputs": {k: str(Path(v).resolve()) for k, v in _inputs(cfg).items()},
           "settings": settings_of(cfg, seed)}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return Path(root or default_root()) / digest


# ---- load / build --------------------------------------------------------------------------------------------------

def load_cached(cfg, root: str | os.PathLike | None = None, *, rebuild: bool = False,
                seed: int = 0) -> CachedSequenceSet:
    """The set a ``DataConfig`` describes, from its cache folder; built (or rebuilt) first when needed.

    Parameters
    ----------
    cfg : DataConfig of kind 'fasta', 'table' or 'bed'
    root : folder holding the cache folders (default ``default_root()``)
    rebuild : build even when the manifest matches
    seed : seeds a BED set's background (as ``load_bed``'s ``seed``); part of its cache key

    Returns
    -------
    CachedSequenceSet with memory-mapped codes (N, L) uint8, labels, lengths and lazily decoded ids (and
    groups, BED: ``Groups``); its ``cache_dir`` names the folder, ``cache_hit`` (attribute) says whether it was
    reused and ``input_sha256`` holds the inputs' digests (path -> SHA-256).
    """
    inputs = _inputs(cfg)
    if not inputs:
        raise ConfigError(f"data.kind = {cfg.kind!r}: the encoded cache takes FASTA, table or BED + genome inputs")
    folder = folder_for(cfg, root, seed=seed)
    for role, path in inputs.items():  # a named pipe or a folder is named, not read for ever by the hash
        check_readable_file(path, _WHAT[role])
    digests = {role: _sha(path) for role, path in inputs.items()}  # once per run: a genome takes seconds
    files = _FILES + (("chroms.npy",) if cfg.kind == "bed" else ())
    manifest = read_manifest(folder)
    hit = (not rebuild and manifest is not None and manifest.get("settings") == settings_of(cfg, seed)
           and manifest.get("inputs") == digests and all((folder / f).exists() for f in files))
    if not hit:
        manifest = build(cfg, folder, digests, seed=seed)
    ss = open_cache(folder, manifest)
    ss.cache_hit = hit
    ss.input_sha256 = {inputs[role]: digest for role, digest in digests.items()}
    return ss


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The folder's manifest, or None when it has none (never built, or a build was interrupted) or it is damaged."""
    try:
        doc = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("version") == CACHE_VERSION else None


def open_cache(folder: str | os.PathLike, manifest: dict | None = None) -> CachedSequenceSet:
    """Map a built cache folder (read-only)."""
    folder = Path(folder)
    manifest = manifest or read_manifest(folder)
    if manifest is None:
        raise InputFileError(folder, "is not a complete encoded cache (no valid manifest.json)")
    load = lambda name: np.load(folder / name, mmap_mode="r", allow_pickle=False)  # noqa: E731
    ss = CachedSequenceSet(ids=Ids(load("ids.npy"), load("offsets.npy")), codes=load("codes.npy"),
                           labels=load("labels.npy"), task=manifest["task"], label_names=manifest["label_names"],
                           class_names=manifest["class_names"], lengths=load("lengths.npy"),
                           sources=list(manifest["sources"]))
    if manifest.get("group_names"):
        ss.groups = Groups(load("chroms.npy"), manifest["group_names"])
    ss.cache_dir = folder
    from biodeep_gui.core.common.system import bound_heap

    bound_heap()  # a run streaming from disk must not keep its freed batches resident (see bound_heap)
    return ss


def build(cfg, folder: str | os.PathLike, digests: dict[str, str] | None = None, *, seed: int = 0) -> dict:
    """Encode the inputs of ``cfg`` into ``folder`` and write its manifest last; returns the manifest.

    ``seed`` seeds a BED set's background. ``digests`` (role -> SHA-256) are computed here when not given.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # the folder is incomplete until the new manifest is written
    inputs = _inputs(cfg)
    digests = digests or {role: _sha(p) for role, p in inputs.items()}
    if cfg.kind == "bed":
        if cfg.task not in ("auto", "binary"):
            raise ConfigError(f"data.task = {cfg.task!r}: BED peaks against a background make a binary task")
        info = _stream_bed(cfg, seed, folder)
    elif cfg.kind == "fasta" and "background" in inputs:
        if cfg.task not in ("auto", "binary"):
            raise ConfigError(f"data.task = {cfg.task!r}: a FASTA file with a background file makes a binary "
                              f"task; use task 'auto' or 'binary'")
        info = _stream_fasta_pair(inputs["fasta"], inputs["background"], folder, cfg.length, cfg.length_policy)
    elif cfg.kind == "fasta":
        from biodeep_gui.core.sequences.fasta import load_labelled_fasta

        ss = load_labelled_fasta(cfg.fasta, length=cfg.length, length_policy=cfg.length_policy, task=cfg.task)
        info = _write_set(ss, folder)
    else:
        from biodeep_gui.core.sequences.tables import load_table

        ss = load_table(cfg.table, cfg.sequence_column, cfg.label_columns, id_column=cfg.id_column, task=cfg.task,
                        length=cfg.length, length_policy=cfg.length_policy)
        info = _write_set(ss, folder)
    manifest = {"version": CACHE_VERSION, "settings": settings_of(cfg, seed), "inputs": digests, **info}
    atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def _sha(path: str) -> str:
    try:
        return sha256_file(path)
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror or exc})") from None


def _write_set(ss: SequenceSet, folder: Path) -> dict:
    """Write an in-memory set into the cache files."""
    raw = [i.encode("utf-8") for i in ss.ids]
    offsets = np.zeros(len(raw) + 1, np.int64)
    np.cumsum([len(r) for r in raw], out=offsets[1:])
    atomic_save_npy(folder / "codes.npy", np.ascontiguousarray(ss.codes, dtype=np.uint8))
    atomic_save_npy(folder / "labels.npy", np.asarray(ss.labels, np.float32))
    lengths = ss.lengths if ss.lengths is not None else np.full(len(ss), ss.length, np.int32)
    atomic_save_npy(folder / "lengths.npy", np.asarray(lengths, np.int32))
    atomic_save_npy(folder / "ids.npy", np.frombuffer(b"".join(raw), np.uint8))
    atomic_save_npy(folder / "offsets.npy", offsets)
    return {"n": len(ss), "length": ss.length, "task": ss.task, "label_names": list(ss.label_names),
            "class_names": list(ss.class_names), "sources": list(ss.sources)}


# ---- streaming a FASTA pair ----------------------------------------------------------------------------------------

def _scan(path: str) -> tuple[int, int, int, int]:
    """(records, longest sequence, first record's length, id bytes) of one FASTA/FASTQ file, checking ids."""
    from biodeep_gui.core.sequences.readers import _fasta_batches

    n = longest = id_bytes = 0
    first = -1
    for titles, seqs in _fasta_batches(path, size=4096):
        for k, (t, s) in enumerate(zip(titles, seqs)):
            if not t:
                raise InputFileError(path, "header has no identifier", record=n + k + 1,
                                     expected="a name right after '>' or '@'")
            if not s:
                raise InputFileError(path, "record has an empty sequence", record=n + k + 1,
                                     record_id=t.split(None, 1)[0], expected="sequence lines after the header")
        if first < 0:
            first = len(seqs[0])
        longest = max(longest, max(map(len, seqs)))
        id_bytes += sum(len(t.split(None, 1)[0].encode("utf-8")) for t in titles)
        n += len(titles)
    return n, longest, first, id_bytes


def _stream_fasta_pair(positive: str, background: str, folder: Path, length: int, policy: str) -> dict:
    """Two passes over bound + background FASTA: count, then encode into memory-mapped files."""
    from numpy.lib.format import open_memmap

    from biodeep_gui.core.sequences.readers import _fasta_batches

    scans = [_scan(p) for p in (positive, background)]
    n = scans[0][0] + scans[1][0]
    if length == 0:
        length = scans[0][2] if policy == "strict" else max(s[1] for s in scans)
    id_total = scans[0][3] + scans[1][3]
    with atomic_path(folder / "codes.npy", ".npy") as t_codes, atomic_path(folder / "ids.npy", ".npy") as t_ids, \
            atomic_path(folder / "offsets.npy", ".npy") as t_off, atomic_path(folder / "lengths.npy", ".npy") as t_len:
        codes = open_memmap(t_codes, mode="w+", dtype=np.uint8, shape=(n, length))
        idbuf = open_memmap(t_ids, mode="w+", dtype=np.uint8, shape=(id_total,))
        offsets = open_memmap(t_off, mode="w+", dtype=np.int64, shape=(n + 1,))
        lengths = open_memmap(t_len, mode="w+", dtype=np.int32, shape=(n,))
        hashes = np.zeros(n, np.int64)
        row, pos = 0, 0
        offsets[0] = 0
        for path in (positive, background):
            rec = 0
            for titles, seqs in _fasta_batches(path, size=4096):
                ids = [t.split(None, 1)[0] for t in titles]
                pos = _put_ids(ids, idbuf, offsets, row, pos)
                hashes[row:row + len(ids)] = [hash(i) for i in ids]
                lens = np.fromiter(map(len, seqs), np.int32, len(seqs))
                lengths[row:row + len(seqs)] = lens
                if (lens == length).all():  # the common case: one translate for the whole batch
                    block = np.frombuffer("".join(seqs).encode("latin-1", "replace").translate(_TRANSLATE),
                                          np.uint8).reshape(len(seqs), length)
                    if (block == INVALID).any():
                        _bad_base(path, rec, ids, seqs)
                    codes[row:row + len(seqs)] = block
                else:
                    for k, s in enumerate(seqs):
                        c = BYTE_TO_CODE[np.frombuffer(s.encode("latin-1", "replace"), np.uint8)]
                        if (c == INVALID).any():
                            _bad_base(path, rec, ids, seqs)
                        if policy == "strict" and len(c) != length:
                            raise InputFileError(path, f"sequence of {len(c)} bases where {length} are expected "
                                                       "(length_policy 'strict')", record=rec + k + 1,
                                                 record_id=ids[k])
                        codes[row + k] = fit_length(c, length)
                row += len(seqs)
                rec += len(seqs)
        _check_unique_hashed(hashes, Ids(idbuf, offsets), (positive, background), scans[0][0])
        for mm in (codes, idbuf, offsets, lengths):
            mm.flush()
        del codes, idbuf, offsets, lengths
    labels = np.zeros((n, 1), np.float32)
    labels[:scans[0][0]] = 1.0
    atomic_save_npy(folder / "labels.npy", labels)
    return {"n": n, "length": int(length), "task": "binary", "label_names": ["bound"],
            "class_names": ["background", "bound"], "sources": [str(positive), str(background)]}


def _put_ids(ids: list[str], idbuf: np.ndarray, offsets: np.ndarray, row: int, pos: int) -> int:
    """Pack ``ids`` (records ``row``..) into ``idbuf`` from byte ``pos`` and fill their ``offsets``; returns the
    next free byte."""
    raw = [i.encode("utf-8") for i in ids]
    blob = b"".join(raw)
    idbuf[pos:pos + len(blob)] = np.frombuffer(blob, np.uint8)
    offsets[row + 1:row + 1 + len(raw)] = pos + np.cumsum([len(r) for r in raw], dtype=np.int64)
    return pos + len(blob)


# ---- streaming BED + genome ----------------------------------------------------------------------------------------

def _stream_bed(cfg, seed: int, folder: Path) -> dict:
    """BED peaks + genome into memory-mapped files: one pass over the ids to size them, one to fill them."""
    from numpy.lib.format import open_memmap

    from biodeep_gui.core.sequences.bed import BedWindows

    with BedWindows(cfg.bed, cfg.genome, width=cfg.width, background_method=cfg.background_method,
                    seed=seed) as src:
        n, n_bg, w, step, peaks = src.n_peaks, src.n_background, src.width, src.chunk, src.peaks
        spans = [(a, min(n, a + step)) for a in range(0, n, step)]
        count = lambda ids: sum(len(i.encode("utf-8")) for i in ids)  # noqa: E731
        peak_bytes = sum(count(peaks.ids(a, b)) for a, b in spans)
        id_total = peak_bytes + sum(count(src.background_ids(a, b)) for a, b in spans)
        used, chrom_code = np.unique(peaks.chrom, return_inverse=True)  # name only chromosomes that have peaks
        chrom_code = chrom_code.astype(np.int32).ravel()
        total = n + n_bg
        paths = {name: folder / f"{name}.npy" for name in ("codes", "ids", "offsets", "lengths", "labels", "chroms")}
        with atomic_path(paths["codes"], ".npy") as t_codes, atomic_path(paths["ids"], ".npy") as t_ids, \
                atomic_path(paths["offsets"], ".npy") as t_off, atomic_path(paths["lengths"], ".npy") as t_len, \
                atomic_path(paths["labels"], ".npy") as t_lab, atomic_path(paths["chroms"], ".npy") as t_chr:
            codes = open_memmap(t_codes, mode="w+", dtype=np.uint8, shape=(total, w))
            idbuf = open_memmap(t_ids, mode="w+", dtype=np.uint8, shape=(id_total,))
            offsets = open_memmap(t_off, mode="w+", dtype=np.int64, shape=(total + 1,))
            lengths = open_memmap(t_len, mode="w+", dtype=np.int32, shape=(total,))
            labels = open_memmap(t_lab, mode="w+", dtype=np.float32, shape=(total, 1))
            chroms = open_memmap(t_chr, mode="w+", dtype=np.int32, shape=(total,))
            lengths[:] = w
            labels[:n], labels[n:] = 1.0, 0.0
            chroms[:n] = chrom_code
            chroms[n:] = chrom_code[src.background_peaks()]  # a background shares its peak's chromosome
            offsets[0] = 0
            pos_peak, pos_bg = 0, peak_bytes
            for ch in src.chunks():
                codes[ch.start:ch.stop] = ch.peaks
                row = n + ch.background_start
                codes[row:row + len(ch.background)] = ch.background
                pos_peak = _put_ids(peaks.ids(ch.start, ch.stop), idbuf, offsets, ch.start, pos_peak)
                pos_bg = _put_ids(src.background_ids(ch.start, ch.stop), idbuf, offsets, row, pos_bg)
            for mm in (codes, idbuf, offsets, lengths, labels, chroms):
                mm.flush()
            del codes, idbuf, offsets, lengths, labels, chroms
        names = [peaks.names[int(c)] for c in used]
    return {"n": total, "length": w, "task": "binary", "label_names": ["bound"],
            "class_names": ["background", "bound"], "sources": [str(cfg.bed), str(cfg.genome)],
            "group_names": names}


def _bad_base(path: str, rec0: int, ids: list[str], seqs: Sequence[str]) -> None:
    from biodeep_gui.core.sequences.dataset import _EXPECT_BASES

    for k, s in enumerate(seqs):
        c = BYTE_TO_CODE[np.frombuffer(s.encode("latin-1", "replace"), np.uint8)]
        bad = np.flatnonzero(c == INVALID)
        if bad.size:
            p = int(bad[0])
            raise InputFileError(path, f"character {s[p]!r} at position {p + 1} is not a nucleotide code",
                                 record=rec0 + k + 1, record_id=ids[k], expected=_EXPECT_BASES)


def _check_unique_hashed(hashes: np.ndarray, ids: Ids, paths: tuple[str, str], n_first: int) -> None:
    """Refuse an id used twice (in one file or across both), comparing 8-byte hashes first, then the ids."""
    sorted_ = np.sort(hashes)  # one copy; positions are looked up only for the (rare) repeated hashes
    repeated = np.unique(sorted_[1:][sorted_[1:] == sorted_[:-1]])
    del sorted_
    for h in repeated:
        seen: dict[str, int] = {}
        second = None
        for x in np.flatnonzero(hashes == h).tolist():  # in record order: the second use is named
            if ids[x] in seen:
                second = x
                break
            seen[ids[x]] = x
        if second is not None:
            path = paths[0] if second < n_first else paths[1]
            rec = second + 1 if second < n_first else second - n_first + 1
            raise InputFileError(path, f"id {ids[second]!r} is used twice", record=rec, record_id=ids[second],
                                 expected="a unique id for every record")
