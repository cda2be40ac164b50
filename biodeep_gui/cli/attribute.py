"""``biodeep attribute``, ``biodeep discover`` and ``biodeep insilico``: attributions, motifs found from them, and
in-silico insertion experiments, from the command line.

    biodeep attribute runs/cnn --fasta some.fa --out attr/              # attributions.tsv + one PNG per sequence
    biodeep attribute runs/cnn --fasta some.fa --out attr/ --method integrated_gradients --formats png,svg
    biodeep discover runs/cnn --out motifs/                            # patterns.meme, patterns.tsv, report.html
    biodeep discover runs/cnn --out motifs/ --split all --collection plants
    biodeep insilico runs/cnn --motif CTCF --out ins/                  # effect of inserting CTCF's consensus
    biodeep insilico runs/pair --motif NRF1 --second EGR1 --spacing 0:30 --out ins/

The science is ``biodeep_gui.core.sequences.interpret.{attributions,discovery,insilico}``, the code the desktop
app runs; images are drawn by the app's painters offscreen (skipped with a note when Qt is not installed).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from biodeep_gui.core.common.errors import BioDeepError


def add_parsers(subparsers) -> list[str]:
    """Add the ``attribute``, ``discover`` and ``insilico`` sub-commands; returns their names."""
    from biodeep_gui.core.sequences.interpret.attributions import METHODS, N_REFERENCES
    from biodeep_gui.core.sequences.motif_db import COLLECTIONS

    a = subparsers.add_parser(
        "attribute", help="per-base attributions (DeepLIFT/SHAP or integrated gradients) of sequences",
        description="How much each base adds to the network's output, against dinucleotide-shuffled references. "
                    "Writes attributions.tsv (one row per base) and an attribution logo per sequence.")
    a.add_argument("run_dir", help="a saved deep run folder (MLP, CNN or CNN-LSTM)")
    a.add_argument("--fasta", required=True, help="FASTA/FASTQ of sequences (at most the model's input length)")
    a.add_argument("--out", required=True, help="folder to write into")
    a.add_argument("--method", choices=METHODS, default="deeplift_shap")
    a.add_argument("--references", type=int, default=N_REFERENCES, help="shuffled references per sequence")
    a.add_argument("--output", type=int, default=1, help="which network output (1-based) to explain (default 1)")
    a.add_argument("--limit", type=int, default=100, help="at most this many records (default 100)")
    a.add_argument("--formats", default="png", help="image formats, comma-separated: png, svg, pdf")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--device", default="cpu")

    d = subparsers.add_parser(
        "discover", help="motifs discovered by TF-MoDISco from the attributions of the test positives",
        description="Attributions of the run's test positives -> TF-MoDISco-lite patterns -> JASPAR matches. "
                    "Writes patterns.meme, patterns.tsv, summary.json and report.html (self-contained).")
    d.add_argument("run_dir")
    d.add_argument("--out", required=True)
    d.add_argument("--split", choices=("test", "all"), default="test",
                   help="sequences whose positives are used (default: the run's test split)")
    d.add_argument("--method", choices=METHODS, default="deeplift_shap")
    d.add_argument("--references", type=int, default=10, help="shuffled references per sequence (default 10)")
    d.add_argument("--output", type=int, default=1)
    d.add_argument("--max-sequences", type=int, default=5000)
    d.add_argument("--collection", choices=COLLECTIONS, default="vertebrates",
                   help="bundled JASPAR 2026 CORE collection to match against (default vertebrates)")
    d.add_argument("--motifs", help="MEME/JASPAR/TRANSFAC file to match against instead")
    d.add_argument("--cache-dir", help="Tomtom result cache folder (default: the per-user BioDeep cache)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--device", default="cpu")

    i = subparsers.add_parser(
        "insilico", help="insert a JASPAR motif (or two, at a range of spacings) into background sequences",
        description="Insert a motif into dinucleotide-shuffled test sequences and report the predicted change "
                    "(mean +/- sd); with --second, scan the gap between two motifs.")
    i.add_argument("run_dir")
    i.add_argument("--motif", required=True, help="JASPAR id (MA0139 or MA0139.2) or TF name (CTCF)")
    i.add_argument("--second", help="a second motif for a spacing scan")
    i.add_argument("--spacing", default="0:30", help="gaps between the two sites, a:b or a:b:step (default 0:30)")
    i.add_argument("--mode", choices=("consensus", "sampled"), default="consensus",
                   help="insert the consensus or sites sampled from the PFM (default consensus)")
    i.add_argument("--position", type=int, help="1-based start of a single motif (default: centred)")
    i.add_argument("--backgrounds", type=int, default=100, help="number of background sequences (default 100)")
    i.add_argument("--collection", choices=COLLECTIONS, default="vertebrates")
    i.add_argument("--output", type=int, default=1)
    i.add_argument("--out", help="folder for effects.tsv / spacing.tsv (default: print only)")
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--device", default="cpu")
    return ["attribute", "discover", "insilico"]


def run(args: argparse.Namespace) -> int:
    """Handler of the three sub-commands (dispatches on ``args.command``)."""
    handlers = {"attribute": cmd_attribute, "discover": cmd_discover, "insilico": cmd_insilico}
    if args.command not in handlers:
        raise ValueError(f"cli.attribute does not handle {args.command!r}")
    _shorten_in_quick_mode(args)
    return handlers[args.command](args)


def _shorten_in_quick_mode(args: argparse.Namespace) -> None:
    """``BIODEEP_QUICK`` (the README test, see core.common.quick): fewer records and backgrounds, and say so."""
    from biodeep_gui.core.common import quick

    done = []
    for name, small in (("limit", 8), ("backgrounds", 20)):
        value = getattr(args, name, None)
        if value is not None and quick.size(value, small) < value:
            setattr(args, name, quick.size(value, small))
            done.append(f"--{name} capped at {small}")
    text = quick.notice(done)
    if done and text:
        print(text, file=sys.stderr, flush=True)


def _deep_run(path: str, output: int):
    from biodeep_gui.core.sequences.models import get_architecture
    from biodeep_gui.core.sequences.run import load_run

    run_ = load_run(path)
    if get_architecture(run_.info.arch).kind != "torch":
        raise BioDeepError(f"{path}: a {run_.info.arch} baseline has no network to attribute; use a deep run")
    if not 1 <= output <= run_.info.n_outputs:
        raise BioDeepError(f"--output {output}: the model has {run_.info.n_outputs} output(s)")
    return run_


#: what each command writes into --out: running it again into the same folder is allowed, other files are not
ATTRIBUTE_OUTPUTS = (".tsv", ".png", ".svg", ".pdf")
DISCOVER_OUTPUTS = (".meme", ".tsv", ".json", ".html")
INSILICO_OUTPUTS = (".tsv",)


def _check_out_and_device(a: argparse.Namespace, inputs: list, own_suffixes: tuple[str, ...]) -> None:
    """The one output rule on --out (never an input, a run folder or a folder of other files) and the one device
    check, before any work starts."""
    from biodeep_gui.core.common.devices import check_device
    from biodeep_gui.core.common.fileio import check_output_path

    if getattr(a, "out", None):
        check_output_path(a.out, inputs, "folder", own_suffixes=own_suffixes)
    a.device = check_device(a.device)


def _progress(p) -> None:
    if sys.stderr.isatty():
        print(f"\r{p.message[:100]:<100}", end="", file=sys.stderr, flush=True)


def cmd_attribute(a: argparse.Namespace) -> int:
    import numpy as np

    from biodeep_gui.cli.interpret import _formats, _qt_app
    from biodeep_gui.core.common.fileio import atomic_write
    from biodeep_gui.core.sequences.fasta import read_records
    from biodeep_gui.core.sequences.interpret import export
    from biodeep_gui.core.sequences.interpret.attributions import attributions, attributions_tsv, sequence_slice
    from biodeep_gui.core.sequences.interpret.mutagenesis import model_input, output_label, sequence_codes

    fmts = _formats(a.formats)
    _check_out_and_device(a, [a.run_dir, a.fasta], ATTRIBUTE_OUTPUTS)
    run_ = _deep_run(a.run_dir, a.output)
    records = [(t.split()[0] if t.split() else f"seq{k + 1}", s) for k, (t, s) in
               enumerate(read_records(a.fasta)[:max(1, a.limit)])]
    if not records:
        raise BioDeepError(f"{a.fasta}: no sequences")
    codes = []
    for rid, seq in records:
        try:
            codes.append(model_input(sequence_codes(seq), run_.info.length))
        except BioDeepError as exc:
            raise BioDeepError(f"{a.fasta}, record {rid}: {exc}") from None
    attr = attributions(run_.model(), np.stack(codes), ids=[r for r, _ in records], method=a.method,
                        output=a.output - 1, n_references=a.references, seed=a.seed, device=a.device,
                        progress=_progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    out = Path(a.out)
    atomic_write(out / "attributions.tsv", attributions_tsv(attr))
    label = output_label(run_.info, a.output - 1)
    images = 0
    if _qt_app() is not None:
        from biodeep_gui.figures.attributions import save_attribution_track

        # ids that collide once made file-name safe (x/1 and x_1) get distinct names; index.tsv maps them back
        stems = export.unique_file_stems(attr.ids, reserved=("index", "attributions"))
        atomic_write(out / "index.tsv", export.index_tsv(attr.ids, stems, [f".{f}" for f in fmts]))
        for i, rid in enumerate(attr.ids):
            sl = sequence_slice(attr.codes[i])
            for fmt in fmts:
                save_attribution_track(attr.matrix(i)[sl], out / f"{stems[i]}.{fmt}",
                                       title=f"{rid}: {attr.method_name} of the {label}",
                                       subtitle=f"output {attr.outputs[i]:.3g}, references "
                                                f"{attr.reference_outputs[i]:.3g}")
                images += 1
    if attr.note:
        print(f"note: {attr.note}", file=sys.stderr)
    print(f"{len(attr)} sequences, {attr.method_name} against {attr.n_references} dinucleotide shuffles each; "
          f"largest summation gap {float(attr.convergence.max()):.2g} -> {out / 'attributions.tsv'}"
          + (f" and {images} images" if images else ""))
    if not images:
        print("note: PySide6 is not installed: images were not drawn (TSV written)", file=sys.stderr)
    return 0


def cmd_discover(a: argparse.Namespace) -> int:
    from biodeep_gui.cli.interpret import _qt_app, default_cache_dir
    from biodeep_gui.core.common.fileio import atomic_write
    from biodeep_gui.core.sequences.interpret.discovery import (
        discover,
        patterns_tsv,
        summary_dict,
        write_patterns_meme,
    )

    _check_out_and_device(a, [a.run_dir, a.motifs], DISCOVER_OUTPUTS)
    run_ = _deep_run(a.run_dir, a.output)
    res = discover(run_, split=a.split, output=a.output - 1, method=a.method, n_references=a.references,
                   max_sequences=a.max_sequences, collection=a.collection, motifs_file=a.motifs,
                   cache_dir=a.cache_dir or default_cache_dir(), seed=a.seed, device=a.device, progress=_progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    out = Path(a.out)
    write_patterns_meme(res, out / "patterns.meme")
    atomic_write(out / "patterns.tsv", patterns_tsv(res))
    atomic_write(out / "summary.json", json.dumps(summary_dict(res), indent=2))
    wrote = ["patterns.meme", "patterns.tsv", "summary.json"]
    if _qt_app() is not None:
        from biodeep_gui.figures.attributions import discovery_html

        atomic_write(out / "report.html", discovery_html(res, f"Discovered motifs: {run_.name}"))
        wrote.append("report.html")
    for p in res.patterns:
        b = p.best
        print(f"{p.name}: {p.n_seqlets} seqlets, {p.consensus}"
              + (f"; best match {b.name} ({b.motif_id}) p = {b.p_value:.2g}, q = {b.q_value:.2g}" if b else
                 "; no match"))
    for n in res.notes:
        print(f"note: {n}", file=sys.stderr)
    print(f"{len(res.patterns)} pattern(s) from {res.which} in {res.elapsed_s:.0f} s -> "
          f"{', '.join(str(out / w) for w in wrote)}")
    return 0


def cmd_insilico(a: argparse.Namespace) -> int:
    from biodeep_gui.core.common.fileio import atomic_write
    from biodeep_gui.core.sequences import motif_db
    from biodeep_gui.core.sequences.interpret.insilico import (
        insertion_tsv,
        iter_insertion,
        iter_spacing_scan,
        parse_spacing,
        run_backgrounds,
        spacing_tsv,
    )
    from biodeep_gui.core.sequences.interpret.mutagenesis import output_label
    from biodeep_gui.core.sequences.interpret.progress import drain

    _check_out_and_device(a, [a.run_dir], INSILICO_OUTPUTS)
    run_ = _deep_run(a.run_dir, a.output)
    if a.backgrounds < 2:
        raise BioDeepError("--backgrounds: at least 2 (the effect is a mean +/- sd over backgrounds)")
    targets = motif_db.bundled_jaspar(a.collection)
    bg = run_backgrounds(run_, a.backgrounds, a.seed)
    model = run_.model()
    label = output_label(run_.info, a.output - 1)
    out = Path(a.out) if a.out else None
    if a.second is None:
        pos = None if a.position is None else a.position - 1
        eff = drain(iter_insertion(model, bg, a.motif, run=run_, mode=a.mode, position=pos, output=a.output - 1,
                                   seed=a.seed, device=a.device, motifs=targets))
        print(f"{eff.label}: change of the {label} {eff.mean:+.3f} +/- {eff.sd:.3f} over {eff.n} shuffled "
              f"backgrounds (background {eff.background:.3f}); transformed output {eff.value_mean:+.3f} +/- "
              f"{eff.value_sd:.3f}")
        if out is not None:
            atomic_write(out / "effects.tsv", insertion_tsv([eff], label))
            print(f"wrote {out / 'effects.tsv'}")
        return 0
    scan = drain(iter_spacing_scan(model, bg, a.motif, a.second, parse_spacing(a.spacing), run=run_, mode=a.mode,
                                   output=a.output - 1, seed=a.seed, device=a.device, motifs=targets))
    print(f"{scan.first_name} alone: {scan.first.mean:+.3f} +/- {scan.first.sd:.3f}; {scan.second_name} alone: "
          f"{scan.second.mean:+.3f} +/- {scan.second.sd:.3f} (change of the {label})")
    print("gap\tmean\tsd")
    for g, e in zip(scan.gaps, scan.effects):
        print(f"{g}\t{e.mean:+.3f}\t{e.sd:.3f}")
    for n in scan.notes:
        print(f"note: {n}", file=sys.stderr)
    if out is not None:
        atomic_write(out / "spacing.tsv", spacing_tsv(scan))
        atomic_write(out / "effects.tsv", insertion_tsv([scan.first, scan.second, *scan.effects], label))
        print(f"wrote {out / 'spacing.tsv'} and {out / 'effects.tsv'}")
    return 0
