"""Windows of the model's input length around a variant's ref and alt alleles, read from the genome.

The layout is described in ``core.sequences.variants`` (which scores them): an allele of n bases sits at
window positions ``[L // 2 - n // 2, L // 2 - n // 2 + n)``, the genome's flanks fill the rest, and positions
beyond a contig end are ``PAD_CODE``. Here: the genome reads (one per cluster of nearby variants), the REF check,
and the vectorised window building for SNVs / MNVs (indels one by one).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from biodeep_gui.core.common.errors import BioDeepError, InputFileError
from biodeep_gui.core.sequences.encoding import BYTE_TO_CODE, INVALID, PAD_CODE

#: Variants within this many bases of each other on a contig share one genome read.
_CLUSTER_SPAN = 1 << 20

REF_OK, REF_MISMATCH, NO_CONTIG = "ok", "mismatch", "no_contig"
WINDOW_OK, WINDOW_CLIPPED = "ok", "clipped"

_N_CODE = 4


class Allele(NamedTuple):
    """One ALT allele of a VCF record (a multi-allelic record gives several).

    chrom, pos : contig and 1-based position as in the VCF
    id : the record's ID ('.' when none)
    ref, alt : alleles, upper case
    record : 0-based index of the record in the VCF (alleles of one record share it)
    """

    chrom: str
    pos: int
    id: str
    ref: str
    alt: str
    record: int


class VariantError(BioDeepError):
    """The variants cannot be read or scored as asked."""


class _Genome:
    """Reads genome segments as codes; contig lengths known up front."""

    def __init__(self, fa, path: str):
        self.fa = fa
        self.path = path
        self.sizes = {name: len(fa[name]) for name in fa.keys()}

    def codes(self, chrom: str, start: int, end: int) -> np.ndarray:
        """(end - start,) uint8 codes of ``chrom[start:end]`` (0-based, clipped to the contig by the caller)."""
        try:
            text = str(self.fa[chrom][start:end])
        except Exception as exc:  # pyfaidx raises several types for a damaged genome
            raise InputFileError(self.path, f"cannot read {chrom}:{start}-{end} from the genome ({exc})") from None
        codes = BYTE_TO_CODE[np.frombuffer(text.encode("latin-1", "replace"), np.uint8)]
        bad = np.flatnonzero(codes == INVALID)
        if bad.size:
            raise InputFileError(self.path, f"{chrom}:{start + int(bad[0]) + 1} holds a character that is not a "
                                            "nucleotide code")
        return codes


class _Segment:
    """Codes of ``chrom[lo:hi]``, read once; positions outside the contig read as padding."""

    def __init__(self, genome: _Genome, chrom: str, lo: int, hi: int):
        self.size = genome.sizes[chrom]
        self.lo = max(0, lo)
        hi = min(self.size, hi)
        self.codes = genome.codes(chrom, self.lo, hi) if hi > self.lo else np.zeros(0, np.uint8)

    def take(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes at genome positions ``idx`` (any shape) and whether each lies on the contig."""
        inside = (idx >= 0) & (idx < self.size)
        rel = np.clip(idx - self.lo, 0, max(len(self.codes) - 1, 0))
        out = self.codes[rel] if len(self.codes) else np.full(idx.shape, PAD_CODE, np.uint8)
        return np.where(inside, out, PAD_CODE).astype(np.uint8), inside


def _encode_allele(s: str) -> np.ndarray:
    return BYTE_TO_CODE[np.frombuffer(s.encode("ascii"), np.uint8)]


