"""Filter influence: how much the network's predictions rely on each first-layer filter.

A filter is *zeroed* by setting its convolution output to 0 everywhere (after the ReLU that follows, exactly as if
the filter never fired). Its influence is the drop of the validation metric (AUROC, accuracy or Pearson, the run's
monitored metric) from the intact model to the model without it: positive when the filter helps. Because a
metric drop can be 0 for redundant filters, the mean absolute change of the network's raw outputs is reported as
well and breaks ties when ordering (it needs no labels).

Batched: the convolution runs once per batch of sequences; its output is then copied once per filter with that
filter's channel zeroed, and the copies go through the rest of the network together. Filters are grouped so that
one pass holds at most ``memory_mb`` of first-layer activations.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from biodeep_gui.core.sequences.interpret.progress import InterpretError, Progress, check_stop


@dataclass
class FilterInfluence:
    """Influence of every filter.

    Attributes
    ----------
    metric : name of the metric (e.g. 'auroc'); '' when no metric could be computed
    baseline : the intact model's metric value
    zeroed : (F,) the metric with each filter zeroed
    drop : (F,) ``baseline - zeroed`` for higher-is-better metrics (``zeroed - baseline`` otherwise)
    output_change : (F,) mean absolute change of the raw outputs (logits / standardised values)
    n_sequences : sequences evaluated
    """

    metric: str
    baseline: float
    zeroed: np.ndarray
    drop: np.ndarray
    output_change: np.ndarray
    n_sequences: int

    def order(self) -> np.ndarray:
        """(F,) filter indices from the most to the least influential (metric drop, then output change)."""
        drop = np.nan_to_num(self.drop, nan=-np.inf)
        return np.lexsort((np.arange(len(drop)), -self.output_change, -drop))

    def rank(self) -> np.ndarray:
        """(F,) 1-based importance rank of each filter."""
        r = np.empty(len(self.drop), dtype=np.int64)
        r[self.order()] = np.arange(1, len(self.drop) + 1)
        return r


def iter_filter_influence(model, codes: np.ndarray, labels: np.ndarray | None, objective=None, *,
                          monitor: str = "auto", batch_size: int = 128, memory_mb: float = 256.0,
                          device: str = "cpu", should_stop: Callable[[], bool] | None = None
                          ) -> Iterator[Progress]:
    """Influence of every first-layer filter (generator; returns ``FilterInfluence``).

    Parameters
    ----------
    model : deep model with ``first_conv``; its downstream layers must treat samples independently (eval mode)
    codes : (N, L) uint8 validation sequences
    labels : (N, T) targets in their original units, or None (then only ``output_change`` is computed)
    objective : ``training.Objective`` of the run (output transform and metrics); needed with ``labels``
    monitor : metric name, or 'auto' for the task's default (auroc / accuracy / pearson)
    batch_size : sequences per batch (lowered when a batch would not fit ``memory_mb``)
    memory_mb : budget for the copied first-layer activations of one pass
    """
    import torch

    from biodeep_gui.core.common import metrics as M
    from biodeep_gui.core.sequences.encoding import ONE_HOT_TABLE
    from biodeep_gui.core.sequences.interpret.filters import first_conv

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

    state: dict = {}

    def hook(_module, _inp, out):
        # out (B, F, L') -> (G * B, F, L'): one copy per filter of the group, that filter's channel set to 0
        if "group" not in state:
            return out
        g = state["group"]
        rep = out.unsqueeze(0).repeat(len(g), 1, 1, 1)
        rep[torch.arange(len(g), device=out.device), :, torch.as_tensor(g, device=out.device)] = 0.0
        return rep.reshape(len(g) * out.shape[0], *out.shape[1:])

    groups = [list(range(s, min(n_f, s + group))) for s in range(0, n_f, group)]
    n_b = -(-len(codes) // batch)
    base_out, zeroed_out = [], [[] for _ in range(n_f)]
    change = np.zeros(n_f)
    handle = conv.register_forward_hook(hook)
    try:
        with torch.inference_mode():
            for b, s in enumerate(range(0, len(codes), batch)):
                check_stop(should_stop, "filter influence")
                c = torch.from_numpy(np.ascontiguousarray(codes[s:s + batch])).to(dev)
                x = table[c.long()].transpose(1, 2)
                state.pop("group", None)
                ref = model(x).float()  # (B, K)
                base_out.append(ref.cpu().numpy())
                for g in groups:
                    check_stop(should_stop, "filter influence")
                    state["group"] = g
                    out = model(x).float().reshape(len(g), len(x), -1)  # (G, B, K)
                    change[g] += (out - ref[None]).abs().mean(dim=2).sum(dim=1).cpu().numpy()
                    for k, f in enumerate(g):
                        zeroed_out[f].append(out[k].cpu().numpy())
                yield Progress("influence", b + 1, n_b, "Zeroing each filter in turn")
    finally:
        handle.remove()
    change /= len(codes)
    base = np.concatenate(base_out)
    metric, baseline = "", math.nan
    zeroed = np.full(n_f, math.nan)
    drop = np.full(n_f, math.nan)
    if labels is not None and len(labels):
        metric = M.default_monitor(objective.task) if monitor in ("auto", "", None) else monitor
        higher = M.HIGHER_IS_BETTER.get(metric, True)
        baseline = objective.metrics(labels, objective.transform(base)).get(metric, math.nan)
        if math.isnan(baseline):
            metric = ""
        else:
            for f in range(n_f):
                zeroed[f] = objective.metrics(labels, objective.transform(np.concatenate(zeroed_out[f]))).get(metric)
            drop = baseline - zeroed if higher else zeroed - baseline
    return FilterInfluence(metric, float(baseline), zeroed, drop, change, int(len(codes)))


def filter_influence(model, codes: np.ndarray, labels: np.ndarray | None, objective=None, **kwargs) -> FilterInfluence:
    """``iter_filter_influence`` run to the end (same parameters)."""
    from biodeep_gui.core.sequences.interpret.progress import drain

    return drain(iter_filter_influence(model, codes, labels, objective, **kwargs))
