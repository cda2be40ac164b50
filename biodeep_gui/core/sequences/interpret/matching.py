"""Matching filter motifs to known motifs with Tomtom (memelite's in-process implementation).

No MEME-suite binary is needed: ``memelite.tomtom`` (Schreiber's numba re-implementation of Gupta et al. 2007,
"complete score" variant, both strands) compares every query PFM with every target PFM.

Statistics reported per filter x target pair
--------------------------------------------
p_value  Tomtom's p-value of the best alignment (memelite merges the two strands into one p-value per pair).
q_value  memelite gives no q-values, so they are computed here with Benjamini-Hochberg over ALL comparisons of
         the call (every scored filter x every target), i.e. the false discovery rate if every pair at or below
         this p-value were called a match. This is stricter than a per-filter correction.
e_value  p_value x number of targets (expected number of targets at least this similar by chance).
offset   where the match sits: the 0-based position in the filter of the target's first column (the target
         reverse-complemented when ``strand`` is '-'); negative when the target starts before the filter.
strand   '+' the target as given, '-' its reverse complement, aligned with the filter.

Uninformative alignments are not reported
-----------------------------------------
Tomtom scores columns by Euclidean distance, which rewards aligning two flat (uninformative) columns as much as
two identical informative ones. A flat filter therefore "matches" a long motif with a flat stretch, e.g. the
15-bp spacer of CTCF's MA1929/MA1930 matrices, at p ~ 1e-15 (measured here: 64 of 64 PFMs of random DNA did).
So a match is only reported when its alignment pairs at least ``MIN_INFORMATIVE`` (4) columns that carry at
least ``INFORMATIVE_BITS`` (0.5 bits) in both the filter and the target; the best reported match of a filter is
its best p-value among such alignments. The q-values still count every comparison, so this only drops matches.

The p-values use the target columns as their background distribution, so they depend on the target set; the
target collection (e.g. ``JASPAR2026``) is recorded with every result as ``release``.

Compile once, reuse
-------------------
memelite's kernels are numba functions compiled on first use (~50-85 s on 2 cores) and cached on disk by numba
(next to memelite's sources, or in ``<cache_dir>/numba`` when that folder cannot be written, e.g. in a frozen
app); in a process whose disk cache is warm the first call takes ~0.1 s. Calls are serialised by a lock (numba's
thread pool is not re-entrant) and ``warm_up`` lets an application compile at start-up, off the GUI thread.

Result cache
------------
Per query PFM, the full row of results against a target set is stored in ``cache_dir/tomtom/<targets>/<pfm>.npz``
keyed on the SHA-256 of the PFM bytes (float64, W x 4), of the target set (ids + PFM bytes) and of memelite's
version and settings. q-values are recomputed from the cached p-values, so a cached row serves any filter set.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from biodeep_gui.core.sequences.interpret.progress import InterpretError, Progress, check_stop

#: Queries per memelite call: progress and cancel granularity (p-values do not depend on how queries are grouped).
CHUNK = 32
#: Bits above which a motif column counts as informative.
INFORMATIVE_BITS = 0.5
#: Informative columns a reported match must pair up (see the module notes).
MIN_INFORMATIVE = 4
#: Alignments with a larger p-value are never listed as matches.
MAX_REPORTED_P = 0.5
#: Settings passed to memelite's tomtom (its defaults); part of the cache key.
TOMTOM_SETTINGS = {"n_score_bins": 100, "n_median_bins": 1000, "n_target_bins": 100, "n_cache": 100}

_LOCK = threading.Lock()
_WARM = False


@dataclass(frozen=True)
class MotifMatch:
    """One filter's match to a known motif (see the module notes for each statistic)."""

    filter: int  # 0-based filter index
    rank: int  # 1 = best match of this filter
    target: int  # index into MatchResult.targets
    motif_id: str  # e.g. 'MA0139.2' (column ``jaspar_id`` in matches.tsv)
    name: str  # e.g. 'CTCF'
    offset: int
    strand: str
    overlap: int
    p_value: float
    q_value: float
    e_value: float


