"""``biodeep variants``: the effect of each variant of a VCF on a trained sequence run's outputs.

    biodeep variants runs/cnn --vcf calls.vcf.gz --genome hg38.fa --out effects.tsv
    biodeep variants runs/cnn --vcf calls.vcf --genome genome.fa --out effects.tsv --no-both-strands --max-indel 20

Writes ``effects.tsv`` (chrom, pos, id, ref, alt, ref_check, window, then ref_score, alt_score, delta and
logit_delta per model output), with ``--vcf-out`` a copy of the VCF with the same numbers in INFO, and, when some alleles cannot be scored (symbolic, too long...), ``<out>.skipped.tsv``
with the reason for each. The computation is ``biodeep_gui.core.sequences.variants``, the code the desktop app runs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parsers(subparsers) -> list[str]:
    """Add the ``variants`` sub-command; returns its name (handled by ``run``)."""
    from biodeep_gui.core.sequences.variants import MAX_INDEL

    v = subparsers.add_parser(
        "variants", help="score the variants of a VCF with a trained run (alt minus ref)",
        description="For each ALT allele of a VCF, score a window of the model's input length centred on the "
                    "variant, with the reference allele and with the alternative one, and write the difference. "
                    "REF alleles that disagree with the genome are flagged and not scored.")
    v.add_argument("run_dir", help="a saved sequence run folder")
    v.add_argument("--vcf", required=True, help="VCF file (.vcf, or bgzipped .vcf.gz)")
    v.add_argument("--genome", required=True, help="genome FASTA the VCF was called against (.fa, or bgzipped)")
    v.add_argument("--out", required=True, help="TSV file to write (effects.tsv)")
    v.add_argument("--vcf-out", default=None,
                   help="also write a copy of the VCF with the scores in INFO (BIODEEP_* fields, one value per ALT)")
    v.add_argument("--device", default="cpu", help="auto | cpu | cuda | cuda:N | mps (default cpu)")
    v.add_argument("--no-both-strands", dest="both_strands", action="store_false",
                   help="score the forward strand only (default: average both strands)")
    v.add_argument("--max-indel", type=int, default=MAX_INDEL,
                   help=f"longest REF or ALT allele scored, in bases (default {MAX_INDEL}); longer ones are skipped")
    v.add_argument("--batch-size", type=int, default=512, help="windows per forward pass (default 512)")
    v.add_argument("--quiet", action="store_true", help="no progress lines")
    return ["variants"]


def run(args: argparse.Namespace) -> int:
    if args.command != "variants":
        raise ValueError(f"cli.variants does not handle {args.command!r}")
    return cmd_variants(args)


def cmd_variants(a: argparse.Namespace) -> int:
    from biodeep_gui.core.sequences.interpret.progress import Progress
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.sequences.variants import score_variants, write_skipped_tsv, write_tsv

    if a.vcf_out:
        from biodeep_gui.core.common.fileio import check_output_path

        check_output_path(a.vcf_out, [a.vcf, a.genome, a.run_dir, a.out], setting="--vcf-out")
    run_ = load_run(a.run_dir)
    tty = sys.stderr.isatty()
    gen = score_variants(run_, a.vcf, a.genome, both_strands=a.both_strands, max_indel=a.max_indel,
                         device=a.device, batch_size=a.batch_size)
    effects = None
    while True:
        try:
            item = next(gen)
        except StopIteration as done:
            effects = done.value
            break
        if isinstance(item, Progress) and not a.quiet and tty:
            sys.stderr.write(f"\r{item.message}   ")
            sys.stderr.flush()
    if not a.quiet and tty:
        sys.stderr.write("\r" + " " * 60 + "\r")
    write_tsv(effects, a.out)
    print(f"wrote {len(effects)} rows to {a.out}: {effects.summary()}")
    if a.vcf_out:
        from biodeep_gui.core.sequences.variant_vcf import write_scored_vcf

        write_scored_vcf(effects, a.vcf, a.vcf_out)
        print(f"wrote the VCF with the scores in INFO to {a.vcf_out}")
    if effects.skipped:
        side = Path(str(a.out) + ".skipped.tsv") if not str(a.out).endswith(".tsv") else \
            Path(str(a.out)[:-4] + ".skipped.tsv")
        write_skipped_tsv(effects, side)
        reasons = ", ".join(f"{n} {r}" for r, n in effects.skipped_by_reason().items())
        print(f"skipped {len(effects.skipped)} allele(s) ({reasons}); listed in {side}")
    for w in effects.warnings():
        print(f"Warning: {w}")
    return 0
