"""Filter influence: how much the network's predictions rely on each first-layer filter.

Method (Basset, Kelley et al. 2016)
-----------------------------------
A filter is *removed* by replacing its output with its mean activation: the filter's rectified output (after the
ReLU that both BioDeep architectures apply directly to ``first_conv``) is set, at every position of every
sequence, to its mean over all positions of all validation sequences. The network then still receives the
filter's average contribution, but no information about where or whether the filter fired. (Zeroing instead
would also shift every downstream unit by the filter's mean, which measures something else.)

What is reported, with one sign convention everywhere
-----------------------------------------------------
Every change is *value without the filter - value with it*:

loss_change    change of the validation loss: positive = the network is worse without the filter. This is
               the influence used for ordering (it does not saturate the way a ranking metric does: when AUROC
               is near 1, removing one filter of several redundant ones barely moves it, but the loss still
               rises). The loss is the task's own, unweighted: binary cross-entropy on the logits,
               cross-entropy (multiclass), or mean squared error on the standardised targets (regression).
metric_change  change of the run's monitored metric (AUROC, accuracy, Pearson ...): negative = worse for
               metrics where higher is better.
output_change  mean absolute change of the raw outputs; needs no labels, and orders filters when there are none.

The GUI, matches.tsv and the command line all print these same signed numbers (``format_change``).

Batched: the convolution runs once per batch of sequences; its output is then copied once per filter with that
filter's channel replaced, and the copies go through the rest of the network together. Filters are grouped so
that one pass holds at most ``memory_mb`` of first-layer activations.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from biodeep_gui.core.sequences.interpret.progress import InterpretError, Progress, check_stop


@dataclass
class FilterInfluence:
    """Influence of every filter (see the module notes for the method and the sign convention).

    Attributes
    ----------
    metric : name of the monitored metric (e.g. 'auroc'); '' when no metric could be computed
    baseline : the intact model's metric value
    without : (F,) the metric with each filter replaced by its mean activation
    metric_change : (F,) ``without - baseline``
    loss : the intact model's validation loss (NaN without labels)
    loss_change : (F,) validation loss without the filter - with it (positive = worse without it)
    output_change : (F,) mean absolute change of the raw outputs (logits / standardised values)
    mean_activation : (F,) each filter's mean rectified activation over the validation sequences and positions
    n_sequences : sequences evaluated
    method : the removal method, in words
    """

    metric: str
    baseline: float
    without: np.ndarray
    metric_change: np.ndarray
    loss: float
    loss_change: np.ndarray
    output_change: np.ndarray
    mean_activation: np.ndarray
    n_sequences: int
    method: str = "output replaced by its mean activation over the validation set (Basset)"

    def order(self) -> np.ndarray:
        """(F,) filter indices from the most to the least influential (loss change, then output change)."""
        lc = np.nan_to_num(self.loss_change, nan=-np.inf)
        return np.lexsort((np.arange(len(lc)), -self.output_change, -lc))

    def rank(self) -> np.ndarray:
        """(F,) 1-based importance rank of each filter."""
        r = np.empty(len(self.loss_change), dtype=np.int64)
        r[self.order()] = np.arange(1, len(self.loss_change) + 1)
        return r

    def describe(self, f: int) -> str:
        """Filter ``f``'s influence in words, e.g. 'validation loss +0.0523, AUROC -0.0349 without it'."""
        parts = []
        if math.isfinite(self.loss_change[f]):
            parts.append(f"validation loss {format_change(self.loss_change[f])}")
        if self.metric and math.isfinite(self.metric_change[f]):
            parts.append(f"{self.metric.upper()} {format_change(self.metric_change[f])}")
        if not parts:
            return f"mean |output change| {self.output_change[f]:.3g} without it"
        return ", ".join(parts) + " without it"


def format_change(x: float) -> str:
    """A signed change as shown everywhere (GUI, command line): '+0.0523', '-0.0349', '+0' (3 significant)."""
    if not math.isfinite(x):
        return "n/a"
    return f"{x:+.3g}"


def task_loss(task: str, raw: np.ndarray, labels: np.ndarray, objective=None) -> float:
    """Mean validation loss of raw outputs (N, K) against labels (N, T), unweighted (see the module notes)."""
    raw = np.asarray(raw, dtype=np.float64)
    if task == "binary":
        y = np.asarray(labels, dtype=np.float64).reshape(raw.shape)
        ok = np.isfinite(y)
        x, y = raw[ok], y[ok]
        return float(np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x))))) if x.size else math.nan
    if task == "multiclass":
        y = np.asarray(labels).reshape(-1).astype(np.int64)
        z = raw - raw.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean()) if len(y) else math.nan
    y = np.asarray(labels, dtype=np.float64)
    if objective is not None:
        y = objective.scale_targets(y).astype(np.float64)
    y = y.reshape(raw.shape)
    ok = np.isfinite(y)
    return float(np.mean((raw[ok] - y[ok]) ** 2)) if ok.any() else math.nan


