"""A whole training run as one generator: load -> split -> train (deep or baseline) -> test -> save.

The CLI and the GUI worker both just iterate ``train_run`` and show what it yields; neither repeats any step.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from biodeep_gui.core.common.errors import ConfigError
from biodeep_gui.core.sequences.config import RunConfig
from biodeep_gui.core.sequences.dataset import SequenceSet
from biodeep_gui.core.training.reports import StageReport, history_row


@dataclass
class DataReport:
    n_train: int
    n_val: int
    n_test: int
    length: int
    task: str
    n_outputs: int
    label_names: list[str]
    class_names: list[str]


@dataclass
class RunSummary:
    run_dir: str
    arch: str
    metrics: dict[str, float]
    best_epoch: int
    epochs_run: int
    cancelled: bool
    stopped_early: bool
    elapsed_s: float
    samples_per_s: float
    n_parameters: int
    device: str
    history: list[dict[str, float]] = field(default_factory=list)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # test metric -> 95 % bootstrap CI
    n_test: int = 0


@dataclass
class PreparedData:
    data: SequenceSet
    train: np.ndarray  # indices into data
    val: np.ndarray
    test_set: SequenceSet  # the test sequences (a subset of data, or the explicit test file)
    notes: list[str] = field(default_factory=list)  # how the split was made (e.g. why not stratified)
    holdout: list[str] = field(default_factory=list)  # chromosomes forming the test set (BED)
    holdout_default: bool = False  # True when BioDeep chose them (BED on >= 3 chromosomes, none named)


def check_learnable(ss: SequenceSet) -> None:
    """Refuse a training set a model cannot learn anything from: a regression target with one value, or more
    classes than one per ten sequences (an id or sequence column taken for the labels, measured values read
    as classes)."""
    from biodeep_gui.core.common.errors import InputFileError

    source = ", ".join(ss.sources) or None
    n = len(ss)
    if ss.task == "regression":
        for j, name in enumerate(ss.label_names or ["label"]):
            values = np.unique(ss.labels[:, j])
            if values.size == 1:
                raise InputFileError(source, f"all {n:,} values of label {name!r} are {float(values[0]):g}: "
                                             f"nothing to learn", expected="a regression target that varies")
    if ss.task == "multiclass":
        k = len(ss.class_names)
        if k > max(2, n / 10):
            shown = ", ".join(repr(c[:20]) for c in ss.class_names[:5]) + (", ..." if k > 5 else "")
            raise InputFileError(source, f"{k:,} classes ({shown}) for {n:,} sequences: fewer than 10 sequences "
                                         f"per class cannot train a classifier; is the label column the right one, "
                                         f"or are these measured values (task 'regression')?",
                                 expected=f"at most {max(2, n // 10):,} classes for {n:,} sequences")


def split_method_of(doc: dict | None) -> str:
    """How a saved run's records were split (``splits.SPLIT_METHOD``), from its ``run.json``; runs saved before
    the method was recorded were split by scikit-learn (``splits.LEGACY_SPLIT_METHOD``)."""
    from biodeep_gui.core.sequences.splits import LEGACY_SPLIT_METHOD

    split = doc.get("split") if isinstance(doc, dict) else None
    return str(split.get("method", LEGACY_SPLIT_METHOD)) if isinstance(split, dict) else LEGACY_SPLIT_METHOD


def prepare_data(cfg: RunConfig, data: SequenceSet | None = None, split_method: str | None = None) -> PreparedData:
    """Load the sequences (unless given) and split them train / validation / test as the config says.

    BED peaks on three chromosomes or more, with no chromosomes named and no test file, are split by
    chromosome: ``splits.default_holdout`` picks the test chromosomes (about ``test_fraction`` of the peaks) and
    a note says which. ``split_method``: ``splits.SPLIT_METHOD`` for a new run; for a saved run the one it was
    split with (``split_method_of(run.doc)``), so its test set stays the one it was tested on.

    Raises
    ------
    ConfigError
        the split leaves no validation sequence (``data.val_fraction = 0``): the epoch kept, early stopping
        and the baselines' C are all chosen on the validation set, and without one a run would keep untested
        weights (BioDeep 0.1 silently kept epoch 1's).
    """
    from biodeep_gui.core.sequences import splits
    from biodeep_gui.core.sequences.io import load_sequences, load_test_set

    d = cfg.data
    method = split_method or splits.SPLIT_METHOD
    ss = data if data is not None else load_sequences(d, seed=cfg.train.seed)
    check_learnable(ss)
    if d.test_file:
        test = load_test_set(d, ss, seed=cfg.train.seed)
        idx = splits.split_with_test_set(ss, test, val_fraction=d.val_fraction, seed=cfg.train.seed,
                                           method=method)
        prep = PreparedData(ss, idx["train"], idx["val"], test, idx.notes)
    else:
        holdout, auto = list(d.holdout_chromosomes), False
        if not holdout:
            holdout = splits.default_holdout(ss, d.test_fraction, seed=cfg.train.seed)
            auto = bool(holdout)
        idx = splits.split_indices(ss, val_fraction=d.val_fraction, test_fraction=d.test_fraction,
                                   seed=cfg.train.seed, holdout_groups=tuple(holdout), method=method)
        notes = list(idx.notes)
        if auto:
            notes.insert(0, f"Chromosome hold-out (the default for BED peaks on 3 or more chromosomes): "
                            f"{', '.join(holdout)} held out as the test set, so the model is tested on genome it "
                            f"never saw. Name other chromosomes with data.holdout_chromosomes "
                            f"(--holdout-chromosomes).")
        prep = PreparedData(ss, idx["train"], idx["val"], ss.subset(idx["test"]), notes, holdout, auto)
    if len(prep.val) == 0:
        raise ConfigError(f"data.val_fraction = {d.val_fraction:g} leaves no validation sequences: BioDeep keeps "
                          f"the epoch that scores best on the validation set (and stops early and tunes the "
                          f"baselines there), so without one it cannot tell which weights to keep. Set "
                          f"data.val_fraction above 0 (e.g. 0.1).")
    return prep


def resumable(run_dir: str | Path) -> bool:
    """Whether a run folder holds an interrupted training (crash, kill, cancel or failure) that can go on."""
    from biodeep_gui.core.training.runs import CHECKPOINT_FILE, RUN_FILE

    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINT_FILE).exists() or not (run_dir / RUN_FILE).exists():
        return False
    try:
        return json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8")).get("status") != "complete"
    except (OSError, ValueError):
        return False


def resume_run(run_dir: str | Path, *, data: SequenceSet | None = None,
               should_stop: Callable[[], bool] = lambda: False, report_interval: float = 0.1) -> Iterator:
    """Continue an interrupted run from its last completed epoch; yields what ``train_run`` yields.

    The split is remade from the saved configuration and seed; the input files must be unchanged (SHA-256).
    """
    from biodeep_gui.core.sequences.run import load_run

    run = load_run(run_dir)
    if run.config.data.kind == "bed" and "split" not in run.doc:
        raise ConfigError(f"{run_dir} was started by an older BioDeep, which split BED windows differently "
                          f"(overlapping windows apart, no default chromosome hold-out); resuming would train on "
                          f"other windows. Start the run again.")
    if data is None:
        from biodeep_gui.core.common.fileio import sha256_file

        for path, digest in run.provenance.get("input_sha256", {}).items():
            if digest and Path(path).exists() and sha256_file(path) != digest:
                raise ConfigError(f"{path} changed since the run started; resuming would train on other data")
    return train_run(run.config, run_dir, data=data, should_stop=should_stop, report_interval=report_interval,
                     _resume=True)


def train_run(cfg: RunConfig, out_dir: str | Path, *, data: SequenceSet | None = None,
              should_stop: Callable[[], bool] = lambda: False, report_interval: float = 0.1,
              _resume: bool = False) -> Iterator:
    """Train and save one run; under ``torchrun``/``srun`` data-parallel (see ``training.distributed``).

    Every rank iterates this generator; rank 0 alone writes the run folder (``world_size`` and ``backend`` in
    its provenance) and gets the final summary with a ``run_dir``. What it yields: see ``_train_run``.
    """
    import torch

    from biodeep_gui.core.sequences.models import get_architecture
    from biodeep_gui.core.training.distributed import init_from_env
    from biodeep_gui.core.training.loop import resolve_device

    cfg.validate()
    torch_model = get_architecture(cfg.model.arch).kind == "torch"
    dist = init_from_env(resolve_device(cfg.train.device) if torch_model else torch.device("cpu"))
    try:
        yield from _train_run(cfg, out_dir, dist, data=data, should_stop=should_stop,
                              report_interval=report_interval, _resume=_resume)
    finally:
        dist.close()


def _train_run(cfg: RunConfig, out_dir: str | Path, dist, *, data: SequenceSet | None = None,
               should_stop: Callable[[], bool] = lambda: False, report_interval: float = 0.1,
               _resume: bool = False) -> Iterator:
    """Train and save one run, yielding StageReport, DataReport, BatchReport, EpochReport and finally RunSummary.

    After every epoch the run folder is updated (best weights so far, history, status 'training') together
    with a checkpoint of the last epoch (weights + optimiser), so a crash loses at most one epoch and
    ``resume_run`` can go on from there. Cancelling after at least one epoch saves the run as 'cancelled',
    evaluated with the best weights (and still resumable); cancelling earlier saves nothing. A
    ``TrainingError`` leaves the last checkpoint marked 'failed'.
    """
    import torch

    from biodeep_gui.core.common import metrics as M
    from biodeep_gui.core.sequences.batches import source_for
    from biodeep_gui.core.sequences.models import build_model, get_architecture
    from biodeep_gui.core.sequences.run import ModelInfo, load_run, write_run
    from biodeep_gui.core.sequences.splits import SPLIT_METHOD
    from biodeep_gui.core.training.architecture import count_parameters
    from biodeep_gui.core.training.loop import (
        EpochReport,
        FitResult,
        Objective,
        fit,
        make_optimizer,
        predict_outputs,
    )
    from biodeep_gui.core.training.runs import CHECKPOINT_FILE, RUN_FILE, provenance, write_checkpoint

    cfg.validate()
    spec = get_architecture(cfg.model.arch)
    params = spec.resolve(cfg.model.params)
    out_dir = Path(out_dir)
    t0 = time.perf_counter()

    yield StageReport("load", "Reading sequences")
    if not dist.is_main:
        dist.barrier()  # rank 0 builds the encoded cache first (when one is used); the others then open it
    method = None
    if _resume:  # the split the run started with, even if BioDeep now splits new runs otherwise
        method = split_method_of(json.loads((out_dir / RUN_FILE).read_text(encoding="utf-8")))
    prep = prepare_data(cfg, data, method)
    if dist.is_main:
        dist.barrier()
    ss = prep.data
    yield DataReport(len(prep.train), len(prep.val), len(prep.test_set), ss.length, ss.task, ss.n_outputs,
                     ss.label_names, ss.class_names)
    for note in prep.notes:
        yield StageReport("split", note)
    if prep.holdout_default:  # saved with the run, so resuming and the interpretation tools remake this split
        import copy

        cfg = copy.deepcopy(cfg)
        cfg.data.holdout_chromosomes = list(prep.holdout)
    split_info = {"holdout_chromosomes": list(prep.holdout), "holdout_default": prep.holdout_default,
                  "notes": list(prep.notes), "method": method or SPLIT_METHOD}
    extra_info: dict = {}
    device = dist.device
    torch.manual_seed(cfg.train.seed)
    y_train = ss.labels[prep.train]
    objective = Objective.for_labels(ss.task, y_train, ss.n_outputs, cfg.train.class_weighting)
    info = ModelInfo(cfg.model.arch, params, ss.length, ss.n_outputs, ss.task, ss.label_names, ss.class_names,
                          None if objective.target_mean is None else objective.target_mean.tolist(),
                          None if objective.target_std is None else objective.target_std.tolist())
    prov = {**provenance(cfg, str(device), getattr(ss, "input_sha256", None)), **dist.provenance()}
    test = prep.test_set

    def finish(tensors, raw_val, raw_test, history, best_epoch, status, fit_res=None) -> RunSummary:
        val_m = objective.metrics(ss.labels[prep.val], objective.transform(raw_val)) if len(prep.val) else {}
        test_pred = objective.transform(raw_test)
        test_m = objective.metrics(test.labels, test_pred) if len(test) else {}
        metrics = {**{f"test_{k}": v for k, v in test_m.items()}, **{f"val_{k}": v for k, v in val_m.items()}}
        if len(test) and ss.task == "binary" and test.labels.shape[1] > 1:  # multi-task: per task + summaries
            from biodeep_gui.core.common.metrics import per_task_metrics

            metrics.update(per_task_metrics(test.labels, test_pred, ss.label_names, prefix="test_"))
        n_boot = M.N_BOOTSTRAP if len(test) <= 20_000 else 200  # large test sets: narrow intervals, less work
        intervals = M.bootstrap_intervals(ss.task, test.labels, test_pred, n_boot=n_boot, seed=cfg.train.seed)
        if not dist.is_main:
            return RunSummary("", cfg.model.arch, metrics, best_epoch, len(history), status == "cancelled",
                              bool(fit_res and fit_res.stopped_early), time.perf_counter() - t0, math.nan,
                              info.n_parameters, str(device), history, intervals, len(test))
        out_dir.mkdir(parents=True, exist_ok=True)
        write_training_digest(out_dir, ss.codes, prep.train, prep.val)
        write_run(out_dir, cfg, info, tensors, history=history, metrics=metrics, status=status,
                  provenance_info=prov, predictions={"y_true": test.labels, "y_pred": test_pred},
                  extra={"best_epoch": best_epoch, "test_ids_sha": _ids_digest(test.ids),
                         "test_intervals": {k: list(v) for k, v in intervals.items()},
                         "bootstrap": {"n_boot": n_boot, "seed": cfg.train.seed, "level": 0.95,
                                       "stratified": M.bootstrap_strata(ss.task, test.labels) is not None,
                                       "n_test": len(test)},
                         "split": split_info, **extra_info})
        return RunSummary(str(out_dir), cfg.model.arch, metrics, best_epoch, len(history), status == "cancelled",
                          bool(fit_res and fit_res.stopped_early), time.perf_counter() - t0,
                          fit_res.samples_per_s if fit_res else math.nan, info.n_parameters, str(device), history,
                          intervals, len(test))

    if spec.kind == "sklearn":
        from biodeep_gui.core.sequences import baselines as B

        train_rows = prep.train[B.subset_rows(len(prep.train), B.BASELINE_MAX_TRAIN, cfg.train.seed)]
        yield StageReport("train", f"Fitting the {spec.label} on "
                                   + B.fit_phrase(len(prep.train), len(train_rows), cfg.train.seed))
        monitor = cfg.train.monitor if cfg.train.monitor not in ("auto", "loss") else M.default_monitor(ss.task)
        sign = 1.0 if M.HIGHER_IS_BETTER.get(monitor, True) else -1.0
        val_rows = prep.val[B.subset_rows(len(prep.val), B.BASELINE_MAX_VAL, cfg.train.seed)]
        val_codes, y_val = ss.codes[val_rows], ss.labels[val_rows]  # at most BASELINE_MAX_VAL rows, read once

        def score(m) -> float:
            with np.errstate(over="ignore"):  # the weakest C can give huge logits: sigmoid saturates, fine
                prob = objective.transform(m.raw_output(val_codes))
            return sign * objective.metrics(y_val, prob).get(monitor, math.nan)

        model = B.fit_baseline(cfg.model.arch, ss.codes[train_rows], objective.scale_targets(ss.labels[train_rows]),
                               ss.task, k=int(params.get("k", 5)), C=float(params["C"]), seed=cfg.train.seed,
                               class_weighting=cfg.train.class_weighting, score=score)
        if model.tuning:
            tried = ", ".join(f"{c:g}: {sign * v:.3f}" for c, v in model.tuning)
            on = "" if len(val_rows) == len(prep.val) else f" ({len(val_rows):,} of {len(prep.val):,}, random subset)"
            yield StageReport("train", f"C = {model.C:g} chosen on the validation set{on} by {monitor} ({tried})")
        extra_info["baseline"] = {"C": model.C, "C_chosen_on_validation": bool(model.tuning), "monitor": monitor,
                                  "tuning": [[c, sign * v] for c, v in model.tuning],
                                  "class_weighting": bool(cfg.train.class_weighting and ss.task != "regression"),
                                  "features": ("canonical k-mer frequencies" if cfg.model.arch == "kmer"
                                               else "one-hot"),
                                  "n_train": len(prep.train), "n_fitted": len(train_rows),
                                  "subset_seed": cfg.train.seed, "n_val": len(prep.val),
                                  "n_val_scored": len(val_rows) if model.tuning else 0}
        extra_info["baseline"]["fitted_on"] = B.describe_fit(extra_info["baseline"])
        info.n_parameters = int(model.coef.size + model.intercept.size)
        yield StageReport("test", "Evaluating on the validation and test sets")
        yield finish(model.to_tensors(), model.raw_output(ss.codes, rows=prep.val), model.raw_output(test.codes),
                     [], 0, "complete")
        return

    model = build_model(cfg.model.arch, ss.length, ss.n_outputs, params)
    info.n_parameters = count_parameters(model)
    yield StageReport("build", f"{spec.label}: {info.n_parameters:,} parameters, training on {device}")
    train_src = source_for(ss.codes, objective.scale_targets(y_train), rows=prep.train)
    val_src = source_for(ss.codes, objective.scale_targets(ss.labels[prep.val]), rows=prep.val)
    history: list[dict[str, float]] = []
    result: FitResult | None = None
    best_tensors = None
    model.to(device)
    opt = make_optimizer(model, cfg.train)
    resume = None
    if _resume:
        resume, history, best_tensors = _restore(out_dir, model, opt, cfg)
        prov = {**load_run(out_dir).provenance, **dist.provenance()}
        yield StageReport("resume", f"Resuming after epoch {resume.epochs_done} (best so far: epoch "
                                    f"{resume.best_epoch})")
        for report in resume.history:
            yield report  # redraw the curves of the epochs already done
    try:
        for item in fit(model, train_src, val_src, objective, cfg.train, device=device,
                        val_targets=ss.labels[prep.val], should_stop=should_stop, report_interval=report_interval,
                        optimizer=opt, resume=resume, dist=dist):
            if isinstance(item, EpochReport):
                history.append(history_row(item))
                if item.is_best or best_tensors is None:
                    best_tensors = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                if not dist.is_main:
                    yield item
                    continue
                write_run(out_dir, cfg, info, best_tensors, history=history, metrics={}, status="training",
                          provenance_info=prov, extra={"best_epoch": item.best_epoch, "split": split_info})
                write_checkpoint(out_dir, model.state_dict(), opt.state_dict(),
                                      {"epochs_done": item.epoch, "best_epoch": item.best_epoch,
                                       "best_value": item.monitor_value, "monitor": item.monitor})
            elif isinstance(item, FitResult):
                result = item
                continue
            yield item
    except Exception as exc:
        if dist.is_main and (out_dir / RUN_FILE).exists():
            _mark(out_dir, "failed", str(exc))
        raise
    assert result is not None
    if result.cancelled and not result.history:
        yield RunSummary("", cfg.model.arch, {}, 0, 0, True, False, time.perf_counter() - t0, math.nan,
                         info.n_parameters, str(device))
        return
    yield StageReport("test", "Evaluating the best epoch on the validation and test sets")
    bs = max(cfg.train.batch_size, 256)
    raw_val, _ = predict_outputs(model, val_src.to(device), bs, dist=dist)
    test_src = source_for(test.codes, np.zeros(len(test), np.float32)).to(device)
    raw_test, _ = predict_outputs(model, test_src, bs, dist=dist)
    summary = finish(model.state_dict(), raw_val, raw_test, history, result.best_epoch,
                     "cancelled" if result.cancelled else "complete", result)
    if not result.cancelled and dist.is_main:
        (out_dir / CHECKPOINT_FILE).unlink(missing_ok=True)
    yield summary


def _restore(out_dir: Path, model, opt, cfg: RunConfig):
    """Load a checkpoint into ``model`` and ``opt``; return the ResumeState, history rows and best weights."""
    import torch

    from biodeep_gui.core.common import metrics as M
    from biodeep_gui.core.sequences.run import load_run
    from biodeep_gui.core.training.loop import EpochReport, ResumeState
    from biodeep_gui.core.training.runs import read_checkpoint

    run = load_run(out_dir)
    model_state, opt_state, meta = read_checkpoint(out_dir)
    model.load_state_dict(model_state)
    opt.load_state_dict(opt_state)
    rows = [r for r in run.history if int(r["epoch"]) <= meta["epochs_done"]]
    monitor = meta["monitor"]
    reports = [EpochReport(int(r["epoch"]), cfg.train.epochs, r["train_loss"], r["val_loss"],
                           {k[4:]: v for k, v in r.items() if k.startswith("val_")}, monitor,
                           r.get(f"val_{monitor}", math.nan), int(meta["best_epoch"]), bool(r.get("is_best")),
                           math.nan, r.get("elapsed_s", math.nan), math.nan) for r in rows]
    sign = 1.0 if M.HIGHER_IS_BETTER.get(monitor, True) else -1.0
    best_row = next((r for r in rows if int(r["epoch"]) == int(meta["best_epoch"])), None)
    best_value = sign * best_row.get(f"val_{monitor}", math.nan) if best_row else -math.inf
    best_state = {k: torch.from_numpy(v.copy()) for k, v in run.tensors().items()}
    state = ResumeState(int(meta["epochs_done"]), reports, int(meta["best_epoch"]), best_value, best_state)
    return state, [dict(r) for r in rows], best_state


def evaluate(run, data: SequenceSet, device: str = "cpu") -> dict[str, float]:
    """Metrics of a saved run on a labelled ``SequenceSet`` (fitted to the model's input length)."""
    if data.task != run.info.task:
        raise ConfigError(f"the data are a {data.task} task but the model was trained for {run.info.task}")
    return run.objective().metrics(data.labels, run.predict(data.codes, device=device))


def evaluate_report(run, data: SequenceSet, device: str = "cpu", seed: int = 0) -> dict:
    """What ``biodeep evaluate`` writes: the metrics, their 95 % bootstrap intervals and the overlap with the
    run's training and validation sequences.

    Returns
    -------
    dict: every metric name -> value (as ``evaluate``), ``intervals`` (name -> [low, high], 1,000 seeded
    resamples, stratified by class), ``n`` (sequences), ``overlap_with_training`` (``training_overlap``)
    """
    from biodeep_gui.core.common import metrics as M

    if data.task != run.info.task:
        raise ConfigError(f"the data are a {data.task} task but the model was trained for {run.info.task}")
    pred = run.predict(data.codes, device=device)
    metrics = run.objective().metrics(data.labels, pred)
    intervals = M.bootstrap_intervals(data.task, data.labels, pred, seed=seed)
    return {**metrics, "n": len(data), "intervals": {k: list(v) for k, v in intervals.items()},
            "overlap_with_training": training_overlap(run, data.codes)}


# ---- which sequences a run was trained on ---------------------------------------------------------------------

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def sequence_hashes(codes: np.ndarray, chunk: int = 65536, rows: np.ndarray | None = None, *,
                    reverse_complement: bool = False) -> np.ndarray:
    """(N,) uint64 hash of each (L,) row of uint8 codes (FNV-1a over the codes, then the splitmix64 finaliser).

    With ``rows`` (N,) the hashed rows are ``codes[rows]``, gathered a chunk at a time, so that hashing the
    training rows of a memory-mapped cache never holds their codes in memory all at once.
    ``reverse_complement``: hash each row's reverse complement instead (made a chunk at a time too).

    Equal rows give equal hashes; two different rows collide with probability ~2**-64 (a million training
    sequences: ~1e-7 chance of any false match in a query of a million). Vectorised over rows.
    """
    from biodeep_gui.core.sequences.encoding import COMPLEMENT_CODES

    if rows is None:
        codes = np.asarray(codes, np.uint8)
    if len(getattr(codes, "shape", ())) != 2:
        raise ValueError(f"expected (N, L) codes, got shape {getattr(codes, 'shape', None)}")
    n = len(codes) if rows is None else len(rows)
    out = np.empty(n, np.uint64)
    with np.errstate(over="ignore"):
        for s in range(0, n, chunk):
            block = codes[s:s + chunk] if rows is None else np.asarray(codes[rows[s:s + chunk]], np.uint8)
            if reverse_complement:
                block = COMPLEMENT_CODES[block][:, ::-1]
            h = np.full(len(block), _FNV_OFFSET, np.uint64)
            h ^= np.uint64(block.shape[1])
            h *= _FNV_PRIME
            for j in range(block.shape[1]):
                h ^= block[:, j].astype(np.uint64)
                h *= _FNV_PRIME
            h ^= h >> np.uint64(30)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(27)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(31)
            out[s:s + len(block)] = h
    return out


def write_training_digest(run_dir: str | Path, codes: np.ndarray, train: np.ndarray, val: np.ndarray) -> Path:
    """Save the sorted hashes of the training and validation sequences (as the model saw them: encoded and
    fitted to its input length) in the run folder, atomically; no sequence can be read back from them.

    ``codes`` (N, L) uint8 (an array, a memmap or cached ``Rows``); ``train``, ``val`` row indices into it.
    """
    from biodeep_gui.core.training.runs import TRAINING_DIGEST_FILE, write_tensors

    hashes = {}
    for key, rows in (("train", train), ("val", val)):
        hashes[key] = sequence_hashes(codes, rows=np.asarray(rows))
        hashes[key].sort()  # in place: no second copy of a genome-scale digest
    return write_tensors(run_dir, TRAINING_DIGEST_FILE, hashes,
                         metadata={"hash": "fnv1a64+splitmix64 of uint8 codes", "format": "biodeep"})


def _members(sorted_hashes: np.ndarray, h: np.ndarray) -> np.ndarray:
    if not sorted_hashes.size:
        return np.zeros(len(h), bool)
    pos = np.searchsorted(sorted_hashes, h).clip(0, sorted_hashes.size - 1)
    return sorted_hashes[pos] == h


def training_overlap(run, codes: np.ndarray) -> dict:
    """How many of these sequences the run was trained or validated on (exact match of the encoded sequence, on
    either strand).

    Parameters
    ----------
    run : a loaded sequence ``Run``
    codes : (N, L) uint8, fitted to the model's input length

    Returns
    -------
    dict: known (False for runs saved before BioDeep stored digests: count and fraction are then None), n,
    count (in training or validation), fraction, in_training, in_validation, reverse_complement (matched only
    as the reverse complement), matched_on (in words)
    """
    from biodeep_gui.core.common.errors import RunFolderError
    from biodeep_gui.core.training.runs import TRAINING_DIGEST_FILE, read_tensors, run_file

    n = len(codes)
    unknown = {"known": False, "n": n, "count": None, "fraction": None, "in_training": None,
               "in_validation": None, "reverse_complement": None,
               "matched_on": "unknown: the run folder holds no digest of its training sequences (saved by an "
                             "older BioDeep)"}
    try:
        if not run_file(run.path, TRAINING_DIGEST_FILE).exists():
            return unknown
        digest = read_tensors(run.path, TRAINING_DIGEST_FILE, "training digest")
    except RunFolderError as exc:
        return {**unknown, "matched_on": f"unknown: {exc}"}
    train, val = (np.asarray(digest.get(k, np.zeros(0, np.uint64)), np.uint64) for k in ("train", "val"))
    every = np.arange(n)  # by rows: codes memory-mapped from the encoded cache are read a chunk at a time
    fwd = sequence_hashes(codes, rows=every)
    rev = sequence_hashes(codes, rows=every, reverse_complement=True)
    f_tr, r_tr, f_va, r_va = _members(train, fwd), _members(train, rev), _members(val, fwd), _members(val, rev)
    in_tr, in_va = f_tr | r_tr, f_va | r_va
    used = in_tr | in_va
    return {"known": True, "n": n, "count": int(used.sum()), "fraction": float(used.mean()) if n else 0.0,
            "in_training": int(in_tr.sum()), "in_validation": int((in_va & ~in_tr).sum()),
            "reverse_complement": int((used & ~(f_tr | f_va)).sum()),
            "matched_on": "exact sequence after fitting to the model's input length, either strand"}


def overlap_warning(overlap: dict) -> str | None:
    """The line to show the user about ``training_overlap``, beginning 'Warning:'; None when nothing overlaps."""
    if not overlap.get("known"):
        return ("Warning: whether these sequences were used to train this model is unknown (the run was saved "
                "without a digest of its training sequences); metrics on training sequences overstate how well it "
                "generalises.")
    count, n = overlap["count"], overlap["n"]
    if not count:
        return None
    rc = overlap.get("reverse_complement") or 0
    return (f"Warning: {count:,} of {n:,} input sequences ({overlap['fraction']:.1%}) were used to train or "
            f"validate this model ({overlap['in_training']:,} training, {overlap['in_validation']:,} validation"
            f"{f'; {rc:,} as the reverse complement' if rc else ''}); scores and metrics on them overstate how well "
            f"it does on new sequences. Evaluate on held-out sequences.")


def _mark(out_dir: Path, status: str, error: str) -> None:
    from biodeep_gui.core.common.fileio import atomic_write
    from biodeep_gui.core.training.runs import RUN_FILE

    doc = json.loads((out_dir / RUN_FILE).read_text(encoding="utf-8"))
    doc.update(status=status, error=error)
    atomic_write(out_dir / RUN_FILE, json.dumps(doc, indent=2, sort_keys=True))


def _ids_digest(ids: list[str]) -> str:
    import hashlib

    h = hashlib.sha256()  # the digest of "\n".join(ids), without building that string (cached sets are big)
    for k, i in enumerate(ids):
        h.update(("\n" + i if k else i).encode())
    return h.hexdigest()[:16]
