"""First-layer convolution filters as motifs: activation-based PFMs, PWMs, information content, raw weights.

How a filter becomes a position frequency matrix
------------------------------------------------
1. Scan the data with the first convolution layer and take each filter's maximum activation over all windows
   of all sequences (the convolution output, bias included, before the non-linearity).
2. Every window whose activation exceeds ``threshold`` x that maximum (default 0.5) is a *site* of the filter.
   With a ReLU after the layer, this is the same as thresholding the rectified output. (Basset's own code,
   ``basset_motifs.py``, cuts at ``mean + 0.5 x (max - mean)`` of the filter's outputs instead, so its cut sits a
   little above ours when the mean output is positive.)
3. The sites (the W bases under the filter, W = filter width) are aligned as they lie under the filter and
   counted base by base: ``counts`` (W, 4). Positions falling on the zero padding at a sequence end count
   nothing, and an ambiguous base spreads its count (N: 0.25 to each base).
4. ``pfm`` = (counts + pseudocounts) normalised per position. The pseudocounts are ``PSEUDOCOUNT`` (0.5) per base
   *for a uniform background*, spread in proportion to the background: ``4 x 0.5 x background`` (2 pseudo-sites
   per position in all), the background-proportional practice of MEME/Tomtom (``-motif-pseudo``). Basset adds
   1 to every base (4 pseudo-sites). A position no site covers, or a filter that never fires, is the background.

A filter is only *named* after a known motif when it has at least ``MIN_SITES`` (10) sites, as in Basset, which
leaves filters with fewer than 10 sites out of its analysis: a PFM from 2-8 windows is noise, and a handful of
copies of any motif matches that motif perfectly (``analysis.analyse_filters`` applies it).

Information content (``information_content`` / ``corrected_information_content``)
------------------------------------------------------------------------------------
Bits per position = relative entropy of the observed base frequencies to the *background*, the base composition
of the data (training sequences), not a uniform 25 %. With few sites this is biased upwards: n sites drawn
straight from the background already show, on average, e(n) bits. Following Schneider, Stormo, Gold & Ehrenfeucht
(1986), "Information content of binding sites on nucleotide sequences", J. Mol. Biol. 188:415-431, the corrected
information is ``IC(counts) - e(n)``, clipped at 0, where e(n) is the expected information of n background
sites: computed exactly over all multinomial outcomes for n <= ``EXACT_CORRECTION_MAX`` and by the large-sample
approximation ``3 / (2 n ln 2)`` (Schneider's (s - 1) / (2 ln 2 n) with s = 4 letters; Miller 1955) above. For
1 site e(1) is the whole information, so a single site has 0 corrected bits; for many sites e(n) -> 0 and the
corrected value converges to the uncorrected one. The observed frequencies used here carry no pseudocounts
(the correction is for the raw-frequency estimate).

A threshold of 0.5 keeps the strong, specific matches; lower values admit weaker sites and give flatter,
lower-information logos, higher values fewer sites and noisier counts.

The raw weight view is the filter's (4, W) weight matrix itself, centred per position (the mean of the four
weights subtracted), which is what the filter adds to its score for each base; it needs no data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterator, Sequence

import numpy as np

from biodeep_gui.core.sequences.interpret.progress import ACTIVATION_THRESHOLD, InterpretError, Progress, check_stop

BASES = "ACGT"
UNIFORM = (0.25, 0.25, 0.25, 0.25)
#: Pseudocount per base for a uniform background (background-proportional: 4 x 0.5 x background per position).
PSEUDOCOUNT = 0.5
#: Fewest sites for a filter to be matched to (named after) a known motif (Basset: 10).
MIN_SITES = 10
#: Largest site count for which the small-sample correction e(n) is computed exactly (above: 3 / (2 n ln 2)).
EXACT_CORRECTION_MAX = 60


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
    background : (4,) base composition (A, C, G, T) used for the pseudocounts and the information content
                 (the training sequences' composition in ``analysis.analyse_filters``)
    pseudocount : pseudocount per base for a uniform background (see the module notes)
    """

    counts: np.ndarray
    n_sites: np.ndarray
    max_activation: np.ndarray
    threshold: float
    weights: np.ndarray
    bias: np.ndarray
    n_sequences: int
    padding: int
    background: np.ndarray = field(default_factory=lambda: np.array(UNIFORM))
    pseudocount: float = PSEUDOCOUNT

    @property
    def n_filters(self) -> int:
        return int(self.counts.shape[0])

    @property
    def width(self) -> int:
        return int(self.counts.shape[1])

    @property
    def pfms(self) -> np.ndarray:
        """(F, W, 4) probabilities with background-proportional pseudocounts (see the module notes)."""
        return counts_to_pfm(self.counts, self.pseudocount, self.background)

    @property
    def raw_pfms(self) -> np.ndarray:
        """(F, W, 4) observed frequencies, no pseudocounts; uniform where no site covers a position."""
        return counts_to_pfm(self.counts)

    def information_content(self, corrected: bool = True) -> np.ndarray:
        """(F, W) bits per position against the data's background; ``corrected``: minus the small-sample e(n)."""
        if corrected:
            return corrected_information_content(self.counts, self.background)
        return information_content(self.raw_pfms, self.background)

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


