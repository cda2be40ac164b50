"""``biodeep motifs`` and ``biodeep mutagenesis``: what a trained sequence network learned, from the command line.

    biodeep motifs runs/cnn --out motifs/                 # filters.meme, matches.tsv, logos/*.png, summary.json
    biodeep motifs runs/cnn --out m/ --motifs my.meme --threshold 0.6 --min-sites 20 --formats png,svg,pdf
    biodeep mutagenesis runs/cnn --sequence ACGT... --out ism/
    biodeep mutagenesis runs/cnn --fasta some.fa --out ism/

The analysis is ``biodeep_gui.core.sequences.interpret``, the same code the desktop app runs. Logo and mutation-map images
are drawn by the app's own Qt painters, offscreen (no display needed); without Qt installed the data files are
still written and the images are skipped with a note.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.sequences.motif_db import COLLECTIONS


def default_cache_dir() -> Path:
    """The per-user cache folder (``biodeep_gui.paths``); Tomtom results go in its ``tomtom/`` sub-folder."""
    from biodeep_gui.core.common.paths import cache_dir

    return cache_dir()


def add_parsers(subparsers) -> list[str]:
    """Add the ``motifs`` and ``mutagenesis`` sub-commands; returns their names (handled by ``run``)."""
    m = subparsers.add_parser(
        "motifs", help="first-layer filters as motifs: logos, MEME file and JASPAR matches",
        description="Turn a trained CNN's first-layer filters into motifs (sites where a filter's activation "
                    "exceeds THRESHOLD x its maximum over the data), match those with at least MIN_SITES sites "
                    "to JASPAR with Tomtom, measure each filter's influence (validation loss and metric with the "
                    "filter's output replaced by its mean activation), and write filters.meme, matches.tsv, "
                    "summary.json and logo images.")
    m.add_argument("run_dir", help="a saved run folder (CNN or CNN-LSTM)")
    m.add_argument("--out", required=True, help="folder to write into (created if needed)")
    m.add_argument("--data", help="FASTA/FASTQ or CSV/TSV of sequences for the activations (default: the run's "
                                  "own data files; with --data the filter influence is not computed)")
    m.add_argument("--sequence-column", default="sequence", help="sequence column of a --data table")
    m.add_argument("--motifs", help="MEME, JASPAR or TRANSFAC file to match against (default: the bundled "
                                    "JASPAR 2026 CORE collection chosen by --collection)")
    m.add_argument("--collection", default="vertebrates", choices=COLLECTIONS,
                   help="bundled JASPAR 2026 CORE collection of your organism's group (default vertebrates)")
    m.add_argument("--threshold", type=float, default=0.5,
                   help="site threshold as a fraction of each filter's maximum activation (default 0.5)")
    m.add_argument("--min-sites", type=int, default=10,
                   help="match and name only filters with at least this many sites (default 10, as in Basset); "
                        "the others are listed as 'too few sites' and never named")
    m.add_argument("--top", type=int, default=5, help="matches listed per filter (default 5)")
    m.add_argument("--formats", default="png", help="logo image formats, comma-separated: png, svg, pdf")
    m.add_argument("--no-influence", action="store_true",
                   help="skip the filter influence step (each filter replaced by its mean activation)")
    m.add_argument("--max-sequences", type=int, default=20000, help="scan at most this many sequences")
    m.add_argument("--cache-dir", help="Tomtom result cache folder (default: the per-user BioDeep cache)")
    m.add_argument("--device", default="cpu")

    z = subparsers.add_parser(
        "mutagenesis", help="in-silico saturation mutagenesis map of a sequence",
        description="Change every position of a sequence to every other base and record the change of the "
                    "network's raw output; writes a TSV and a PNG per sequence.")
    z.add_argument("run_dir", help="a saved run folder")
    src = z.add_mutually_exclusive_group(required=True)
    src.add_argument("--sequence", help="the DNA sequence (A, C, G, T, IUPAC codes)")
    src.add_argument("--fasta", help="FASTA/FASTQ file: one map per record (see --limit)")
    z.add_argument("--out", required=True, help="folder to write into")
    z.add_argument("--output", type=int, default=1, help="which network output (1-based) to follow (default 1)")
    z.add_argument("--limit", type=int, default=20, help="at most this many records of --fasta (default 20)")
    z.add_argument("--formats", default="png", help="image formats, comma-separated: png, svg, pdf")
    z.add_argument("--device", default="cpu")
    return ["motifs", "mutagenesis"]


def run(args: argparse.Namespace) -> int:
    """Handler of both sub-commands (dispatches on ``args.command``)."""
    if args.command == "motifs":
        return cmd_motifs(args)
    if args.command == "mutagenesis":
        return cmd_mutagenesis(args)
    raise ValueError(f"cli_interpret does not handle {args.command!r}")


# ----------------------------------------------------------------------------------------------------- motifs


def _formats(text: str, allowed=("png", "svg", "pdf")) -> list[str]:
    fmts = [f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()]
    bad = [f for f in fmts if f not in allowed]
    if bad or not fmts:
        raise BioDeepError(f"--formats: {', '.join(bad) or 'nothing given'}; choose from {', '.join(allowed)}")
    return fmts


def _progress_printer():
    last = {"t": 0.0, "stage": ""}

    def show(p) -> None:
        now = time.monotonic()
        if p.stage != last["stage"] or now - last["t"] > 2.0 or p.done == p.total:
            print(f"  {p.message} ({p.done}/{p.total})", file=sys.stderr)
            last.update(t=now, stage=p.stage)
    return show


_MOTIF_OUTPUTS = (".meme", ".tsv", ".json", ".png", ".svg", ".pdf")
_MAP_OUTPUTS = (".tsv", ".png", ".svg", ".pdf")


def cmd_motifs(a: argparse.Namespace) -> int:
    from biodeep_gui.core.sequences.interpret import export
    from biodeep_gui.core.sequences.interpret.analysis import analyse_filters
    from biodeep_gui.core.sequences.interpret.progress import drain
    from biodeep_gui.core.sequences.run import load_run

    if not 0 < a.threshold <= 1:
        raise BioDeepError(f"--threshold {a.threshold}: must be in (0, 1]")
    if a.min_sites < 1:
        raise BioDeepError(f"--min-sites {a.min_sites}: must be at least 1")
    from biodeep_gui.core.common.devices import check_device
    from biodeep_gui.core.common.fileio import check_output_path
    from biodeep_gui.core.sequences.models import get_architecture

    fmts = _formats(a.formats)
    check_output_path(a.out, [a.run_dir, a.data, a.motifs], "folder", own_suffixes=_MOTIF_OUTPUTS)
    a.device = check_device(a.device)
    if a.motifs:  # refused now, not after the analysis
        from biodeep_gui.core.common.fileio import check_readable_file

        check_readable_file(a.motifs, "a motif file (MEME, JASPAR or TRANSFAC)")
    run_ = load_run(a.run_dir)
    if get_architecture(run_.info.arch).kind != "torch":
        raise BioDeepError(f"{a.run_dir}: a {run_.info.arch} baseline has no convolution filters to read motifs "
                           f"from; use a CNN or CNN-LSTM run")
    data = None
    if a.data:
        from biodeep_gui.core.sequences.tables import load_unlabelled

        data = load_unlabelled(a.data, length=run_.info.length, sequence_column=a.sequence_column)
    out = Path(a.out)
    cache = Path(a.cache_dir) if a.cache_dir else default_cache_dir()
    t0 = time.perf_counter()
    res = drain(analyse_filters(run_, data, threshold=a.threshold, motifs_file=a.motifs, collection=a.collection,
                                cache_dir=str(cache),
                                influence=not a.no_influence, max_sequences=a.max_sequences, device=a.device,
                                top=a.top, min_sites=a.min_sites), _progress_printer())
    fm, mt, infl = res.motifs, res.matches, res.influence
    export.write_filters_meme(fm, out / "filters.meme", mt, min_sites=res.min_sites)
    export.write_matches_tsv(mt, out / "matches.tsv", fm, infl, min_sites=res.min_sites)
    images, note = _write_logos(res, out, fmts)
    summary = {
        "run": str(Path(a.run_dir).resolve()), "n_filters": fm.n_filters, "filter_width": fm.width,
        "threshold": fm.threshold, "n_sequences_scanned": fm.n_sequences,
        "filters_without_sites": int((fm.n_sites == 0).sum()), "min_sites": res.min_sites,
        "filters_too_few_sites": res.n_too_few(), "filters_named_q_0.1": res.n_named(),
        "pseudocount_per_base": fm.pseudocount,
        "background": {b: round(float(p), 6) for b, p in zip("ACGT", fm.background)},
        "background_source": res.background_source, "jaspar_release": mt.release,
        "n_targets": mt.n_targets, "q_value_method": mt.q_method,
        "fraction_matched_q_0.1": round(mt.fraction_matched(0.1), 4),
        "influence_method": infl.method if infl is not None else None,
        "influence_metric": infl.metric if infl is not None else None,
        "influence_baseline": None if infl is None or math.isnan(infl.baseline) else infl.baseline,
        "influence_loss_baseline": None if infl is None or math.isnan(infl.loss) else infl.loss,
        "influence_sign": "value without the filter minus value with it (positive loss change = worse without it)",
        "tomtom_seconds": round(mt.elapsed_s, 3), "filters_from_cache": mt.from_cache,
        "total_seconds": round(time.perf_counter() - t0, 2), "notes": res.notes + mt.notes + ([note] if note else []),
    }
    from biodeep_gui.core.common.fileio import atomic_write

    atomic_write(out / "summary.json", json.dumps(summary, indent=2))
    n_match = res.n_named()
    print(f"{fm.n_filters} filters; {n_match} match a {mt.release} motif at q < 0.1 "
          f"({100 * mt.fraction_matched(0.1):.0f} %); {res.n_too_few()} with fewer than {res.min_sites} sites "
          "(not matched, never named)")
    if infl is not None and len(infl.loss_change) and math.isfinite(infl.loss_change[infl.order()[0]]):
        from biodeep_gui.core.sequences.interpret.influence import format_change

        print("most influential (validation, without the filter minus with it; positive loss = worse without it):")
        for f in infl.order()[:3]:
            best = res.named(int(f))
            label = f" ({best.name})" if best is not None else ""
            print(f"  filter {f + 1}{label}, {int(fm.n_sites[f]):,} sites: loss {format_change(infl.loss_change[f])}"
                  + (f", {infl.metric.upper()} {format_change(infl.metric_change[f])}" if infl.metric else ""))
    print(f"wrote {out / 'filters.meme'}, {out / 'matches.tsv'}, {out / 'summary.json'}"
          + (f" and {images} logo images in {out / 'logos'}" if images else ""))
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _qt_app():
    """A Qt application for offscreen drawing (created once, offscreen unless one already exists); None without Qt.

    The figures layer paints but never creates the application (it may not import QtWidgets), so the command
    line, which may import PySide6 directly, makes it here. A QApplication, not a bare QGuiApplication: in a
    process that later shows widgets (the app, tests), a QGuiApplication would be the one instance and every
    QWidget would abort the process.
    """
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError:
        return None
    app = QApplication.instance()
    if app is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # files only: never needs (or opens) a display
        app = QApplication(["biodeep"])
    return app


def _write_logos(res, out: Path, fmts: list[str]) -> tuple[int, str]:
    """Filter logos and match figures through the app's own painter (``figures.logos``); (images written, note)."""
    if _qt_app() is None:
        return 0, "PySide6 is not installed: logo images were not drawn (filters.meme and matches.tsv were written)"
    from biodeep_gui.figures.logos import write_filter_logos

    return write_filter_logos(res.motifs, res.matches, out, fmts), ""


