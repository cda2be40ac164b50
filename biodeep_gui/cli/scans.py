"""``biodeep scans ...``: the brain-scan route on the command line, on the same ``ScansConfig`` as the GUI.

    biodeep scans demo --out demo_scans
    biodeep scans audit --images DIR --labels participants.tsv --file-column FILE_ID
    biodeep scans train --images DIR --labels table.csv --subject-column SUB_ID --label-column DX_GROUP --out RUN_DIR
    biodeep scans reconstruct RUN_DIR FILE.nii.gz --out recon.nii.gz

``add_parsers`` adds the ``scans`` command to ``biodeep``'s parser; ``run`` executes it. Errors are
``BioDeepError``s (one readable line, printed by ``biodeep``); ``main`` runs the module on its own.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np


def add_parsers(subparsers) -> list[str]:
    """Add ``scans`` (with train / reconstruct / demo / audit) to ``biodeep``'s sub-command parsers.

    Returns
    -------
    the top-level command names added (``['scans']``), which ``biodeep`` routes to ``run``
    """
    p = subparsers.add_parser("scans", help="brain scans: NIfTI cohorts, 3-D autoencoder, classifier on the codes",
                              description="Brain-scan route: audit a NIfTI cohort, cross-validate the autoencoder "
                                          "-> classifier pipeline, reconstruct scans, write a demo cohort.")
    sub = p.add_subparsers(dest="scans_command", metavar="SCANS_COMMAND")
    sub.required = True

    t = sub.add_parser("train", help="cross-validate autoencoder -> classifier and save a run folder")
    t.add_argument("--config", help="TOML/JSON scans configuration (or a scans run's run.json); flags override it")
    _data_arguments(t)
    from biodeep_gui.core.scans.config import HARMONISATIONS, ScansConfig
    from biodeep_gui.core.scans.models import SCANS_ARCHITECTURES

    # help defaults read from the config and the architecture specs, so that the two can never disagree
    ae = {p.name: p.default for p in SCANS_ARCHITECTURES["autoencoder3d"].params}
    defaults = ScansConfig()
    m = t.add_argument_group("model and training")
    m.add_argument("--depth", type=int, help=f"autoencoder down-sampling levels (default {ae['depth']})")
    m.add_argument("--channels", type=int, help=f"channels of the first level (default {ae['channels']})")
    m.add_argument("--code-size", type=int, help=f"length of the code (default {ae['code_size']})")
    m.add_argument("--noise", type=float,
                   help=f"denoising: input noise sd in training (default {ae['noise_std']:g}; 0 = off)")
    m.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="other autoencoder hyper-parameter, e.g. --param corruption=0.3 (connectivity)")
    m.add_argument("--network", choices=("connectivity-dae", "heinsfeld-sdae"),
                   help="connectivity route: connectivity-dae (one denoising layer, default) or heinsfeld-sdae "
                        "(stacked denoising AEs 1000 -> 600, pretrained layer-wise, then fine-tuned on each fold's "
                        "training labels; the design of Heinsfeld et al. 2018, not a promise of their ~70 %%)")
    m.add_argument("--no-cnn", action="store_true", help="skip the direct 3-D CNN comparison arm")
    tr = defaults.train
    for flag, kind, default in (("--epochs", int, tr.epochs), ("--batch-size", int, tr.batch_size),
                                ("--lr", float, tr.lr), ("--cnn-epochs", int, tr.cnn_epochs),
                                ("--head-epochs", int, tr.head_epochs), ("--seed", int, tr.seed),
                                ("--patience", int, tr.patience)):
        m.add_argument(flag, type=kind, help=f"(default {default:g})")
    m.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps")
    m.add_argument("--amp", action="store_true", default=None, help="bf16 mixed precision on CUDA")
    cv = defaults.cv
    c = t.add_argument_group("cross-validation")
    c.add_argument("--folds", type=int, help=f"k of stratified k-fold (default {cv.folds})")
    c.add_argument("--leave-site-out", action="store_true", default=None, help="one fold per site")
    c.add_argument("--permutations", type=int,
                   help=f"label permutations for the p-value (default {cv.permutations}; 0 = none); within each "
                        f"site when the table has a site column")
    c.add_argument("--harmonise", choices=HARMONISATIONS,
                   help=f"within-fold harmonisation of the codes by site (default {cv.harmonise}); site-centre: "
                        f"each code minus the mean training code of its site, fitted on the fold's training "
                        f"subjects only (needs --site-column)")
    c.add_argument("--no-final-fit", action="store_true", help="skip the final autoencoder on every subject")
    t.add_argument("--name", help="run name")
    t.add_argument("--out", required=True, help="run folder to write (a new or empty folder)")
    t.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    t.add_argument("--quiet", action="store_true", help="print only the final summary")

    r = sub.add_parser("reconstruct", help="reconstruct a NIfTI file with a trained run's autoencoder")
    r.add_argument("run_dir", help="a scans run folder")
    r.add_argument("file", help="NIfTI file (.nii / .nii.gz)")
    r.add_argument("--out", required=True, help="output NIfTI (same affine and header as the input)")

    d = sub.add_parser("demo", help="write a SYNTHETIC demo cohort (NIfTI + participants.tsv)")
    d.add_argument("--out", required=True, help="folder to write")
    d.add_argument("--subjects", type=int, default=40)
    d.add_argument("--shape", default="61,73,61", help="grid X,Y,Z (default: the 3-mm MNI grid)")
    d.add_argument("--frames", type=int, default=0, help="write 4-D series of this many frames (default 3-D)")
    d.add_argument("--timeseries", action="store_true", help="write ROI time-series tables (.1D) instead")
    d.add_argument("--seed", type=int, default=0)

    a = sub.add_parser("audit", help="check a cohort: headers, orientations, grids, labels (reads no voxel data)")
    _data_arguments(a, need_out=False)
    return ["scans"]


def _data_arguments(p: argparse.ArgumentParser, need_out: bool = True) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--images", help="folder of NIfTI files (one per subject; searched recursively)")
    g.add_argument("--labels", help="CSV/TSV table with one row per subject")
    g.add_argument("--subject-column", help="subject identifier column (default SUB_ID)")
    g.add_argument("--label-column", help="label column (default DX_GROUP)")
    g.add_argument("--file-column", help="column naming each subject's file (e.g. FILE_ID)")
    g.add_argument("--site-column", help="site column (stratification, leave-site-out, site check)")
    g.add_argument("--positive-label", help="label value counted as positive (default: 1 of 0/1, else the first)")
    g.add_argument("--class-names", help="what each label value is called in the results, e.g. "
                                         "'1=autism,2=control' (display only)")
    g.add_argument("--allow-missing", action="store_true", default=None,
                   help="leave out rows without a file and files without a row instead of stopping")
    g.add_argument("--summary", choices=("mean", "std", "alff", "frames"),
                   help="volumes route: how a 4-D file becomes samples; mean = anatomy / scanner (mean image, no "
                        "functional signal), std, alff, frames")
    g.add_argument("--max-frames", type=int, help="summary frames: at most this many frames per subject")
    g.add_argument("--mask", help="brain mask NIfTI (default: computed per fold from the training subjects)")
    g.add_argument("--no-canonical", action="store_true", default=None, help="do not reorient to RAS")
    g.add_argument("--resample", action="store_true", default=None, help="resample every scan to one grid")
    g.add_argument("--voxel-size", type=float, help="with --resample: isotropic voxel size in mm")
    g.add_argument("--route", choices=("auto", "volumes", "connectivity"),
                   help="auto (default): connectivity for 4-D fMRI and ROI tables, volumes for 3-D images; volumes: "
                        "3-D autoencoder (4-D files reduced by --summary: the mean image is anatomy / scanner); "
                        "connectivity: Fisher-z correlations between atlas regions")
    g.add_argument("--timeseries", help="connectivity: folder of per-subject ROI time series (.1D/CSV/TSV)")
    f = p.add_argument_group("fMRI connectivity from 4-D images (already preprocessed and registered to MNI152, "
                             "e.g. fMRIPrep or ABIDE Preprocessed outputs)")
    f.add_argument("--atlas", help="power2011 (default), dosenbach2010 or seitzman2018 (coordinates shipped with "
                                   "nilearn, MNI152), a coordinates CSV/TSV (x, y, z in mm), or a labels image")
    f.add_argument("--sphere-radius", type=float, help="coordinate atlases: sphere radius in mm (default 5)")
    f.add_argument("--no-detrend", action="store_true", default=None, help="do not detrend the ROI series")
    f.add_argument("--high-pass", type=float, help="band-pass lower edge in Hz (default 0.01; 0 = off)")
    f.add_argument("--low-pass", type=float, help="band-pass upper edge in Hz (default 0.1; 0 = off)")
    f.add_argument("--no-standardize", action="store_true", default=None, help="do not z-score the ROI series")
    f.add_argument("--tr", type=float, help="repetition time in s (default: each file's header)")
    f.add_argument("--confounds-column", help="labels-table column naming each subject's confounds CSV/TSV")
    f.add_argument("--confounds-pattern",
                   help="confounds table beside each image, e.g. '*_desc-confounds_timeseries.tsv' (fMRIPrep)")
    f.add_argument("--confounds", help="comma-separated confounds columns to regress out (default: fMRIPrep's "
                                       "trans_x,trans_y,trans_z,rot_x,rot_y,rot_z,csf,white_matter)")
    g.add_argument("--cache", help="cache folder for preprocessed arrays")


def _config(args):
    """A ScansConfig from --config (if any) overlaid with the flags given."""
    from biodeep_gui.core.scans.config import ScansConfig

    cfg = ScansConfig.load(args.config) if getattr(args, "config", None) else ScansConfig()
    d = cfg.data
    for flag, attr in (("images", "images"), ("labels", "labels"), ("subject_column", "subject_column"),
                       ("label_column", "label_column"), ("file_column", "file_column"),
                       ("site_column", "site_column"), ("positive_label", "positive_label"),
                       ("allow_missing", "allow_missing"), ("summary", "summary"), ("max_frames", "max_frames"),
                       ("mask", "mask"), ("resample", "resample"), ("voxel_size", "voxel_size"), ("route", "route"),
                       ("timeseries", "timeseries"), ("atlas", "atlas"), ("cache", "cache_dir"),
                       ("sphere_radius", "sphere_radius"), ("high_pass", "high_pass"), ("low_pass", "low_pass"),
                       ("tr", "tr"), ("confounds_column", "confounds_column"),
                       ("confounds_pattern", "confounds_pattern")):
        v = getattr(args, flag, None)
        if v is not None:
            setattr(d, attr, v)
    if getattr(args, "no_canonical", None):
        d.canonicalise = False
    if getattr(args, "no_detrend", None):
        d.detrend = False
    if getattr(args, "no_standardize", None):
        d.standardize = False
    if getattr(args, "class_names", None) is not None:
        from biodeep_gui.core.scans.config import parse_class_names

        d.class_names = parse_class_names(args.class_names, setting="--class-names")
    if getattr(args, "confounds", None) is not None:
        d.confounds = [c.strip() for c in args.confounds.split(",") if c.strip()]
    if d.timeseries and getattr(args, "route", None) is None:
        d.route = "connectivity"
    if d.voxel_size and not d.resample:
        d.resample = True  # a voxel size only makes sense with resampling
    if getattr(args, "scans_command", "") == "train":
        ae = cfg.model.autoencoder
        for flag, key in (("depth", "depth"), ("channels", "channels"), ("code_size", "code_size"),
                          ("noise", "noise_std")):
            v = getattr(args, flag)
            if v is not None:
                ae[key] = v
        for item in args.param:
            if "=" not in item:
                from biodeep_gui.core.common.errors import ConfigError

                raise ConfigError(f"--param {item!r}: expected NAME=VALUE")
            k, v = item.split("=", 1)
            ae[k.strip()] = _number(v.strip())
        if d.route == "connectivity":
            ae.pop("depth", None), ae.pop("channels", None), ae.pop("noise_std", None)
        if args.no_cnn:
            cfg.model.cnn_arm = False
        if args.network:
            cfg.model.connectivity_network = args.network
        t = cfg.train
        for flag in ("epochs", "batch_size", "lr", "cnn_epochs", "head_epochs", "seed", "patience", "device", "amp"):
            v = getattr(args, flag)
            if v is not None:
                setattr(t, flag, v)
        for flag in ("folds", "leave_site_out", "permutations", "harmonise"):
            v = getattr(args, flag)
            if v is not None:
                setattr(cfg.cv, flag, v)
        if args.no_final_fit:
            cfg.cv.final_fit = False
        if args.name:
            cfg.name = args.name
    cfg.validate()
    if getattr(args, "scans_command", "") == "train":
        from biodeep_gui.core.common import quick
        from biodeep_gui.core.training.distributed import is_main_process

        text = quick.notice(quick.shorten(cfg.train, cfg.cv))
        if text and is_main_process():  # once per launch
            print(text, file=sys.stderr, flush=True)
    return cfg


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def run(args) -> int:
    """Execute ``biodeep scans ...``; returns the exit status (errors are raised as ``BioDeepError``)."""
    cmd = getattr(args, "scans_command", None)
    return {"train": _train, "reconstruct": _reconstruct, "demo": _demo, "audit": _audit}[cmd](args)


_DEMO_OUTPUTS = (".nii.gz", ".nii", ".tsv", ".csv", ".1d", ".txt")


def _demo(args) -> int:
    from biodeep_gui.core.scans.synthetic import check_demo_request, write_demo_cohort, write_demo_timeseries

    if args.timeseries:
        check_demo_request(args.subjects)
        from biodeep_gui.core.common.fileio import check_output_path

        check_output_path(args.out, [], "folder", own_suffixes=_DEMO_OUTPUTS)
        demo = write_demo_timeseries(args.out, args.subjects, seed=args.seed)
        print(f"Wrote a SYNTHETIC connectivity cohort: {args.subjects} subjects' ROI time series in {demo.images}, "
              f"labels in {demo.table}")
        print(f"Train it with:\n  biodeep scans train --timeseries {demo.images} --labels {demo.table} "
              f"--file-column FILE_ID --site-column SITE_ID --out {Path(args.out) / 'run'}")
        return 0
    try:
        shape = tuple(int(v) for v in args.shape.split(","))
    except ValueError:
        from biodeep_gui.core.common.errors import ConfigError

        raise ConfigError(f"--shape {args.shape!r}: expected three integers >= 4, e.g. 61,73,61") from None
    check_demo_request(args.subjects, shape, args.frames)  # before anything is written
    from biodeep_gui.core.common.fileio import check_output_path

    check_output_path(args.out, [], "folder", own_suffixes=_DEMO_OUTPUTS)
    from biodeep_gui.core.common import quick

    if quick.size(args.subjects, 16) < args.subjects:  # the README test: a smaller cohort (see core.common.quick)
        args.subjects = quick.size(args.subjects, 16)
        print(quick.notice(what=f"{args.subjects} subjects"), file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    demo = write_demo_cohort(args.out, args.subjects, shape, seed=args.seed, frames=args.frames)
    print(f"Wrote a SYNTHETIC demo cohort ({args.subjects} subjects, grid {'x'.join(map(str, shape))}"
          f"{f', {args.frames} frames' if args.frames else ''}) in {time.perf_counter() - t0:.1f} s:")
    print(f"  images: {demo.images}\n  labels: {demo.table}" + (f"\n  atlas:  {demo.atlas}" if demo.atlas else ""))
    if demo.atlas:  # 4-D series: the default route is connectivity between the demo atlas's regions
        print(f"Train it (connectivity between the regions of the demo atlas) with:\n  {demo.command()} "
              f"--atlas {demo.atlas}")
        return 0
    print(f"Train it (6-mm grid, a few minutes on a laptop CPU) with:\n  {demo.command()}")
    return 0


def _audit(args) -> int:
    from biodeep_gui.core.scans.cohort import build_cohort

    cfg = _config(args)
    cohort = build_cohort(cfg.data)
    print(f"{len(cohort)} subjects in {cohort.folder}; classes "
          + ", ".join(f"{cfg.data.class_label(k)}: {v}" for k, v in cohort.class_counts().items())
          + f" (positive: {cfg.data.class_label(cohort.positive_label)})")
    if cohort.sites:
        from collections import Counter

        print("sites: " + ", ".join(f"{k}: {v}" for k, v in sorted(Counter(cohort.sites).items())))
    print(f"{'subject':<14} {'label':<6} {'shape':<18} {'voxel (mm)':<16} {'TR':<6} {'q/s':<5} {'axes':<5} status")
    for s in cohort.subjects:
        h = s.header
        if h is None:
            print(f"{s.id:<14} {s.label:<6} {'':<18} {'':<16} {'':<6} {'':<5} {'':<5} {s.status}")
            continue
        vs = "×".join(f"{v:.3g}" for v in h.voxel_size)
        tr = f"{h.tr:g}" if h.tr else "-"
        print(f"{s.id:<14} {s.label:<6} {'×'.join(map(str, h.shape)):<18} {vs:<16} {tr:<6} "
              f"{h.qform_code}/{h.sform_code:<3} {h.axcodes:<5} {s.status}")
    for f in cohort.flags:
        state = " (handled by the current settings)" if f.handled else (f" [fix: --{f.fix}]" if f.fix else "")
        print(f"{f.severity.upper()}: {f.message}{state}")
    for note in cohort.notes:
        print(f"NOTE: {note}")
    return 1 if cohort.errors() else 0


def _reconstruct(args) -> int:
    from biodeep_gui.core.common.fileio import check_output_path
    from biodeep_gui.core.scans.run import load_scans_run

    run_ = load_scans_run(args.run_dir)
    check_output_path(args.out, [args.file, args.run_dir], "file")
    out = run_.reconstruct_file(args.file, args.out)
    print(f"Wrote {out} (reconstruction of {args.file} by {args.run_dir}, same affine and header)")
    return 0


def _train(args) -> int:
    from biodeep_gui.core.common.errors import BioDeepError
    from biodeep_gui.core.common.fileio import check_output_path
    from biodeep_gui.core.training.distributed import is_main_process

    # under torchrun/srun every process runs this; process 0 checks the run folder, reports and writes it, the others
    # fit their share of the folds quietly
    main_rank = is_main_process()
    try:
        cfg = _config(args)
        d = cfg.data
        if main_rank:
            check_output_path(args.out, [d.images, d.labels, d.mask, d.atlas, d.timeseries, args.config], "run",
                              overwrite=args.overwrite)
        summary = _train_and_report(cfg, args.out, quiet=args.quiet or not main_rank)
    except BioDeepError:
        if main_rank:
            raise
        return 1  # process 0 has the same error (the pipeline raises it on every process) and prints it once
    if not main_rank:
        return 0
    if summary is None:
        return 1
    print(format_summary(summary, d.class_names))
    return 0 if not summary.cancelled else 1


def _train_and_report(cfg, out: str, *, quiet: bool):
    """Iterate ``train_scans``, printing its progress unless ``quiet``; returns its ``ScansSummary`` (None in the
    processes of a launch other than process 0, which return after contributing their folds)."""
    from biodeep_gui.core.scans.pipeline import train_scans
    from biodeep_gui.core.scans.reports import CohortReport, FoldReport, FoldResult, ReconstructionPreview, ScansSummary
    from biodeep_gui.core.training.loop import BatchReport, EpochReport
    from biodeep_gui.core.training.reports import StageReport

    d = cfg.data
    tty = sys.stdout.isatty()
    summary = None
    last_batch = 0.0
    for item in train_scans(cfg, out):
        if isinstance(item, ScansSummary):
            summary = item
        elif quiet or isinstance(item, ReconstructionPreview):
            continue
        elif isinstance(item, StageReport):
            print(f"[{item.stage}] {item.message}")
        elif isinstance(item, CohortReport):
            counts = ", ".join(f"{d.class_label(k)}: {v}" for k, v in item.class_counts.items())
            print(f"Cohort: {item.n_subjects} subjects ({counts})"
                  f"{', grid ' + item.grid if item.grid else ''}; {item.n_features:,} features per sample")
            for w in item.warnings:
                print(f"  warning: {w}")
        elif isinstance(item, FoldReport):
            print(item.message)
        elif isinstance(item, EpochReport):
            vm = ", ".join(f"{k} {v:.4f}" for k, v in item.val_metrics.items() if k != "loss")
            print(f"  epoch {item.epoch}/{item.epochs}: train loss {item.train_loss:.4f}, val loss {item.val_loss:.4f}"
                  f"{', ' + vm if vm else ''} ({item.samples_per_s:.1f} samples/s)")
        elif isinstance(item, BatchReport):
            if tty and time.perf_counter() - last_batch > 1:  # a progress line overwritten in place (terminals only)
                last_batch = time.perf_counter()
                print(f"  epoch {item.epoch} batch {item.batch}/{item.n_batches}: loss {item.loss:.4f}".ljust(72),
                      end="\r", flush=True)
        elif isinstance(item, FoldResult):
            parts = [f"{a} acc {m['accuracy']:.2f}" for a, m in item.metrics.items()]
            r = np.nanmean([c for c, _ in item.reconstruction.values()]) if item.reconstruction else math.nan
            t, res = (np.nanmean([v[j] for v in item.deviation.values()]) if item.deviation else math.nan
                      for j in (0, 1))
            print(f"Fold {item.fold}: " + ", ".join(parts) + f"; held-out reconstruction r = {r:.3f} "
                  f"(template r = {t:.3f}, deviation explained r = {res:.3f})")
    return summary


def format_summary(s, class_names: dict[str, str] | None = None) -> str:
    """A readable multi-line summary of a ``ScansSummary``; ``class_names``: label value -> name (data.class_names)."""
    from biodeep_gui.core.scans.config import ScansDataConfig

    label = ScansDataConfig(class_names=dict(class_names or {})).class_label
    lines = [f"Run folder: {s.run_dir or '(nothing saved)'}" + (" (cancelled)" if s.cancelled else ""),
             f"{s.n_folds}-fold cross-validation on {s.device}, {s.elapsed_s:.0f} s"]
    if len(s.classes) == 2:
        lines.append(f"Classes: {label(s.classes[1])} (positive, label {s.classes[1]}) against {label(s.classes[0])} "
                     f"(label {s.classes[0]})")
    if s.reconstruction:
        r = s.reconstruction
        nan = math.nan
        lines.append(f"Held-out reconstruction: correlation {r['correlation_mean']:.3f} ± {r['correlation_sd']:.3f}, "
                     f"MSE {r['mse_mean']:.4f}")
        lines.append(f"  template baseline (the training subjects' mean image): correlation "
                     f"{r.get('template_correlation_mean', nan):.3f} ± {r.get('template_correlation_sd', nan):.3f}, "
                     f"MSE {r.get('template_mse_mean', nan):.4f}")
        lines.append(f"  deviation from the template explained: residual correlation "
                     f"{r.get('residual_correlation_mean', nan):.3f} ± {r.get('residual_correlation_sd', nan):.3f}")
    from biodeep_gui.core.scans.config import ARM_NAMES as names
    from biodeep_gui.core.scans.reports import permutation_p_text

    for arm, ms in s.metrics.items():
        txt = ", ".join(f"{m.replace('_', ' ')} {mean:.3f} ± {sd:.3f}" for m, (mean, sd) in ms.items())
        lines.append(f"{names.get(arm, arm)}: {txt}")
    for arm, m in s.confusion.items():
        if len(s.classes) == 2 and len(m) == 2:
            neg, pos = label(s.classes[0]), label(s.classes[1])
            lines.append(f"Confusion ({names.get(arm, arm)}, out-of-fold, threshold 0.5): true {neg}: {m[0][0]} called "
                         f"{neg}, {m[0][1]} called {pos}; true {pos}: {m[1][0]} called {neg}, {m[1][1]} called {pos}")
    if s.chance:
        lines.append(f"Chance: accuracy {s.chance['majority_accuracy']:.3f} (always the larger class), balanced "
                     f"accuracy and AUROC {s.chance['balanced_accuracy']:.3f}")
    if "site_only" in s.metrics:
        lines.append("  (site only = the diagnosis predicted from the site alone: a classifier of the scans has to "
                     "beat it, not just chance)")
    for arm, p in s.permutation.items():
        how = "labels permuted within each site" if p.get("within_site") else "labels permuted freely"
        lines.append(f"Permutation test ({names.get(arm, arm)}): accuracy {p['accuracy']:.3f}, chance "
                     f"{p['chance']:.3f}, {permutation_p_text(p['p_value'], int(p['n']))}; {how}")
    if s.site_predictability:
        sp = s.site_predictability
        lines.append(f"Site predictability from the codes: balanced accuracy {sp['balanced_accuracy']:.3f} "
                     f"(chance {sp['chance']:.3f})")
    for w in s.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
