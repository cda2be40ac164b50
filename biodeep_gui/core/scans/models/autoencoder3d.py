"""Networks of the brain-scan route, in plain torch: a 3-D convolutional autoencoder, a direct 3-D CNN classifier
(the comparison arm), a denoising fully-connected autoencoder for connectivity features, and a small MLP head for
codes.

Volumes enter as ``(N, 1, X, Y, Z)`` float tensors (z-scored inside the brain mask, zero outside). Each 3-D net
pads the volume at the far end of every axis to a multiple of ``2 ** depth`` and the autoencoder crops its output
back, so any grid (e.g. the 61 x 73 x 61 3-mm MNI grid) works without resampling to a power of two. The code of the
autoencoder is a flat vector (a dense bottleneck), so a classifier can read it directly.

``core.models.SCANS_ARCHITECTURES`` describes each network's hyper-parameters (defaults, ranges, tooltips) with the
same ``Param`` objects as the sequence models (torch-free, so the GUI builds its forms without importing torch).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def _level_channels(channels: int, depth: int, max_channels: int = 256) -> list[int]:
    """Channels of each resolution level: ``channels`` doubled at every down-sampling, capped."""
    return [min(channels * 2 ** i, max_channels) for i in range(depth)]


def padded_shape(shape: Sequence[int], depth: int) -> tuple[int, int, int]:
    """Each axis rounded up to a multiple of ``2 ** depth``: the grid the 3-D nets compute on."""
    m = 2 ** depth
    return tuple(int(math.ceil(s / m) * m) for s in shape)  # type: ignore[return-value]


def _pad(x: torch.Tensor, target: Sequence[int]) -> torch.Tensor:
    """Zero-pad (N, C, X, Y, Z) at the far end of each spatial axis up to ``target``."""
    dx, dy, dz = (t - s for t, s in zip(target, x.shape[2:]))
    if dx == dy == dz == 0:
        return x
    return F.pad(x, (0, dz, 0, dy, 0, dx))  # F.pad lists the last axis first


def _block(c_in: int, c_out: int, kernel: int, batch_norm: bool) -> list[nn.Module]:
    """Conv3d (kernel 2 stride 2 = down-sampling, or kernel 3 stride 1 'same') -> BN -> LeakyReLU."""
    conv = (nn.Conv3d(c_in, c_out, 2, stride=2, bias=not batch_norm) if kernel == 2
            else nn.Conv3d(c_in, c_out, 3, padding=1, bias=not batch_norm))
    return [conv, nn.BatchNorm3d(c_out) if batch_norm else nn.Identity(), nn.LeakyReLU(0.1, inplace=True)]


def _up(c_in: int, c_out: int, batch_norm: bool) -> list[nn.Module]:
    """ConvTranspose3d kernel 2 stride 2 (doubles every axis) -> BN -> LeakyReLU."""
    return [nn.ConvTranspose3d(c_in, c_out, 2, stride=2, bias=not batch_norm),
            nn.BatchNorm3d(c_out) if batch_norm else nn.Identity(), nn.LeakyReLU(0.1, inplace=True)]


def _encoder(chans: list[int], batch_norm: bool) -> nn.Sequential:
    # Kernel-2 stride-2 convolutions down-sample: on CPU their backward pass is several times cheaper than that of
    # overlapping 3x3x3 strided ones (measured on 2 cores), and 3x3x3 convolutions only run from the second level
    # on, where the grid is 8x smaller, to mix neighbouring blocks.
    layers: list[nn.Module] = []
    c_in = 1
    for i, c in enumerate(chans):
        layers += _block(c_in, c, 2, batch_norm)
        if i > 0:
            layers += _block(c, c, 3, batch_norm)
        c_in = c
    return nn.Sequential(*layers)


class Autoencoder3D(nn.Module):
    """3-D convolutional autoencoder with a dense code, modelling each subject's deviation from a template.

    The network never has to learn what every subject shares: ``set_template`` stores the mean (normalised,
    masked) image of the fold's training subjects and the typical size of the deviations from it, and the
    autoencoder encodes and rebuilds only the deviation:

        d = (x - template) / scale;  code = encoder(d);  reconstruction = template + scale * decoder(code)

    The last decoder layer starts at zero, so an untrained network returns the template exactly: training can only
    start from the template baseline and improve on it. Without ``set_template`` (template 0, scale 1) this is a
    plain autoencoder, which is what run folders saved before the template existed hold.

    (N, 1, X, Y, Z) -> pad to P = ceil(shape / 2^depth) * 2^depth -> encoder: ``depth`` levels of
    [Conv3d k2 s2 -> BN -> LeakyReLU (+ Conv3d k3 -> BN -> LeakyReLU from level 2 on)] with channels c, 2c, 4c, ...
    -> flatten (N, 2^(depth-1) c * prod(P / 2^depth)) -> Linear -> code (N, code_size) -> Linear -> unflatten ->
    decoder: the mirror image with ConvTranspose3d k2 s2 -> Conv3d 1x1x1 to one channel -> crop to (X, Y, Z).

    Parameters
    ----------
    shape : (X, Y, Z) input grid
    depth : number of down-sampling levels (each halves every axis)
    channels : channels of the first level (doubled at each level, at most 256)
    code_size : length of the code vector
    noise_std : denoising autoencoder: Gaussian noise of this standard deviation (in z-score units) is added to
        the input during training only (like dropout, nothing is added in ``eval`` mode); 0 = plain autoencoder
    batch_norm : batch normalisation after each convolution
    """

    #: takes (N, 1, X, Y, Z) volumes: ``fastpath.choose_fast_path`` may run it channels_last_3d
    volumetric = True

    def __init__(self, shape: Sequence[int], depth: int = 2, channels: int = 8, code_size: int = 16,
                 noise_std: float = 0.0, batch_norm: bool = True):
        super().__init__()
        if len(shape) != 3:
            raise ValueError(f"shape must be (X, Y, Z), got {tuple(shape)}")
        self.shape = tuple(int(s) for s in shape)
        self.depth, self.code_size, self.noise_std = int(depth), int(code_size), float(noise_std)
        self.padded = padded_shape(self.shape, self.depth)
        chans = _level_channels(channels, self.depth)
        self.bottom = tuple(p // 2 ** self.depth for p in self.padded)
        self.encoder = _encoder(chans, batch_norm)
        flat = chans[-1] * math.prod(self.bottom)
        self.to_code = nn.Linear(flat, self.code_size)
        self.from_code = nn.Linear(self.code_size, flat)
        dec: list[nn.Module] = []
        for i in reversed(range(self.depth)):
            if i > 0:
                dec += _block(chans[i], chans[i], 3, batch_norm)
            dec += _up(chans[i], chans[i - 1] if i > 0 else chans[0], batch_norm)
        self.decoder = nn.Sequential(*dec)
        self.head = nn.Conv3d(chans[0], 1, 1)
        nn.init.zeros_(self.head.weight)  # the untrained network reconstructs the template
        nn.init.zeros_(self.head.bias)
        self._bottom_channels = chans[-1]
        self.register_buffer("template", torch.zeros(1, 1, *self.shape))
        self.register_buffer("deviation_scale", torch.ones(()))

    def set_template(self, template, scale: float) -> None:
        """Store the template (X, Y, Z) (the training subjects' mean normalised image) and the deviation scale
        (root mean square of the training subjects' deviations from it inside the mask; > 0)."""
        t = torch.as_tensor(template, dtype=torch.float32).reshape(1, 1, *self.shape)
        self.template.copy_(t.to(self.template.device))
        self.deviation_scale.fill_(float(scale) if scale and math.isfinite(float(scale)) and scale > 0 else 1.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, X, Y, Z) volumes -> (N, code_size) codes of their deviations from the template."""
        x = (x - self.template.to(x.dtype)) / self.deviation_scale.to(x.dtype)
        if self.training and self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)
        h = self.encoder(_pad(x, self.padded))
        return self.to_code(h.flatten(1))

    def decode_deviation(self, code: torch.Tensor) -> torch.Tensor:
        """(N, code_size) -> (N, 1, X, Y, Z) the reconstructed deviation from the template (normalised units)."""
        h = F.leaky_relu(self.from_code(code), 0.1).view(len(code), self._bottom_channels, *self.bottom)
        out = self.head(self.decoder(h))
        return out[:, :, :self.shape[0], :self.shape[1], :self.shape[2]] * self.deviation_scale.to(out.dtype)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """(N, code_size) -> (N, 1, X, Y, Z) reconstruction: template + deviation (float32 under bf16 autocast)."""
        dev = self.decode_deviation(code)
        # the template is added in at least its own precision: in bf16 (3 significant digits) a template of ~1-3 z
        # loses ~0.01 per voxel, an error the network cannot learn away; only the deviation carries bf16 rounding
        return self.template.to(torch.promote_types(self.template.dtype, dev.dtype)) + dev

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, X, Y, Z) -> reconstruction (N, 1, X, Y, Z)."""
        return self.decode(self.encode(x))


class CNN3DClassifier(nn.Module):
    """Direct 3-D CNN on the volumes (the comparison arm: no autoencoder).

    (N, 1, X, Y, Z) -> pad -> the autoencoder's encoder layers -> global average pool (N, C) -> Dropout -> Linear
    -> (N, n_outputs) logits.
    """

    #: takes (N, 1, X, Y, Z) volumes: ``fastpath.choose_fast_path`` may run it channels_last_3d
    volumetric = True

    def __init__(self, shape: Sequence[int], n_outputs: int = 1, depth: int = 3, channels: int = 8,
                 dropout: float = 0.3, batch_norm: bool = True):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.padded = padded_shape(self.shape, depth)
        chans = _level_channels(channels, depth)
        self.features = _encoder(chans, batch_norm)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(chans[-1], n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(_pad(x, self.padded))  # (N, C, x', y', z')
        return self.classifier(h.mean(dim=(2, 3, 4)))


class DenoisingAutoencoderMLP(nn.Module):
    """Fully-connected denoising autoencoder for connectivity features (Heinsfeld et al. 2018, one layer).

    (N, F) -> [masking noise: a fraction ``corruption`` of the inputs set to 0, training only] -> Linear -> tanh
    -> code (N, code_size) -> Linear -> (N, F).

    Parameters
    ----------
    n_features : F, e.g. R (R - 1) / 2 Fisher-z correlations of R regions
    code_size : length of the code
    corruption : fraction of inputs zeroed at random during training (denoising criterion)
    """

    def __init__(self, n_features: int, code_size: int = 64, corruption: float = 0.2, hidden: int = 0):
        super().__init__()
        self.n_features, self.code_size, self.corruption = int(n_features), int(code_size), float(corruption)
        if hidden:
            self.enc = nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh(), nn.Linear(hidden, code_size), nn.Tanh())
            self.dec = nn.Sequential(nn.Linear(code_size, hidden), nn.Tanh(), nn.Linear(hidden, n_features))
        else:
            self.enc = nn.Sequential(nn.Linear(n_features, code_size), nn.Tanh())
            self.dec = nn.Linear(code_size, n_features)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, F) -> (N, code_size)."""
        if self.training and self.corruption > 0:
            keep = (torch.rand_like(x) >= self.corruption).to(x.dtype)
            x = x * keep
        return self.enc(x)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.dec(code)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class CodeClassifier(nn.Module):
    """Small MLP head on code vectors: (N, C) -> Linear -> ReLU -> Dropout -> Linear -> (N, n_outputs) logits."""

    def __init__(self, n_inputs: int, n_outputs: int = 1, hidden: int = 32, dropout: float = 0.5):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
