"""Fully connected network on the flattened one-hot sequence."""
from __future__ import annotations

from torch import nn


class MLP(nn.Module):
    """(N, 4, L) -> flatten (N, 4L) -> [Linear -> ReLU -> Dropout] x layers -> Linear -> (N, K)."""

    def __init__(self, length: int, n_outputs: int, hidden: int = 128, layers: int = 2, dropout: float = 0.3):
        super().__init__()
        blocks: list[nn.Module] = [nn.Flatten()]
        width = 4 * length
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        blocks.append(nn.Linear(width, n_outputs))
        self.net = nn.Sequential(*blocks)

    def forward(self, x):
        return self.net(x)
