"""Sequence architectures: name -> builder, description and hyper-parameters (torch imported only to build)."""
from __future__ import annotations

from typing import Any

from biodeep_gui.core.training.architecture import Architecture, Param


def _mlp(**kw):
    from biodeep_gui.core.sequences.models.mlp import MLP
    return MLP(**kw)


def _cnn(**kw):
    from biodeep_gui.core.sequences.models.deepbind import DeepBindCNN
    return DeepBindCNN(**kw)


def _cnn_lstm(**kw):
    from biodeep_gui.core.sequences.models.danq import DanQ
    return DanQ(**kw)


_DROPOUT = Param("dropout", 0.3, "Fraction of units dropped at random during training (regularisation).", 0.0, 0.9)
_FILTERS = Param("filters", 32, "Number of first-layer convolution filters (motif detectors).", 1, 1024)
_WIDTH = Param("filter_width", 19, "Width of each filter in bases; a little wider than the motifs you expect.", 3, 64)

_C = Param("C", 0.0, "Inverse regularisation strength (smaller = stronger). 0: chosen on the validation set "
           "from 1e-4, 1e-3, ..., 100 (recommended).", 0.0, 1e6)

ARCHITECTURES: dict[str, Architecture] = {
    "mlp": Architecture(
        "mlp", "Fully connected",
        "Flattened one-hot sequence through dense layers: no notion of motif position or shift.",
        (Param("hidden", 128, "Units in each hidden layer.", 1, 8192),
         Param("layers", 2, "Number of hidden layers.", 1, 8), _DROPOUT),
        builder=_mlp),
    "cnn": Architecture(
        "cnn", "CNN (DeepBind)",
        "Convolution filters scan for motifs anywhere in the sequence; global max + average pooling; dense layer.",
        (_FILTERS, _WIDTH, Param("hidden", 32, "Units in the dense layer after pooling.", 1, 4096), _DROPOUT),
        builder=_cnn),
    "cnn-lstm": Architecture(
        "cnn-lstm", "CNN-LSTM (DanQ)",
        "Convolution filters find motifs, a bidirectional recurrent layer reads their order and spacing.",
        (Param("filters", 64, "Number of first-layer convolution filters (motif detectors).", 1, 1024), _WIDTH,
         Param("pool", 13, "Max-pooling window after the convolution (bases).", 1, 64),
         Param("rnn_hidden", 32, "Units of the recurrent layer in each direction.", 1, 1024),
         Param("cell", "lstm", "Recurrent cell: LSTM (as in DanQ), GRU, or the simple RNN (short memory).",
               choices=("lstm", "gru", "rnn")),
         Param("hidden", 64, "Units in the dense layer.", 1, 4096),
         Param("dropout", 0.2, "Dropout after pooling (DanQ: 0.2); 0.5 after the recurrent layer.", 0.0, 0.9)),
        builder=_cnn_lstm),
    "linear": Architecture(
        "linear", "Linear baseline (one-hot)",
        "Logistic / ridge regression on the one-hot sequence: one weight per base and position.",
        (_C,), kind="sklearn"),
    "kmer": Architecture(
        "kmer", "k-mer baseline",
        "Logistic / ridge regression on canonical k-mer frequencies (a k-mer and its reverse complement together, "
        "divided by the number of positions): the classic hand-engineered feature.",
        (Param("k", 5, "k-mer length.", 1, 8), _C),
        kind="sklearn"),
}

DEEP_ARCHITECTURES = tuple(name for name, a in ARCHITECTURES.items() if a.kind == "torch")


def get_architecture(name: str) -> Architecture:
    from biodeep_gui.core.common.errors import ConfigError

    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ConfigError(f"unknown architecture {name!r}; choose one of: {', '.join(ARCHITECTURES)}") from None


def build_model(arch: str, length: int, n_outputs: int, params: dict[str, Any] | None = None):
    """Build a deep model.

    Parameters
    ----------
    arch : a torch architecture name ('mlp', 'cnn', 'cnn-lstm')
    length : input length L in bases
    n_outputs : K, outputs per sequence
    params : hyper-parameters; missing ones take the defaults

    Returns
    -------
    torch.nn.Module mapping (N, 4, L) float -> (N, K)
    """
    spec = get_architecture(arch)
    if spec.kind != "torch":
        raise ValueError(f"{arch} is a scikit-learn baseline, not a torch model")
    return spec.builder(length=length, n_outputs=n_outputs, **spec.resolve(params))


