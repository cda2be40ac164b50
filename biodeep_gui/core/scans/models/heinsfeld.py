"""A Heinsfeld-style stacked denoising autoencoder for connectivity vectors, and its two training stages.

Heinsfeld et al. (2018, NeuroImage: Clinical 17:16-23) classified ABIDE subjects from the Fisher-z connectivity
between atlas regions with two denoising autoencoders stacked (F -> 1,000 -> 600, tanh), pretrained one layer at a
time, then the two encoders and a softmax output fine-tuned on the diagnosis labels. This module rebuilds that design
in plain torch; it does not reproduce their preprocessing, atlas or data, and their reported ~70 % accuracy says
nothing about what another cohort will give.

- ``StackedDenoisingAutoencoder``: the network. ``encode`` (N, F) -> (N, code_size) and ``forward`` (the stacked
  reconstruction) follow the interface of the other scans autoencoders, so the codes, reconstructions, classifiers on
  the codes and the run folder work unchanged.
- ``fit_layerwise``: the unsupervised stage (each layer a denoising autoencoder of the codes of the one below, with
  ``training.fit``); it sees no labels, so the permutation test on the codes stays valid.
- ``finetune_classifier``: the supervised stage, on a copy of the pretrained encoders plus a new output layer,
  fitted on one fold's training subjects only; returns the positive-class probability of the test subjects.
"""
from __future__ import annotations

import copy
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn

from biodeep_gui.core.scans.models.autoencoder3d import DenoisingAutoencoderMLP


class _MaskedDAE(DenoisingAutoencoderMLP):
    """One denoising layer whose masking noise rescales the kept inputs by 1 / (1 - corruption) (as dropout does),
    so that clean inputs at evaluation have the scale the layer was trained on (with 70-90 % of the inputs masked,
    unscaled masking left clean reconstructions several times too large)."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.corruption > 0:
            keep = (torch.rand_like(x) >= self.corruption).to(x.dtype)
            x = x * keep / (1.0 - self.corruption)
        return self.enc(x)


class StackedDenoisingAutoencoder(nn.Module):
    """Two denoising autoencoders stacked: (N, F) -> tanh(1,000) -> tanh(600) = code; decoders mirror them.

    Parameters
    ----------
    n_features : F, e.g. R (R - 1) / 2 Fisher-z correlations of R regions
    hidden : units of the first layer (1,000 in Heinsfeld et al.)
    code_size : units of the second layer, the code (600 in Heinsfeld et al.)
    corruption, corruption2 : fraction of each layer's inputs zeroed in pretraining (masking noise; the kept ones
        scaled by 1 / (1 - corruption))
    dropout : dropout after each encoder layer in fine-tuning
    finetune_epochs, finetune_lr : the supervised stage (Adam, full batches, class-weighted loss)
    """

    #: ``steps.fit_autoencoder`` trains networks with this flag one layer at a time (``fit_layerwise``)
    layerwise = True

    def __init__(self, n_features: int, hidden: int = 1000, code_size: int = 600, corruption: float = 0.7,
                 corruption2: float = 0.9, dropout: float = 0.5, finetune_epochs: int = 100,
                 finetune_lr: float = 1e-4):
        super().__init__()
        self.n_features, self.code_size = int(n_features), int(code_size)
        self.dropout, self.finetune_epochs, self.finetune_lr = float(dropout), int(finetune_epochs), float(finetune_lr)
        self.stages = nn.ModuleList([_MaskedDAE(n_features, hidden, corruption),
                                     _MaskedDAE(hidden, code_size, corruption2)])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, F) -> (N, code_size); masking noise only in training mode."""
        for stage in self.stages:
            x = stage.encode(x)
        return x

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        for stage in reversed(self.stages):
            code = stage.decode(code)
        return code

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, F) -> stacked reconstruction (N, F)."""
        return self.decode(self.encode(x))


class _Classifier(nn.Module):
    """The pretrained encoders (clean inputs), dropout after each, and one output logit (2-class softmax)."""

    def __init__(self, sdae: StackedDenoisingAutoencoder):
        super().__init__()
        layers: list[nn.Module] = []
        for stage in sdae.stages:
            layers += [stage.enc, nn.Dropout(sdae.dropout)]
        self.net = nn.Sequential(*layers, nn.Linear(sdae.code_size, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def fit_layerwise(model: StackedDenoisingAutoencoder, train, val, tcfg, *, device, objective,
                  should_stop: Callable[[], bool] = lambda: False) -> Iterator:
    """Pretrain each layer as a denoising autoencoder of the clean codes of the layers below it.

    train, val : ``FeatureBatches`` of the (standardised) connectivity vectors; tcfg : the autoencoder's
    ``TrainConfig`` (epochs, learning rate, model selection on ``val``), used for every layer. Yields fit's
    reports; returns the last layer's ``FitResult`` (``None`` when nothing ran, ``cancelled`` when stopped).
    """
    from biodeep_gui.core.scans.batches import FeatureBatches
    from biodeep_gui.core.training.loop import FitResult, fit

    result = None
    x_train, x_val = train.x, val.x
    for k, stage in enumerate(model.stages):
        if k:  # the next layer learns to denoise the clean codes of the one below
            x_train, x_val = _codes(model.stages[k - 1], x_train, device), _codes(model.stages[k - 1], x_val, device)
        for item in fit(stage, FeatureBatches(x_train), FeatureBatches(x_val), objective, tcfg, device=device,
                        val_targets=None, should_stop=should_stop):
            if isinstance(item, FitResult):
                result = item
                continue
            yield item
        if result is None or result.cancelled:
            return result
    model.to(device)
    return result


def _codes(stage: DenoisingAutoencoderMLP, x: torch.Tensor, device) -> np.ndarray:
    stage.eval()
    with torch.inference_mode():
        return stage.encode(x.to(device)).float().cpu().numpy()


def finetune_classifier(model: StackedDenoisingAutoencoder, x_train: np.ndarray, y_train: np.ndarray,
                        x_test: np.ndarray, *, device, seed: int, class_weighting: bool = True,
                        should_stop: Callable[[], bool] = lambda: False) -> np.ndarray:
    """Fine-tune a copy of the pretrained encoders + an output layer on (x_train, y_train); P(positive) of x_test.

    x_train, x_test : (N, F) standardised connectivity vectors; y_train : (N,) 0/1. The pretrained ``model`` is left
    unchanged. A fixed number of full-batch epochs (``model.finetune_epochs``): a fold's few dozen subjects give no
    validation split worth choosing an epoch by.
    """
    from biodeep_gui.core.scans.batches import FeatureBatches
    from biodeep_gui.core.training.config import TrainConfig
    from biodeep_gui.core.training.loop import FitResult, Objective, fit, predict_outputs

    torch.manual_seed(seed)
    clf = _Classifier(copy.deepcopy(model).cpu())
    y = y_train.astype(np.float32)[:, None]
    objective = Objective.for_labels("binary", y, 1, class_weighting)
    tcfg = TrainConfig(epochs=model.finetune_epochs, batch_size=256, lr=model.finetune_lr, patience=0,
                       monitor="loss", seed=seed, device=str(device))
    src = FeatureBatches(x_train, y)
    for item in fit(clf, src, src, objective, tcfg, device=device, val_targets=y, should_stop=should_stop,
                    report_interval=1e9, metric_fn=lambda _y, _p: {}):
        if isinstance(item, FitResult):
            break
    raw, _ = predict_outputs(clf, FeatureBatches(x_test).to(device), 256)
    return objective.transform(raw)[:, 0]