@dataclass
class MatchResult:
    """Best matches of every filter.

    Attributes
    ----------
    per_filter : per filter, its ``top`` matches (best first) among alignments pairing at least
                 ``MIN_INFORMATIVE`` informative columns; empty for filters not scored or without such a match
    targets : the target motifs (``motif_db.Motif``), for drawing a match's logo
    release : name of the target collection, e.g. 'JASPAR2026' or the user file's name
    n_targets : number of targets
    n_comparisons : scored filter x target pairs behind the q-values
    elapsed_s : seconds spent computing (0 when everything came from the cache)
    from_cache : filters whose results came from the cache
    """

    per_filter: list[list[MotifMatch]]
    targets: list
    release: str
    n_targets: int
    n_comparisons: int
    elapsed_s: float = 0.0
    from_cache: int = 0
    q_method: str = "Benjamini-Hochberg over all filter x target comparisons"
    notes: list[str] = field(default_factory=list)

    def best(self, f: int) -> MotifMatch | None:
        return self.per_filter[f][0] if self.per_filter[f] else None

    def fraction_matched(self, q: float = 0.1) -> float:
        """Fraction of all filters whose best match has a q-value below ``q``."""
        n = len(self.per_filter)
        return 0.0 if n == 0 else sum(1 for m in self.per_filter if m and m[0].q_value < q) / n


# ----------------------------------------------------------------------------------------------- targets


def load_targets(path: str | os.PathLike | None = None, collection: str = "vertebrates") -> tuple[list, str]:
    """Target motifs and their release name: a bundled JASPAR CORE collection, or every motif of a user file.

    ``collection`` is the taxonomic group of the bundled collection (``motif_db.COLLECTIONS``: vertebrates,
    plants, insects, nematodes, fungi, urochordates). A user file may be MEME, JASPAR or TRANSFAC (read by
    ``motif_db.load_motifs``; rows not summing to 1 are normalised). Its release name is the file name.
    """
    from biodeep_gui.core.sequences import motif_db

    if path is None or str(path) == "":
        try:
            return motif_db.bundled_jaspar(collection), motif_db.collection_release(collection)
        except ValueError as exc:
            raise InterpretError(str(exc)) from None
    return motif_db.load_motifs(path), Path(path).name


def _targets_digest(targets: Sequence) -> str:
    """SHA-256 of the target set (ids and PFM bytes): ~1 ms for the 1,019 bundled motifs."""
    h = hashlib.sha256()
    for m in targets:
        h.update(m.id.encode() + b"\0")
        h.update(np.ascontiguousarray(m.pfm, dtype=np.float64).tobytes())
    return h.hexdigest()


def _query_key(pfm: np.ndarray, targets_digest: str) -> str:
    import memelite

    h = hashlib.sha256(np.ascontiguousarray(pfm, dtype=np.float64).tobytes())
    h.update(targets_digest.encode())
    h.update(repr((memelite.__version__, sorted(TOMTOM_SETTINGS.items()))).encode())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------- memelite


def _configure_numba_cache(cache_dir: str | os.PathLike | None) -> None:
    """Point numba's disk cache at ``cache_dir/numba`` when memelite's own folder is read-only (frozen apps)."""
    if cache_dir is None or os.environ.get("NUMBA_CACHE_DIR"):
        return
    import importlib.util

    spec = importlib.util.find_spec("memelite")
    pkg = Path(spec.origin).parent if spec and spec.origin else None
    if pkg is not None and os.access(pkg, os.W_OK):
        return  # numba caches next to the sources: every process of this install shares one compile
    target = Path(cache_dir) / "numba"
    target.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(target)
    try:
        from numba.core import config

        config.CACHE_DIR = str(target)  # numba already imported: its locator reads this attribute
    except ImportError:
        pass


def _tomtom(queries: list[np.ndarray], targets: list[np.ndarray]) -> np.ndarray:
    """memelite.tomtom under the process-wide lock; (5, Q, T) p-values, scores, offsets, overlaps, strands."""
    global _WARM
    from memelite import tomtom

    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the small-target-set warning: reported in MatchResult.notes instead
        out = tomtom(queries, targets, n_nearest=None, reverse_complement=True, **TOMTOM_SETTINGS)
        _WARM = True
    return np.asarray(out)


def is_warm() -> bool:
    """True once memelite's tomtom has run in this process (its numba code is loaded or compiled)."""
    return _WARM


