"""In-silico saturation mutagenesis of one sequence, and a gradient x input saliency track.

``saturation_mutagenesis`` changes every position to every other base, one at a time, and records the change of
the network's raw output (logit for classification, standardised value for regression) against the unmutated
sequence: ``delta[i, b] = f(sequence with base b at i) - f(sequence)``, 0 for the reference base. Raw outputs
are used because a probability saturates near 0 and 1 and would hide effects in confidently scored sequences.
For a multiclass model one raw logit means little on its own (softmax is unchanged when every logit moves
together), so its maps follow the log-probability of the chosen class instead: ``log_softmax(f(x))[class]``
(``score='log_softmax'``; ``read_sequence`` and the CLI choose it from the run's task, see ``mutation_score``).

Speed: for a model with a first convolution layer (CNN, CNN-LSTM) a single-base change only alters the W
convolution outputs whose window covers it. The layer's output for the reference is computed once and, for
each variant, the change ``w[:, new, k] - w[:, old, k]`` is added to those W columns; only the layers after it
run per variant, in batches. This gives exactly the same numbers as running every mutated sequence through the
whole network (a test checks it) at a fraction of the cost. Other models (fully connected) run every variant
through the whole network.

``saliency`` is gradient x input: the gradient of the output with respect to the one-hot input, taken at the
reference base of each position (Shrikumar et al. 2016 / Simonyan et al. 2013). ``ism_importance`` is the
mutagenesis counterpart: minus the mean change over the three other bases, positive where the reference base
supports the prediction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from biodeep_gui.core.sequences.encoding import BASES, CODE_LETTERS, PAD_CODE, encode, first_invalid
from biodeep_gui.core.sequences.interpret.progress import InterpretError, check_stop


@dataclass
class MutationMap:
    """Saturation mutagenesis of one sequence.

    Attributes
    ----------
    sequence : the sequence as given (letters), length L
    codes : (L,) uint8 codes
    output : index of the network output that was mutated against
    reference : raw output for the unmutated sequence
    delta : (L, 4) float32, change of the raw output for each base at each position (0 at the reference base)
    saliency : (L,) float32, gradient x input at the reference bases
    gradient : (L, 4) float32, gradient of the raw output with respect to the one-hot input
    elapsed_s : seconds the mutagenesis took (excluding the gradient)
    input_start : model input position of the sequence's first base (> 0 when a short sequence was padded)
    score : what ``reference``, ``delta`` and the gradient follow: 'raw' (the output itself) or 'log_softmax'
            (the log-probability of class ``output``, multiclass models)

    A sequence shorter than the model's input is centred in padding (as for prediction); the padding is not
    mutated and the arrays cover the sequence only.
    """

    sequence: str
    codes: np.ndarray
    output: int
    reference: float
    delta: np.ndarray
    saliency: np.ndarray
    gradient: np.ndarray
    elapsed_s: float = 0.0
    input_start: int = 0
    score: str = "raw"

    @property
    def length(self) -> int:
        return int(len(self.codes))

    @property
    def ism_importance(self) -> np.ndarray:
        """(L,) minus the mean change over the bases other than the reference (positive: the base helps)."""
        ref = self.codes[:, None] == np.arange(4)[None, :]
        n_alt = np.maximum(1, (~ref).sum(axis=1))
        return -(np.where(ref, 0.0, self.delta).sum(axis=1) / n_alt)


def sequence_codes(sequence: str) -> np.ndarray:
    """Validate a typed or pasted DNA sequence and encode it (whitespace and line breaks are ignored).

    Returns (L,) uint8 codes. Raises ``InterpretError`` for an empty sequence or a character that is not a
    nucleotide code (naming its 1-based position).
    """
    seq = "".join(sequence.split())
    if seq.startswith(">"):
        raise InterpretError("paste the sequence letters only, without the FASTA '>' header line")
    if not seq:
        raise InterpretError("the sequence is empty; paste A, C, G and T letters")
    codes = encode(seq)
    bad = first_invalid(codes)
    if bad >= 0:
        raise InterpretError(f"position {bad + 1}: {seq[bad]!r} is not a nucleotide (expected A, C, G, T or an "
                             "IUPAC code such as N)")
    return codes


def model_input(codes: np.ndarray, length: int) -> np.ndarray:
    """(L,) codes -> (length,) model input: a shorter sequence is centred in padding; a longer one is refused."""
    from biodeep_gui.core.sequences.encoding import fit_length

    codes = np.asarray(codes, dtype=np.uint8).reshape(-1)
    if len(codes) > length:
        raise InterpretError(f"the model reads {length} bases and this sequence has {len(codes)}; choose a "
                             f"window of at most {length} bases")
    return fit_length(codes, length)


def saturation_mutagenesis(model, codes: np.ndarray, *, output: int = 0, batch_size: int = 1024,
                           device: str = "cpu", sequence: str | None = None,
                           should_stop: Callable[[], bool] | None = None, score: str = "raw") -> MutationMap:
    """Mutation map and saliency of one sequence.

    Parameters
    ----------
    model : deep model mapping (N, 4, L) one-hot to (N, K) raw outputs, in eval mode
    codes : (L,) uint8 codes of the sequence, L = the model's input length
    output : which of the K outputs to follow
    batch_size : variants per forward pass
    device : torch device name
    sequence : the letters to keep with the result (default: decoded from ``codes``)
    should_stop : polled between batches; ``Cancelled`` is raised when it returns True
    score : 'raw' (follow output ``output`` itself) or 'log_softmax' (follow the log-probability of class
            ``output`` over the K outputs: the right quantity for multiclass models)

    Returns
    -------
    MutationMap with delta (L, 4) and saliency (L,)
    """
    import time

    import torch

    from biodeep_gui.core.sequences.encoding import ONE_HOT_TABLE, decode

    codes = np.asarray(codes, dtype=np.uint8).reshape(-1)
    if codes.size == 0:
        raise InterpretError("the sequence is empty")
    if np.any((codes >= len(CODE_LETTERS)) & (codes != PAD_CODE)):
        raise InterpretError("the sequence holds codes that are not nucleotides")
    if score not in ("raw", "log_softmax"):
        raise InterpretError(f"score = {score!r} is not 'raw' or 'log_softmax'")
    dev = torch.device(device)
    model = model.to(dev).eval()
    length = len(codes)
    table = torch.from_numpy(ONE_HOT_TABLE).to(dev)
    x_ref = table[torch.from_numpy(codes).to(dev).long()].T.unsqueeze(0).contiguous()  # (1, 4, L)
    with torch.inference_mode():
        out_ref = model(x_ref).float()
    if not 0 <= output < out_ref.shape[1]:
        raise InterpretError(f"the model has {out_ref.shape[1]} output(s); output {output + 1} does not exist")
    if score == "log_softmax":
        out_ref = torch.log_softmax(out_ref, dim=1)
    ref_value = float(out_ref[0, output])

    # every (position, base) pair whose base differs from the one-hot reference column
    onehot = ONE_HOT_TABLE[codes]  # (L, 4)
    pos, base = _variants(onehot)
    keep = codes[pos] != PAD_CODE  # padding around a short sequence is not mutated
    pos, base = pos[keep], base[keep]
    delta = np.zeros((length, 4), np.float32)
    t0 = time.perf_counter()
    conv = getattr(model, "first_conv", None)
    fast = (isinstance(conv, torch.nn.Conv1d) and conv.in_channels == 4 and conv.stride[0] == 1
            and conv.dilation[0] == 1 and conv.groups == 1 and isinstance(conv.padding, tuple))
    with torch.inference_mode():
        if fast and _is_deepbind(model):
            values = _ism_global_pool(model, conv, x_ref, pos, base, max(batch_size, 4096), should_stop)
        elif fast:
            values = _ism_first_layer(model, conv, x_ref, pos, base, batch_size, should_stop)
        else:
            values = _ism_full(model, x_ref, pos, base, batch_size, should_stop)
    if score == "log_softmax" and len(values):
        v64 = values.astype(np.float64)
        top = v64.max(axis=1, keepdims=True)
        values = v64 - (top + np.log(np.exp(v64 - top).sum(axis=1, keepdims=True)))
    delta[pos, base] = values[:, output] - ref_value
    elapsed = time.perf_counter() - t0

    x = x_ref.clone().requires_grad_(True)
    with torch.enable_grad():
        out = model(x)
        if score == "log_softmax":
            out = torch.log_softmax(out.float(), dim=1)
        out[0, output].backward()
    grad = x.grad[0].T.float().cpu().numpy()  # (L, 4)
    saliency = (grad * onehot).sum(axis=1).astype(np.float32)
    real = np.flatnonzero(codes != PAD_CODE)
    a, b = (int(real[0]), int(real[-1]) + 1) if real.size else (0, 0)
    return MutationMap(sequence if sequence is not None else decode(codes[a:b]), codes[a:b].copy(), output,
                       ref_value, delta[a:b].copy(), saliency[a:b].copy(), grad[a:b].astype(np.float32), elapsed,
                       input_start=a, score=score)


def _variants(onehot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions, bases) of every single-base variant: bases whose one-hot column differs from the reference."""
    differs = np.abs(onehot[:, None, :] - np.eye(4, dtype=np.float32)[None]).sum(axis=2) > 1e-6  # (L, 4)
    return np.nonzero(differs)


