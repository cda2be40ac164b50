"""The blocks of the brain-scan pipeline (``core.training.diagram.Block``) from its configuration, in words.

The sizes are those ``Autoencoder3D`` computes (padding to a multiple of 2^depth, channels doubled per level
up to 256), worked out here without importing torch.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from biodeep_gui.core.common.words import count_words as count
from biodeep_gui.core.training.diagram import Block


def _grid(shape: Sequence[int]) -> str:
    return " × ".join(str(int(s)) for s in shape)


def autoencoder_blocks(shape: Sequence[int], params: dict[str, Any]) -> list[Block]:
    """The steps of the 3-D autoencoder → classifier for scans on the (X, Y, Z) grid ``shape``.

    params : the scans page's ``depth``, ``channels``, ``code_size`` and ``noise_std``
    """
    depth, c, code = int(params["depth"]), int(params["channels"]), int(params["code_size"])
    m = 2 ** depth
    bottom = [int(math.ceil(s / m)) for s in shape]
    top = min(c * 2 ** (depth - 1), 256)
    noise = float(params.get("noise_std", 0.0))
    return [
        Block("Brain scan", "one 3-D image, minus the mean image of the fold's training subjects",
              f"{_grid(shape)} voxels", "input"),
        Block("Encoder", f"{count(depth, 'level')}; each halves the grid along every axis and doubles the "
              f"feature maps (from {c})" + (f"; noise {noise:g} added in training" if noise > 0 else ""),
              f"{top:,} maps of {_grid(bottom)} voxels"),
        Block("Code", "the whole scan compressed to a short list of numbers", f"{code:,} numbers"),
        Block("Decoder", "the encoder in reverse: rebuilds the scan from the code (to check what the code keeps)",
              f"{_grid(shape)} voxels"),
        Block("Classifier", "a logistic regression and a small network read the code, fitted inside each fold",
              "probability of each diagnosis", "output"),
    ]


def connectivity_blocks(code_size: int) -> list[Block]:
    """The steps of the connectivity input: region time series → correlations → denoising autoencoder's code →
    classifier (the regions, hence the sizes before the code, depend on the atlas)."""
    return [
        Block("Brain regions", "the fMRI signal over time of each region of the atlas", "one time series per region",
              "input"),
        Block("Connectivity", "how strongly every pair of regions rises and falls together (correlation, "
              "Fisher z)", "one number per pair of regions"),
        Block("Code", "a denoising autoencoder compresses the connections to a short list of numbers",
              f"{int(code_size):,} numbers"),
        Block("Classifier", "a logistic regression and a small network read the code, fitted inside each fold",
              "probability of each diagnosis", "output"),
    ]