def counts_to_pfm(counts: np.ndarray, pseudocount: float = 0.0,
                  background: Sequence[float] = UNIFORM) -> np.ndarray:
    """(..., W, 4) site counts -> probabilities.

    pseudocount : per base for a uniform background; ``4 x pseudocount x background`` is added to each position
    background : (4,) base composition

    Positions without counts become the background (uniform when ``pseudocount`` is 0 and nothing was counted).
    """
    counts = np.asarray(counts, dtype=np.float64)
    bg = _background(background)
    c = counts + 4.0 * float(pseudocount) * bg
    tot = c.sum(axis=-1, keepdims=True)
    fill = bg if pseudocount > 0 else np.full(4, 0.25)
    return np.where(tot > 0, c / np.where(tot > 0, tot, 1.0), fill)


def _background(background: Sequence[float] | None) -> np.ndarray:
    bg = np.asarray(UNIFORM if background is None else background, dtype=np.float64)
    if bg.shape != (4,) or not np.all(np.isfinite(bg)) or np.any(bg <= 0):
        raise InterpretError(f"a background must be four positive frequencies (A, C, G, T), got {bg}")
    return bg / bg.sum()


#: Bytes of codes ``base_composition`` reads at a time.
_COUNT_CHUNK_BYTES = 1 << 22


def base_composition(codes: np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """(4,) frequencies of A, C, G, T in (N, L) uint8 sequence codes (ambiguous bases and padding not counted).

    ``pseudocount`` is added to each base (as Basset's MEME background does), so a base absent from the data
    never gets probability 0.
    """
    if not hasattr(codes, "shape"):  # a list of rows; arrays, memmaps and cached Rows are read chunk by chunk
        codes = np.asarray(codes)
    n = np.zeros(4)
    step = max(1, _COUNT_CHUNK_BYTES // max(int(np.prod(codes.shape[1:])), 1))
    for start in range(0, len(codes), step):  # a memory-mapped training split is never copied whole
        block = np.asarray(codes[start:start + step])
        n += [np.count_nonzero(block == b) for b in range(4)]  # bincount would cast the block to int64 first
    n = n + pseudocount
    if n.sum() <= 0:
        return np.array(UNIFORM)
    return n / n.sum()


def information_content(pfm: np.ndarray, background: Sequence[float] | None = None) -> np.ndarray:
    """(..., W, 4) probabilities -> (..., W) bits: relative entropy to ``background`` (None: uniform, 2 - entropy).

    No small-sample correction: see ``corrected_information_content``.
    """
    p = np.asarray(pfm, dtype=np.float64)
    bg = _background(background)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0) / bg), 0.0).sum(axis=-1)


@lru_cache(maxsize=512)
def _expected_ic_exact(n: int, bg: tuple[float, float, float, float]) -> float:
    """E[relative entropy of the observed frequencies of n background sites to the background], in bits.

    Sums over every composition (a, c, g, t) of n with its multinomial probability.
    """
    q = np.asarray(bg, dtype=np.float64)
    a, c, g = np.indices((n + 1, n + 1, n + 1)).reshape(3, -1)
    ok = a + c + g <= n
    k = np.stack([a[ok], c[ok], g[ok], n - (a[ok] + c[ok] + g[ok])], axis=1).astype(np.float64)  # (M, 4)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    log_pmf = log_fact[n] - log_fact[k.astype(int)].sum(axis=1) + (k * np.log(q)).sum(axis=1)
    p = k / n
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0) / q), 0.0).sum(axis=1)
    return float((np.exp(log_pmf) * kl).sum())


def small_sample_correction(n: int | float, background: Sequence[float] | None = None) -> float:
    """Schneider et al. (1986) e(n): the information (bits) ``n`` sites drawn from ``background`` show by chance.

    Exact (every multinomial outcome) for n <= ``EXACT_CORRECTION_MAX``, else ``3 / (2 n ln 2)``. 0 for n < 1
    (nothing counted: the information is reported as 0 anyway).
    """
    n = int(round(float(n)))
    if n < 1:
        return 0.0
    if n > EXACT_CORRECTION_MAX:
        return 3.0 / (2.0 * n * np.log(2.0))
    bg = _background(background)
    return _expected_ic_exact(n, tuple(round(float(b), 6) for b in bg))


def corrected_information_content(counts: np.ndarray, background: Sequence[float] | None = None) -> np.ndarray:
    """(..., W, 4) site counts -> (..., W) bits: observed information minus e(n), clipped at 0.

    n is each position's number of counted sites (``counts.sum(-1)``); see the module notes.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=-1)
    raw = information_content(counts_to_pfm(counts), background)
    e = np.vectorize(lambda k: small_sample_correction(k, background), otypes=[float])(n) if n.size else n
    return np.where(n >= 1, np.clip(raw - e, 0.0, None), 0.0)


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
                       device: str = "cpu", background: Sequence[float] | None = None,
                       pseudocount: float = PSEUDOCOUNT, should_stop: Callable[[], bool] | None = None
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
    background : (4,) base composition for the pseudocounts and the information content; None: that of ``codes``
                 (``base_composition``)
    pseudocount : per base for a uniform background (see the module notes)
    should_stop : polled before every batch; ``Cancelled`` is raised when it returns True
    """
    import torch

    from biodeep_gui.core.sequences.encoding import ONE_HOT_TABLE

    if not 0.0 < threshold <= 1.0:
        raise InterpretError(f"the activation threshold must be in (0, 1], got {threshold}")
    if not pseudocount >= 0:
        raise InterpretError(f"the pseudocount must be 0 or more, got {pseudocount}")
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.dtype != np.uint8 or len(codes) == 0:
        raise InterpretError("filter motifs need at least one sequence as an (N, L) uint8 code array")
    bg = base_composition(codes) if background is None else _background(background)
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
                        padding=pad, background=bg, pseudocount=float(pseudocount))


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