def _ism_full(model, x_ref, pos, base, batch_size, should_stop):
    """Every variant through the whole network: (V, K) raw outputs."""
    import torch

    outs = []
    for s in range(0, len(pos), batch_size):
        check_stop(should_stop, "the mutation map")
        p = torch.as_tensor(pos[s:s + batch_size], device=x_ref.device)
        b = torch.as_tensor(base[s:s + batch_size], device=x_ref.device)
        outs.append(model(_mutated(x_ref, p, b)).float())
    return torch.cat(outs).cpu().numpy()


def _mutated(x_ref, p, b):
    """(n, 4, L) copies of the (1, 4, L) reference with base ``b[j]`` at position ``p[j]`` in copy j."""
    import torch

    x = x_ref.repeat(len(p), 1, 1)
    ar = torch.arange(len(p), device=x.device)
    x[ar, :, p] = 0.0
    x[ar, b, p] = 1.0
    return x


def _ism_first_layer(model, conv, x_ref, pos, base, batch_size, should_stop):
    """Variants through the layers after ``conv`` only, with the conv output patched per variant: (V, K)."""
    import torch
    from torch import nn

    class Injected(nn.Module):
        """Stands in for the first convolution: returns the patched outputs prepared for this batch."""

        def __init__(self):
            super().__init__()
            self.value = None

        def forward(self, _x):
            return self.value

    ref_conv = conv(x_ref).float()  # (1, F, L')
    l_out = ref_conv.shape[2]
    width = conv.weight.shape[2]
    stub = Injected()
    name = _attribute_name(model, conv)
    outs = []
    setattr(model, name, stub)
    try:
        for s in range(0, len(pos), batch_size):
            check_stop(should_stop, "the mutation map")
            p = torch.as_tensor(pos[s:s + batch_size], device=x_ref.device)
            b = torch.as_tensor(base[s:s + batch_size], device=x_ref.device)
            n = len(p)
            cols, _ok, change = _change_columns(conv, x_ref, p, b, l_out)
            patched = ref_conv.expand(n, -1, -1).contiguous()  # (n, F, L'), the layout the next layers read
            rows = torch.arange(n, device=p.device)[:, None].expand(-1, width)
            # a (n, L', F) view of the same memory takes the (n, W, F) changes at (row, column) pairs
            patched.permute(0, 2, 1).index_put_((rows, cols.clamp(0, l_out - 1)), change, accumulate=True)
            stub.value = patched
            outs.append(model(_mutated(x_ref, p, b)).float())  # the true variants, for any layer reading x
    finally:
        setattr(model, name, conv)
    return torch.cat(outs).cpu().numpy()


