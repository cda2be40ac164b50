"""Variant effects from a VCF: each allele scored by a trained sequence run, alt against ref.

    effects = drain(score_variants(run, "calls.vcf.gz", "genome.fa"))
    write_tsv(effects, "effects.tsv")

Reading (``read_vcf``): a VCF or bgzipped VCF (tabix index optional: the file is read from start to end) with
cyvcf2. A multi-allelic record gives one row per ALT, in VCF order. SNVs, MNVs and indels whose REF and ALT
are at most ``max_indel`` bases long (default ``MAX_INDEL`` = 50) are scored; longer ones, symbolic ALTs
(``<DEL>``, ``<INS>``...), spanning deletions (``*``), breakends and missing ALTs (``.``) are listed in
``VariantEffects.skipped`` with the reason.

Windows (``allele_windows``, built in ``variant_windows``): for each allele a window of the model's input length L centred on the allele.
An allele of n bases (REF for the ref window, ALT for the alt window) occupies window positions
``[L // 2 - n // 2, L // 2 - n // 2 + n)``; the genome's flanks fill the rest, so for an indel the alt window is
re-centred on the alt allele and its right flank reaches further (deletion) or less far (insertion) into the
genome. For an SNV both windows are the genome window ``[pos - 1 - L // 2, pos - 1 - L // 2 + L)`` and differ at
the centre only. Where a window runs past a contig end it is padded with ``PAD_CODE`` (an all-zero one-hot
column, as for short sequences in prediction) and flagged ``window = "clipped"``.

REF check: REF must equal the genome (case-insensitive; an ``N`` in REF matches any base). A mismatch gives
``ref_check = "mismatch"`` and a contig the genome lacks ``ref_check = "no_contig"``; neither is scored (their
scores are NaN) — never silently scored against the wrong sequence.

Scores, per model output k (``output_names``): ``ref_score``, ``alt_score`` and ``delta = alt - ref`` in the
output's units (probability for classification; the target's units for regression, un-standardised with the
run's ``target_mean``/``target_std``) and ``logit_delta``: the difference of log-odds (binary), of log-softmax
(multiclass) or of the network's raw, standardised output (regression). With ``both_strands`` (default) each
window is also scored reverse-complemented and the two raw outputs are averaged before the transform.
"""
from __future__ import annotations

import io
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Generator

import numpy as np

from biodeep_gui.core.common.errors import InputFileError
from biodeep_gui.core.sequences.bed import open_genome
from biodeep_gui.core.sequences.encoding import reverse_complement
from biodeep_gui.core.sequences.interpret.mutagenesis import conv_column_changes
from biodeep_gui.core.sequences.interpret.progress import Progress, check_stop
from biodeep_gui.core.sequences.variant_windows import (  # noqa: F401 (allele_windows: public API)
    NO_CONTIG,
    REF_MISMATCH,
    REF_OK,
    WINDOW_CLIPPED,
    WINDOW_OK,
    Allele,
    VariantError,
    _build_chunk,
    _Genome,
    allele_windows,
)

#: Longest REF or ALT allele (bases) scored by default; longer variants are skipped with the reason.
MAX_INDEL = 50

#: Variants whose windows are built and scored together (bounds memory: 2 x CHUNK x L bytes of codes).
CHUNK = 4096


#: Leading columns of the effects table, before the score columns.
ID_COLUMNS = ("chrom", "pos", "id", "ref", "alt", "ref_check", "window")
SCORE_KINDS = ("ref_score", "alt_score", "delta", "logit_delta")

_ALT_LETTERS = frozenset("ACGTN")
_SNV_PAIRS = frozenset(r + a for r in "ACGTN" for a in "ACGTN" if r != a)  # plain SNVs, the fast path




@dataclass(frozen=True)
class SkippedVariant:
    """An allele that is not scored, and why (``reason`` in words)."""

    chrom: str
    pos: int
    id: str
    ref: str
    alt: str
    record: int
    reason: str


