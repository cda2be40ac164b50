"""The training loop: ``fit`` is a generator of plain-data reports that polls ``should_stop`` every batch.

The GUI worker and the CLI only relay what ``fit`` yields: ``BatchReport`` (throttled to one per
``report_interval`` seconds, so the consumer is never flooded), ``EpochReport`` after each validation pass, and
a final ``FitResult``. Device placement, the shuffling sampler (``batch_indices``, used by every batch source) and
the loss all live here, in one place. Data-parallel training (``torchrun``/``srun``) goes through the same ``fit``:
it asks the ``training.distributed.DistContext`` it is given for the DDP wrapper, its shard of each epoch and the
collectives, and is unchanged in a single process.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn

from biodeep_gui.core.common import metrics as M
from biodeep_gui.core.common.errors import BioDeepError
from biodeep_gui.core.training.config import TrainConfig
from biodeep_gui.core.training.distributed import DistContext
from biodeep_gui.core.training.reports import StageReport

#: Chunked shuffling (memory-mapped sources): blocks drawn at random and shuffled together, see ``batch_indices``.
CHUNKS_PER_WINDOW = 16
#: In data-parallel training the ranks agree on cancelling every this many batches (one small all-reduce).
CANCEL_POLL = 16
#: ``predict_outputs`` keeps outputs on the device and copies them to the host once they reach this many values
#: (a copy per batch would wait for the GPU at every batch; this bounds the device memory they take, 256 MiB).
HOST_FLUSH_VALUES = 2**26


class TrainingError(BioDeepError):
    """Training could not go on (NaN loss, out of memory, ...); the message says what to change."""


@dataclass
class BatchReport:
    epoch: int  # 1-based
    batch: int  # 1-based, within the epoch
    n_batches: int
    loss: float  # running mean over the epoch so far
    samples_per_s: float
    elapsed_s: float
    eta_s: float  # whole fit, assuming every epoch runs


@dataclass
class EpochReport:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    val_metrics: dict[str, float]
    monitor: str
    monitor_value: float
    best_epoch: int
    is_best: bool
    samples_per_s: float
    elapsed_s: float
    eta_s: float


@dataclass
class FitResult:
    history: list[EpochReport]
    best_epoch: int
    stopped_early: bool
    cancelled: bool
    elapsed_s: float
    samples_per_s: float
    best_state: dict[str, torch.Tensor] = field(repr=False, default_factory=dict)  # CPU tensors


class Objective:
    """Loss, output transform and validation metrics of one task.

    task : 'binary' (BCE on logits, sigmoid), 'multiclass' (cross-entropy, softmax), 'regression' (MSE on
    standardised targets; outputs mapped back with ``target_mean``/``target_std``).
    """

    def __init__(self, task: str, *, pos_weight: np.ndarray | None = None, class_weight: np.ndarray | None = None,
                 target_mean: np.ndarray | None = None, target_std: np.ndarray | None = None):
        self.task = task
        self.pos_weight = pos_weight
        self.class_weight = class_weight
        self.target_mean = target_mean
        self.target_std = target_std
        self._loss: nn.Module | None = None

    def prepare(self, device: torch.device) -> None:
        w = lambda a: None if a is None else torch.as_tensor(a, dtype=torch.float32, device=device)  # noqa: E731
        if self.task == "binary":
            self._loss = nn.BCEWithLogitsLoss(pos_weight=w(self.pos_weight))
        elif self.task == "multiclass":
            self._loss = nn.CrossEntropyLoss(weight=w(self.class_weight))
        else:
            self._loss = nn.MSELoss()

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self._loss(output.float(), target)

    def transform(self, output: np.ndarray) -> np.ndarray:
        """Raw outputs (N, K) -> probabilities or values in the target's units."""
        if self.task == "binary":
            return 1.0 / (1.0 + np.exp(-output))
        if self.task == "multiclass":
            e = np.exp(output - output.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        if self.target_std is not None:
            return output * self.target_std + self.target_mean
        return output

    def scale_targets(self, y: np.ndarray) -> np.ndarray:
        """Targets as the network sees them (standardised for regression; int64 class index for multiclass)."""
        if self.task == "multiclass":
            return np.asarray(y).reshape(-1).astype(np.int64)
        y = np.asarray(y, dtype=np.float32)
        if self.task == "regression" and self.target_std is not None:
            return ((y - self.target_mean) / self.target_std).astype(np.float32)
        return y

    def metrics(self, y_true: np.ndarray, transformed: np.ndarray) -> dict[str, float]:
        return M.task_metrics(self.task, y_true, transformed)

    @classmethod
    def for_labels(cls, task: str, y_train: np.ndarray, n_outputs: int, class_weighting: bool) -> "Objective":
        """Build the objective with weights / scaling fitted on the training labels only."""
        if task == "binary":
            pos = y_train.mean(axis=0)
            pw = ((1 - pos) / np.clip(pos, 1e-6, None)).astype(np.float32) if class_weighting else None
            return cls(task, pos_weight=pw)
        if task == "multiclass":
            counts = np.bincount(y_train.reshape(-1).astype(int), minlength=n_outputs).astype(np.float32)
            cw = (counts.sum() / (n_outputs * np.clip(counts, 1, None))) if class_weighting else None
            return cls(task, class_weight=cw)
        std = y_train.std(axis=0)
        return cls(task, target_mean=y_train.mean(axis=0).astype(np.float32),
                   target_std=np.where(std > 0, std, 1.0).astype(np.float32))


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' | 'mps' -> a usable torch.device, or a ``TrainingError`` saying why not.

    The check is ``core.common.devices.check_device``, the one the command line runs on ``--device``."""
    from biodeep_gui.core.common.devices import check_device
    from biodeep_gui.core.common.errors import ConfigError

    try:
        return torch.device(check_device(name, setting="device"))
    except ConfigError as exc:
        raise TrainingError(str(exc)) from None


def batch_indices(n: int, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None,
                  device: torch.device | None = None, *, shard: tuple[int, int] | None = None,
                  chunk: int = 0) -> Iterator[torch.Tensor | slice]:
    """The one mini-batch sampler of every batch source: the sample indices of each batch of ``batch_size``.

    shuffle : one permutation per call (``generator`` seeds it; moved to ``device`` when given), yielded as
              (B,) int64 index tensors; in order: ``slice`` objects (a view, no gather)
    shard : (rank, world_size) in data-parallel training. Shuffled: the permutation (the same on every rank, from
            the same seed) is padded by wrapping to a multiple of ``world_size`` and rank r takes every
            world_size-th sample from r, as ``torch.utils.data.DistributedSampler`` does, so every rank runs
            the same number of batches. In order: rank r takes the r-th contiguous block (no padding), so
            concatenating the ranks' outputs in rank order restores the sample order.
    chunk : > 0 with ``shuffle``: cut the samples into blocks of ``chunk`` consecutive ones, draw the blocks in
            random order ``CHUNKS_PER_WINDOW`` at a time and shuffle the samples of each such window together, so a
            memory-mapped source reads a few regions of its file at a time while every batch still mixes samples
            from all over the file (a FASTA pair is stored bound first, then background: one block alone would
            give one-class batches)
    """
    if not shuffle:
        lo, hi = 0, n
        if shard is not None:
            rank, world = shard
            per = -(-n // world)
            lo, hi = min(n, rank * per), min(n, (rank + 1) * per)
        for start in range(lo, hi, batch_size):
            yield slice(start, start + batch_size if shard is None else min(start + batch_size, hi))
        return
    if chunk and chunk * CHUNKS_PER_WINDOW < n:  # int32 when it fits: the one per-sample array of a streamed epoch
        dtype = torch.int32 if n < 2**31 else torch.int64
        blocks = torch.randperm(-(-n // chunk), generator=generator).tolist()
        starts = list(range(0, len(blocks), CHUNKS_PER_WINDOW))[:max(1, len(blocks) // CHUNKS_PER_WINDOW)]
        parts = []
        for k, w in enumerate(starts):  # a short last window joins the one before it
            end = starts[k + 1] if k + 1 < len(starts) else len(blocks)
            rows = torch.cat([torch.arange(b * chunk, min(n, (b + 1) * chunk), dtype=dtype) for b in blocks[w:end]])
            parts.append(rows[torch.randperm(len(rows), generator=generator)])
        order = torch.cat(parts)
    else:
        order = torch.randperm(n, generator=generator)
    if shard is not None:
        rank, world = shard
        pad = (-n) % world
        if pad and n:
            order = torch.cat([order, order[:pad].repeat(-(-pad // n))[:pad]])
        order = order[rank::world]
    if device is not None:
        order = order.to(device)
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def predict_outputs(model: nn.Module, source, batch_size: int, objective: Objective | None = None,
                    dist: "DistContext | None" = None, *, amp: bool = False) -> tuple[np.ndarray, float]:
    """Raw outputs of ``model`` on every sample of ``source`` in order, and the mean loss when ``objective`` is set.

    With a distributed ``dist`` each rank predicts its contiguous block of ``source`` and the blocks are gathered
    in order, so every rank gets all N outputs (exact validation metrics) for 1/world_size of the work.
    ``amp``: run the network under bf16 autocast on the batches' device (outputs cast back to float32 before the
    loss and the metrics). Losses and outputs stay on the device between batches: no host sync per batch.

    Returns
    -------
    outputs : (N, K) float32 numpy
    loss : mean loss over the samples (nan without objective)
    """
    model.eval()
    host, pending, losses, n, held = [], [], [], 0, 0
    batches = (source.batches(batch_size, shard=dist.shard()) if dist is not None and dist.distributed
               else source.batches(batch_size))
    with torch.inference_mode():
        for x, y in batches:
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
                out = model(x)
            out = out.float()
            if objective is not None:
                losses.append(objective.loss(out, y).detach() * len(x))  # summed on the host at the end
            n += len(x)
            pending.append(out)
            held += out.numel()
            if held >= HOST_FLUSH_VALUES:
                host.append(torch.cat(pending).cpu())
                pending, held = [], 0
    if pending:
        host.append(torch.cat(pending).cpu())
    raw = torch.cat(host).numpy() if host else np.zeros((0, 0), np.float32)
    # one copy; float64 on the host (MPS has no float64)
    loss_sum = float(torch.stack(losses).cpu().double().sum()) if losses else 0.0
    if dist is not None and dist.distributed:
        raw = dist.gather_rows(raw)
        loss_sum, n = dist.all_reduce_sum(torch.tensor([loss_sum, float(n)], dtype=torch.float64)).tolist()
    return raw, (loss_sum / n if n and objective else math.nan)


@dataclass
class ResumeState:
    """Where an interrupted fit stands: epochs done, their reports, and the best epoch so far."""

    epochs_done: int
    history: list[EpochReport]
    best_epoch: int
    best_value: float  # monitored metric, signed so that higher is better
    best_state: dict[str, torch.Tensor]  # CPU tensors


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    # kept on the model's device: a copy to the host syncs the GPU at every improving epoch
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _on_cpu(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.cpu() for k, v in state.items()}


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def flatten_rnn_weights(model: nn.Module) -> None:
    """Make the weights of every recurrent layer of ``model`` one contiguous block again.

    cuDNN's LSTM/GRU kernels take the weights as one flat buffer; after a move to another device (or any copy that
    gives the parameters new storage) PyTorch warns and copies them into one at every call. A no-op on CPU.
    """
    for m in model.modules():
        if isinstance(m, nn.RNNBase):
            m.flatten_parameters()


def _compile_note(exc: BaseException) -> str:
    """One line for the progress log: why ``torch.compile`` could not be used."""
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return (f"torch.compile is not available here ({first[:200]}); training without compilation "
            "(same results, eager speed)")


def _try_compile(model: nn.Module) -> tuple[nn.Module | None, str]:
    """``torch.compile(model)`` for training, or (None, why not) where PyTorch refuses to compile at all.

    The compiled module shares ``model``'s parameters, so ``model.state_dict()`` keeps its plain keys (no
    ``_orig_mod.``). Static shapes: a second compilation for a short last batch, specialised kernels otherwise.
    Most failures (no C compiler, an unsupported operation) only show at the first call: ``fit`` catches them.
    """
    try:
        return torch.compile(model, dynamic=False), ""
    except Exception as exc:  # noqa: BLE001 - e.g. a Python version torch.compile does not support yet
        return None, _compile_note(exc)


def _compile_errors() -> tuple[type[BaseException], ...]:
    try:
        from torch._dynamo.exc import TorchDynamoException
    except ImportError:  # a torch build without dynamo: nothing was compiled, nothing to catch
        return ()
    return (TorchDynamoException,)


def fit(model: nn.Module, train, val, objective: Objective, cfg: TrainConfig, *, device: torch.device,
        val_targets: np.ndarray | None, should_stop: Callable[[], bool] = lambda: False,
        report_interval: float = 0.1, metric_fn: Callable[[np.ndarray, np.ndarray], dict[str, float]] | None = None,
        optimizer: torch.optim.Optimizer | None = None, resume: "ResumeState | None" = None,
        dist: DistContext | None = None) -> Iterator[BatchReport | EpochReport | FitResult | StageReport]:
    """Train ``model`` and yield progress; the last item is a ``FitResult`` with the best weights.

    With ``cfg.compile`` the network is trained through ``torch.compile`` (in data-parallel training DDP wraps the
    compiled module: PyTorch advises compiling the inner module, not the DDP wrapper); where compilation fails, one
    ``StageReport('compile', why)`` is yielded and training goes on in eager mode. Validation runs the plain
    (eager) model. ``cfg.amp`` (bf16 autocast) applies on CUDA only, to training and validation.

    Parameters
    ----------
    model : nn.Module mapping a batch x to raw outputs
    train, val : batch sources (see ``biodeep_gui.core.batches``); moved to ``device`` here
    objective : the task's loss, output transform and metrics
    cfg : epochs, batch size, optimiser, early stopping (``patience`` on ``monitor``), clipping, seed, amp
    val_targets : (N_val, ...) targets in their original units, for the validation metrics (unused, may be None,
        when the objective has ``evaluate(model, source, batch_size) -> metrics with 'loss'`` and no ``metric_fn``
        is given: it scores the validation source itself)
    should_stop : polled before every batch; when it returns True, training ends within one batch (data-parallel:
        the ranks agree every ``CANCEL_POLL`` batches, so all stop at the same batch)
    report_interval : seconds between two ``BatchReport``s
    metric_fn : overrides ``objective.metrics`` (e.g. for reconstruction)
    optimizer : built by the caller (``make_optimizer``) when it checkpoints the optimizer state; else made here
    resume : continue an interrupted fit after ``resume.epochs_done`` epochs (model and optimizer already hold
        the checkpointed state). Shuffling and dropout are seeded per epoch, so a resumed fit sees the same
        batches as an uninterrupted one.

    Raises
    ------
    TrainingError : the loss became NaN/inf, or the device ran out of memory (with a suggestion)
    """
    model.to(device)
    train, val = train.to(device), val.to(device)
    objective.prepare(device)
    opt = optimizer or make_optimizer(model, cfg)
    dist = dist or DistContext(device=device)
    compiled = None
    if cfg.compile:
        compiled, note = _try_compile(model)
        if note:
            yield StageReport("compile", note)
    # DDP in data-parallel training (gradients all-reduced in backward), around the compiled module
    net = dist.wrap(model if compiled is None else compiled)
    flatten_rnn_weights(model)  # after the move and DDP's broadcast of rank 0's weights
    compile_errors = _compile_errors() if compiled is not None else ()
    shard = {"shard": dist.shard()} if dist.distributed else {}
    amp = cfg.amp and device.type == "cuda"
    monitor = M.default_monitor(objective.task) if cfg.monitor == "auto" else cfg.monitor
    higher = M.HIGHER_IS_BETTER.get(monitor, True)
    # an objective that can score a whole source on the device (reconstruction: no volume copied to the host)
    evaluate = getattr(objective, "evaluate", None) if metric_fn is None else None
    metric_fn = metric_fn or objective.metrics
    n_batches = max(1, math.ceil(math.ceil(len(train) / dist.world_size) / cfg.batch_size))

    history: list[EpochReport] = list(resume.history) if resume else []
    if resume:
        best_value, best_epoch, best_state = resume.best_value, resume.best_epoch, resume.best_state
    else:
        best_value, best_epoch, best_state = -math.inf, 0, _snapshot(model)
    t0 = time.perf_counter()
    seen_total, cancelled, stopped_early = 0, False, False
    last_report = t0
    first = resume.epochs_done + 1 if resume else 1
    for epoch in range(first, cfg.epochs + 1):
        # dropout: same per epoch on resume, different per rank
        torch.manual_seed(cfg.seed * 1_000_003 + epoch + 7919 * dist.rank)
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)  # the same permutation on every rank
        model.train()
        loss_sum = torch.zeros((), device=device)
        seen = 0
        for b, (x, y) in enumerate(train.batches(cfg.batch_size, shuffle=True, generator=gen,
                                                 augment=cfg.rc_augment, **shard), 1):
            # data-parallel: every rank asks together each CANCEL_POLL batches (a collective; no host sync per batch)
            if (dist.any(should_stop()) if (b - 1) % CANCEL_POLL == 0 else False) if dist.distributed else should_stop():
                cancelled = True
                break
            try:
                try:
                    loss = _step(net, model, x, y, objective, opt, cfg, amp)
                except compile_errors as exc:  # compiling happens at the first call (and backward): fall back
                    compile_errors = ()
                    net = _eager(net, model)
                    yield StageReport("compile", _compile_note(exc))
                    loss = _step(net, model, x, y, objective, opt, cfg, amp)
            except torch.cuda.OutOfMemoryError:
                raise TrainingError(f"the GPU ran out of memory at batch size {cfg.batch_size}; try a smaller batch "
                                    f"size (e.g. {max(1, cfg.batch_size // 2)}) or a smaller model") from None
            loss_sum += loss.detach() * len(x)  # stays on the device: no sync per batch
            seen += len(x)
            now = time.perf_counter()
            if now - last_report >= report_interval:
                last_report = now
                running = float(loss_sum) / seen
                _check_finite(running, epoch, b)
                elapsed = now - t0
                done = (epoch - first) * n_batches + b
                rate = (seen_total + seen) / elapsed
                yield BatchReport(epoch, b, n_batches, running, rate, elapsed,
                                  elapsed / done * ((cfg.epochs - first + 1) * n_batches - done))
        if dist.distributed:
            loss_sum, seen = dist.all_reduce_sum(torch.stack([loss_sum.double(), torch.tensor(
                float(seen), dtype=torch.float64, device=loss_sum.device)])).tolist()
            seen = int(seen)
        seen_total += seen
        if cancelled:
            break
        train_loss = float(loss_sum) / max(seen, 1)
        _check_finite(train_loss, epoch, None)
        if evaluate is not None:
            vm = evaluate(model, val, max(cfg.batch_size, 256))
            val_loss = vm["loss"]
            if len(val) and not math.isfinite(val_loss):
                _check_finite(math.nan, epoch, None)
        else:
            raw, val_loss = predict_outputs(model, val, max(cfg.batch_size, 256), objective, dist, amp=amp)
            if not np.isfinite(raw).all():
                _check_finite(math.nan, epoch, None)
            vm = metric_fn(val_targets, objective.transform(raw)) if len(raw) else {}
            vm["loss"] = val_loss
        value = vm.get(monitor, math.nan)
        score = value if higher else -value
        is_best = not math.isnan(score) and score > best_value
        if is_best or best_epoch == 0:
            best_value = score if not math.isnan(score) else best_value
            best_epoch = epoch
            best_state = _snapshot(model)
        elapsed = time.perf_counter() - t0
        report = EpochReport(epoch, cfg.epochs, train_loss, val_loss, vm, monitor, value, best_epoch, is_best,
                             seen_total / elapsed, elapsed, elapsed / (epoch - first + 1) * (cfg.epochs - epoch))
        history.append(report)
        yield report
        # rank 0 decides; every rank stops at the same epoch
        if dist.broadcast(bool(cfg.patience and epoch - best_epoch >= cfg.patience)):
            stopped_early = True
            break
    model.load_state_dict(best_state)
    elapsed = time.perf_counter() - t0
    yield FitResult(history, best_epoch, stopped_early, cancelled, elapsed, seen_total / max(elapsed, 1e-9),
                    _on_cpu(best_state))


def _step(net: nn.Module, model: nn.Module, x: torch.Tensor, y: torch.Tensor, objective: Objective,
          opt: torch.optim.Optimizer, cfg: TrainConfig, amp: bool) -> torch.Tensor:
    """One optimisation step on batch (x, y); returns the loss (0-d, on the device, not synced)."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        out = net(x)
    loss = objective.loss(out, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    return loss


def _eager(net: nn.Module, model: nn.Module) -> nn.Module:
    """``net`` with its compiled module replaced by the plain ``model`` (the parameters are the same tensors)."""
    if isinstance(net, nn.parallel.DistributedDataParallel):
        # DDP's gradient hooks sit on the shared parameters: swapping the inner module keeps them, where a
        # second wrap would all-reduce every gradient twice
        net.module = model
        return net
    return model


def _check_finite(loss: float, epoch: int, batch: int | None) -> None:
    if not math.isfinite(loss):
        where = f"epoch {epoch}" + (f", batch {batch}" if batch else "")
        raise TrainingError(f"the training loss became {loss} at {where}; lower the learning rate, turn on "
                            "gradient clipping, or check the labels for extreme values")
