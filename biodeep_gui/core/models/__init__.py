"""Model registry: architecture name -> builder, description and hyper-parameters (with defaults and help).

Deep models are plain ``nn.Module``s taking one-hot DNA ``(N, 4, L)`` and returning raw outputs ``(N, K)``
(logits for classification, standardised values for regression). ``linear`` and ``kmer`` are scikit-learn
baselines (see ``biodeep_gui.core.baselines``) listed here so that the GUI and CLI offer one list.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Param:
    """One hyper-parameter: its default, type, allowed range or choices, and a tooltip."""

    name: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def coerce(self, value: Any) -> Any:
        from biodeep_gui.core.errors import ConfigError

        kind = type(self.default)
        try:
            value = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"hyper-parameter {self.name} = {value!r} is not a {kind.__name__}") from None
        if self.choices and value not in self.choices:
            raise ConfigError(f"hyper-parameter {self.name} = {value!r} is not one of: {', '.join(self.choices)}")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ConfigError(f"hyper-parameter {self.name} = {value!r} is outside [{self.minimum}, {self.maximum}]")
        return value


@dataclass(frozen=True)
class Architecture:
    name: str
    label: str
    summary: str
    params: tuple[Param, ...]
    kind: str = "torch"  # torch | sklearn
    builder: Callable[..., Any] | None = field(default=None, compare=False)

    def resolve(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with ``params``, each checked; unknown names are an error."""
        from biodeep_gui.core.errors import ConfigError

        params = dict(params or {})
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(f"unknown hyper-parameter(s) for {self.name}: {', '.join(unknown)}; "
                              f"known: {', '.join(known) or 'none'}")
        return {name: p.coerce(params.get(name, p.default)) for name, p in known.items()}


def _mlp(**kw):
    from biodeep_gui.core.models.mlp import MLP
    return MLP(**kw)


def _cnn(**kw):
    from biodeep_gui.core.models.deepbind import DeepBindCNN
    return DeepBindCNN(**kw)


def _cnn_lstm(**kw):
    from biodeep_gui.core.models.danq import DanQ
    return DanQ(**kw)


_DROPOUT = Param("dropout", 0.3, "Fraction of units dropped at random during training (regularisation).", 0.0, 0.9)
_FILTERS = Param("filters", 32, "Number of first-layer convolution filters (motif detectors).", 1, 1024)
_WIDTH = Param("filter_width", 19, "Width of each filter in bases; a little wider than the motifs you expect.", 3, 64)

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
        (Param("C", 1.0, "Inverse regularisation strength (smaller = stronger).", 1e-6, 1e6),), kind="sklearn"),
    "kmer": Architecture(
        "kmer", "k-mer baseline",
        "Logistic / ridge regression on k-mer counts (both strands): the classic hand-engineered feature.",
        (Param("k", 5, "k-mer length.", 1, 8), Param("C", 1.0, "Inverse regularisation strength.", 1e-6, 1e6)),
        kind="sklearn"),
}

DEEP_ARCHITECTURES = tuple(name for name, a in ARCHITECTURES.items() if a.kind == "torch")


def get_architecture(name: str) -> Architecture:
    from biodeep_gui.core.errors import ConfigError

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


def count_parameters(model) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---- brain scans (``models.autoencoder3d``; torch is imported only when a network is built) ----------------------
def _scans_net(cls_name: str):
    def build(size, **kw):
        from biodeep_gui.core.models import autoencoder3d

        return getattr(autoencoder3d, cls_name)(size, **kw)
    return build


_DEPTH = Param("depth", 3, "Down-sampling levels; each halves the grid along every axis.", 1, 5)
_CHANNELS = Param("channels", 8, "Feature maps of the first level (doubled at each level).", 1, 128)

SCANS_ARCHITECTURES: dict[str, Architecture] = {
    "autoencoder3d": Architecture(
        "autoencoder3d", "3-D autoencoder",
        "Strided 3-D convolutions compress each volume to a short code; transposed convolutions rebuild it.",
        (_DEPTH, _CHANNELS,
         Param("code_size", 64, "Length of the code each scan is compressed to (what the classifier reads).", 2, 4096),
         Param("noise_std", 0.1, "Denoising: noise (z-score units) added to the input in training; 0 = off.",
               0.0, 5.0)),
        builder=_scans_net("Autoencoder3D")),
    "cnn3d": Architecture(
        "cnn3d", "3-D CNN classifier",
        "Strided 3-D convolutions and global pooling predict the label from the volume directly (no code).",
        (_DEPTH, _CHANNELS, Param("dropout", 0.3, "Dropout before the output layer.", 0.0, 0.9)),
        builder=_scans_net("CNN3DClassifier")),
    "connectivity-dae": Architecture(
        "connectivity-dae", "Connectivity denoising autoencoder",
        "Fisher-z correlations between regions compressed by a denoising fully-connected autoencoder.",
        (Param("code_size", 64, "Length of the code.", 2, 4096),
         Param("hidden", 0, "Units of an extra hidden layer on each side; 0 = one layer.", 0, 8192),
         Param("corruption", 0.2, "Fraction of inputs zeroed in training (denoising).", 0.0, 0.9)),
        builder=_scans_net("DenoisingAutoencoderMLP")),
    "mlp-head": Architecture(
        "mlp-head", "MLP on codes",
        "A small fully-connected classifier reading the autoencoder codes.",
        (Param("hidden", 32, "Hidden units.", 1, 4096), Param("dropout", 0.5, "Dropout.", 0.0, 0.9)),
        builder=_scans_net("CodeClassifier")),
}


def build_scans_model(arch: str, size: Any, params: dict[str, Any] | None = None) -> Any:
    """Build a scans network.

    Parameters
    ----------
    arch : a key of ``SCANS_ARCHITECTURES``
    size : (X, Y, Z) grid for the 3-D nets, number of input features for the fully-connected ones
    params : hyper-parameters; missing ones take the defaults, unknown ones are a ``ConfigError``
    """
    from biodeep_gui.core.errors import ConfigError

    try:
        spec = SCANS_ARCHITECTURES[arch]
    except KeyError:
        raise ConfigError(f"unknown scans network {arch!r}; choose one of: {', '.join(SCANS_ARCHITECTURES)}") from None
    return spec.builder(size, **spec.resolve(params))