@dataclass
class VariantEffects:
    """The effects table: one row per scorable allele, in VCF order.

    Attributes
    ----------
    alleles : (N,) the alleles, in VCF order
    ref_check : (N,) 'ok' | 'mismatch' | 'no_contig'
    window : (N,) 'ok' | 'clipped' for scored rows, '' for unscored ones
    output_names : (K,) names of the model outputs
    ref_score, alt_score, delta, logit_delta : (N, K) float64, NaN for unscored rows
    skipped : alleles not scored at all (symbolic, too long, ...), in VCF order
    length : the model's input length L
    both_strands : whether both strands were averaged
    task : the run's task ('binary', 'multiclass', 'regression')
    """

    alleles: list[Allele]
    ref_check: list[str]
    window: list[str]
    output_names: list[str]
    ref_score: np.ndarray
    alt_score: np.ndarray
    delta: np.ndarray
    logit_delta: np.ndarray
    skipped: list[SkippedVariant] = field(default_factory=list)
    length: int = 0
    both_strands: bool = True
    task: str = "binary"

    def __len__(self) -> int:
        return len(self.alleles)

    @property
    def n_scored(self) -> int:
        return sum(1 for c in self.ref_check if c == REF_OK)

    @property
    def n_mismatch(self) -> int:
        return sum(1 for c in self.ref_check if c == REF_MISMATCH)

    @property
    def n_no_contig(self) -> int:
        return sum(1 for c in self.ref_check if c == NO_CONTIG)

    @property
    def n_clipped(self) -> int:
        return sum(1 for w in self.window if w == WINDOW_CLIPPED)

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped))

    def missing_contigs(self) -> list[str]:
        """Contigs named in the VCF that the genome lacks (first-seen order)."""
        return list(dict.fromkeys(a.chrom for a, c in zip(self.alleles, self.ref_check) if c == NO_CONTIG))

    def score_columns(self) -> list[str]:
        """``ref_score``, ``alt_score``, ``delta``, ``logit_delta`` per output, suffixed when K > 1."""
        if len(self.output_names) == 1:
            return list(SCORE_KINDS)
        return [f"{kind}_{name}" for name in self.output_names for kind in SCORE_KINDS]

    def columns(self) -> list[str]:
        return [*ID_COLUMNS, *self.score_columns()]

    def scores(self) -> np.ndarray:
        """(N, 4 K) float64, in the order of ``score_columns``."""
        n, k = self.delta.shape
        parts = np.stack([self.ref_score, self.alt_score, self.delta, self.logit_delta], axis=2)  # (N, K, 4)
        return parts.reshape(n, 4 * k)

    def summary(self) -> str:
        """One paragraph for a status line or the terminal."""
        parts = [f"{self.n_scored} of {len(self) + len(self.skipped)} alleles scored"]
        if self.n_clipped:
            parts.append(f"{self.n_clipped} with a window padded at a contig end")
        for reason, n in self.skipped_by_reason().items():
            parts.append(f"{n} skipped ({reason})")
        if self.n_no_contig:
            parts.append(f"{self.n_no_contig} on contigs the genome lacks")
        return "; ".join(parts)

    def warnings(self) -> list[str]:
        """Problems a user must see: REF mismatches and contigs absent from the genome."""
        out = []
        if self.n_mismatch:
            first = next(a for a, c in zip(self.alleles, self.ref_check) if c == REF_MISMATCH)
            out.append(f"{self.n_mismatch} variant(s) have a REF that differs from the genome (first: "
                       f"{first.chrom}:{first.pos} REF {first.ref}); they are flagged ref_check=mismatch and not "
                       "scored. Is the VCF from the same genome build?")
        if self.n_no_contig:
            names = self.missing_contigs()
            hint = ""
            if any(c.startswith("chr") for c in names) or any(not c.startswith("chr") for c in names):
                hint = " (check 'chr1' versus '1' naming)"
            out.append(f"{self.n_no_contig} variant(s) are on contigs the genome lacks: "
                       f"{', '.join(names[:5])}{' ...' if len(names) > 5 else ''}{hint}; flagged "
                       "ref_check=no_contig and not scored")
        return out


# ------------------------------------------------------------------------------------------------ reading