def _is_deepbind(model) -> bool:
    from biodeep_gui.core.sequences.models.deepbind import DeepBindCNN

    return type(model) is DeepBindCNN


def _change_columns(conv, x_ref, pos, base, l_out):
    """``conv_column_changes`` for single-base variants of the one reference ``x_ref`` (1, 4, L)."""
    import torch

    new = torch.nn.functional.one_hot(base, 4).float() - x_ref[0].T[pos]  # (n, 4): new column - reference
    return conv_column_changes(conv, new, pos, l_out)


def conv_column_changes(conv, delta, pos, l_out):
    """Per changed base, the W first-layer output columns it sits under and the change of each filter there.

    Parameters
    ----------
    conv : the first ``Conv1d`` (F filters of width W); delta : (n, 4) new one-hot column minus the old one
    pos : (n,) long tensor, the changed input position; l_out : L', the convolution's output length

    Returns
    -------
    cols (n, W) clamped to [0, L'), ok (n, W) which columns exist, change (n, W, F) zero where not ok
    """
    import torch

    weight = conv.weight.detach().float()  # (F, 4, W)
    taps = torch.arange(weight.shape[2], device=delta.device)
    change = torch.einsum("fck,nc->nkf", weight, delta)  # (n, W, F)
    cols = pos[:, None] + int(conv.padding[0]) - taps[None, :]  # output l reads input l - pad + k
    ok = (cols >= 0) & (cols < l_out)
    return cols.clamp(0, l_out - 1), ok, change * ok[..., None]


