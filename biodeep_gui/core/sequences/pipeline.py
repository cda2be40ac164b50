"""A whole training run as one generator: load -> split -> train (deep or baseline) -> test -> save.

The CLI and the GUI worker both just iterate ``train_run`` and show what it yields; neither repeats any step.
"""
from __future__ import annotations

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


@dataclass
class PreparedData:
    data: SequenceSet
    train: np.ndarray  # indices into data
    val: np.ndarray
    test_set: SequenceSet  # the test sequences (a subset of data, or the explicit test file)
    notes: list[str] = field(default_factory=list)  # how the split was made (e.g. why not stratified)


def prepare_data(cfg: RunConfig, data: SequenceSet | None = None) -> PreparedData:
    """Load the sequences (unless given) and split them train / validation / test as the config says."""
    from biodeep_gui.core.sequences import splits
    from biodeep_gui.core.sequences.io import load_sequences, load_test_set

    d = cfg.data
    ss = data if data is not None else load_sequences(d, seed=cfg.train.seed)
    if d.test_file:
        test = load_test_set(d, ss, seed=cfg.train.seed)
        idx = splits.split_with_test_set(ss, test, val_fraction=d.val_fraction, seed=cfg.train.seed)
        return PreparedData(ss, idx["train"], idx["val"], test, idx.notes)
    idx = splits.split_indices(ss, val_fraction=d.val_fraction, test_fraction=d.test_fraction, seed=cfg.train.seed,
                               holdout_groups=tuple(d.holdout_chromosomes))
    return PreparedData(ss, idx["train"], idx["val"], ss.subset(idx["test"]), idx.notes)


def resumable(run_dir: str | Path) -> bool:
    """Whether a run folder holds an interrupted training (crash, kill, cancel or failure) that can go on."""
    from biodeep_gui.core.training.runs import CHECKPOINT_FILE, RUN_FILE

    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINT_FILE).exists() or not (run_dir / RUN_FILE).exists():
        return False
    import json

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

    from biodeep_gui.core.sequences.batches import source_for
    from biodeep_gui.core.sequences.models import build_model, get_architecture
    from biodeep_gui.core.sequences.run import ModelInfo, load_run, write_run
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
    prep = prepare_data(cfg, data)
    if dist.is_main:
        dist.barrier()
    ss = prep.data
    yield DataReport(len(prep.train), len(prep.val), len(prep.test_set), ss.length, ss.task, ss.n_outputs,
                     ss.label_names, ss.class_names)
    for note in prep.notes:
        yield StageReport("split", note)
    device = dist.device
    torch.manual_seed(cfg.train.seed)
    y_train = ss.labels[prep.train]
    objective = Objective.for_labels(ss.task, y_train, ss.n_outputs, cfg.train.class_weighting)
    info = ModelInfo(cfg.model.arch, params, ss.length, ss.n_outputs, ss.task, ss.label_names, ss.class_names,
                          None if objective.target_mean is None else objective.target_mean.tolist(),
                          None if objective.target_std is None else objective.target_std.tolist())
    prov = {**provenance(cfg, str(device)), **dist.provenance()}
    test = prep.test_set

    def finish(tensors, raw_val, raw_test, history, best_epoch, status, fit_res=None) -> RunSummary:
        val_m = objective.metrics(ss.labels[prep.val], objective.transform(raw_val)) if len(prep.val) else {}
        test_pred = objective.transform(raw_test)
        test_m = objective.metrics(test.labels, test_pred) if len(test) else {}
        metrics = {**{f"test_{k}": v for k, v in test_m.items()}, **{f"val_{k}": v for k, v in val_m.items()}}
        if len(test) and ss.task == "binary" and test.labels.shape[1] > 1:  # multi-task: per task + summaries
            from biodeep_gui.core.common.metrics import per_task_metrics

            metrics.update(per_task_metrics(test.labels, test_pred, ss.label_names, prefix="test_"))
        if not dist.is_main:
            return RunSummary("", cfg.model.arch, metrics, best_epoch, len(history), status == "cancelled",
                              bool(fit_res and fit_res.stopped_early), time.perf_counter() - t0, math.nan,
                              info.n_parameters, str(device))
        write_run(out_dir, cfg, info, tensors, history=history, metrics=metrics, status=status,
                       provenance_info=prov, predictions={"y_true": test.labels, "y_pred": test_pred},
                       extra={"best_epoch": best_epoch, "test_ids_sha": _ids_digest(test.ids)})
        return RunSummary(str(out_dir), cfg.model.arch, metrics, best_epoch, len(history), status == "cancelled",
                          bool(fit_res and fit_res.stopped_early), time.perf_counter() - t0,
                          fit_res.samples_per_s if fit_res else math.nan, info.n_parameters, str(device), history)

    if spec.kind == "sklearn":
        from biodeep_gui.core.sequences.baselines import fit_baseline

        yield StageReport("train", f"Fitting the {spec.label} on {len(prep.train)} sequences")
        model = fit_baseline(cfg.model.arch, ss.codes[prep.train], objective.scale_targets(y_train), ss.task,
                             k=int(params.get("k", 5)), C=float(params["C"]), seed=cfg.train.seed)
        info.n_parameters = int(model.coef.size + model.intercept.size)
        yield StageReport("test", "Evaluating on the validation and test sets")
        yield finish(model.to_tensors(), model.raw_output(ss.codes[prep.val]), model.raw_output(test.codes),
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
                               provenance_info=prov, extra={"best_epoch": item.best_epoch})
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


def _mark(out_dir: Path, status: str, error: str) -> None:
    import json

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