def _cyvcf2():
    try:
        import cyvcf2
    except ImportError:
        if sys.platform == "win32":
            raise VariantError("reading VCF files needs the cyvcf2 package, which is not available on Windows "
                               "(it ships no Windows build); run variant scoring on Linux or macOS, or in WSL") from None
        raise VariantError("reading VCF files needs the cyvcf2 package: pip install cyvcf2") from None
    return cyvcf2


def _skip_reason(ref: str, alt: str, max_indel: int) -> str:
    if alt in ("", "."):
        return "no ALT allele"
    if alt == "*":
        return "spanning deletion (ALT *)"
    if alt.startswith("<"):
        return f"symbolic ALT {alt}"
    if any(ch in alt for ch in "[]") or alt.startswith(".") or alt.endswith("."):
        return "breakend"
    if not set(alt) <= _ALT_LETTERS:
        return "ALT has letters other than A, C, G, T, N"
    if not ref or not set(ref) <= _ALT_LETTERS:
        return "REF has letters other than A, C, G, T, N"
    if alt == ref:
        return "ALT equals REF"
    if max(len(ref), len(alt)) > max_indel:
        return f"longer than {max_indel} bp"
    return ""


def read_vcf(path: str | os.PathLike, *, max_indel: int = MAX_INDEL) -> tuple[list[Allele], list[SkippedVariant]]:
    """Read the alleles of a VCF / bgzipped VCF, one per ALT, in file order.

    Parameters
    ----------
    path : .vcf, .vcf.gz (bgzip; a tabix index is not needed) or .bcf
    max_indel : longest REF or ALT (bases) kept; longer alleles are skipped

    Returns
    -------
    alleles : scorable alleles (SNVs, MNVs, indels up to ``max_indel``)
    skipped : the others, each with its reason

    Raises
    ------
    InputFileError : the file is missing or not a VCF
    VariantError : cyvcf2 is not installed
    """
    if not isinstance(max_indel, int) or max_indel < 1:
        raise VariantError(f"the longest indel must be a whole number of bases >= 1, got {max_indel!r}")
    path = str(path)
    if not os.path.exists(path):
        raise InputFileError(path, "VCF file not found")
    if os.path.isdir(path):
        raise InputFileError(path, "is a folder, not a VCF file")
    cyvcf2 = _cyvcf2()
    try:
        vcf = cyvcf2.VCF(path, lazy=True)
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"not a readable VCF ({str(exc).splitlines()[0] if str(exc) else exc})",
                             expected="a VCF (.vcf), bgzipped VCF (.vcf.gz) or BCF file") from None
    alleles: list[Allele] = []
    skipped: list[SkippedVariant] = []
    i = -1
    try:
        for i, rec in enumerate(vcf):
            chrom, pos, vid = str(rec.CHROM), int(rec.POS), rec.ID or "."
            ref = str(rec.REF).upper()
            alts = [str(a).upper() for a in rec.ALT] or ["."]
            for alt in alts:
                if ref + alt in _SNV_PAIRS:
                    alleles.append(Allele(chrom, pos, vid, ref, alt, i))
                    continue
                reason = _skip_reason(ref, alt, max_indel)
                if reason:
                    skipped.append(SkippedVariant(chrom, pos, vid, ref, alt, i, reason))
                else:
                    alleles.append(Allele(chrom, pos, vid, ref, alt, i))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"cannot read the VCF after record {i + 1} ({exc})", record=i + 2) from None
    finally:
        vcf.close()
    return alleles, skipped


# ------------------------------------------------------------------------------------------------ scoring