# ------------------------------------------------------------------------------------------------ mutagenesis


def cmd_mutagenesis(a: argparse.Namespace) -> int:
    from biodeep_gui.core.common.devices import check_device
    from biodeep_gui.core.common.fileio import check_output_path
    from biodeep_gui.core.sequences.interpret import export
    from biodeep_gui.core.sequences.interpret.mutagenesis import (
        model_input,
        mutation_score,
        output_label,
        saturation_mutagenesis,
        sequence_codes,
    )
    from biodeep_gui.core.sequences.models import get_architecture
    from biodeep_gui.core.sequences.run import load_run

    fmts = _formats(a.formats)
    check_output_path(a.out, [a.run_dir, a.fasta], "folder", own_suffixes=_MAP_OUTPUTS)
    a.device = check_device(a.device)
    run_ = load_run(a.run_dir)

    if get_architecture(run_.info.arch).kind != "torch":
        raise BioDeepError(f"{a.run_dir}: a {run_.info.arch} baseline has no network to mutate; use a deep run")
    if not 1 <= a.output <= run_.info.n_outputs:
        raise BioDeepError(f"--output {a.output}: the model has {run_.info.n_outputs} output(s)")
    if a.sequence is not None:
        records = [("sequence", a.sequence)]
    else:
        from biodeep_gui.core.sequences.fasta import read_records

        records = [(title.split()[0], seq) for title, seq in read_records(a.fasta)[:max(1, a.limit)]]
    model = run_.model()
    out = Path(a.out)
    have_qt = _qt_app() is not None
    label = output_label(run_.info, a.output - 1)
    ids = [rid for rid, _ in records]
    # ids that collide once made file-name safe (x/1 and x_1) get distinct names; index.tsv maps them back
    stems = export.unique_file_stems(ids, reserved=("index",)) if a.fasta else ["mutation_map"]
    suffixes = [".tsv"] + ([f".{f}" for f in fmts] if have_qt else [])
    from biodeep_gui.core.common.fileio import atomic_write

    atomic_write(out / "index.tsv", export.index_tsv(ids, stems, suffixes))
    for (rid, seq), stem in zip(records, stems):
        codes = sequence_codes(seq)
        mm = saturation_mutagenesis(model, model_input(codes, run_.info.length), output=a.output - 1,
                                    device=a.device, sequence="".join(seq.split()).upper(),
                                    score=mutation_score(run_.info))
        export.write_mutation_map_tsv(mm, out / f"{stem}.tsv")
        written = [f"{stem}.tsv"]
        if have_qt:
            from biodeep_gui.figures.mutation_maps import save_mutation_map

            for fmt in fmts:
                save_mutation_map(mm, out / f"{stem}.{fmt}", title=f"{rid}: {label}", output_label=f"change of {label}")
                written.append(f"{stem}.{fmt}")
        print(f"{rid}: {mm.length} bp, reference {label} {mm.reference:.3g}, map in {mm.elapsed_s:.2f} s -> "
              f"{', '.join(written)}")
    if not have_qt:
        print("note: PySide6 is not installed: images were not drawn (TSV written)", file=sys.stderr)
    return 0
