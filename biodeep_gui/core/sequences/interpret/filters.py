"""First-layer convolution filters as motifs: activation-based PFMs, PWMs, information content, raw weights.

How a filter becomes a position frequency matrix (Basset, Kelley et al. 2016; DanQ, Quang & Xie 2016)
------------------------------------------------------------------------------------------------------------
1. Scan the data with the first convolution layer and take each filter's maximum activation over all windows
   of all sequences (the convolution output, bias included, before the non-linearity).
2. Every window whose activation exceeds ``threshold`` x that maximum (default 0.5, as in Basset and DanQ) is a
   *site* of the filter. With a ReLU after the layer, this is the same as thresholding the rectified output.
3. The sites (the W bases under the filter, W = filter width) are aligned as they lie under the filter and
   counted base by base: ``counts`` (W, 4). Positions falling on the zero padding at a sequence end count
   nothing, and an ambiguous base spreads its count (N: 0.25 to each base).
4. ``pfm`` = counts normalised per position; a position no site covers, or a filter that never fires
   (maximum <= 0), gets the uniform 0.25.

A threshold of 0.5 keeps the strong, specific matches; lower values admit weaker sites and give flatter,
lower-information logos, higher values fewer sites and noisier counts.

The raw weight view is the filter's (4, W) weight matrix itself, centred per position (the mean of the four
weights subtracted), which is what the filter adds to its score for each base; it needs no data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from biodeep_gui.core.sequences.interpret.progress import ACTIVATION_THRESHOLD, InterpretError, Progress, check_stop

BASES = "ACGT"


def first_conv(model):
    """The model's first (motif-scanning) ``nn.Conv1d(4, F, W)`` layer.

    Raises
    ------
    InterpretError : the model has no such layer (fully connected networks, baselines)
    """
    from torch import nn

    conv = getattr(model, "first_conv", None)
    if not isinstance(conv, nn.Conv1d) or conv.in_channels != 4:
        raise InterpretError(f"a {type(model).__name__} has no first convolution layer scanning the DNA; "
                             "filter logos need a convolutional model (CNN or CNN-LSTM)")
    if conv.stride[0] != 1 or conv.dilation[0] != 1 or conv.groups != 1:
        raise InterpretError("the first convolution layer must have stride 1, dilation 1 and no groups")
    return conv


@dataclass
class FilterMotifs:
    """What each first-layer filter responds to.

    Attributes
    ----------
    counts : (F, W, 4) float64, sites counted per position and base (A, C, G, T)
    n_sites : (F,) int64, number of windows above the threshold
    max_activation : (F,) float32, each filter's maximum activation over the scanned data
    threshold : fraction of ``max_activation`` a window had to exceed
    weights : (F, 4, W) float32, the raw convolution weights
    bias : (F,) float32
    n_sequences : number of sequences scanned
    padding : the layer's padding (output position ``l`` reads input bases ``l - padding .. l - padding + W - 1``)
    """

    counts: np.ndarray
    n_sites: np.ndarray
    max_activation: np.ndarray
    threshold: float
    weights: np.ndarray
    bias: np.ndarray
    n_sequences: int
    padding: int

    @property
    def n_filters(self) -> int:
        return int(self.counts.shape[0])

    @property
    def width(self) -> int:
        return int(self.counts.shape[1])

    @property
    def pfms(self) -> np.ndarray:
        """(F, W, 4) probabilities; uniform (0.25) where no site covers a position."""
        return counts_to_pfm(self.counts)

    def information_content(self) -> np.ndarray:
        """(F, W) bits per position (0 to 2) against a uniform background."""
        return information_content(self.pfms)

    def pwms(self, background: Sequence[float] = (0.25, 0.25, 0.25, 0.25), pseudocount: float = 1.0) -> np.ndarray:
        """(F, W, 4) log2-odds position weight matrices, see ``pwm``."""
        return np.stack([pwm(c, background, pseudocount) for c in self.counts])

    def weight_logos(self) -> np.ndarray:
        """(F, W, 4) raw weights centred per position: the signed letter heights of the weight view."""
        return centred_weights(self.weights)

    def to_motifs(self, prefix: str = "filter") -> list:
        """One ``motif_db.Motif`` per filter (id ``filter_1`` ..., 1-based), ``nsites`` = its site count."""
        from biodeep_gui.core.sequences.motif_db import Motif

        pfms = self.pfms
        return [Motif(f"{prefix}_{i + 1}", f"{prefix}_{i + 1}", pfms[i], max(1, int(self.n_sites[i])),
                      source=f"BioDeep filter {i + 1}") for i in range(self.n_filters)]


def counts_to_pfm(counts: np.ndarray) -> np.ndarray:
    """(..., W, 4) site counts -> probabilities; positions without counts become uniform."""
    counts = np.asarray(counts, dtype=np.float64)
    tot = counts.sum(axis=-1, keepdims=True)
    return np.where(tot > 0, counts / np.where(tot > 0, tot, 1.0), 0.25)


def information_content(pfm: np.ndarray) -> np.ndarray:
    """(..., W, 4) probabilities -> (..., W) bits: 2 - entropy (uniform background, no small-sample correction)."""
    p = np.asarray(pfm, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=-1)
    return 2.0 - h


def pwm(counts: np.ndarray, background: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
        pseudocount: float = 1.0) -> np.ndarray:
    """Log2-odds position weight matrix from site counts.

    Parameters
    ----------
    counts : (W, 4) site counts (or probabilities with ``pseudocount`` scaled to match)
    background : (4,) base composition
    pseudocount : total pseudo-sites added per position, spread as the background (keeps log(0) away)

    Returns
    -------
    (W, 4) float64 log2(p / background)
    """
    bg = np.asarray(background, dtype=np.float64)
    bg = bg / bg.sum()
    c = np.asarray(counts, dtype=np.float64) + pseudocount * bg
    p = c / c.sum(axis=-1, keepdims=True)
    return np.log2(p / bg)


def centred_weights(weights: np.ndarray) -> np.ndarray:
    """(F, 4, W) convolution weights -> (F, W, 4) with each position's mean weight subtracted."""
    w = np.asarray(weights, dtype=np.float64).transpose(0, 2, 1)
    return w - w.mean(axis=-1, keepdims=True)


