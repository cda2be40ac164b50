"""``biodeep``: the headless command line, on the same RunConfig as the desktop app.

    biodeep train --fasta bound.fa --background background.fa --arch cnn --out runs/cnn
    biodeep train --config run.toml
    biodeep predict runs/cnn new.fa --out predictions.csv
    biodeep evaluate runs/cnn labelled.fa
    biodeep demo --out demo_data
    biodeep gui [--demo]

Errors print one readable line and exit non-zero; ``--debug`` shows the traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from biodeep_gui import __version__
from biodeep_gui.core.common import quick
from biodeep_gui.core.common.errors import BioDeepError

_ARCHS = ("mlp", "cnn", "cnn-lstm", "linear", "kmer")


def _optional_subcommands() -> list:
    """CLI modules of the interpretation and scans features (each adds its own sub-commands)."""
    import importlib

    mods = []
    for name in ("biodeep_gui.cli.interpret", "biodeep_gui.cli.scans", "biodeep_gui.cli.variants",
                 "biodeep_gui.cli.attribute", "biodeep_gui.cli.report"):
        try:
            mods.append(importlib.import_module(name))
        except ImportError as exc:
            if exc.name != name:  # the module exists but something inside it is broken: say so
                raise
    return mods


def _default_threads() -> int:
    """The CPUs this process may use, or fewer when OMP_NUM_THREADS asks for fewer (a choice the user made)."""
    import os

    from biodeep_gui.core.common.system import usable_cpus

    n = usable_cpus()
    omp = os.environ.get("OMP_NUM_THREADS", "")
    return min(n, int(omp)) if omp.isdigit() and int(omp) >= 1 else n


def _thread_count(text: str) -> int:
    """``--threads`` value: a whole number >= 1 (argparse prints the message as one line)."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of threads >= 1")
    return n


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    p = argparse.ArgumentParser(prog="biodeep", description="Deep learning for DNA sequences and brain scans.")
    p.add_argument("--version", action="version", version=f"BioDeep {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks")
    p.add_argument("--threads", type=_thread_count, metavar="N",
                   help="CPU threads for torch (default: the CPUs this process may use, at most OMP_NUM_THREADS; "
                        f"{_default_threads()} here)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a model and save a run folder")
    t.add_argument("--config", help="TOML/JSON run configuration (or a run folder's run.json); flags override it")
    g = t.add_argument_group("data")
    g.add_argument("--fasta", help="FASTA/FASTQ of bound sequences (or with labels in headers)")
    g.add_argument("--background", help="FASTA/FASTQ of background (unbound) sequences")
    g.add_argument("--table", help="CSV/TSV with a sequence column and label column(s)")
    g.add_argument("--sequence-column")
    g.add_argument("--label-column", action="append", help="label column (repeat for multi-task)")
    g.add_argument("--id-column")
    g.add_argument("--bed", help="BED peaks (with --genome)")
    g.add_argument("--genome", help="genome FASTA for --bed")
    g.add_argument("--width", type=int, help="window width around BED peaks (bp)")
    g.add_argument("--background-method", choices=("shuffle", "flank"))
    g.add_argument("--holdout-chromosomes", help="comma-separated chromosomes held out as the test set")
    g.add_argument("--test-file", help="explicit test set (same format as the training data)")
    g.add_argument("--length", type=int, help="sequence length (0 = longest); others are centre-cropped or padded")
    g.add_argument("--length-policy", choices=("fit", "strict"))
    g.add_argument("--task", choices=("auto", "binary", "multiclass", "regression"))
    g.add_argument("--val-fraction", type=float)
    g.add_argument("--test-fraction", type=float)
    m = t.add_argument_group("model and training")
    m.add_argument("--arch", choices=_ARCHS)
    m.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="architecture hyper-parameter, e.g. --param filters=64 (see `biodeep archs`)")
    for flag, kind in (("--epochs", int), ("--batch-size", int), ("--lr", float), ("--weight-decay", float),
                       ("--patience", int), ("--grad-clip", float), ("--seed", int)):
        m.add_argument(flag, type=kind)
    m.add_argument("--optimizer", choices=("adam", "adamw", "sgd"))
    m.add_argument("--monitor", help="validation metric for early stopping (auroc, accuracy, pearson, loss, ...)")
    m.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps")
    m.add_argument("--amp", action="store_true", default=None, help="bf16 mixed precision on CUDA")
    m.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the model (slow first batches; falls back to eager if it cannot)")
    m.add_argument("--class-weighting", action="store_true", default=None)
    m.add_argument("--rc-augment", action="store_true", default=None, help="reverse-complement augmentation")
    t.add_argument("--name", help="run name")
    t.add_argument("--out", required=True, help="run folder to write (a new or empty folder)")
    t.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    pr = sub.add_parser("predict", help="score sequences with a saved run")
    pr.add_argument("run_dir")
    pr.add_argument("input", help="FASTA/FASTQ or CSV/TSV of sequences")
    pr.add_argument("--sequence-column", default="sequence")
    pr.add_argument("--id-column", default="")
    pr.add_argument("--out", required=True, help="CSV file to write")
    pr.add_argument("--device", default="cpu")

    ev = sub.add_parser("evaluate", help="metrics of a saved run on labelled sequences")
    ev.add_argument("run_dir")
    ev.add_argument("input", help="labelled FASTA (labels in headers) or CSV/TSV with the run's columns")
    ev.add_argument("--sequence-column")
    ev.add_argument("--label-column", action="append")
    ev.add_argument("--out", help="JSON file for the metrics")
    ev.add_argument("--device", default="cpu")

    d = sub.add_parser("demo", help="write the bundled synthetic demo data")
    d.add_argument("--out", required=True)

    sub.add_parser("archs", help="list architectures and their hyper-parameters")
    sub.add_parser("devices", help="list compute devices and why CUDA is or is not usable")

    gui = sub.add_parser("gui", help="open the desktop app")
    gui.add_argument("--demo", action="store_true", help="open the app on the demo data")

    handlers = {"train": cmd_train, "predict": cmd_predict, "evaluate": cmd_evaluate, "demo": cmd_demo,
                "archs": cmd_archs, "devices": cmd_devices}
    for mod in _optional_subcommands():
        for name in mod.add_parsers(sub):
            handlers[name] = mod.run
    return p, handlers


