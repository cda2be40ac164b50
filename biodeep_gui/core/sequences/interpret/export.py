"""Writing what the network learned: filters as a MEME motif file, the JASPAR matches as TSV, mutation maps as TSV.

Every file is written atomically (``fileio.atomic_write`` / ``motif_db.write_meme``) and names the motif release
it was matched against.

Logo images (PNG/SVG/PDF) are not drawn here: ``core`` never imports Qt and matplotlib is not a dependency.
They are drawn by the same native Qt code that draws the logos on screen,
``biodeep_gui.figures.logos.save_logo`` (offscreen, so the command line needs no display), and the CLI
calls it. One renderer means the files look exactly like the application's logos.
"""
from __future__ import annotations

import io
import math
from os import PathLike
from pathlib import Path
from typing import Sequence

import numpy as np

from biodeep_gui.core.common.fileio import atomic_write

#: Columns of matches.tsv, in order (the first eight are the documented interface; the rest add detail).
#: ``filter_status`` (the filter's, repeated on each of its rows): named / weak match / no match / too few sites /
#: never fires (``analysis.filter_status``);
#: ``loss_change`` and ``metric_change``: validation loss and monitored metric without the filter minus with it
#: (``influence``; positive loss change = the network is worse without the filter); ``metric``: which metric.
MATCH_COLUMNS = ("filter", "jaspar_id", "name", "offset", "strand", "p_value", "q_value", "jaspar_release",
                 "rank", "e_value", "overlap", "n_sites", "filter_status", "loss_change", "metric_change", "metric")


def write_filters_meme(filter_motifs, path: str | PathLike, matches=None, filters: Sequence[int] | None = None,
                       min_sites: int | None = None) -> Path:
    """Every filter's activation PFM (with pseudocounts) as a MEME minimal motif file (read by the MEME suite,
    Biopython, Tomtom).

    Motif ids are ``filter_1`` ... (1-based, as shown in the application); the alternate name is the best
    JASPAR match's name when ``matches`` is given and the match names the filter (q < 0.1 and at least
    ``min_sites`` sites: ``filter_3`` -> ``filter_3_CTCF``); ``nsites=`` is the filter's site count. The
    "Background letter frequencies" line is the data's base composition (``filter_motifs.background``).
    Filters with fewer than ``min_sites`` sites (default ``filters.MIN_SITES``; 1 keeps every filter that fired)
    are left out, as in Basset: their matrix is noise. ``filters`` (0-based) picks a subset.
    """
    from biodeep_gui.core.sequences.interpret.analysis import filter_status
    from biodeep_gui.core.sequences.interpret.filters import MIN_SITES
    from biodeep_gui.core.sequences.motif_db import Motif, write_meme

    min_sites = MIN_SITES if min_sites is None else max(1, int(min_sites))
    motifs = []
    chosen = None if filters is None else set(int(f) for f in filters)
    for f, m in enumerate(filter_motifs.to_motifs()):
        n = int(filter_motifs.n_sites[f])
        if n < min_sites or (chosen is not None and f not in chosen):
            continue
        best = matches.best(f) if matches is not None else None
        named = filter_status(n, best, min_sites) == "named"
        name = f"{m.id}_{best.name}" if named else m.id
        motifs.append(Motif(m.id, name, m.pfm, m.nsites, m.source))
    return write_meme(motifs, path, background=filter_motifs.background,
                      background_source="the training sequences' base composition")


def matches_tsv(matches, filter_motifs=None, influence=None, filters: Sequence[int] | None = None,
                min_sites: int | None = None) -> str:
    """The matches as TSV text, one row per (filter, match), filters 1-based, best match first.

    Filters with no match (never fired, fewer than ``min_sites`` sites, nothing similar) get one row with empty
    match fields and their ``status``, so every filter is listed; ``filters`` (0-based) picks a subset.
    """
    from biodeep_gui.core.sequences.interpret.analysis import filter_status
    from biodeep_gui.core.sequences.interpret.filters import MIN_SITES

    min_sites = MIN_SITES if min_sites is None else max(1, int(min_sites))
    buf = io.StringIO()
    buf.write("\t".join(MATCH_COLUMNS) + "\n")

    def num(x) -> str:
        return "" if x is None or not math.isfinite(x) else f"{x:.6g}"

    for f, rows in enumerate(matches.per_filter):
        if filters is not None and f not in filters:
            continue
        n = None if filter_motifs is None else int(filter_motifs.n_sites[f])
        n_sites = "" if n is None else str(n)
        status = "" if n is None else filter_status(n, rows[0] if rows else None, min_sites)
        if influence is None:
            tail = ["", "", ""]
        else:
            tail = [num(influence.loss_change[f]), num(influence.metric_change[f]), influence.metric]
        if not rows or status in ("too few sites", "never fires"):
            buf.write("\t".join([str(f + 1), "", "", "", "", "", "", matches.release, "", "", "", n_sites, status,
                                 *tail]) + "\n")
            continue
        for m in rows:
            buf.write("\t".join([str(f + 1), m.motif_id, m.name, str(m.offset), m.strand, f"{m.p_value:.4g}",
                                 f"{m.q_value:.4g}", matches.release, str(m.rank), f"{m.e_value:.4g}",
                                 str(m.overlap), n_sites, status, *tail]) + "\n")
    return buf.getvalue()


