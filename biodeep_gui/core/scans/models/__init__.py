"""Scans architectures: 3-D autoencoder, 3-D CNN, connectivity autoencoders, MLP head (torch imported only to build)."""
from __future__ import annotations

from typing import Any

from biodeep_gui.core.training.architecture import Architecture, Param


# ---- brain scans (``models.autoencoder3d``; torch is imported only when a network is built) ----------------------
def _scans_net(cls_name: str, module: str = "autoencoder3d"):
    def build(size, **kw):
        if module == "heinsfeld":
            from biodeep_gui.core.scans.models import heinsfeld as mod
        else:
            from biodeep_gui.core.scans.models import autoencoder3d as mod
        return getattr(mod, cls_name)(size, **kw)
    return build


_DEPTH = Param("depth", 3, "Down-sampling levels; each halves the grid along every axis.", 1, 5)
_CHANNELS = Param("channels", 8, "Feature maps of the first level (doubled at each level).", 1, 128)

SCANS_ARCHITECTURES: dict[str, Architecture] = {
    "autoencoder3d": Architecture(
        "autoencoder3d", "3-D autoencoder",
        "Strided 3-D convolutions compress each volume's deviation from the training subjects' mean image (the "
        "template) to a short code; transposed convolutions rebuild the deviation, added back to the template.",
        # Defaults measured on the demo cohort at 6 mm (40 subjects, 5 folds, 30 epochs): two levels and a 16-long
        # code gave logistic accuracy on the codes 0.90 +- 0.16 and residual correlation 0.69 (PCA oracle with 16
        # components 0.92); three levels and 16 gave 0.75 / 0.64, three levels and 64 (the old default) 0.575.
        (Param("depth", 2, "Down-sampling levels; each halves the grid along every axis.", 1, 5), _CHANNELS,
         Param("code_size", 16, "Length of the code each scan is compressed to (what the classifier reads).", 2, 4096),
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
    "heinsfeld-sdae": Architecture(
        "heinsfeld-sdae", "Stacked denoising AE (Heinsfeld-style)",
        "Two denoising autoencoders stacked on the Fisher-z correlations (1,000 then 600 units, as in Heinsfeld et "
        "al. 2018), pretrained one layer at a time, then the encoders and a softmax output fine-tuned on each fold's "
        "training labels. The design follows the paper; its ~70 % accuracy on ABIDE is not a prediction for other "
        "data, which can do better or worse (compare with the logistic regression on connectivity).",
        (Param("hidden", 1000, "Units of the first denoising layer.", 2, 8192),
         Param("code_size", 600, "Units of the second layer: the code the classifiers read.", 2, 8192),
         Param("corruption", 0.7, "Fraction of the connectivity values zeroed when pretraining layer 1.", 0.0, 0.95),
         Param("corruption2", 0.9, "Fraction of layer-1 codes zeroed when pretraining layer 2.", 0.0, 0.95),
         Param("dropout", 0.5, "Dropout after each encoder layer in fine-tuning.", 0.0, 0.9),
         Param("finetune_epochs", 100, "Full-batch epochs of supervised fine-tuning in each fold.", 1, 10_000),
         Param("finetune_lr", 1e-4, "Learning rate (Adam) of the fine-tuning.", 1e-7, 1.0)),
        builder=_scans_net("StackedDenoisingAutoencoder", "heinsfeld")),
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
    from biodeep_gui.core.common.errors import ConfigError

    try:
        spec = SCANS_ARCHITECTURES[arch]
    except KeyError:
        raise ConfigError(f"unknown scans network {arch!r}; choose one of: {', '.join(SCANS_ARCHITECTURES)}") from None
    return spec.builder(size, **spec.resolve(params))