class _RawScorer:
    """Raw outputs (logits or standardised values) of a run's model for (N, L) codes, on a device."""

    def __init__(self, run, device: str):
        from biodeep_gui.core.sequences.models import get_architecture

        self.baseline = None
        self.model = None
        if get_architecture(run.info.arch).kind == "sklearn":
            from biodeep_gui.core.sequences.baselines import BaselineModel

            self.baseline = BaselineModel.from_tensors(run.info.arch, int(run.info.params.get("k", 5)),
                                                       run.tensors())
            return
        import torch

        from biodeep_gui.core.sequences.encoding import ONE_HOT_TABLE
        from biodeep_gui.core.training.loop import resolve_device

        self.torch = torch
        self.device = resolve_device(device)
        self.model = run.model().to(self.device).eval()
        self.table = torch.from_numpy(ONE_HOT_TABLE).to(self.device)

    @property
    def patches_one_base(self) -> bool:
        """Whether ``one_base_pairs`` applies: a DeepBind CNN (first conv -> ReLU -> global pooling -> head)."""
        from biodeep_gui.core.sequences.models.deepbind import DeepBindCNN

        return type(self.model) is DeepBindCNN

    def one_base_pairs(self, ref: np.ndarray, pos: np.ndarray, alt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs of windows and of the same windows with one base changed, for a DeepBind CNN.

        The changed window's first-layer output differs from the reference's only in the W columns over the
        changed base, so it is the reference's plus W x F changes instead of a second convolution (as the
        mutation map does); the rest of the network runs as usual. Same numbers as ``__call__`` on the changed
        windows up to float rounding.

        Parameters
        ----------
        ref : (m, L) uint8 reference windows; pos : (m,) the changed position in each; alt : (m,) its new code

        Returns
        -------
        ref_raw, alt_raw : (m, K) float64
        """
        torch, model = self.torch, self.model
        conv = model.first_conv
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(ref)).to(self.device).long()
            c_ref = conv(torch.nn.functional.embedding(x, self.table).transpose(1, 2))  # (m, F, L')
            m, _f, l_out = c_ref.shape
            p = torch.from_numpy(np.asarray(pos, np.int64)).to(self.device)
            rows = torch.arange(m, device=self.device)
            new = self.table[torch.from_numpy(np.asarray(alt, np.int64)).to(self.device)] - self.table[x[rows, p]]
            cols, _ok, change = conv_column_changes(conv, new, p, l_out)  # (m, W), (m, W, F)
            c_alt = c_ref.clone()
            # a (m, L', F) view of the same memory takes the (m, W, F) changes at (row, column) pairs
            c_alt.permute(0, 2, 1).index_put_((rows[:, None].expand_as(cols), cols), change, accumulate=True)
            outs = []
            for c in (c_ref, c_alt):
                h = c.relu()
                outs.append(model.head(torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1)).float().cpu().numpy())
        return outs[0].astype(np.float64), outs[1].astype(np.float64)

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        """(N, L) uint8 -> (N, K) float64 raw outputs."""
        if self.baseline is not None:
            return np.asarray(self.baseline.raw_output(codes), np.float64)
        torch = self.torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(codes)).to(self.device, non_blocking=True)
            onehot = torch.nn.functional.embedding(x.long(), self.table).transpose(1, 2)
            return self.model(onehot).float().cpu().numpy().astype(np.float64)


def _transform(task: str, raw: np.ndarray, mean, std) -> np.ndarray:
    """Raw outputs (N, K) -> probabilities / values in the target's units (as ``Objective.transform``)."""
    if task == "binary":
        return 1.0 / (1.0 + np.exp(-raw))
    if task == "multiclass":
        e = np.exp(raw - raw.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if std is not None:
        return raw * np.asarray(std, np.float64) + np.asarray(mean, np.float64)
    return raw


def _log_odds(task: str, raw: np.ndarray) -> np.ndarray:
    """Per output: log-odds (binary: the logit), log-softmax (multiclass), the raw value (regression)."""
    if task == "multiclass":
        m = raw.max(axis=1, keepdims=True)
        return raw - m - np.log(np.exp(raw - m).sum(axis=1, keepdims=True))
    return raw


def output_names(run) -> list[str]:
    """Names of a run's outputs: class names (multiclass), label names, or output1...K."""
    i = run.info
    names = i.class_names if i.task == "multiclass" else i.label_names
    if len(names) != i.n_outputs:
        names = [f"output{k + 1}" for k in range(i.n_outputs)]
    return [str(n).replace("\t", " ") for n in names]


def score_variants(run, vcf: str | os.PathLike, genome: str | os.PathLike, *, both_strands: bool = True,
                   max_indel: int = MAX_INDEL, device: str = "cpu", batch_size: int = 512,
                   should_stop: Callable[[], bool] | None = None
                   ) -> Generator[Progress, None, VariantEffects]:
    """Score every allele of a VCF with a run: a generator of ``Progress`` returning the ``VariantEffects``.

    Parameters
    ----------
    run : a loaded sequence run (``run.load_run``)
    vcf : VCF / bgzipped VCF file
    genome : the genome FASTA the VCF was called against (plain or bgzipped; indexed with pyfaidx)
    both_strands : also score the reverse complement of every window and average the raw outputs
    max_indel : longest REF or ALT allele (bases) to score; longer ones are skipped
    device : 'cpu', 'cuda', 'auto', ... (``training.loop.resolve_device``)
    batch_size : windows per forward pass
    should_stop : polled between batches; ``Cancelled`` is raised when it returns True

    Yields
    ------
    Progress(stage 'variants', done, total alleles)

    Returns
    -------
    VariantEffects, rows in VCF order
    """
    if batch_size < 1:
        raise VariantError(f"batch size must be >= 1, got {batch_size}")
    length = int(run.info.length)
    yield Progress("variants", 0, 1, "Reading the VCF")
    alleles, skipped = read_vcf(vcf, max_indel=max_indel)
    too_long = [a for a in alleles if max(len(a.ref), len(a.alt)) > length]
    if too_long:
        reason = f"allele longer than the model's {length}-bp input"
        skipped = sorted(skipped + [SkippedVariant(a.chrom, a.pos, a.id, a.ref, a.alt, a.record, reason)
                                    for a in too_long], key=lambda v: v.record)
        alleles = [a for a in alleles if max(len(a.ref), len(a.alt)) <= length]
    check_stop(should_stop, "the variant scoring")
    n = len(alleles)
    names = output_names(run)
    k = len(names)
    ref_raw = np.full((n, k), np.nan)
    alt_raw = np.full((n, k), np.nan)
    ref_check = [REF_OK] * n
    window = [""] * n
    yield Progress("variants", 0, max(n, 1), "Opening the genome")
    fa = open_genome(genome)
    try:
        g = _Genome(fa, str(genome))
        scorer = _RawScorer(run, device) if n else None
        done = 0
        for c0 in range(0, n, CHUNK):
            check_stop(should_stop, "the variant scoring")
            chunk = alleles[c0:c0 + CHUNK]
            checks, keep, r_codes, a_codes, clip = _build_chunk(g, chunk, length)
            ref_check[c0:c0 + len(chunk)] = checks
            for j, c in zip(keep, clip):
                window[c0 + j] = WINDOW_CLIPPED if c else WINDOW_OK
            if len(keep):
                r, a = _score_pairs(scorer, r_codes, a_codes, both_strands, batch_size, should_stop)
                ref_raw[c0 + keep], alt_raw[c0 + keep] = r, a
            done += len(chunk)
            yield Progress("variants", done, n, f"Scored {done:,} of {n:,} variants")
    finally:
        fa.close()
    i = run.info
    ref_s = _transform(i.task, ref_raw, i.target_mean, i.target_std)
    alt_s = _transform(i.task, alt_raw, i.target_mean, i.target_std)
    with np.errstate(invalid="ignore"):
        logit_delta = _log_odds(i.task, alt_raw) - _log_odds(i.task, ref_raw)
    return VariantEffects(alleles, ref_check, window, names, ref_s, alt_s, alt_s - ref_s, logit_delta, skipped,
                          length, both_strands, i.task)


def _score_pairs(scorer, ref_codes, alt_codes, both_strands, batch_size, should_stop):
    """(m, K) raw outputs of the ref and alt windows, each averaged over both strands when asked."""
    if scorer.model is not None and scorer.patches_one_base and len(ref_codes):
        one = (ref_codes != alt_codes).sum(axis=1) == 1  # SNVs (at any position): the first-layer shortcut
        if one.any():
            r1, a1 = _score_one_base(scorer, ref_codes[one], alt_codes[one], both_strands, batch_size, should_stop)
            r_out = np.empty((len(ref_codes), r1.shape[1]))
            a_out = np.empty_like(r_out)
            r_out[one], a_out[one] = r1, a1
            if (~one).any():
                r_out[~one], a_out[~one] = _score_pairs_full(scorer, ref_codes[~one], alt_codes[~one], both_strands,
                                                             batch_size, should_stop)
            return r_out, a_out
    return _score_pairs_full(scorer, ref_codes, alt_codes, both_strands, batch_size, should_stop)


def _score_one_base(scorer, ref_codes, alt_codes, both_strands, batch_size, should_stop):
    """``_score_pairs`` for pairs that differ at one position, through ``scorer.one_base_pairs``."""
    length = ref_codes.shape[1]
    pos = np.argmax(ref_codes != alt_codes, axis=1)
    strands = [(ref_codes, pos, alt_codes[np.arange(len(pos)), pos])]
    if both_strands:
        rc_ref, rc_alt = reverse_complement(ref_codes), reverse_complement(alt_codes)
        rc_pos = length - 1 - pos
        strands.append((rc_ref, rc_pos, rc_alt[np.arange(len(pos)), rc_pos]))
    per = max(1, batch_size // 2)  # each window gives two outputs
    sums = None
    for ref, p, a in strands:
        parts = []
        for s in range(0, len(ref), per):
            check_stop(should_stop, "the variant scoring")
            parts.append(scorer.one_base_pairs(ref[s:s + per], p[s:s + per], a[s:s + per]))
        r, al = np.concatenate([x[0] for x in parts]), np.concatenate([x[1] for x in parts])
        sums = (r, al) if sums is None else (sums[0] + r, sums[1] + al)
    k = len(strands)
    return sums[0] / k, sums[1] / k


def _score_pairs_full(scorer, ref_codes, alt_codes, both_strands, batch_size, should_stop):
    """``_score_pairs`` by running the whole network on every window."""
    m = len(ref_codes)
    parts = [ref_codes, alt_codes]
    if both_strands:
        parts += [reverse_complement(ref_codes), reverse_complement(alt_codes)]
    x = np.concatenate(parts)
    out = []
    for s in range(0, len(x), batch_size):
        check_stop(should_stop, "the variant scoring")
        out.append(scorer(x[s:s + batch_size]))
    raw = np.concatenate(out)
    if both_strands:
        return (raw[:m] + raw[2 * m:3 * m]) / 2, (raw[m:2 * m] + raw[3 * m:]) / 2
    return raw[:m], raw[m:]


# ------------------------------------------------------------------------------------------------ writing


def _fmt(v: float) -> str:
    return "" if not math.isfinite(v) else f"{v:.6g}"


def effects_rows(effects: VariantEffects) -> list[list[str]]:
    """The table as text cells, in ``effects.columns()`` order (empty cells for unscored rows)."""
    scores = effects.scores()
    rows = []
    for a, rc, w, sc in zip(effects.alleles, effects.ref_check, effects.window, scores):
        rows.append([a.chrom, str(a.pos), a.id, a.ref, a.alt, rc, w, *(_fmt(float(v)) for v in sc)])
    return rows


def write_tsv(effects: VariantEffects, path: str | os.PathLike) -> Path:
    """Write ``effects.tsv`` atomically: chrom, pos, id, ref, alt, ref_check, window, then the score columns."""
    from biodeep_gui.core.common.fileio import atomic_write

    buf = io.StringIO()
    buf.write("\t".join(effects.columns()) + "\n")
    for row in effects_rows(effects):
        buf.write("\t".join(row) + "\n")
    return atomic_write(path, buf.getvalue())


def write_skipped_tsv(effects: VariantEffects, path: str | os.PathLike) -> Path:
    """Write the skipped alleles (chrom, pos, id, ref, alt, reason) atomically."""
    from biodeep_gui.core.common.fileio import atomic_write

    buf = io.StringIO()
    buf.write("chrom\tpos\tid\tref\talt\treason\n")
    for s in effects.skipped:
        buf.write(f"{s.chrom}\t{s.pos}\t{s.id}\t{s.ref}\t{s.alt}\t{s.reason}\n")
    return atomic_write(path, buf.getvalue())
