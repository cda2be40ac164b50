"""Attributions: how much each base of a sequence adds to the network's output, against shuffled references.

Two methods, both measured against *dinucleotide-shuffled* copies of each sequence (same composition and
dinucleotide counts, motifs destroyed), averaged over ``n_references`` shuffles:

``deeplift_shap``
    DeepLIFT with the rescale rule, averaged over references (DeepSHAP; Shrikumar et al. 2017, Lundberg & Lee
    2017), through tangermeme's ``deep_lift_shap``. The attributions of a sequence sum to its raw output minus
    the mean raw output of its references ("summation to delta"; ``Attributions.convergence`` holds the gap).
``integrated_gradients``
    Integrated gradients (Sundararajan et al. 2017) along the straight path from each reference to the
    sequence, ``steps`` Gauss-Legendre nodes, averaged over the references. Sums to the same difference up to
    the quadrature error; works for any differentiable network.

Why tangermeme and not captum
-----------------------------
tangermeme (Schreiber; the author of memelite, which BioDeep already uses for Tomtom) is written for one-hot DNA:
its ``deep_lift_shap`` draws dinucleotide-shuffled references natively (seeded per reference), returns the
*hypothetical* attributions TF-MoDISco needs, checks summation-to-delta on every batch, and has DeepLIFT rules for
max pooling. captum is more general (any input type, many more methods), but shuffled references, hypothetical
contributions and the one-hot projection would all have to be written here. Integrated gradients are a dozen
lines and are written here, so one library suffices.

Which models are exact
----------------------
- MLP (``mlp``): every non-linearity is an ``nn.ReLU`` module: DeepLIFT exact.
- CNN (``cnn``, DeepBind): its forward uses functional ``relu`` and a global ``amax``, which DeepLIFT hooks cannot
  see; the same weights are run through ``_DeepBindForDeepLift`` (``nn.ReLU`` + ``nn.MaxPool1d`` over the whole
  length + mean), which computes the same outputs (checked) with module non-linearities: DeepLIFT exact.
- CNN-LSTM (``cnn-lstm``): PyTorch's LSTM/GRU/RNN is one fused operation with no DeepLIFT rule (its gates are
  sigmoids and tanh inside the kernel), so DeepLIFT/SHAP cannot be computed exactly. ``deeplift_shap`` then falls
  back to integrated gradients and says so (``Attributions.exact`` False, ``note``); on CUDA the recurrent layer
  runs without cuDNN for the backward pass.

Arrays follow the rest of BioDeep: positions first, bases A, C, G, T last, i.e. (N, L, 4).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np

from biodeep_gui.core.sequences.interpret.progress import InterpretError, Progress, check_stop

METHODS = ("deeplift_shap", "integrated_gradients")
METHOD_NAMES = {"deeplift_shap": "DeepLIFT/SHAP", "integrated_gradients": "Integrated gradients"}
#: Shuffled references per sequence (tangermeme's and the DeepSHAP papers' default is 20).
N_REFERENCES = 20
#: Quadrature nodes of integrated gradients.
IG_STEPS = 32
LSTM_NOTE = ("CNN-LSTM: PyTorch's fused LSTM has no DeepLIFT rule, so DeepLIFT/SHAP cannot be computed exactly "
             "for this model; integrated gradients (same shuffled references) were used instead")


@dataclass
class Attributions:
    """Attributions of N sequences for one network output.

    Attributes
    ----------
    ids : (N,) sequence names
    codes : (N, L) uint8 codes of the model inputs
    hypothetical : (N, L, 4) float32 hypothetical contributions: what each base *would* add at each position
                   (the input TF-MoDISco reads)
    contributions : (N, L) float32 contribution of the base present (hypothetical x one-hot, summed over bases);
                    0 at padding and N
    output : index of the network output explained
    method : the method used ('deeplift_shap' or 'integrated_gradients')
    requested : the method asked for (differs from ``method`` after a fall-back)
    exact : False when DeepLIFT/SHAP was asked for but the model has an operation without a DeepLIFT rule (the
            CNN-LSTM's fused LSTM), so integrated gradients were used instead (see ``note``)
    note : one line for the UI (empty when nothing needs saying)
    outputs : (N,) raw output of each sequence
    reference_outputs : (N,) mean raw output of its references
    convergence : (N,) |sum of contributions - (outputs - reference_outputs)|
    n_references : shuffles per sequence
    seed : seed of the shuffles
    """

    ids: list[str]
    codes: np.ndarray
    hypothetical: np.ndarray
    contributions: np.ndarray
    output: int
    method: str
    requested: str
    exact: bool
    note: str
    outputs: np.ndarray
    reference_outputs: np.ndarray
    convergence: np.ndarray
    n_references: int
    seed: int
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]

    def matrix(self, i: int) -> np.ndarray:
        """(L, 4) attribution of sequence ``i`` at the bases present (0 elsewhere): the logo track's letters."""
        from biodeep_gui.core.sequences.encoding import ONE_HOT_TABLE

        onehot = (ONE_HOT_TABLE[self.codes[i]] == 1.0).astype(np.float32)
        return onehot * self.contributions[i][:, None]


# ---------------------------------------------------------------------------------------------- models


def _deeplift_model(model, length: int):
    """(module for DeepLIFT, exact?) for a BioDeep network of input ``length``."""
    from torch import nn

    from biodeep_gui.core.sequences.models.danq import DanQ
    from biodeep_gui.core.sequences.models.deepbind import DeepBindCNN
    from biodeep_gui.core.sequences.models.mlp import MLP

    if type(model) is DeepBindCNN:
        return _DeepBindForDeepLift(model, length), True
    if type(model) is MLP:
        return model, True
    if type(model) is DanQ:
        return model, False
    rnn = any(isinstance(m, nn.RNNBase) for m in model.modules())
    return model, not rnn


def _DeepBindForDeepLift(model, length: int):  # noqa: N802 - builds a module class with torch imported
    import torch
    from torch import nn

    class DeepBindForDeepLift(nn.Module):
        """The DeepBind CNN with module non-linearities (same weights, same outputs) for DeepLIFT's hooks."""

        def __init__(self, m):
            super().__init__()
            self.first_conv = m.first_conv
            self.relu = nn.ReLU()
            self.head = m.head
            conv = m.first_conv
            # global max as a module (DeepLIFT's max-pool rule needs one): a window over all L' conv outputs
            self.pool = nn.MaxPool1d(length + 2 * int(conv.padding[0]) - int(conv.kernel_size[0]) + 1)

        def forward(self, x):
            h = self.relu(self.first_conv(x))  # (N, F, L')
            pooled = torch.cat([self.pool(h)[:, :, 0], h.mean(dim=2)], dim=1)
            return self.head(pooled)

    return DeepBindForDeepLift(model).eval()


# ------------------------------------------------------------------------------------------ references


def shuffled_references(onehot, n: int, seed: int):
    """(N, n, 4, L) dinucleotide shuffles of (N, 4, L) one-hot sequences; reference k of every sequence is drawn
    with seed ``seed + k`` (tangermeme's convention), so the same inputs always get the same references."""
    import torch
    from tangermeme.ersatz import dinucleotide_shuffle

    refs = []
    for i in range(onehot.shape[0]):
        try:
            refs.append(dinucleotide_shuffle(onehot[i:i + 1], n=n, random_state=seed, allow_N=True))
        except ValueError:  # tangermeme: every shuffle is the sequence itself (e.g. ACGTACGT...)
            raise InterpretError(f"sequence {i + 1} is too repetitive to shuffle: every dinucleotide shuffle is the "
                                 "sequence itself, so attributions against shuffled references are undefined") from None
    return torch.cat(refs).float()


def _onehot(codes: np.ndarray):
    """(N, L) codes -> (N, 4, L) float32 tensor; ambiguous codes and padding become all-zero columns."""
    import torch

    from biodeep_gui.core.sequences.encoding import ONE_HOT_TABLE

    table = (ONE_HOT_TABLE == 1.0).astype(np.float32)  # IUPAC rows with 0.25/0.5 entries -> zeros
    return torch.from_numpy(np.ascontiguousarray(table[codes].transpose(0, 2, 1)))


# ------------------------------------------------------------------------------------------- methods


def _integrated_gradients(model, x, refs, output: int, steps: int, device):
    """Path-averaged gradients (n_pairs, 4, L) for pairs of sequences ``x`` and references ``refs``."""
    import torch

    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.tensor((nodes + 1) / 2, dtype=torch.float32, device=device)
    w = torch.tensor(weights / 2, dtype=torch.float32, device=device)
    grads = torch.zeros_like(x)
    cudnn_off = device.type == "cuda"
    with torch.enable_grad(), torch.backends.cudnn.flags(enabled=not cudnn_off):
        for a, wk in zip(alphas, w):
            point = (refs + a * (x - refs)).detach().requires_grad_(True)
            y = model(point)[:, output].sum()
            (g,) = torch.autograd.grad(y, point)
            grads += wk * g
    return grads


def iter_attributions(model, codes: np.ndarray, *, ids: Sequence[str] | None = None, method: str = "deeplift_shap",
                      output: int = 0, n_references: int = N_REFERENCES, steps: int = IG_STEPS, seed: int = 0,
                      batch_size: int = 8, device: str = "cpu",
                      should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
    """Attributions of every sequence (generator yielding ``Progress``; returns ``Attributions``).

    Parameters
    ----------
    model : a BioDeep sequence network (``Run.model()``), (N, 4, L) one-hot -> (N, K) raw outputs
    codes : (N, L) uint8 codes, L the model's input length (``mutagenesis.model_input`` pads a shorter one)
    ids : (N,) names (default seq1, seq2, ...)
    method : 'deeplift_shap' or 'integrated_gradients'
    output : which raw output to explain
    n_references : dinucleotide shuffles per sequence
    steps : integrated-gradients quadrature nodes
    seed : seed of the shuffles
    batch_size : sequences per step (each with its ``n_references`` references)
    device : torch device name
    should_stop : polled between batches; ``Cancelled`` is raised when it returns True
    """
    import warnings

    import torch

    if method not in METHODS:
        raise InterpretError(f"unknown attribution method {method!r}; choose {' or '.join(METHODS)}")
    codes = np.asarray(codes, dtype=np.uint8)
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise InterpretError(f"expected (N, L) sequence codes with N >= 1, got shape {codes.shape}")
    if n_references < 1:
        raise InterpretError("n_references must be at least 1")
    ids = list(ids) if ids is not None else [f"seq{i + 1}" for i in range(len(codes))]
    dev = torch.device(device)
    model = model.to(dev).eval()
    with torch.inference_mode():
        probe = model(_onehot(codes[:1]).to(dev))
    if not 0 <= output < probe.shape[1]:
        raise InterpretError(f"the model has {probe.shape[1]} output(s); output {output + 1} does not exist")
    dl_model, exact = _deeplift_model(model, codes.shape[1])
    used, note = method, ""
    if method == "deeplift_shap" and not exact:
        used, note = "integrated_gradients", LSTM_NOTE
    n = len(codes)
    hyp = np.zeros((n, codes.shape[1], 4), np.float32)
    outs, ref_outs = np.zeros(n, np.float32), np.zeros(n, np.float32)
    total = -(-n // batch_size)
    yield Progress("attributions", 0, total, f"{METHOD_NAMES[used]} of {n} sequences against {n_references} "
                                             "dinucleotide-shuffled references each")
    for b, s in enumerate(range(0, n, batch_size)):
        check_stop(should_stop, "the attributions")
        x = _onehot(codes[s:s + batch_size])
        refs = shuffled_references(x, n_references, seed)  # (B, R, 4, L)
        if used == "deeplift_shap":
            from tangermeme.deep_lift_shap import deep_lift_shap

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence is measured and reported below instead
                h = deep_lift_shap(dl_model, x, target=output, references=refs, hypothetical=True,
                                   batch_size=max(n_references, 32), device=dev, only_warn=True)
        else:
            from tangermeme.deep_lift_shap import hypothetical_attributions

            bsz, r = refs.shape[:2]
            xs = x.to(dev).repeat_interleave(r, dim=0)
            rs = refs.to(dev).reshape(bsz * r, *x.shape[1:])
            mult = _integrated_gradients(model, xs, rs, output, steps, dev)
            h = hypothetical_attributions((mult,), (xs,), (rs,))[0].reshape(bsz, r, *x.shape[1:]).mean(dim=1)
        hyp[s:s + len(x)] = h.detach().float().cpu().numpy().transpose(0, 2, 1)
        with torch.inference_mode():
            outs[s:s + len(x)] = model(x.to(dev))[:, output].float().cpu().numpy()
            flat = refs.reshape(-1, *x.shape[1:]).to(dev)
            ref_outs[s:s + len(x)] = model(flat)[:, output].float().reshape(len(x), -1).mean(dim=1).cpu().numpy()
        yield Progress("attributions", b + 1, total, f"Attributions of {min(n, s + batch_size)} of {n} sequences")
    onehot = _onehot(codes).numpy().transpose(0, 2, 1)  # (N, L, 4)
    contrib = (hyp * onehot).sum(axis=2).astype(np.float32)
    conv = np.abs(contrib.sum(axis=1) - (outs - ref_outs)).astype(np.float32)
    notes = []
    if used == "integrated_gradients":
        notes.append(f"integrated gradients: {steps} Gauss-Legendre nodes per reference")
    return Attributions(ids, codes.copy(), hyp, contrib, output, used, method, exact or method != "deeplift_shap",
                        note, outs, ref_outs, conv, n_references, seed, notes)


def attributions(model, codes: np.ndarray, *, progress: Callable[[Progress], None] | None = None,
                 **kwargs) -> Attributions:
    """``iter_attributions`` run to the end; ``progress`` receives each ``Progress``."""
    from biodeep_gui.core.sequences.interpret.progress import drain

    return drain(iter_attributions(model, codes, **kwargs), progress)


def attribute_sequence(run, codes: np.ndarray, *, method: str = "deeplift_shap", output: int = 0,
                       n_references: int = N_REFERENCES, seed: int = 0, device: str = "cpu") -> Attributions:
    """Attributions of one sequence of a run (shorter ones centred in padding, as for the mutation map).

    The arrays cover the whole model input; ``sequence_slice`` gives the columns of the sequence itself.
    """
    from biodeep_gui.core.sequences.interpret.mutagenesis import model_input

    x = model_input(codes, run.info.length)
    return attributions(run.model(), x[None], method=method, output=output, n_references=n_references, seed=seed,
                        device=device)


def sequence_slice(codes: np.ndarray) -> slice:
    """Columns of the real bases in a padded model input (``mutagenesis.model_input`` centres the sequence)."""
    from biodeep_gui.core.sequences.encoding import PAD_CODE

    real = np.flatnonzero(np.asarray(codes) != PAD_CODE)
    return slice(int(real[0]), int(real[-1]) + 1) if real.size else slice(0, 0)


def attributions_tsv(attr: Attributions) -> str:
    """One row per sequence position: id, position (1-based), base, attribution, then the four hypothetical
    contributions A, C, G, T. Padding columns are left out."""
    from biodeep_gui.core.sequences.encoding import CODE_LETTERS, PAD_CODE

    lines = [f"# method={attr.method} requested={attr.requested} exact={attr.exact} output={attr.output + 1} "
             f"references={attr.n_references} (dinucleotide shuffles, seed {attr.seed})"
             + (f"; {attr.note}" if attr.note else "") + "\n",
             "id\tposition\tbase\tattribution\thyp_A\thyp_C\thyp_G\thyp_T\n"]
    for i, rid in enumerate(attr.ids):
        codes = attr.codes[i]
        sl = sequence_slice(codes)
        for k, p in enumerate(range(sl.start, sl.stop)):
            if codes[p] == PAD_CODE:
                continue
            h = attr.hypothetical[i, p]
            lines.append(f"{rid}\t{k + 1}\t{CODE_LETTERS[codes[p]]}\t{attr.contributions[i, p]:.6g}\t"
                         f"{h[0]:.6g}\t{h[1]:.6g}\t{h[2]:.6g}\t{h[3]:.6g}\n")
    return "".join(lines)