def config_from_args(a: argparse.Namespace):
    """A RunConfig from --config (if given) overridden by every flag that was set."""
    from biodeep_gui.core.sequences.config import RunConfig

    cfg = RunConfig.load(a.config) if a.config else RunConfig()
    d, t = cfg.data, cfg.train
    if a.fasta:
        d.kind, d.fasta, d.background = "fasta", a.fasta, a.background or ""
    if a.table:
        d.kind, d.table = "table", a.table
    if a.bed or a.genome:
        d.kind, d.bed, d.genome = "bed", a.bed or "", a.genome or ""
    simple = {"sequence_column": a.sequence_column, "id_column": a.id_column, "width": a.width,
              "background_method": a.background_method, "test_file": a.test_file, "length": a.length,
              "length_policy": a.length_policy, "task": a.task, "val_fraction": a.val_fraction,
              "test_fraction": a.test_fraction}
    for k, v in simple.items():
        if v is not None:
            setattr(d, k, v)
    if a.label_column:
        d.label_columns = a.label_column
    if a.holdout_chromosomes:
        d.holdout_chromosomes = [c.strip() for c in a.holdout_chromosomes.split(",") if c.strip()]
    if a.arch:
        if a.arch != cfg.model.arch:
            cfg.model.params = {}
        cfg.model.arch = a.arch
    for item in a.param:
        if "=" not in item:
            raise BioDeepError(f"--param {item!r}: expected NAME=VALUE")
        k, v = item.split("=", 1)
        cfg.model.params[k.strip()] = v.strip()
    for k in ("epochs", "batch_size", "lr", "weight_decay", "patience", "grad_clip", "seed", "optimizer", "monitor",
              "device", "amp", "compile", "class_weighting", "rc_augment"):
        v = getattr(a, k)
        if v is not None:
            setattr(t, k, v)
    if a.name:
        cfg.name = a.name
    from biodeep_gui.core.sequences.models import get_architecture

    cfg.model.params = get_architecture(cfg.model.arch).resolve(cfg.model.params)
    cfg.validate()
    _say_quick(quick.shorten(cfg.train))
    return cfg