def iter_filter_influence(model, codes: np.ndarray, labels: np.ndarray | None, objective=None, *,
                          monitor: str = "auto", batch_size: int = 128, memory_mb: float = 256.0,
                          device: str = "cpu", should_stop: Callable[[], bool] | None = None
                          ) -> Iterator[Progress]:
    """Influence of every first-layer filter (generator; returns ``FilterInfluence``).

    Parameters
    ----------
    model : deep model with ``first_conv`` followed directly by a ReLU; its downstream layers must treat samples
            independently (eval mode)
    codes : (N, L) uint8 validation sequences; a memmap or ``cache.Rows`` view is read a batch at a time
    labels : (N, T) targets in their original units, or None (then only ``output_change`` is computed)
    objective : ``training.Objective`` of the run (output transform and metrics); needed with ``labels``
    monitor : metric name, or 'auto' for the task's default (auroc / accuracy / pearson)
    batch_size : sequences per batch (lowered when a batch would not fit ``memory_mb``)
    memory_mb : budget for the copied first-layer activations of one pass
    """
    import torch

    from biodeep_gui.core.common import metrics as M
    from biodeep_gui.core.sequences.cache import Rows
    from biodeep_gui.core.sequences.encoding import ONE_HOT_TABLE
    from biodeep_gui.core.sequences.interpret.filters import first_conv

    if not isinstance(codes, (Rows, np.memmap)):  # codes memory-mapped from the encoded cache stay on disk
        codes = np.asarray(codes)
    if codes.ndim != 2 or codes.dtype != np.uint8 or len(codes) == 0:
        raise InterpretError("filter influence needs at least one sequence as an (N, L) uint8 code array")
    if labels is not None and objective is None:
        raise InterpretError("filter influence on labelled data needs the run's objective (task and metrics)")
    conv = first_conv(model)
    dev = torch.device(device)
    model = model.to(dev).eval()
    n_f = conv.out_channels
    table = torch.from_numpy(ONE_HOT_TABLE).to(dev)
    with torch.inference_mode():
        l_out = conv(torch.zeros(1, 4, codes.shape[1], device=dev)).shape[2]
    per_copy = l_out * n_f * 4  # bytes of one sequence's activations
    batch = max(1, min(batch_size, int(memory_mb * 2**20 // per_copy)))
    group = max(1, min(n_f, int(memory_mb * 2**20 // (per_copy * batch))))
    n_b = -(-len(codes) // batch)

    def batches():
        for s in range(0, len(codes), batch):
            c = torch.from_numpy(np.ascontiguousarray(codes[s:s + batch])).to(dev)
            yield table[c.long()].transpose(1, 2)

    state: dict = {}

    def hook(_module, _inp, out):
        if "sum" in state:  # first pass: accumulate the rectified output per filter
            state["sum"] += out.clamp_min(0).double().sum(dim=(0, 2))
            return out
        if "group" not in state:
            return out
        # out (B, F, L') -> (G * B, F, L'): one copy per filter of the group, that filter's channel set to its mean
        # (a value >= 0, which the ReLU after the layer passes unchanged)
        g = torch.as_tensor(state["group"], device=out.device)
        rep = out.unsqueeze(0).repeat(len(g), 1, 1, 1)
        rep[torch.arange(len(g), device=out.device), :, g] = state["mean"][g][:, None, None].to(out.dtype)
        return rep.reshape(len(g) * out.shape[0], *out.shape[1:])

    groups = [list(range(s, min(n_f, s + group))) for s in range(0, n_f, group)]
    base_out, without_out = [], [[] for _ in range(n_f)]
    change = np.zeros(n_f)
    handle = conv.register_forward_hook(hook)
    try:
        with torch.inference_mode():
            state["sum"] = torch.zeros(n_f, dtype=torch.float64, device=dev)
            for b, x in enumerate(batches()):
                check_stop(should_stop, "filter influence")
                base_out.append(model(x).float().cpu().numpy())  # (B, K)
                yield Progress("influence", b + 1, 2 * n_b, "Measuring each filter's mean activation")
            mean = (state.pop("sum") / (len(codes) * l_out)).float()
            state["mean"] = mean
            for b, (s, x) in enumerate(zip(range(0, len(codes), batch), batches())):
                ref = torch.from_numpy(base_out[b]).to(dev)
                for g in groups:
                    check_stop(should_stop, "filter influence")
                    state["group"] = g
                    out = model(x).float().reshape(len(g), len(x), -1)  # (G, B, K)
                    change[g] += (out - ref[None]).abs().mean(dim=2).sum(dim=1).cpu().numpy()
                    for k, f in enumerate(g):
                        without_out[f].append(out[k].cpu().numpy())
                state.pop("group", None)
                yield Progress("influence", n_b + b + 1, 2 * n_b, "Replacing each filter by its mean activation")
    finally:
        handle.remove()
    change /= len(codes)
    base = np.concatenate(base_out)
    metric, baseline, loss = "", math.nan, math.nan
    without = np.full(n_f, math.nan)
    metric_change = np.full(n_f, math.nan)
    loss_change = np.full(n_f, math.nan)
    if labels is not None and len(labels):
        outs = [np.concatenate(o) for o in without_out]
        loss = task_loss(objective.task, base, labels, objective)
        loss_change = np.array([task_loss(objective.task, o, labels, objective) - loss for o in outs])
        metric = M.default_monitor(objective.task) if monitor in ("auto", "", None) else monitor
        baseline = objective.metrics(labels, objective.transform(base)).get(metric, math.nan)
        if math.isnan(baseline):
            metric = ""
        else:
            for f in range(n_f):
                without[f] = objective.metrics(labels, objective.transform(outs[f])).get(metric, math.nan)
            metric_change = without - baseline
    return FilterInfluence(metric, float(baseline), without, metric_change, float(loss), loss_change, change,
                           mean.cpu().numpy().astype(np.float64), int(len(codes)))


def filter_influence(model, codes: np.ndarray, labels: np.ndarray | None, objective=None, **kwargs) -> FilterInfluence:
    """``iter_filter_influence`` run to the end (same parameters)."""
    from biodeep_gui.core.sequences.interpret.progress import drain

    return drain(iter_filter_influence(model, codes, labels, objective, **kwargs))