def warm_up(cache_dir: str | os.PathLike | None = None) -> float:
    """Compile (or load from numba's disk cache) memelite's tomtom now; returns the seconds it took.

    Meant for a worker thread at application start-up, so that the first real match does not wait for it.
    """
    _configure_numba_cache(cache_dir)
    t0 = time.perf_counter()
    if not _WARM:
        rng = np.random.default_rng(0)
        q = [np.ascontiguousarray(rng.dirichlet(np.ones(4), size=8).T)]
        t = [np.ascontiguousarray(rng.dirichlet(np.ones(4), size=6).T) for _ in range(4)]
        _tomtom(q, t)
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------- matching


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of any array of p-values (NaN ignored and kept), same shape."""
    p = np.asarray(p, dtype=np.float64)
    flat = p.ravel()
    ok = np.flatnonzero(~np.isnan(flat))
    q = np.full(flat.shape, np.nan)
    if ok.size:
        order = ok[np.argsort(flat[ok], kind="stable")]
        m = ok.size
        ranked = flat[order] * m / np.arange(1, m + 1)
        q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q.reshape(p.shape)


def iter_match_filters(queries: Sequence, targets: Sequence | None = None, *, release: str | None = None,
                       cache_dir: str | os.PathLike | None = None, top: int = 5,
                       skip: np.ndarray | Sequence[bool] | None = None, min_informative: int = MIN_INFORMATIVE,
                       query_ic: Sequence[np.ndarray] | None = None,
                       should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
    """Tomtom every query motif against every target (generator; returns ``MatchResult``).

    Parameters
    ----------
    queries : ``motif_db.Motif`` objects or (W, 4) probability arrays (one per filter)
    targets : ``motif_db.Motif`` list; None: the bundled JASPAR collection (``release`` set to match)
    release : name of the target collection, recorded with the results
    cache_dir : folder for the per-query result cache; None: no cache
    top : matches kept per query (best p-value first)
    skip : (Q,) True for queries not to score (e.g. filters with fewer sites than the analysis' minimum); they
           get no matches and do not count in the q-values
    min_informative : a match must pair at least this many informative columns (``INFORMATIVE_BITS`` in both
                      motifs); see the module notes
    query_ic : per query, (W,) bits per column used for that test; None: the query PFM's information against a
               uniform background. The filter analysis passes the small-sample-corrected information against the
               data's background (``filters.corrected_information_content``), so columns that look informative
               only because a filter has few sites do not count.
    should_stop : polled between chunks of ``CHUNK`` queries
    """
    from biodeep_gui.core.sequences import motif_db

    if targets is None:
        targets, release = motif_db.bundled_jaspar(), release or motif_db.BUNDLED_JASPAR_RELEASE
    targets = list(targets)
    if not targets:
        raise InterpretError("no target motifs to compare the filters with")
    pfms = [np.asarray(getattr(q, "pfm", q), dtype=np.float64) for q in queries]
    for i, p in enumerate(pfms):
        if p.ndim != 2 or p.shape[1] != 4 or p.shape[0] == 0:
            raise InterpretError(f"query motif {i + 1}: expected a (W, 4) probability matrix, got shape {p.shape}")
    skip = np.zeros(len(pfms), bool) if skip is None else np.asarray(skip, bool)
    release = release or "user motifs"
    _configure_numba_cache(cache_dir)
    digest = _targets_digest(targets)
    cache = None if cache_dir is None else Path(cache_dir) / "tomtom" / digest[:20]
    t_arrays = [np.ascontiguousarray(m.pfm.T) for m in targets]
    n_t = len(targets)

    rows: dict[int, np.ndarray] = {}  # query index -> (5, T)
    todo = []
    for i in np.flatnonzero(~skip):
        hit = _cache_read(cache, _query_key(pfms[i], digest)) if cache is not None else None
        if hit is not None and hit.shape == (5, n_t):
            rows[int(i)] = hit
        else:
            todo.append(int(i))
    from_cache = len(rows)
    elapsed = 0.0
    total = len(todo)
    yield Progress("matching", 0, max(total, 1),
                   f"Comparing {total} filters with {n_t} {release} motifs" +
                   ("" if _WARM or not total else " (the first run after installing compiles Tomtom: about a minute)"))
    for s in range(0, total, CHUNK):
        check_stop(should_stop, "motif matching")
        chunk = todo[s:s + CHUNK]
        t0 = time.perf_counter()
        res = _tomtom([np.ascontiguousarray(pfms[i].T) for i in chunk], t_arrays)  # (5, C, T)
        elapsed += time.perf_counter() - t0
        for k, i in enumerate(chunk):
            rows[i] = res[:, k, :]
            if cache is not None:
                _cache_write(cache, _query_key(pfms[i], digest), rows[i])
        yield Progress("matching", min(total, s + CHUNK), max(total, 1),
                       f"Compared {min(total, s + CHUNK)} of {total} filters with {n_t} {release} motifs")

    scored = sorted(rows)
    p_all = np.full((len(pfms), n_t), np.nan)
    for i in scored:
        p_all[i] = rows[i][0]
    q_all = benjamini_hochberg(p_all)
    t_ic = [_ic(m.pfm) for m in targets]
    per_filter: list[list[MotifMatch]] = []
    rejected = 0  # filters whose best Tomtom alignment was an uninformative one
    for i in range(len(pfms)):
        if i not in rows:
            per_filter.append([])
            continue
        r = rows[i]
        q_ic = _ic(pfms[i]) if query_ic is None else np.asarray(query_ic[i], dtype=np.float64)
        kept: list[MotifMatch] = []
        for j in np.lexsort((np.arange(n_t), r[0])):
            if len(kept) == top or r[0, j] > MAX_REPORTED_P:
                break
            offset, strand = int(round(-r[2, j])), "-" if r[4, j] > 0.5 else "+"
            if informative_overlap(q_ic, t_ic[j], offset, strand) < min_informative:
                rejected += not kept and j == int(np.argmin(r[0]))
                continue
            kept.append(MotifMatch(filter=i, rank=len(kept) + 1, target=int(j), motif_id=targets[j].id,
                                   name=targets[j].name, offset=offset, strand=strand, overlap=int(round(r[3, j])),
                                   p_value=float(r[0, j]), q_value=float(q_all[i, j]),
                                   e_value=float(r[0, j] * n_t)))
        per_filter.append(kept)
    notes = []
    if rejected:
        notes.append(f"for {rejected} filter(s) Tomtom's best alignment paired fewer than {min_informative} "
                     f"informative columns and was not reported (see the matching notes)")
    if n_t < 25:
        notes.append(f"only {n_t} target motifs: Tomtom p-values use the targets as background and are unreliable "
                     "with fewer than about 25")
    return MatchResult(per_filter, targets, release, n_t, len(scored) * n_t, elapsed, from_cache, notes=notes)


def match_filters(queries: Sequence, targets: Sequence | None = None, *,
                  progress: Callable[[Progress], None] | None = None, **kwargs) -> MatchResult:
    """``iter_match_filters`` run to the end; ``progress`` receives each ``Progress``."""
    from biodeep_gui.core.sequences.interpret.progress import drain

    return drain(iter_match_filters(queries, targets, **kwargs), progress)


def _cache_read(folder: Path, key: str) -> np.ndarray | None:
    path = folder / f"{key}.npy"
    try:
        with open(path, "rb") as fh:
            return np.load(fh, allow_pickle=False)
    except (OSError, ValueError):
        return None  # absent or damaged: recompute


def _cache_write(folder: Path, key: str, row: np.ndarray) -> None:
    from biodeep_gui.core.common.fileio import atomic_save_npy

    try:
        atomic_save_npy(folder / f"{key}.npy", np.ascontiguousarray(row, dtype=np.float64))
    except OSError:
        pass  # a read-only or full cache folder only costs a recomputation next time


def _ic(pfm: np.ndarray) -> np.ndarray:
    p = np.asarray(pfm, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 + np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=1)


def informative_overlap(query_ic: np.ndarray, target_ic: np.ndarray, offset: int, strand: str,
                        bits: float = INFORMATIVE_BITS) -> int:
    """Columns of an alignment informative (>= ``bits``) in both motifs.

    Parameters
    ----------
    query_ic, target_ic : (Wq,), (Wt,) information content per column (target as given, + strand)
    offset : query column of the (strand-oriented) target's first column
    strand : '+' or '-' (the target reverse-complemented, so its columns run backwards)
    """
    t = target_ic[::-1] if strand == "-" else target_ic
    lo, hi = max(0, offset), min(len(query_ic), offset + len(t))
    if hi <= lo:
        return 0
    return int(np.count_nonzero((query_ic[lo:hi] >= bits) & (t[lo - offset:hi - offset] >= bits)))