def allele_windows(genome, chrom: str, pos: int, ref: str, alt: str, length: int
                   ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Ref and alt windows of one allele (see the module docstring for the layout).

    Parameters
    ----------
    genome : an opened genome (``open_genome``)
    chrom, pos : contig and 1-based VCF position
    ref, alt : the alleles (the REF is not checked here)
    length : the model's input length L

    Returns
    -------
    ref_codes, alt_codes : (L,) uint8 codes, ``PAD_CODE`` beyond the contig ends
    clipped : whether either window runs past a contig end
    """
    g = _Genome(genome, "genome")
    if chrom not in g.sizes:
        raise VariantError(f"the genome has no contig {chrom!r}")
    s = pos - 1
    seg = _Segment(g, chrom, s - length, s + len(ref) + length)
    r, a, clipped = _windows_one(seg, s, ref, alt, length)
    return r, a, clipped


def _windows_one(seg: _Segment, s: int, ref: str, alt: str, length: int) -> tuple[np.ndarray, np.ndarray, bool]:
    lr, la = len(ref), len(alt)
    o_r = length // 2 - lr // 2
    ref_codes, in_r = seg.take(np.arange(s - o_r, s - o_r + length))
    o_a = length // 2 - la // 2
    left, in_l = seg.take(np.arange(s - o_a, s))
    n_right = length - o_a - la
    right, in_rt = seg.take(np.arange(s + lr, s + lr + n_right))
    alt_codes = np.concatenate([left, _encode_allele(alt), right]).astype(np.uint8)
    clipped = not (in_r.all() and in_l.all() and in_rt.all())
    return ref_codes, alt_codes, clipped


def _ref_matches(genome_codes: np.ndarray, ref: str) -> bool:
    want = _encode_allele(ref)
    if len(genome_codes) != len(want):
        return False
    return bool(np.all((genome_codes == want) | (want == _N_CODE)))


def _build_chunk(genome: _Genome, alleles: list[Allele], length: int
                 ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """REF checks and windows of a chunk of alleles.

    Returns
    -------
    ref_check : (n,) per allele
    keep : (m,) indices (into ``alleles``) of the alleles with windows (REF ok)
    ref_codes, alt_codes : (m, L) uint8
    clipped : (m,) bool
    """
    n = len(alleles)
    ref_check = [REF_OK] * n
    ref_codes = np.full((n, length), PAD_CODE, np.uint8)
    alt_codes = np.full((n, length), PAD_CODE, np.uint8)
    clipped = np.zeros(n, bool)
    ok = np.zeros(n, bool)
    by_chrom: dict[str, list[int]] = {}
    for i, a in enumerate(alleles):
        if a.chrom not in genome.sizes:
            ref_check[i] = NO_CONTIG
        else:
            by_chrom.setdefault(a.chrom, []).append(i)
    half = length // 2
    for chrom, rows in by_chrom.items():
        rows.sort(key=lambda i: alleles[i].pos)
        start = 0
        while start < len(rows):  # clusters of nearby variants share one genome read
            end = start + 1
            first = alleles[rows[start]].pos
            while end < len(rows) and alleles[rows[end]].pos - first < _CLUSTER_SPAN:
                end += 1
            cluster = rows[start:end]
            start = end
            lo = alleles[cluster[0]].pos - 1 - length
            hi = max(alleles[i].pos - 1 + len(alleles[i].ref) for i in cluster) + length
            seg = _Segment(genome, chrom, lo, hi)
            idx = np.asarray(cluster)
            s = np.array([alleles[i].pos - 1 for i in cluster], np.int64)
            lr = np.array([len(alleles[i].ref) for i in cluster])
            la = np.array([len(alleles[i].alt) for i in cluster])
            # REF check: SNVs vectorised, longer REFs one by one
            single = lr == 1
            if single.any():
                got, inside = seg.take(s[single])
                want = _encode_allele("".join([alleles[i].ref for i in idx[single]]))
                ok[idx[single]] = inside & ((got == want) | (want == _N_CODE))
            for j in np.flatnonzero(~single):
                a = alleles[idx[j]]
                got, inside = seg.take(np.arange(s[j], s[j] + lr[j]))
                ok[idx[j]] = bool(inside.all()) and _ref_matches(got, a.ref)
            # windows: same-length alleles (SNV, MNV) vectorised, indels one by one
            same = (lr == la) & ok[idx]
            if same.any():
                offs = half - lr[same] // 2
                grid = (s[same] - offs)[:, None] + np.arange(length)[None, :]
                win, inside = seg.take(grid)
                rows_same = idx[same]
                ref_codes[rows_same] = win
                alt = win.copy()
                one = lr[same] == 1  # SNVs: all their alt bases in one go
                if one.any():
                    alt[np.flatnonzero(one), half] = _encode_allele("".join([alleles[j].alt for j in rows_same[one]]))
                for r in np.flatnonzero(~one):  # MNVs
                    a = alleles[rows_same[r]]
                    alt[r, offs[r]:offs[r] + len(a.alt)] = _encode_allele(a.alt)
                alt_codes[rows_same] = alt
                clipped[rows_same] = ~inside.all(axis=1)
            for j in np.flatnonzero((lr != la) & ok[idx]):
                a = alleles[idx[j]]
                r, al, c = _windows_one(seg, int(s[j]), a.ref, a.alt, length)
                ref_codes[idx[j]], alt_codes[idx[j]], clipped[idx[j]] = r, al, c
    for i in np.flatnonzero(~ok):
        if ref_check[i] == REF_OK:
            ref_check[i] = REF_MISMATCH
    keep = np.flatnonzero(ok)
    return ref_check, keep, ref_codes[keep], alt_codes[keep], clipped[keep]
