"""``biodeep report``: one file that tells what a run did, for a sequence run or a brain-scans run.

    biodeep report runs/cnn --out report.html              # self-contained HTML (figures embedded)
    biodeep report runs/scans --out report.pdf             # the same report as a PDF (A4)
    biodeep report runs/cnn --out report.html --motifs logos   # filter logos without JASPAR matching

Contents: data summary, settings, training curves, test metrics with their 95 % intervals, baselines, the CNN's
first-layer filters with their JASPAR matches, for scans runs the reconstructions and the classification, and the
versions and input hashes. Gathered by ``core.run_report``, drawn by ``figures.report`` (the app's own code).
"""
from __future__ import annotations

import argparse
import sys


def add_parsers(subparsers) -> list[str]:
    """Add the ``report`` sub-command; returns its name (handled by ``run``)."""
    from biodeep_gui.core.run_report import MOTIF_MODES

    r = subparsers.add_parser(
        "report", help="a one-file report of a run (HTML or PDF)",
        description="Write one report of a run folder (sequences or brain scans): data, settings, training "
                    "curves, test metrics with 95 % intervals, baselines, filter motifs or reconstructions, "
                    "versions and input SHA-256. An .html file is self-contained (figures embedded); a .pdf is "
                    "typeset on A4 pages.")
    r.add_argument("run_dir", help="a run folder (sequence or scans run)")
    r.add_argument("--out", required=True, help="report file to write: .html or .pdf")
    r.add_argument("--motifs", choices=MOTIF_MODES, default="match",
                   help="CNN runs: first-layer filter logos with their JASPAR matches (match, default; the first "
                        "Tomtom call compiles, about a minute), logos only, or off")
    r.add_argument("--cache-dir", help="Tomtom result cache folder (default: the per-user BioDeep cache)")
    r.add_argument("--no-input-check", dest="check_inputs", action="store_false",
                   help="do not hash the input files again to say whether they changed since training")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    return ["report"]


def run(args: argparse.Namespace) -> int:
    if args.command != "report":
        raise ValueError(f"cli.report does not handle {args.command!r}")
    return cmd_report(args)


def cmd_report(a: argparse.Namespace) -> int:
    from biodeep_gui.cli.interpret import _qt_app, default_cache_dir
    from biodeep_gui.core.common.errors import BioDeepError
    from biodeep_gui.core.common.fileio import check_output_path
    from biodeep_gui.core.run_report import report_inputs

    inputs = report_inputs(a.run_dir)  # first: "not a run folder" is the message a wrong RUN deserves
    check_output_path(a.out, inputs, "file")
    if _qt_app() is None:
        raise BioDeepError("PySide6 is not installed: a report needs Qt to draw its figures")
    from biodeep_gui.figures.report import report_format, write_report

    report_format(a.out)
    gen = write_report(a.run_dir, a.out, motifs=a.motifs, check_inputs=a.check_inputs,
                       cache_dir=a.cache_dir or str(default_cache_dir()))
    while True:
        try:
            line = next(gen)
        except StopIteration as done:
            path = done.value
            break
        if not a.quiet:
            print(f"  {line}", file=sys.stderr)
    print(f"wrote {path}")
    return 0