def _say_quick(capped: list[str], what: str = "") -> None:
    """Print the ``BIODEEP_QUICK`` notice (a testing aid that shortens commands) when it is set."""
    text = quick.notice(capped, what)
    if text:
        print(text, file=sys.stderr, flush=True)


class _Progress:
    """A one-line terminal progress bar with ETA (plain lines when stderr is not a terminal)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()

    def batch(self, r) -> None:
        if self.quiet or not self.tty:
            return
        frac = r.batch / r.n_batches
        bar = "#" * int(frac * 24)
        sys.stderr.write(f"\repoch {r.epoch} [{bar:<24}] {r.batch}/{r.n_batches} loss {r.loss:.4f} "
                         f"{r.samples_per_s:,.0f} seq/s ETA {_fmt_time(r.eta_s)}   ")
        sys.stderr.flush()

    def line(self, text: str) -> None:
        if self.quiet:
            return
        sys.stderr.write(("\r" + " " * 100 + "\r" if self.tty else "") + text + "\n")
        sys.stderr.flush()


def _fmt_time(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def cmd_train(a: argparse.Namespace) -> int:
    from biodeep_gui.core.common.fileio import check_output_path
    from biodeep_gui.core.sequences.pipeline import DataReport, RunSummary, train_run
    from biodeep_gui.core.training.distributed import is_main_process
    from biodeep_gui.core.training.loop import BatchReport, EpochReport
    from biodeep_gui.core.training.reports import StageReport

    cfg = config_from_args(a)
    main_rank = is_main_process()  # under torchrun/srun only rank 0 reports
    d = cfg.data
    if main_rank:  # rank 0 writes the run folder; the other ranks would see it appear
        check_output_path(a.out, [d.fasta, d.background, d.table, d.bed, d.genome, d.test_file, a.config], "run",
                          overwrite=a.overwrite)
    prog = _Progress(a.quiet or not main_rank)
    summary = None
    try:
        for item in train_run(cfg, a.out):
            if isinstance(item, BatchReport):
                prog.batch(item)
            elif isinstance(item, EpochReport):
                metrics = " ".join(f"{k} {v:.4f}" for k, v in item.val_metrics.items() if k != "loss")
                prog.line(f"epoch {item.epoch}/{item.epochs}  train loss {item.train_loss:.4f}  val loss "
                          f"{item.val_loss:.4f}  {metrics}{'  *best*' if item.is_best else ''}  "
                          f"ETA {_fmt_time(item.eta_s)}")
            elif isinstance(item, StageReport):
                prog.line(item.message)
            elif isinstance(item, DataReport):
                prog.line(f"{item.n_train} training, {item.n_val} validation, {item.n_test} test sequences of "
                          f"{item.length} bp; task {item.task}")
            elif isinstance(item, RunSummary):
                summary = item
    except KeyboardInterrupt:
        prog.line("interrupted; the last completed epoch is saved in " + a.out)
        return 130
    assert summary is not None
    if not main_rank:
        return 0
    # per-task figures of a multi-task run stay in metrics.json; the summary shows their medians and fractions
    tests = {k: v for k, v in summary.metrics.items() if k.startswith("test_") and not k.startswith("test_task/")}
    for k, v in tests.items():
        lo, hi = summary.intervals.get(k[5:], (math.nan, math.nan))
        ci = f" (95% CI {lo:.3f} to {hi:.3f})" if math.isfinite(lo) else ""
        prog.line(f"test {k[5:]} {v:.4f}{ci}")
    if summary.intervals:
        prog.line(f"intervals: bootstrap over the {summary.n_test} test sequences (seeded, stratified by class "
                  f"for classification)")
    print(json.dumps({"run_dir": summary.run_dir, "best_epoch": summary.best_epoch, **tests,
                      "test_intervals_95": {k: list(v) for k, v in summary.intervals.items()},
                      "n_test": summary.n_test}, indent=2))
    return 0


def cmd_predict(a: argparse.Namespace) -> int:
    import csv
    import io

    from biodeep_gui.core.common.devices import check_device
    from biodeep_gui.core.common.fileio import atomic_write, check_output_path
    from biodeep_gui.core.sequences.run import load_run, output_columns
    from biodeep_gui.core.sequences.tables import load_unlabelled

    check_output_path(a.out, [a.input, a.run_dir], "file")
    device = check_device(a.device)
    run = load_run(a.run_dir)
    ss = load_unlabelled(a.input, length=run.info.length, sequence_column=a.sequence_column, id_column=a.id_column)
    scores = run.predict(ss.codes, device=device)
    cols = output_columns(run)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", *cols])
    for sid, row in zip(ss.ids, scores):
        w.writerow([sid, *(f"{v:.6g}" for v in row)])
    atomic_write(a.out, buf.getvalue())
    print(f"wrote {len(ss)} predictions to {a.out}")
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from biodeep_gui.core.common.devices import check_device
    from biodeep_gui.core.common.fileio import atomic_write, check_output_path
    from biodeep_gui.core.sequences.fasta import load_labelled_fasta
    from biodeep_gui.core.sequences.pipeline import evaluate_report, overlap_warning
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.sequences.tables import load_table

    if a.out:
        check_output_path(a.out, [a.input, a.run_dir], "file")
    device = check_device(a.device)
    run = load_run(a.run_dir)
    d = run.config.data
    known = run.info.class_names or None  # a test file may hold one class only
    if _looks_like_table(a.input):
        ss = load_table(a.input, a.sequence_column or d.sequence_column, a.label_column or d.label_columns,
                                  task=run.info.task, length=run.info.length, length_policy="fit",
                                  known_classes=known)
    else:
        ss = load_labelled_fasta(a.input, length=run.info.length, length_policy="fit", task=run.info.task,
                                           known_classes=known)
    report = evaluate_report(run, ss, device=device)
    warning = overlap_warning(report["overlap_with_training"])
    if warning:
        print(warning, file=sys.stderr)
    from biodeep_gui.core.training.runs import json_safe

    text = json.dumps(json_safe(report), indent=2)
    print(text)
    if a.out:
        atomic_write(a.out, text)
    return 0


def _looks_like_table(path: str) -> bool:
    return Path(path).name.lower().removesuffix(".gz").endswith((".csv", ".tsv", ".txt"))


def cmd_demo(a: argparse.Namespace) -> int:
    from biodeep_gui.core.sequences.synthetic import write_demo

    files = write_demo(a.out)
    _say_quick([], "smaller demo data sets")
    for name, path in files.items():
        print(f"{name:>14}: {path}")
    return 0


def cmd_archs(a: argparse.Namespace) -> int:
    from biodeep_gui.core.sequences.models import ARCHITECTURES

    for spec in ARCHITECTURES.values():
        print(f"{spec.name:9} {spec.label}: {spec.summary}")
        for p in spec.params:
            extra = f" one of {', '.join(p.choices)}" if p.choices else ""
            print(f"{'':11}{p.name} = {p.default!r}{extra}  {p.help}")
    return 0


def cmd_devices(a: argparse.Namespace) -> int:
    from biodeep_gui.core.common.devices import available_devices

    for dev in available_devices():
        print(f"{dev.name:8} {dev.label}" + ("" if dev.usable else f"  -- not usable: {dev.reason}"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser, handlers = build_parser()
    a = parser.parse_args(argv)
    if not a.command:
        parser.print_help()
        return 2
    if a.command not in handlers:  # `gui` is routed by __main__ only when it comes first
        print(f"biodeep: error: {a.command!r} takes no options before it: run `biodeep {a.command} ...`",
              file=sys.stderr)
        return 2
    try:
        from biodeep_gui.core.common.system import limit_threads

        # one place for every verb: torch would otherwise size its pool from all of the machine's cores
        limit_threads(a.threads or _default_threads())
        return handlers[a.command](a)
    except (BioDeepError, OSError) as exc:
        if a.debug:
            raise
        print(f"biodeep: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