def trim_bounds(pfm: np.ndarray, min_ic: float = 0.3, min_width: int = 4) -> tuple[int, int]:
    """[start, stop) of the PFM after dropping low-information flanks (< ``min_ic`` bits); never below ``min_width``."""
    ic = information_content(pfm)
    keep = np.flatnonzero(ic >= min_ic)
    w = len(ic)
    if keep.size == 0:
        return 0, w
    start, stop = int(keep[0]), int(keep[-1]) + 1
    while stop - start < min(min_width, w):  # widen evenly around the informative core
        if start > 0:
            start -= 1
        if stop - start < min(min_width, w) and stop < w:
            stop += 1
    return start, stop


def iter_filter_motifs(model, codes: np.ndarray, *, threshold: float = ACTIVATION_THRESHOLD, batch_size: int = 256,
                       device: str = "cpu", should_stop: Callable[[], bool] | None = None
                       ) -> Iterator[Progress]:
    """Activation-based PFMs of every first-layer filter (generator; returns ``FilterMotifs``).

    Two passes over the data: the first finds each filter's maximum activation, the second counts the sites
    above ``threshold`` x that maximum (see the module notes).

    Parameters
    ----------
    model : deep model with ``first_conv`` (see ``first_conv``)
    codes : (N, L) uint8 sequence codes (``biodeep_gui.core.encoding``)
    threshold : in (0, 1]
    batch_size : sequences per batch
    device : torch device name
    should_stop : polled before every batch; ``Cancelled`` is raised when it returns True
    """
    import torch

    from biodeep_gui.core.sequences.encoding import ONE_HOT_TABLE

    if not 0.0 < threshold <= 1.0:
        raise InterpretError(f"the activation threshold must be in (0, 1], got {threshold}")
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.dtype != np.uint8 or len(codes) == 0:
        raise InterpretError("filter motifs need at least one sequence as an (N, L) uint8 code array")
    conv = first_conv(model)
    dev = torch.device(device)
    weight = conv.weight.detach().to(dev, torch.float32)
    bias = (conv.bias.detach() if conv.bias is not None else torch.zeros(conv.out_channels)).to(dev, torch.float32)
    n_f, _, width = weight.shape
    pad = int(conv.padding[0]) if isinstance(conv.padding, tuple) else 0
    table = torch.from_numpy(ONE_HOT_TABLE).to(dev)
    n_batches = -(-len(codes) // batch_size)

    def batches():
        for s in range(0, len(codes), batch_size):
            c = torch.from_numpy(np.ascontiguousarray(codes[s:s + batch_size])).to(dev)
            x = table[c.long()].transpose(1, 2)  # (B, 4, L)
            yield torch.nn.functional.pad(x, (pad, pad))  # zero columns: padding, as in the layer

    max_act = torch.full((n_f,), -torch.inf, device=dev)
    with torch.inference_mode():
        for b, xp in enumerate(batches()):
            check_stop(should_stop, "filter motif extraction")
            act = torch.nn.functional.conv1d(xp, weight, bias)  # (B, F, L')
            max_act = torch.maximum(max_act, act.amax(dim=(0, 2)))
            yield Progress("activations", b + 1, 2 * n_batches, "Scanning the sequences with the filters")
        cut = (threshold * max_act).clamp_min(0.0)  # a filter whose maximum is <= 0 never fires
        fires = max_act > 0
        counts = torch.zeros(n_f, width, 4, device=dev, dtype=torch.float64)
        n_sites = torch.zeros(n_f, device=dev, dtype=torch.int64)
        for b, xp in enumerate(batches()):
            check_stop(should_stop, "filter motif extraction")
            act = torch.nn.functional.conv1d(xp, weight, bias)  # (B, F, L')
            mask = (act > cut[None, :, None]) & fires[None, :, None]
            n_sites += mask.sum(dim=(0, 2))
            windows = xp.unfold(2, width, 1)  # (B, 4, L', W): the bases under each output position
            counts += torch.einsum("bfl,bclw->fwc", mask.to(windows.dtype), windows).double()
            yield Progress("activations", n_batches + b + 1, 2 * n_batches, "Counting the filters' sites")
    return FilterMotifs(counts=counts.cpu().numpy(), n_sites=n_sites.cpu().numpy(),
                        max_activation=max_act.cpu().numpy().astype(np.float32), threshold=float(threshold),
                        weights=weight.cpu().numpy(), bias=bias.cpu().numpy(), n_sequences=int(len(codes)),
                        padding=pad)


def filter_motifs(model, codes: np.ndarray, **kwargs) -> FilterMotifs:
    """``iter_filter_motifs`` run to the end (same parameters)."""
    from biodeep_gui.core.sequences.interpret.progress import drain

    return drain(iter_filter_motifs(model, codes, **kwargs))


def activation_map(model, codes: np.ndarray, device: str = "cpu") -> np.ndarray:
    """First-layer activations of one sequence.

    Parameters
    ----------
    codes : (L,) uint8

    Returns
    -------
    (F, L') float32 convolution output (bias included, before the non-linearity); output position ``l`` covers
    input bases ``l - padding`` .. ``l - padding + W - 1``
    """
    import torch

    from biodeep_gui.core.sequences.encoding import one_hot

    conv = first_conv(model)
    c = torch.from_numpy(np.ascontiguousarray(np.asarray(codes, dtype=np.uint8)[None])).to(device)
    with torch.inference_mode():
        return conv.to(device)(one_hot(c))[0].float().cpu().numpy()


def filter_sites(activations: np.ndarray, max_activation: np.ndarray, threshold: float, width: int, padding: int,
                 length: int) -> list[list[tuple[int, int, float]]]:
    """Where each filter fires in one sequence.

    Parameters
    ----------
    activations : (F, L') from ``activation_map``
    max_activation : (F,) each filter's maximum over the data (``FilterMotifs.max_activation``)
    threshold, width, padding : as in ``FilterMotifs``
    length : sequence length L (sites are clipped to [0, L))

    Returns
    -------
    per filter, a list of (start, stop, activation) windows on the sequence, stop exclusive, strongest first
    """
    out: list[list[tuple[int, int, float]]] = []
    for f in range(activations.shape[0]):
        cut = threshold * float(max_activation[f])
        hits = np.flatnonzero(activations[f] > cut) if max_activation[f] > 0 else np.zeros(0, int)
        sites = [(max(0, int(l) - padding), min(length, int(l) - padding + width), float(activations[f, l]))
                 for l in hits]
        out.append(sorted(sites, key=lambda s: -s[2]))
    return out


def filters_at(position: int, sites: list[list[tuple[int, int, float]]]) -> list[tuple[int, float]]:
    """Filters with a site covering ``position``: [(filter index, its strongest activation there)], strongest first."""
    found = []
    for f, windows in enumerate(sites):
        acts = [a for s, e, a in windows if s <= position < e]
        if acts:
            found.append((f, max(acts)))
    return sorted(found, key=lambda t: -t[1])


def sequence_sites(activations: np.ndarray, motifs: FilterMotifs, input_start: int,
                   length: int) -> list[list[tuple[int, int, float]]]:
    """``filter_sites`` on a sequence placed at ``input_start`` of the model input, in the sequence's coordinates.

    Parameters
    ----------
    activations : (F, L') ``activation_map`` of the whole model input
    motifs : the run's ``FilterMotifs`` (maxima over the data, threshold, width, padding)
    input_start : model-input position of the sequence's first base (``MutationMap.input_start``)
    length : the sequence's length; windows are clipped to it and windows entirely outside are dropped
    """
    sites = filter_sites(activations, motifs.max_activation, motifs.threshold, motifs.width, motifs.padding,
                         input_start + length)
    out = []
    for windows in sites:
        shifted = [(max(0, s - input_start), e - input_start, a) for s, e, a in windows if e > input_start]
        out.append([w for w in shifted if w[1] > w[0]])
    return out