def write_matches_tsv(matches, path: str | PathLike, filter_motifs=None, influence=None,
                      filters: Sequence[int] | None = None, min_sites: int | None = None) -> Path:
    """Write ``matches_tsv`` atomically to ``path``."""
    return atomic_write(path, matches_tsv(matches, filter_motifs, influence, filters, min_sites))


def mutation_map_tsv(mm) -> str:
    """A mutation map as TSV: one row per position (1-based) with the reference base, the change of the raw
    output for A, C, G, T, the gradient x input saliency and the mutagenesis importance."""
    from biodeep_gui.core.sequences.encoding import CODE_LETTERS

    buf = io.StringIO()
    buf.write(f"# reference output (raw) = {mm.reference:.6g}; output index {mm.output + 1}\n")
    buf.write("position\treference\tdelta_A\tdelta_C\tdelta_G\tdelta_T\tsaliency\tism_importance\n")
    imp = mm.ism_importance
    for i in range(mm.length):
        c = int(mm.codes[i])
        ref = CODE_LETTERS[c] if c < len(CODE_LETTERS) else "-"
        d = mm.delta[i]
        buf.write(f"{i + 1}\t{ref}\t{d[0]:.6g}\t{d[1]:.6g}\t{d[2]:.6g}\t{d[3]:.6g}\t{mm.saliency[i]:.6g}\t"
                  f"{imp[i]:.6g}\n")
    return buf.getvalue()


def write_mutation_map_tsv(mm, path: str | PathLike) -> Path:
    """Write ``mutation_map_tsv`` atomically to ``path``."""
    return atomic_write(path, mutation_map_tsv(mm))


def safe_name(text: str) -> str:
    """A file-name-safe version of a motif or sequence name."""
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)
    return keep.strip("._") or "unnamed"


def unique_file_stems(ids: Sequence[str], reserved: Sequence[str] = ()) -> list[str]:
    """One file-name stem per id: distinct even when ids collide once made file-name safe, and never a reserved
    name. ``x/1`` and ``x_1`` would both be ``x_1``: every id that is not already a safe, unique, unreserved name
    gets ``-`` and 8 hex digits of its SHA-256 appended (``x_1-3f2a9c1e``), and an id given twice gets ``-2``,
    ``-3`` ... The stems compare case-insensitively (macOS and Windows file systems do). ``index_tsv`` writes the
    id -> stem table that makes the names reversible.

    Parameters
    ----------
    ids : (N,) the records' ids, in order
    reserved : stems the caller writes itself (``index``, ``attributions`` ...)

    Returns
    -------
    (N,) stems, in the order of ``ids``
    """
    import hashlib
    from collections import Counter

    safe = [safe_name(str(i)) for i in ids]
    counts = Counter(s.lower() for s in safe)
    taken = {r.lower() for r in reserved}
    out = []
    for rid, stem in zip(ids, safe):
        if stem != rid or counts[stem.lower()] > 1 or stem.lower() in taken:
            stem = f"{stem}-{hashlib.sha256(str(rid).encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
        base, n = stem, 2
        while stem.lower() in taken:  # the same id twice (or a hashed name equal to another id)
            stem, n = f"{base}-{n}", n + 1
        taken.add(stem.lower())
        out.append(stem)
    return out


def index_tsv(ids: Sequence[str], stems: Sequence[str], suffixes: Sequence[str]) -> str:
    """``index.tsv``: one row per record, its id and the files written for it (``stem + suffix`` each)."""
    rows = ["id\tfiles"]
    for rid, stem in zip(ids, stems):
        rows.append(f"{rid}\t{','.join(stem + s for s in suffixes)}")
    return "\n".join(rows) + "\n"


def logo_file_names(n_filters: int, formats: Sequence[str] = ("png",)) -> dict[str, list[str]]:
    """File names of the filter logos per format: ``logos/filter_01.png`` ... (zero-padded for sorting)."""
    digits = max(2, len(str(n_filters)))
    return {fmt: [f"logos/filter_{i + 1:0{digits}d}.{fmt}" for i in range(n_filters)] for fmt in formats}


def information_matrix(pfm: np.ndarray) -> np.ndarray:
    """(W, 4) letter heights in bits: probability x information content of the position (the logo's stack,
    against a uniform background, as logos are drawn)."""
    from biodeep_gui.core.sequences.interpret.filters import information_content

    p = np.asarray(pfm, dtype=np.float64)
    return p * information_content(p)[:, None]