def _ism_global_pool(model, conv, x_ref, pos, base, batch_size, should_stop):
    """DeepBind CNN (ReLU -> global max and mean -> head): pooled features updated from the W changed columns.

    The mean moves by the change of the W rectified columns; the maximum is the larger of the window's new
    values and the reference maximum outside the window (prefix / suffix running maxima). Same numbers as the
    full network up to float rounding, in O(W F) per variant instead of O(L F).
    """
    import torch

    ref = conv(x_ref)[0].float()  # (F, L')
    n_f, l_out = ref.shape
    rect = ref.relu()
    ref_t = ref.T.contiguous()  # (L', F)
    zero = torch.zeros(n_f, 1, device=ref.device)
    # prefix[:, i] = max(rect[:, :i]), suffix[:, i] = max(rect[:, i:]); ReLU outputs are >= 0, so 0 is neutral
    prefix = torch.cat([zero, rect.cummax(dim=1).values], dim=1)  # (F, L' + 1)
    suffix = torch.cat([rect.flip(1).cummax(dim=1).values.flip(1), zero], dim=1)  # (F, L' + 1)
    total = rect.sum(dim=1)  # (F,)
    outs = []
    for s in range(0, len(pos), batch_size):
        check_stop(should_stop, "the mutation map")
        p = torch.as_tensor(pos[s:s + batch_size], device=ref.device)
        b = torch.as_tensor(base[s:s + batch_size], device=ref.device)
        cols, ok, change = _change_columns(conv, x_ref, p, b, l_out)
        old = ref_t[cols]  # (n, W, F)
        new_rect = (old + change).relu() * ok[..., None]
        mean = (total[None] + (new_rect - old.relu() * ok[..., None]).sum(dim=1)) / l_out  # (n, F)
        lo = cols.masked_fill(~ok, l_out).amin(dim=1)  # first changed column
        hi = cols.masked_fill(~ok, -1).amax(dim=1)  # last changed column
        outside = torch.maximum(prefix[:, lo], suffix[:, (hi + 1).clamp(0, l_out)]).T  # (n, F)
        peak = torch.maximum(outside, new_rect.amax(dim=1))
        outs.append(model.head(torch.cat([peak, mean], dim=1)).float())
    return torch.cat(outs).cpu().numpy()


def _attribute_name(model, conv) -> str:
    for name, child in model.named_children():
        if child is conv:
            return name
    raise InterpretError("the first convolution layer is not a direct child of the model")


def top_positions(mm: MutationMap, n: int = 10) -> list[tuple[int, str, str, float]]:
    """The ``n`` strongest single-base effects: (0-based position, reference letter, new base, delta)."""
    flat = np.argsort(-np.abs(mm.delta).ravel(), kind="stable")[:n]
    return [(int(i // 4), mm.sequence[i // 4] if i // 4 < len(mm.sequence) else "?", BASES[i % 4],
             float(mm.delta.ravel()[i])) for i in flat]


def mutation_score(info) -> str:
    """What a mutation map of a run follows: 'log_softmax' for multiclass models, else 'raw'."""
    return "log_softmax" if info.task == "multiclass" else "raw"


def output_label(info, k: int = 0) -> str:
    """What a mutation map of output ``k`` of a run follows, in words: 'binding score (log-odds)' (label
    'bound'), '<label> score (log-odds)', 'log-probability of <class>' (multiclass), 'standardised <label>'.

    ``info`` is the run's ``runs.ModelInfo``.
    """
    if info.task == "multiclass":
        names = info.class_names
        return f"log-probability of {names[k] if k < len(names) else f'class {k + 1}'}"
    if info.task == "binary":
        name = info.label_names[k] if k < len(info.label_names) else f"output {k + 1}"
        # the raw output of a binary model is the log-odds of its label; "bound" is the usual label
        return "binding score (log-odds)" if name == "bound" else f"{name} score (log-odds)"
    names = info.label_names
    return f"standardised {names[k] if k < len(names) else f'output {k + 1}'}"


@dataclass
class SequenceReading:
    """A mutation map of one sequence with the first-layer activations behind it (for the linked views).

    mm : the ``MutationMap``
    activations : (F, L') first-layer activations of the model input, or None for models without a first
                  convolution
    label : what the output is (``output_label``)
    probability : the model's transformed output for the sequence (probability or value in the target's units)
    """

    mm: MutationMap
    activations: np.ndarray | None
    label: str
    probability: float


def read_sequence(run, codes: np.ndarray, *, output: int = 0, sequence: str | None = None,
                  device: str = "cpu") -> SequenceReading:
    """Everything the Mutation map view shows for one sequence of a run: map, saliency, activations, output.

    ``codes`` (L,) may be shorter than the model's input (it is centred in padding); longer is refused.
    """
    from biodeep_gui.core.sequences.interpret.filters import activation_map

    model = run.model()
    x = model_input(codes, run.info.length)
    mm = saturation_mutagenesis(model, x, output=output, sequence=sequence, device=device,
                                score=mutation_score(run.info))
    acts = activation_map(model, x, device) if getattr(model, "first_conv", None) is not None else None
    value = float(run.predict(x[None], device=device)[0, output])  # probability or value, as Predict shows it
    return SequenceReading(mm, acts, output_label(run.info, output), value)
